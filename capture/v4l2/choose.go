package v4l2

import (
	"fmt"
	"slices"
	"strings"
)

// Defaults for what Open asks of a camera.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
	DefaultFPS    = 30
	// Without a requested size, a camera that lacks DefaultWidth x
	// DefaultHeight is opened at its largest size within MaxAutoWidth x
	// MaxAutoHeight.
	MaxAutoWidth  = 1920
	MaxAutoHeight = 1080
)

// Mode is what a Source captures: a format, a size and a frame interval.
type Mode struct {
	Format      FourCC // as the driver names it (NV12M, not NV12)
	Description string // the driver's description of Format
	Compressed  bool
	Width       int
	Height      int
	// Interval is the time per frame the driver reports after setting
	// it; zero if the driver does not say.
	Interval Fraction
}

// FPS returns the frame rate; 0 if unknown.
func (m Mode) FPS() float64 { return m.Interval.FPS() }

// String renders m as "NV12 1280x720 @ 30fps".
func (m Mode) String() string {
	return fmt.Sprintf("%v %dx%d @ %v", m.Format, m.Width, m.Height, m.Interval)
}

// request is what Options ask for, with defaults applied: zero fields
// mean "any".
type request struct {
	format        FourCC
	width, height int
	fps           float64
}

// choose picks a mode among formats. With a requested format, that
// format; without one, the best-ranked supported format (H.264, NV12,
// YU12, YUYV, MJPEG) whose mode reaches the requested rate, else the one
// whose mode comes closest to it: a USB camera whose YUYV gives 720p at
// 10 fps but whose MJPEG gives it at 30 streams MJPEG. Within a format,
// the size closest to the requested one (without one, DefaultWidth x
// DefaultHeight if offered, else the largest within MaxAutoWidth x
// MaxAutoHeight, else the smallest); then the highest rate not above
// the requested one (DefaultFPS without one), or the lowest rate if all
// are above it.
func choose(formats []FormatInfo, req request) (Mode, error) {
	if req.format != 0 {
		for i := range formats {
			if formats[i].FourCC != req.format {
				continue
			}
			if !req.format.supported() {
				return Mode{}, fmt.Errorf("capture/v4l2: format %v is not supported: use H264, NV12, YU12, YUYV or MJPG", req.format)
			}
			return chooseIn(&formats[i], req), nil
		}
		return Mode{}, fmt.Errorf("capture/v4l2: format %v not offered (the device has %s)", req.format, formatList(formats))
	}
	var ranked []*FormatInfo
	for i := range formats {
		if rank(formats[i].FourCC) >= 0 {
			ranked = append(ranked, &formats[i])
		}
	}
	if len(ranked) == 0 {
		return Mode{}, fmt.Errorf("capture/v4l2: no supported format among %s: want H264, NV12, YU12, YUYV or MJPG", formatList(formats))
	}
	slices.SortStableFunc(ranked, func(a, b *FormatInfo) int { return rank(a.FourCC) - rank(b.FourCC) })
	fps := req.fps
	if fps == 0 {
		fps = DefaultFPS
	}
	var best Mode
	for i, fi := range ranked {
		m := chooseIn(fi, req)
		if r := m.FPS(); r == 0 || r >= fps*0.99 {
			return m, nil
		}
		if i == 0 || m.FPS() > best.FPS() {
			best = m
		}
	}
	return best, nil
}

// chooseIn picks a size and rate of format fi for req.
func chooseIn(fi *FormatInfo, req request) Mode {
	m := Mode{Format: fi.FourCC, Description: fi.Description, Compressed: fi.Compressed || fi.FourCC.Compressed()}
	si, w, h, ok := chooseSize(fi.Sizes, req.width, req.height)
	if !ok {
		// No sizes enumerated: ask the driver for the requested or
		// default size and take what it gives.
		w, h = req.width, req.height
		if w == 0 || h == 0 {
			w, h = DefaultWidth, DefaultHeight
		}
	}
	m.Width, m.Height = w, h
	fps := req.fps
	if fps == 0 {
		fps = DefaultFPS
	}
	m.Interval = fpsInterval(fps)
	if ok {
		if iv, found := chooseInterval(fi.Sizes[si].Intervals, fps); found {
			m.Interval = iv
		}
	}
	m.Interval = reduce(m.Interval)
	return m
}

