package v4l2m2m

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

func TestProbeNotADevice(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "video0")
	if err := os.WriteFile(regular, []byte("not a device"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "video99"), "no such file"},
		{"regular file", regular, "not a V4L2 device"},
		{"directory", dir, "probe"},
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		tests = append(tests, struct{ name, path, want string }{"character device", "/dev/null", "not a V4L2 device"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Probe(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "v4l2m2m") {
				t.Errorf("Probe(%s) err = %v, want it to mention %q", tt.path, err, tt.want)
			}
			if _, err := Open(tt.path, Options{Width: 640, Height: 360}); err == nil {
				t.Errorf("Open(%s) succeeded", tt.path)
			}
		})
	}
}

func TestDetectNoDevices(t *testing.T) {
	dir := t.TempDir()
	glob := filepath.Join(dir, "video*")
	encs, err := findIn(glob)
	if err != nil || len(encs) != 0 {
		t.Fatalf("findIn(empty) = %v, %v", encs, err)
	}
	_, err = detectIn(glob, v4l2.PixFmtH264)
	if !errors.Is(err, ErrNoEncoder) || !strings.Contains(err.Error(), "H264") {
		t.Errorf("detectIn(empty) err = %v, want ErrNoEncoder naming H264", err)
	}
	// Nodes that are not devices are skipped, not fatal.
	for _, n := range []string{"video0", "video10", "video2"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := detectIn(glob, v4l2.PixFmtFWHT); !errors.Is(err, ErrNoEncoder) {
		t.Errorf("detectIn(non-devices) err = %v, want ErrNoEncoder", err)
	}
	if _, err := detectIn("[", v4l2.PixFmtH264); err == nil {
		t.Error("detectIn with a bad pattern succeeded")
	}
}

// TestDetectHost runs the real scan; on a host without an encoder it
// must fail with ErrNoEncoder, quickly.
func TestDetectHost(t *testing.T) {
	d, err := Detect(v4l2.PixFmtH264)
	switch {
	case err == nil:
		if !d.Supports(v4l2.PixFmtH264) {
			t.Errorf("Detect returned %v, which does not encode H.264", d)
		}
		t.Logf("found %v", d)
	case !errors.Is(err, ErrNoEncoder):
		t.Errorf("Detect: %v, want nil or ErrNoEncoder", err)
	default:
		t.Logf("no encoder: %v", err)
		if _, err := Open("", Options{Width: 640, Height: 360}); !errors.Is(err, ErrNoEncoder) {
			t.Errorf("Open(\"\") err = %v, want ErrNoEncoder", err)
		}
	}
}

func TestSortNodes(t *testing.T) {
	paths := []string{"/dev/video11", "/dev/video2", "/dev/video0", "/dev/video10"}
	sortNodes(paths)
	want := []string{"/dev/video0", "/dev/video2", "/dev/video10", "/dev/video11"}
	if !slices.Equal(paths, want) {
		t.Errorf("sortNodes = %v, want %v", paths, want)
	}
}

func TestDeviceInfo(t *testing.T) {
	d := DeviceInfo{
		Path: "/dev/video11", Driver: "bcm2835-codec", Card: "bcm2835-codec-encode",
		M2M: true, MultiPlanar: true, IsEncoder: true,
		OutputFormats:  []uint32{v4l2.PixFmtYU12, v4l2.PixFmtNV12},
		CaptureFormats: []uint32{v4l2.PixFmtH264},
	}
	if !d.Supports(v4l2.PixFmtH264) || d.Supports(v4l2.PixFmtFWHT) {
		t.Error("Supports wrong")
	}
	want := "/dev/video11 bcm2835-codec (bcm2835-codec-encode) encoder mplane YU12,NV12 -> H264"
	if s := d.String(); s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	dec := DeviceInfo{Path: "/dev/video2", Driver: "vicodec", M2M: true, CaptureFormats: []uint32{v4l2.PixFmtFWHT}}
	if dec.Supports(v4l2.PixFmtFWHT) {
		t.Error("a node that is not an encoder supports FWHT")
	}
}

func TestIsCoded(t *testing.T) {
	tests := []struct {
		f    v4l2.FmtDesc
		want bool
	}{
		{v4l2.FmtDesc{PixelFormat: v4l2.PixFmtH264}, true},
		{v4l2.FmtDesc{PixelFormat: v4l2.FourCC('X', 'Y', 'Z', '1'), Flags: v4l2.FmtFlagCompressed}, true},
		{v4l2.FmtDesc{PixelFormat: v4l2.PixFmtFWHT}, true},
		{v4l2.FmtDesc{PixelFormat: v4l2.PixFmtYU12}, false},
	}
	for _, tt := range tests {
		if got := isCoded(tt.f); got != tt.want {
			t.Errorf("isCoded(%s) = %v", v4l2.FourCCString(tt.f.PixelFormat), got)
		}
	}
}
