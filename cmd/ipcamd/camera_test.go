package main

import (
	"bytes"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	capture "github.com/ipcamd/ipcamd/capture/v4l2"
	"github.com/ipcamd/ipcamd/onvif"
)

func TestCameraConvert(t *testing.T) {
	const w, h = 4, 2
	y := []byte{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0} // stride 6
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewYCbCr(image.Rect(0, 0, 16, 16), image.YCbCrSubsampleRatio420), nil)
	tests := []struct {
		name    string
		f       capture.Frame
		wantY   string // the picture's visible luma rows
		wantU   []byte
		shared  bool // Y refers to the camera's buffer
		wantErr string
	}{
		{"YU12 in place", capture.Frame{Format: capture.YU12, Width: w, Height: h,
			Planes: []capture.Plane{{Data: y, Stride: 6}, {Data: []byte{50, 51}, Stride: 2}, {Data: []byte{60, 61}, Stride: 2}}},
			"1,2,3,4|5,6,7,8", []byte{50, 51}, true, ""},
		{"NV12: luma in place, chroma split", capture.Frame{Format: capture.NV12, Width: w, Height: h,
			Planes: []capture.Plane{{Data: y, Stride: 6}, {Data: []byte{50, 60, 51, 61}, Stride: 4}}},
			"1,2,3,4|5,6,7,8", []byte{50, 51}, true, ""},
		{"YUYV converted", capture.Frame{Format: capture.YUYV, Width: w, Height: h,
			Planes: []capture.Plane{{Data: []byte{1, 50, 2, 60, 3, 51, 4, 61, 5, 50, 6, 60, 7, 51, 8, 61}, Stride: 8}}},
			"1,2,3,4|5,6,7,8", []byte{50, 51}, false, ""},
		{"MJPEG decoded", capture.Frame{Format: capture.MJPEG, Width: 16, Height: 16, Data: jb.Bytes()},
			"", nil, false, ""},
		{"broken MJPEG", capture.Frame{Format: capture.MJPEG, Width: 16, Height: 16, Data: []byte{0xff, 0xd8, 1, 2}},
			"", nil, false, "MJPEG"},
		{"MJPEG of another size than negotiated", capture.Frame{Format: capture.MJPEG, Width: 32, Height: 16, Data: jb.Bytes()},
			"", nil, false, "MJPEG frame is 16x16, not the expected 32x16"},
		{"NV12 without its chroma plane", capture.Frame{Format: capture.NV12, Width: w, Height: h,
			Planes: []capture.Plane{{Data: y, Stride: 6}}}, "", nil, false, "planes"},
		{"H.264 is not raw", capture.Frame{Format: capture.H264, Width: w, Height: h, Data: []byte{0, 0, 0, 1, 0x65}},
			"", nil, false, "cannot be encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c cameraRaw
			err := c.convert(&tt.f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := &c.pic
			if p.Width != tt.f.Width || p.Height != tt.f.Height {
				t.Errorf("size %dx%d", p.Width, p.Height)
			}
			if tt.wantY != "" {
				ys := cmp0(p.YStride, p.Width)
				var rows []string
				for r := range p.Height {
					var px []string
					for _, v := range p.Y[r*ys : r*ys+p.Width] {
						px = append(px, string(rune('0'+v)))
					}
					rows = append(rows, strings.Join(px, ","))
				}
				if got := strings.Join(rows, "|"); got != tt.wantY {
					t.Errorf("luma %s, want %s", got, tt.wantY)
				}
			}
			if tt.wantU != nil && !bytes.Equal(p.U[:len(tt.wantU)], tt.wantU) {
				t.Errorf("U %v, want %v", p.U[:len(tt.wantU)], tt.wantU)
			}
			if tt.f.Planes != nil {
				if shared := &p.Y[0] == &tt.f.Planes[0].Data[0]; shared != tt.shared {
					t.Errorf("luma shared with the camera buffer: %v, want %v", shared, tt.shared)
				}
			}
		})
	}
}

func TestCameraKindCheck(t *testing.T) {
	disc := func(w, h int, fps ...uint32) capture.SizeInfo {
		s := capture.SizeInfo{FrameSize: capture.FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}}
		for _, r := range fps {
			s.Intervals = append(s.Intervals, capture.IntervalRange{Min: capture.Fraction{Num: 1, Den: r}, Max: capture.Fraction{Num: 1, Den: r}})
		}
		return s
	}
	k := &cameraKind{format: "MJPG", info: capture.DeviceInfo{Formats: []capture.FormatInfo{
		{FourCC: capture.YUYV, Sizes: []capture.SizeInfo{disc(1920, 1080, 5)}},
		{FourCC: capture.MJPEG, Sizes: []capture.SizeInfo{disc(640, 480, 30), disc(1280, 720, 30, 15)}},
	}}}
	tests := []struct {
		s       streamSettings
		wantErr string
	}{
		{streamSettings{Width: 1280, Height: 720, FPS: 30}, ""},
		{streamSettings{Width: 640, Height: 480, FPS: 15}, ""},
		{streamSettings{Width: 1280, Height: 720, FPS: 60}, "at most 30 fps"},
		{streamSettings{Width: 1920, Height: 1080, FPS: 5}, "no 1920x1080 MJPG mode"}, // only in YUYV
	}
	for _, tt := range tests {
		err := k.check(tt.s)
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("check(%+v) = %v, want %q", tt.s, err, tt.wantErr)
		}
	}
	if got := k.resolutions(); len(got) != 2 || got[1] != (onvif.Resolution{Width: 1280, Height: 720}) {
		t.Errorf("resolutions %v", got)
	}
	if got := k.maxFPS(); got != 30 {
		t.Errorf("maxFPS %d", got)
	}
}
