package v4l2

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Caps are V4L2 device capabilities (V4L2_CAP_*), as a node reports them
// in VIDIOC_QUERYCAP's device_caps.
type Caps uint32

// Capabilities worth testing for. A node that can serve as a camera has
// CapVideoCapture or CapVideoCaptureMPlane, and CapStreaming; a
// memory-to-memory codec (an encoder) has CapVideoM2M or
// CapVideoM2MMPlane.
const (
	CapVideoCapture       Caps = 0x00000001
	CapVideoOutput        Caps = 0x00000002
	CapVideoCaptureMPlane Caps = 0x00001000
	CapVideoOutputMPlane  Caps = 0x00002000
	CapVideoM2MMPlane     Caps = 0x00004000
	CapVideoM2M           Caps = 0x00008000
	CapMetaCapture        Caps = 0x00800000
	CapReadWrite          Caps = 0x01000000
	CapStreaming          Caps = 0x04000000
)

// capNames names the capabilities, in bit order, as Caps.String prints
// them.
var capNames = []struct {
	c    Caps
	name string
}{
	{0x00000001, "capture"},
	{0x00000002, "output"},
	{0x00000004, "overlay"},
	{0x00000010, "vbi-capture"},
	{0x00000020, "vbi-output"},
	{0x00000040, "sliced-vbi-capture"},
	{0x00000080, "sliced-vbi-output"},
	{0x00000100, "rds-capture"},
	{0x00000200, "output-overlay"},
	{0x00000400, "hw-freq-seek"},
	{0x00000800, "rds-output"},
	{0x00001000, "capture-mplane"},
	{0x00002000, "output-mplane"},
	{0x00004000, "m2m-mplane"},
	{0x00008000, "m2m"},
	{0x00010000, "tuner"},
	{0x00020000, "audio"},
	{0x00040000, "radio"},
	{0x00080000, "modulator"},
	{0x00100000, "sdr-capture"},
	{0x00200000, "ext-pix-format"},
	{0x00400000, "sdr-output"},
	{0x00800000, "meta-capture"},
	{0x01000000, "readwrite"},
	{0x04000000, "streaming"},
	{0x08000000, "meta-output"},
	{0x10000000, "touch"},
	{0x20000000, "io-mc"},
}

// String lists the capabilities by name, comma-separated, with unknown
// bits in hex.
func (c Caps) String() string {
	var names []string
	for _, n := range capNames {
		if c&n.c != 0 {
			names = append(names, n.name)
			c &^= n.c
		}
	}
	c &^= 0x80000000 // V4L2_CAP_DEVICE_CAPS, meaningless here
	if c != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(c)))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// Capture reports whether the node captures video (single- or
// multi-planar) with streaming I/O: whether Open can use it.
func (c Caps) Capture() bool {
	return c&(CapVideoCapture|CapVideoCaptureMPlane) != 0 && c&CapStreaming != 0
}

// Fraction is a time in seconds, Num/Den, as V4L2 gives frame intervals.
type Fraction struct {
	Num, Den uint32
}

// Seconds returns the fraction as a number; 0 if Den is 0.
func (f Fraction) Seconds() float64 {
	if f.Den == 0 {
		return 0
	}
	return float64(f.Num) / float64(f.Den)
}

// FPS returns the rate of frames f apart; 0 if Num is 0.
func (f Fraction) FPS() float64 {
	if f.Num == 0 {
		return 0
	}
	return float64(f.Den) / float64(f.Num)
}

// IsZero reports whether f is unset.
func (f Fraction) IsZero() bool { return f.Num == 0 || f.Den == 0 }

// String renders f as a rate: "30fps", "29.97fps", or "?" when unset.
func (f Fraction) String() string {
	if f.IsZero() {
		return "?"
	}
	return formatFPS(f.FPS()) + "fps"
}

// formatFPS renders a rate with up to two decimals and no trailing
// zeros.
func formatFPS(fps float64) string {
	return strconv.FormatFloat(float64(int64(fps*100+0.5))/100, 'f', -1, 64)
}

// FrameSize is a frame size a format supports: one size when StepWidth
// and StepHeight are 0, else every size from the minimum to the maximum
// in steps (continuous ranges have steps of 1).
type FrameSize struct {
	MinWidth, MaxWidth, StepWidth    int
	MinHeight, MaxHeight, StepHeight int
}

