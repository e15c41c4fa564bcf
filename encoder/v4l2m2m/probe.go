package v4l2m2m

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// ErrNoEncoder is returned by Detect (and Open with an empty path) when
// no V4L2 memory-to-memory encoder node offers the codec.
var ErrNoEncoder = errors.New("v4l2m2m: no V4L2 M2M encoder found")

// devGlob is where Find looks for nodes.
const devGlob = "/dev/video*"

// DeviceInfo describes one V4L2 device node.
type DeviceInfo struct {
	Path    string
	Driver  string // e.g. "bcm2835-codec", "vicodec"
	Card    string
	BusInfo string
	// Caps are the node's capabilities (V4L2_CAP_*, device_caps when
	// the driver reports them).
	Caps uint32
	// M2M is set for memory-to-memory nodes (V4L2_CAP_VIDEO_M2M or
	// V4L2_CAP_VIDEO_M2M_MPLANE).
	M2M bool
	// MultiPlanar is set when the node uses the multi-planar API.
	MultiPlanar bool
	// OutputFormats are the raw (uncompressed) formats of the OUTPUT
	// queue, and CaptureFormats the coded (compressed) formats of the
	// CAPTURE queue. Both are only filled in for M2M nodes.
	OutputFormats  []uint32
	CaptureFormats []uint32
	// IsEncoder is set for an M2M node that turns raw OUTPUT frames into
	// coded CAPTURE frames.
	IsEncoder bool
}

// Supports reports whether d is an encoder producing codec.
func (d DeviceInfo) Supports(codec uint32) bool {
	return d.IsEncoder && slices.Contains(d.CaptureFormats, codec)
}

// String renders d on one line, e.g. "/dev/video11 bcm2835-codec
// (bcm2835-codec-encode) encoder mplane YU12,NV12 -> H264".
func (d DeviceInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)", d.Path, d.Driver, d.Card)
	switch {
	case d.IsEncoder:
		b.WriteString(" encoder")
	case d.M2M:
		b.WriteString(" m2m")
	}
	if d.MultiPlanar {
		b.WriteString(" mplane")
	}
	if d.M2M {
		b.WriteString(" ")
		b.WriteString(fourccList(d.OutputFormats))
		b.WriteString(" -> ")
		b.WriteString(fourccList(d.CaptureFormats))
	}
	return b.String()
}

func fourccList(fs []uint32) string {
	if len(fs) == 0 {
		return "-"
	}
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = v4l2.FourCCString(f)
	}
	return strings.Join(s, ",")
}

// codedFourCCs are compressed formats, for drivers that do not set
// V4L2_FMT_FLAG_COMPRESSED.
var codedFourCCs = []uint32{
	v4l2.PixFmtH264, v4l2.PixFmtFWHT, v4l2.PixFmtMJPEG, v4l2.PixFmtJPEG,
	v4l2.FourCC('H', 'E', 'V', 'C'), v4l2.FourCC('V', 'P', '8', '0'), v4l2.FourCC('V', 'P', '9', '0'),
}

func isCoded(f v4l2.FmtDesc) bool {
	return f.Flags&v4l2.FmtFlagCompressed != 0 || slices.Contains(codedFourCCs, f.PixelFormat)
}

// queueTypes returns the OUTPUT and CAPTURE buffer types of an M2M node.
func queueTypes(multiPlanar bool) (out, capture uint32) {
	if multiPlanar {
		return v4l2.BufTypeVideoOutputMPlane, v4l2.BufTypeVideoCaptureMPlane
	}
	return v4l2.BufTypeVideoOutput, v4l2.BufTypeVideoCapture
}

// Probe opens the node at path and describes it. It fails when path is
// not a V4L2 device.
func Probe(path string) (DeviceInfo, error) {
	dev, err := v4l2.Open(path)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("v4l2m2m: probe: %w", err)
	}
	defer dev.Close()
	return probe(dev)
}