// formatList renders the formats' codes for an error message.
func formatList(formats []FormatInfo) string {
	if len(formats) == 0 {
		return "none"
	}
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = f.FourCC.String()
	}
	return strings.Join(names, ", ")
}

// chooseSize picks a size among sizes and returns the index of the
// entry it belongs to; ok is false if sizes is empty.
func chooseSize(sizes []SizeInfo, w, h int) (idx, width, height int, ok bool) {
	if len(sizes) == 0 {
		return 0, 0, 0, false
	}
	auto := w == 0 || h == 0
	if auto {
		w, h = DefaultWidth, DefaultHeight
	}
	// Candidates: every discrete size, and for ranges the in-range size
	// nearest to the target.
	type cand struct{ i, w, h int }
	cands := make([]cand, 0, len(sizes))
	for i, s := range sizes {
		if s.Discrete() {
			cands = append(cands, cand{i, s.MaxWidth, s.MaxHeight})
			continue
		}
		cands = append(cands, cand{i, clampStep(w, s.MinWidth, s.MaxWidth, s.StepWidth), clampStep(h, s.MinHeight, s.MaxHeight, s.StepHeight)})
	}
	best := -1
	if auto {
		for j, c := range cands {
			if c.w == w && c.h == h {
				best = j
				break
			}
		}
		if best < 0 { // the largest within the limit, else the smallest
			for j, c := range cands {
				in := c.w <= MaxAutoWidth && c.h <= MaxAutoHeight
				if !in {
					continue
				}
				if best < 0 || c.w*c.h > cands[best].w*cands[best].h {
					best = j
				}
			}
			if best < 0 {
				for j, c := range cands {
					if best < 0 || c.w*c.h < cands[best].w*cands[best].h {
						best = j
					}
				}
			}
		}
	} else {
		dist := func(c cand) int { return abs(c.w-w) + abs(c.h-h) }
		for j, c := range cands {
			if best < 0 || dist(c) < dist(cands[best]) ||
				dist(c) == dist(cands[best]) && c.w*c.h > cands[best].w*cands[best].h {
				best = j
			}
		}
	}
	c := cands[best]
	return c.i, c.w, c.h, true
}

// clampStep returns the value of min + k·step, within [min, max],
// nearest to v.
func clampStep(v, lo, hi, step int) int {
	if v <= lo {
		return lo
	}
	if v >= hi {
		return hi
	}
	if step <= 0 {
		step = 1
	}
	k := (v - lo + step/2) / step
	return min(lo+k*step, hi)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// chooseInterval picks, among ranges, the interval of the highest rate
// not above fps or, if all are above it, of the lowest rate. For a
// range it is the interval for fps itself when fps is within it.
func chooseInterval(ranges []IntervalRange, fps float64) (Fraction, bool) {
	const eps = 1e-3
	var (
		below, above         Fraction
		belowFPS, aboveFPS   float64
		haveBelow, haveAbove bool
	)
	consider := func(f Fraction) {
		r := f.FPS()
		if r == 0 {
			return
		}
		if r <= fps+eps {
			if !haveBelow || r > belowFPS {
				below, belowFPS, haveBelow = f, r, true
			}
		} else if !haveAbove || r < aboveFPS {
			above, aboveFPS, haveAbove = f, r, true
		}
	}
	for _, r := range ranges {
		if r.Discrete() {
			consider(r.Min)
			continue
		}
		// Stepwise: Min is the shortest interval (fastest rate).
		fast, slow := r.Min.FPS(), r.Max.FPS()
		switch {
		case fps >= fast:
			consider(r.Min)
		case fps <= slow:
			consider(r.Max)
		default:
			consider(fpsInterval(fps))
		}
	}
	switch {
	case haveBelow:
		return below, true
	case haveAbove:
		return above, true
	}
	return Fraction{}, false
}

// reduce divides a fraction by the greatest common divisor of its terms.
func reduce(f Fraction) Fraction {
	a, b := f.Num, f.Den
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return f
	}
	return Fraction{f.Num / a, f.Den / a}
}