// Discrete reports whether s is a single size.
func (s FrameSize) Discrete() bool { return s.StepWidth == 0 && s.StepHeight == 0 }

// String renders s as "640x480", or "16-1920/2 x 16-1080/2" for a
// range with its steps.
func (s FrameSize) String() string {
	if s.Discrete() {
		return fmt.Sprintf("%dx%d", s.MaxWidth, s.MaxHeight)
	}
	return fmt.Sprintf("%d-%d/%d x %d-%d/%d", s.MinWidth, s.MaxWidth, s.StepWidth, s.MinHeight, s.MaxHeight, s.StepHeight)
}

// IntervalRange is a frame interval a format supports at a size: one
// interval when Step is zero, else every interval from Min (the fastest)
// to Max in steps.
type IntervalRange struct {
	Min, Max, Step Fraction
}

// Discrete reports whether r is a single interval.
func (r IntervalRange) Discrete() bool { return r.Step.IsZero() }

// String renders r as a rate, "30", or a range of rates, "1-60".
func (r IntervalRange) String() string {
	if r.Discrete() {
		return formatFPS(r.Min.FPS())
	}
	return formatFPS(r.Max.FPS()) + "-" + formatFPS(r.Min.FPS())
}

// SizeInfo is a frame size and the frame intervals available at it. For
// a range of sizes, Intervals are those at its largest size.
type SizeInfo struct {
	FrameSize
	Intervals []IntervalRange
}

// FormatInfo describes a capture format.
type FormatInfo struct {
	FourCC      FourCC
	Description string // the driver's
	Compressed  bool   // the driver's V4L2_FMT_FLAG_COMPRESSED
	Sizes       []SizeInfo
}

// DeviceInfo describes a V4L2 device node.
type DeviceInfo struct {
	Path    string
	Driver  string // e.g. "uvcvideo", "vivid", "bcm2835-codec"
	Card    string // the device's name
	Bus     string // e.g. "usb-0000:01:00.0-1.3", "platform:vivid-000"
	Version string // the driver's version, "6.1.0"
	// Caps are the node's capabilities. A memory-to-memory codec has
	// CapVideoM2M or CapVideoM2MMPlane.
	Caps Caps
	// Formats are the capture formats, for nodes with Caps.Capture.
	Formats []FormatInfo
	// Err is what went wrong describing the node, if anything; the
	// fields above hold what could be found out.
	Err error
}

// WriteText writes a compact, human-readable description of d to w:
// a header line with the path, driver, card, bus and capabilities, then
// for capture nodes one line per format and one line per frame size
// with its frame rates. This is what "ipcamd devices" prints.
func (d *DeviceInfo) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", d.Path, d.Driver)
	if d.Card != "" && d.Card != d.Driver {
		fmt.Fprintf(&b, " %q", d.Card)
	}
	if d.Bus != "" {
		fmt.Fprintf(&b, " at %s", d.Bus)
	}
	if d.Version != "" {
		fmt.Fprintf(&b, ", v%s", d.Version)
	}
	b.WriteByte('\n')
	if d.Caps != 0 || d.Err == nil {
		fmt.Fprintf(&b, "  caps: %v\n", d.Caps)
	}
	if d.Err != nil {
		fmt.Fprintf(&b, "  error: %v\n", d.Err)
	}
	for _, f := range d.Formats {
		fmt.Fprintf(&b, "  %-4v  %s", f.FourCC, f.Description)
		if f.Compressed {
			b.WriteString(" (compressed)")
		}
		b.WriteByte('\n')
		for _, s := range f.Sizes {
			fmt.Fprintf(&b, "        %-11s", s.FrameSize)
			if len(s.Intervals) > 0 {
				b.WriteString(" @")
				for _, iv := range s.Intervals {
					b.WriteString(" ")
					b.WriteString(iv.String())
				}
				b.WriteString(" fps")
			}
			b.WriteByte('\n')
		}
	}
	lines := strings.SplitAfter(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \n")
	}
	_, err := io.WriteString(w, strings.Join(lines[:len(lines)-1], "\n")+"\n")
	return err
}

// WriteDevices writes the descriptions of devs to w, as WriteText does,
// separated by blank lines.
func WriteDevices(w io.Writer, devs []DeviceInfo) error {
	for i := range devs {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := devs[i].WriteText(w); err != nil {
			return err
		}
	}
	return nil
}
