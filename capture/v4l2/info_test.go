package v4l2

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sampleDevices are fixed device descriptions: a UVC camera with
// H.264, vivid, an M2M encoder and a node that failed.
var sampleDevices = []DeviceInfo{
	{
		Path: "/dev/video0", Driver: "uvcvideo", Card: "HD Pro Webcam C920", Bus: "usb-0000:01:00.0-1.3", Version: "6.1.21",
		Caps:    CapVideoCapture | CapStreaming | 0x00200000,
		Formats: h264Cam,
	},
	{
		Path: "/dev/video1", Driver: "uvcvideo", Card: "HD Pro Webcam C920", Bus: "usb-0000:01:00.0-1.3", Version: "6.1.21",
		Caps: CapMetaCapture | CapStreaming | 0x00200000,
	},
	{
		Path: "/dev/video2", Driver: "vivid", Card: "vivid", Bus: "platform:vivid-000", Version: "6.1.0",
		Caps: CapVideoCapture | CapReadWrite | CapStreaming | 0x00200000 | 0x00020000,
		Formats: []FormatInfo{
			{FourCC: YUYV, Description: "YUYV 4:2:2", Sizes: []SizeInfo{disc(320, 180, 60, 30, 5), disc(640, 360, 60, 30, 5)}},
			{FourCC: NV12M, Description: "Y/UV 4:2:0 (N-C)", Sizes: stepCam[0].Sizes},
			{FourCC: YU12, Description: "Planar YUV 4:2:0", Sizes: []SizeInfo{
				{FrameSize: FrameSize{MinWidth: 640, MaxWidth: 640, MinHeight: 360, MaxHeight: 360},
					Intervals: []IntervalRange{{Min: Fraction{1001, 30000}, Max: Fraction{1001, 30000}}}},
				{FrameSize: FrameSize{MinWidth: 1280, MaxWidth: 1280, MinHeight: 720, MaxHeight: 720}},
			}},
		},
	},
	{
		Path: "/dev/video11", Driver: "bcm2835-codec", Card: "bcm2835-codec-encode", Bus: "platform:bcm2835-codec", Version: "6.1.21",
		Caps: CapVideoM2MMPlane | CapStreaming | 0x00200000,
	},
	{Path: "/dev/video12", Err: errors.New("capture/v4l2: v4l2: open /dev/video12: device or resource busy")},
}

func TestWriteDevicesGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDevices(&b, sampleDevices); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "devices.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("WriteDevices output differs from %s:\n%s", golden, b.String())
	}
}

func TestCaps(t *testing.T) {
	tests := []struct {
		c       Caps
		str     string
		capture bool
	}{
		{CapVideoCapture | CapStreaming, "capture,streaming", true},
		{CapVideoCaptureMPlane | CapStreaming, "capture-mplane,streaming", true},
		{CapVideoCapture | CapReadWrite, "capture,readwrite", false},
		{CapVideoM2MMPlane | CapStreaming, "m2m-mplane,streaming", false},
		{CapMetaCapture | CapStreaming | 0x40000000 | 0x80000000, "meta-capture,streaming,0x40000000", false},
		{0, "none", false},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.str {
			t.Errorf("Caps(%#x).String() = %q, want %q", uint32(tt.c), got, tt.str)
		}
		if got := tt.c.Capture(); got != tt.capture {
			t.Errorf("Caps(%#x).Capture() = %v, want %v", uint32(tt.c), got, tt.capture)
		}
	}
}

func TestList(t *testing.T) {
	// On a host without V4L2 devices List returns an empty list; with
	// some, each must at least have its path.
	devs, err := List()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Path == "" {
			t.Errorf("device without a path: %+v", d)
		}
	}
	if _, err := Describe("/nonexistent/video0"); err == nil {
		t.Error("Describe of a missing node succeeded")
	}
}
