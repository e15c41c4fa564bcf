package v4l2

import (
	"strings"
	"testing"
)

// disc returns discrete sizes with discrete rates.
func disc(w, h int, fps ...uint32) SizeInfo {
	s := SizeInfo{FrameSize: FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}}
	for _, r := range fps {
		s.Intervals = append(s.Intervals, IntervalRange{Min: Fraction{1, r}, Max: Fraction{1, r}})
	}
	return s
}

// uvcCam is a typical USB camera: YUYV at low rates, MJPEG up to 1080p30.
var uvcCam = []FormatInfo{
	{FourCC: YUYV, Description: "YUYV 4:2:2", Sizes: []SizeInfo{
		disc(640, 480, 30, 15), disc(1280, 720, 10, 5), disc(1920, 1080, 5)}},
	{FourCC: MJPEG, Description: "Motion-JPEG", Compressed: true, Sizes: []SizeInfo{
		disc(640, 480, 30), disc(1280, 720, 60, 30, 15), disc(1920, 1080, 30)}},
}

// h264Cam is a C920-like camera with H.264.
var h264Cam = append([]FormatInfo{
	{FourCC: H264, Description: "H.264", Compressed: true, Sizes: []SizeInfo{
		disc(1920, 1080, 30, 24), disc(1280, 720, 30), disc(640, 480, 30)}},
}, uvcCam...)

// vividCam resembles vivid: raw formats only, 4K included.
var vividCam = []FormatInfo{
	{FourCC: YUYV, Sizes: []SizeInfo{disc(320, 180, 60, 30, 5), disc(640, 360, 60, 30, 5), disc(3840, 2160, 15, 5)}},
	{FourCC: YU12, Sizes: []SizeInfo{disc(640, 360, 60, 30, 5), disc(3840, 2160, 15, 5)}},
	{FourCC: NV12, Sizes: []SizeInfo{disc(640, 360, 60, 30, 25, 5), disc(1920, 1080, 30), disc(3840, 2160, 15, 5)}},
	{FourCC: MakeFourCC('R', 'G', 'B', '3'), Sizes: []SizeInfo{disc(640, 360, 30)}},
}

// stepCam has stepwise sizes and a continuous rate range.
var stepCam = []FormatInfo{
	{FourCC: NV12M, Sizes: []SizeInfo{{
		FrameSize: FrameSize{MinWidth: 32, MaxWidth: 2592, StepWidth: 16, MinHeight: 32, MaxHeight: 1944, StepHeight: 2},
		Intervals: []IntervalRange{{Min: Fraction{1, 90}, Max: Fraction{1, 1}, Step: Fraction{1, 90}}},
	}}},
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name    string
		formats []FormatInfo
		req     request
		want    string // Mode.String
		wantErr string
	}{
		{"uvc auto: MJPEG reaches 30 fps at 720p, YUYV does not", uvcCam, request{}, "MJPG 1280x720 @ 30fps", ""},
		{"uvc 640x480: YUYV reaches 30 fps", uvcCam, request{width: 640, height: 480}, "YUYV 640x480 @ 30fps", ""},
		{"uvc 1080p at 5: YUYV", uvcCam, request{width: 1920, height: 1080, fps: 5}, "YUYV 1920x1080 @ 5fps", ""},
		{"uvc MJPEG 1080p", uvcCam, request{format: MJPEG, width: 1920, height: 1080}, "MJPG 1920x1080 @ 30fps", ""},
		{"uvc MJPEG 720p at 25 takes 15", uvcCam, request{format: MJPEG, width: 1280, height: 720, fps: 25}, "MJPG 1280x720 @ 15fps", ""},
		{"uvc MJPEG 720p at 60", uvcCam, request{format: MJPEG, width: 1280, height: 720, fps: 60}, "MJPG 1280x720 @ 60fps", ""},
		{"uvc YUYV 1080p at 30: only 5", uvcCam, request{format: YUYV, width: 1920, height: 1080}, "YUYV 1920x1080 @ 5fps", ""},
		{"uvc closest to 800x600", uvcCam, request{format: YUYV, width: 800, height: 600}, "YUYV 640x480 @ 30fps", ""},
		{"h264 preferred", h264Cam, request{}, "H264 1280x720 @ 30fps", ""},
		{"h264 fps below all rates", h264Cam, request{width: 1920, height: 1080, fps: 10}, "H264 1920x1080 @ 24fps", ""},
		{"vivid auto: NV12, no 720p: largest up to 1080p", vividCam, request{}, "NV12 1920x1080 @ 30fps", ""},
		{"vivid YU12 auto size: 640x360", vividCam, request{format: YU12}, "YU12 640x360 @ 30fps", ""},
		{"vivid YUYV 640x360 30", vividCam, request{format: YUYV, width: 640, height: 360, fps: 30}, "YUYV 640x360 @ 30fps", ""},
		{"vivid 4K", vividCam, request{format: NV12, width: 3840, height: 2160}, "NV12 3840x2160 @ 15fps", ""},
		{"stepwise clamps and rounds", stepCam, request{width: 1000, height: 701, fps: 30}, "NM12 1008x702 @ 30fps", ""},
		{"stepwise above max", stepCam, request{width: 4000, height: 3000, fps: 120}, "NM12 2592x1944 @ 90fps", ""},
		{"stepwise auto", stepCam, request{}, "NM12 1280x720 @ 30fps", ""},
		{"no sizes enumerated", []FormatInfo{{FourCC: YUYV}}, request{}, "YUYV 1280x720 @ 30fps", ""},
		{"missing format", uvcCam, request{format: NV12}, "", "not offered (the device has YUYV, MJPG)"},
		{"unsupported format", vividCam, request{format: MakeFourCC('R', 'G', 'B', '3')}, "", "not supported"},
		{"nothing supported", vividCam[3:], request{}, "", "no supported format among RGB3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := choose(tt.formats, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.String(); got != tt.want {
				t.Errorf("chose %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReduce(t *testing.T) {
	tests := []struct{ in, want Fraction }{
		{Fraction{1000, 30000}, Fraction{1, 30}},
		{Fraction{1001, 30000}, Fraction{1001, 30000}},
		{Fraction{0, 0}, Fraction{0, 0}},
	}
	for _, tt := range tests {
		if got := reduce(tt.in); got != tt.want {
			t.Errorf("reduce(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