func probe(dev *v4l2.Device) (DeviceInfo, error) {
	c, err := dev.QueryCap()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("v4l2m2m: probe %s: not a V4L2 device: %w", dev.Path(), err)
	}
	d := DeviceInfo{
		Path:    dev.Path(),
		Driver:  v4l2.CString(c.Driver[:]),
		Card:    v4l2.CString(c.Card[:]),
		BusInfo: v4l2.CString(c.BusInfo[:]),
		Caps:    c.Caps(),
	}
	switch {
	case d.Caps&v4l2.CapVideoM2MMPlane != 0:
		d.M2M, d.MultiPlanar = true, true
	case d.Caps&v4l2.CapVideoM2M != 0:
		d.M2M = true
	default:
		d.MultiPlanar = d.Caps&(v4l2.CapVideoCaptureMPlane|v4l2.CapVideoOutputMPlane) != 0
		return d, nil
	}
	outType, capType := queueTypes(d.MultiPlanar)
	outs, err := dev.Formats(outType)
	if err != nil {
		return d, fmt.Errorf("v4l2m2m: probe %s: OUTPUT formats: %w", dev.Path(), err)
	}
	caps, err := dev.Formats(capType)
	if err != nil {
		return d, fmt.Errorf("v4l2m2m: probe %s: CAPTURE formats: %w", dev.Path(), err)
	}
	for _, f := range outs {
		if !isCoded(f) {
			d.OutputFormats = append(d.OutputFormats, f.PixelFormat)
		}
	}
	for _, f := range caps {
		if isCoded(f) {
			d.CaptureFormats = append(d.CaptureFormats, f.PixelFormat)
		}
	}
	d.IsEncoder = len(d.OutputFormats) > 0 && len(d.CaptureFormats) > 0 && d.Caps&v4l2.CapStreaming != 0
	return d, nil
}

// Find probes every /dev/video* node and returns the encoders, in node
// number order. Nodes that cannot be probed are left out; with no
// encoder, Find returns an empty list and no error.
func Find() ([]DeviceInfo, error) {
	return findIn(devGlob)
}

func findIn(glob string) ([]DeviceInfo, error) {
	paths, err := filepath.Glob(glob)
	if err != nil {
		return nil, fmt.Errorf("v4l2m2m: list %s: %w", glob, err)
	}
	sortNodes(paths)
	var encs []DeviceInfo
	for _, p := range paths {
		d, err := Probe(p)
		if err == nil && d.IsEncoder {
			encs = append(encs, d)
		}
	}
	return encs, nil
}

// sortNodes sorts /dev/videoN paths by N, so that /dev/video2 comes
// before /dev/video11.
func sortNodes(paths []string) {
	slices.SortFunc(paths, func(a, b string) int {
		na, ea := nodeNumber(a)
		nb, eb := nodeNumber(b)
		if ea == nil && eb == nil && na != nb {
			return na - nb
		}
		return strings.Compare(a, b)
	})
}

// nodeNumber returns N for /dev/videoN.
func nodeNumber(path string) (int, error) {
	base := filepath.Base(path)
	return strconv.Atoi(strings.TrimLeft(base, "abcdefghijklmnopqrstuvwxyz"))
}

// Detect returns the first encoder node (lowest /dev/videoN) whose
// CAPTURE queue offers codec (e.g. v4l2.PixFmtH264), or an error
// wrapping ErrNoEncoder.
func Detect(codec uint32) (DeviceInfo, error) {
	return detectIn(devGlob, codec)
}

func detectIn(glob string, codec uint32) (DeviceInfo, error) {
	encs, err := findIn(glob)
	if err != nil {
		return DeviceInfo{}, err
	}
	for _, d := range encs {
		if d.Supports(codec) {
			return d, nil
		}
	}
	if len(encs) == 0 {
		return DeviceInfo{}, fmt.Errorf("%w for %s among %s", ErrNoEncoder, v4l2.FourCCString(codec), glob)
	}
	var found []string
	for _, d := range encs {
		found = append(found, d.Path+" ("+d.Driver+": "+fourccList(d.CaptureFormats)+")")
	}
	return DeviceInfo{}, fmt.Errorf("%w for %s among %s; encoders present: %s",
		ErrNoEncoder, v4l2.FourCCString(codec), glob, strings.Join(found, ", "))
}
