package v4l2

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"

	iv "github.com/ipcamd/ipcamd/internal/v4l2"
)

// List describes every /dev/video* node, in numeric order. A node that
// cannot be described completely is still listed, with its Err set; List
// itself only fails if /dev cannot be read.
func List() ([]DeviceInfo, error) {
	paths, err := filepath.Glob("/dev/video*")
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: list devices: %w", err)
	}
	slices.SortFunc(paths, func(a, b string) int {
		na, ea := strconv.Atoi(strings.TrimPrefix(a, "/dev/video"))
		nb, eb := strconv.Atoi(strings.TrimPrefix(b, "/dev/video"))
		if ea == nil && eb == nil {
			return cmp.Compare(na, nb)
		}
		return strings.Compare(a, b)
	})
	devs := make([]DeviceInfo, 0, len(paths))
	for _, p := range paths {
		d, err := Describe(p)
		if err != nil {
			d.Err = err
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// Describe describes the device node at path: driver, card, bus and
// capabilities and, for capture nodes, the formats with their frame
// sizes and rates. On error it returns what it found out so far.
func Describe(path string) (DeviceInfo, error) {
	info := DeviceInfo{Path: path}
	dev, err := iv.Open(path)
	if err != nil {
		return info, fmt.Errorf("capture/v4l2: %w", err)
	}
	defer dev.Close()
	c, err := dev.QueryCap()
	if err != nil {
		return info, fmt.Errorf("capture/v4l2: %w", err)
	}
	info.Driver = iv.CString(c.Driver[:])
	info.Card = iv.CString(c.Card[:])
	info.Bus = iv.CString(c.BusInfo[:])
	info.Version = fmt.Sprintf("%d.%d.%d", c.Version>>16, c.Version>>8&0xff, c.Version&0xff)
	info.Caps = Caps(c.Caps())
	if !info.Caps.Capture() {
		return info, nil
	}
	var cam *webcam.Webcam
	if !mplane(info.Caps) {
		cam, _ = webcam.Open(path) // nil: enumerate through dev
		if cam != nil {
			defer cam.Close()
		}
	}
	info.Formats, err = enumerate(dev, cam, bufType(info.Caps))
	return info, err
}

// mplane reports whether a capture node must be used through the
// multi-planar API: it has no single-planar capture.
func mplane(c Caps) bool { return c&CapVideoCapture == 0 && c&CapVideoCaptureMPlane != 0 }

// bufType returns the capture buffer type to use for a node.
func bufType(c Caps) uint32 {
	if mplane(c) {
		return iv.BufTypeVideoCaptureMPlane
	}
	return iv.BufTypeVideoCapture
}

// enumerate lists the capture formats with their sizes and intervals.
// With cam (single-planar nodes), the formats, sizes and rates come from
// blackjack/webcam, except what it cannot report: the format flags and
// the driver's order (from one VIDIOC_ENUM_FMT pass on dev), continuous
// size ranges (which it returns as zero) and continuous interval ranges
// (which it fails on), taken from dev. Without cam, everything comes
// from dev.
func enumerate(dev *iv.Device, cam *webcam.Webcam, typ uint32) ([]FormatInfo, error) {
	descs, err := dev.Formats(typ)
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: list formats: %w", err)
	}
	var out []FormatInfo
	if cam != nil {
		order := make(map[FourCC]int, len(descs))
		for i, d := range descs {
			order[FourCC(d.PixelFormat)] = i
		}
		for pf, desc := range cam.GetSupportedFormats() {
			f := FormatInfo{FourCC: FourCC(pf), Description: desc}
			if i, ok := order[f.FourCC]; ok {
				f.Compressed = descs[i].Flags&iv.FmtFlagCompressed != 0
			}
			out = append(out, f)
		}
		slices.SortFunc(out, func(a, b FormatInfo) int {
			ia, oka := order[a.FourCC]
			ib, okb := order[b.FourCC]
			if oka && okb {
				return cmp.Compare(ia, ib)
			}
			return cmp.Compare(a.FourCC, b.FourCC)
		})
	} else {
		for _, d := range descs {
			out = append(out, FormatInfo{
				FourCC:      FourCC(d.PixelFormat),
				Description: iv.CString(d.Description[:]),
				Compressed:  d.Flags&iv.FmtFlagCompressed != 0,
			})
		}
	}
	for i := range out {
		f := &out[i]
		sizes, err := frameSizes(dev, cam, f.FourCC)
		if err != nil {
			return out, err
		}
		for _, s := range sizes {
			ivs, err := intervals(dev, cam, f.FourCC, s.MaxWidth, s.MaxHeight)
			if err != nil {
				return out, err
			}
			f.Sizes = append(f.Sizes, SizeInfo{FrameSize: s, Intervals: ivs})
		}
	}
	return out, nil
}

// frameSizes lists the frame sizes of format f.
func frameSizes(dev *iv.Device, cam *webcam.Webcam, f FourCC) ([]FrameSize, error) {
	if cam != nil {
		var out []FrameSize
		ok := true
		for _, s := range cam.GetSupportedFrameSizes(webcam.PixelFormat(f)) {
			if s.MaxWidth == 0 || s.MaxHeight == 0 { // a continuous range
				ok = false
				break
			}
			out = append(out, FrameSize{
				MinWidth: int(s.MinWidth), MaxWidth: int(s.MaxWidth), StepWidth: int(s.StepWidth),
				MinHeight: int(s.MinHeight), MaxHeight: int(s.MaxHeight), StepHeight: int(s.StepHeight),
			})
		}
		if ok {
			return out, nil
		}
	}
	es, err := dev.FrameSizes(uint32(f))
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: list frame sizes of %v: %w", f, err)
	}
	out := make([]FrameSize, 0, len(es))
	for _, e := range es {
		s := FrameSize{MinWidth: int(e.Size[0]), MaxWidth: int(e.Size[0]), MinHeight: int(e.Size[1]), MaxHeight: int(e.Size[1])}
		if e.Type != iv.FrmSizeTypeDiscrete {
			s = FrameSize{
				MinWidth: int(e.Size[0]), MaxWidth: int(e.Size[1]), StepWidth: max(int(e.Size[2]), 1),
				MinHeight: int(e.Size[3]), MaxHeight: int(e.Size[4]), StepHeight: max(int(e.Size[5]), 1),
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// intervals lists the frame intervals of format f at width×height.
func intervals(dev *iv.Device, cam *webcam.Webcam, f FourCC, width, height int) ([]IntervalRange, error) {
	if cam != nil {
		if rs := cam.GetSupportedFramerates(webcam.PixelFormat(f), uint32(width), uint32(height)); len(rs) > 0 {
			out := make([]IntervalRange, 0, len(rs))
			for _, r := range rs {
				out = append(out, IntervalRange{
					Min:  Fraction{r.MinNumerator, r.MinDenominator},
					Max:  Fraction{r.MaxNumerator, r.MaxDenominator},
					Step: Fraction{r.StepNumerator, r.StepDenominator},
				})
			}
			return out, nil
		}
	}
	es, err := dev.FrameIntervals(uint32(f), uint32(width), uint32(height))
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: list frame intervals of %v %dx%d: %w", f, width, height, err)
	}
	out := make([]IntervalRange, 0, len(es))
	for _, e := range es {
		r := IntervalRange{Min: frac(e.Ival[0]), Max: frac(e.Ival[0])}
		if e.Type != iv.FrmIvalTypeDiscrete {
			r.Max, r.Step = frac(e.Ival[1]), frac(e.Ival[2])
			if r.Step.IsZero() { // continuous
				r.Step = Fraction{1, r.Max.Den}
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// transient reports whether err, from opening or streaming a device,
// may heal by reopening it later: anything but a configuration error.
func transient(err error) bool {
	return !errors.Is(err, ErrFormatChanged) && !errors.Is(err, ErrNotCapture)
}

// isGone reports whether err says the device is gone (unplugged).
func isGone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENXIO)
}

// frac converts a uAPI fraction.
func frac(f iv.Fract) Fraction { return Fraction{f.Numerator, f.Denominator} }
