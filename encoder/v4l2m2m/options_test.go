package v4l2m2m

import (
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{Width: 1280, Height: 720}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.FPS != 30 || o.PixelFormat != v4l2.PixFmtYU12 || o.Codec != v4l2.PixFmtH264 ||
		o.OutputBuffers != 4 || o.CaptureBuffers != 8 || o.CaptureBufferSize != 512<<10 || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
	o, err = Options{Width: 1920, Height: 1080}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.CaptureBufferSize != 1920*1080/2 {
		t.Errorf("1080p capture buffer size %d", o.CaptureBufferSize)
	}
}

func TestOptionsInvalid(t *testing.T) {
	base := Options{Width: 640, Height: 360}
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"zero size", func(o *Options) { o.Width, o.Height = 0, 0 }, "size 0x0"},
		{"odd width", func(o *Options) { o.Width = 641 }, "must be even"},
		{"huge", func(o *Options) { o.Height = 10000 }, "out of range"},
		{"negative fps", func(o *Options) { o.FPS = -1 }, "frame rate"},
		{"raw format", func(o *Options) { o.PixelFormat = v4l2.PixFmtMJPEG }, "unsupported input pixel format MJPG"},
		{"raw codec", func(o *Options) { o.Codec = v4l2.PixFmtNV12 }, "codec NV12 is a raw format"},
		{"negative bitrate", func(o *Options) { o.Bitrate = -5 }, "bitrate -5"},
		{"bitrate mode", func(o *Options) { o.BitrateMode = 7 }, "bitrate mode"},
		{"profile", func(o *Options) { o.Profile = 9 }, "profile"},
		{"level", func(o *Options) { o.Level = "3.5" }, `level "3.5"`},
		{"qp", func(o *Options) { o.MaxQP = 52 }, "QP 52"},
		{"qp order", func(o *Options) { o.MinQP, o.MaxQP = 40, 20 }, "MinQP 40 above MaxQP 20"},
		{"buffers", func(o *Options) { o.CaptureBuffers = 100 }, "buffer counts"},
		{"capture size", func(o *Options) { o.CaptureBufferSize = -1 }, "capture buffer size"},
		{"gop", func(o *Options) { o.GOP = -1 }, "GOP -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			_, err := o.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
			if _, err := Open("/nonexistent/video0", o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open: err = %v, want the options error %q", err, tt.want)
			}
		})
	}
}

func TestFrameInterval(t *testing.T) {
	tests := []struct {
		fps      float64
		num, den uint32
	}{
		{30, 1, 30},
		{25, 1, 25},
		{29.97, 100, 2997},
		{30000.0 / 1001, 100, 2997},
		{7.5, 2, 15},
	}
	for _, tt := range tests {
		f := frameInterval(tt.fps)
		if f.Numerator != tt.num || f.Denominator != tt.den {
			t.Errorf("frameInterval(%v) = %d/%d, want %d/%d", tt.fps, f.Numerator, f.Denominator, tt.num, tt.den)
		}
	}
}

func TestControls(t *testing.T) {
	ids := func(cs []control) map[uint32]int32 {
		m := map[uint32]int32{}
		for _, c := range cs {
			m[c.id] = c.value
		}
		return m
	}
	h264, err := Options{Width: 1280, Height: 720, Bitrate: 2_000_000, BitrateMode: BitrateModeCBR, GOP: 60,
		Level: "3.1", MinQP: 20, MaxQP: 45}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := ids(h264.controls())
	want := map[uint32]int32{
		v4l2.CIDMPEGVideoBitrateMode:     v4l2.BitrateModeCBR,
		v4l2.CIDMPEGVideoBitrate:         2_000_000,
		v4l2.CIDMPEGVideoGOPSize:         60,
		v4l2.CIDMPEGVideoH264IPeriod:     60,
		v4l2.CIDMPEGVideoH264Profile:     v4l2.H264ProfileConstrainedBaseline,
		v4l2.CIDMPEGVideoH264Level:       9,
		v4l2.CIDMPEGVideoH264MinQP:       20,
		v4l2.CIDMPEGVideoH264MaxQP:       45,
		v4l2.CIDMPEGVideoHeaderMode:      1,
		v4l2.CIDMPEGVideoRepeatSeqHeader: 1,
	}
	for id, v := range want {
		if g, ok := got[id]; !ok || g != v {
			t.Errorf("H.264 control %#x = %d (set %v), want %d", id, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("H.264 controls: %d, want %d", len(got), len(want))
	}

	fwht, err := Options{Width: 640, Height: 360, Codec: v4l2.PixFmtFWHT, GOP: 10, Profile: ProfileHigh,
		DisableRepeatSequenceHeader: true}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got = ids(fwht.controls())
	if len(got) != 1 || got[v4l2.CIDMPEGVideoGOPSize] != 10 {
		t.Errorf("FWHT controls %v, want only GOP size 10 (no H.264 controls)", got)
	}

	noRepeat, _ := Options{Width: 640, Height: 360, DisableRepeatSequenceHeader: true, Profile: ProfileHigh}.withDefaults()
	got = ids(noRepeat.controls())
	if got[v4l2.CIDMPEGVideoRepeatSeqHeader] != 0 || got[v4l2.CIDMPEGVideoH264Profile] != v4l2.H264ProfileHigh {
		t.Errorf("controls %v: want repeat 0 and profile high", got)
	}
	if _, ok := got[v4l2.CIDMPEGVideoBitrate]; ok {
		t.Error("bitrate set although Options.Bitrate is 0")
	}
}
