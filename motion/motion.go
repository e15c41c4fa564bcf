// Package motion detects motion in live video cheaply, from the luma of
// raw frames.
//
// Each frame is reduced to a grid of cells of CellSize×CellSize pixels,
// each holding the mean of 16 luma samples spread over the cell. A cell
// changes when its mean differs from the previous frame's by more than
// Options.Threshold. A frame moves when the share of changed cells is at
// least Options.Area but below Options.MaxArea: a larger share is a change
// of light (an IR-cut switch, auto exposure, lights turned on), not
// motion. Motion starts after Options.Frames moving frames in a row, so a
// single odd frame does not raise it, and ends Options.Hold after the
// last moving frame, so that a person pausing does not flap the alarm.
//
// The cells also give the frame's mean luma (Detector.Luma), the light
// meter of the day/night logic on boards without a light sensor.
//
// A 1280×720 frame costs 3600 cells × 16 samples: a few tens of
// microseconds, and no allocation once the grid is sized.
package motion

import (
	"errors"
	"fmt"
	"time"
)

// CellSize is the width and height of a cell in pixels: a macroblock.
const CellSize = 16

// Options tunes a Detector. Zero values get the defaults.
type Options struct {
	// Threshold is the change of a cell's mean luma (0-255) that counts
	// as change; default 10.
	Threshold int
	// Area is the smallest share of changed cells (0-1) that makes a
	// frame move; default 0.004 (0.4 %, about 14 macroblocks at 720p).
	Area float64
	// MaxArea is the share of changed cells from which a frame is a
	// change of light, not motion; default 0.6.
	MaxArea float64
	// Frames is the number of moving frames in a row that start motion;
	// default 3. A frame differs from the one before and the one after,
	// so a single odd frame (a flash, a glitch) makes two moving frames.
	Frames int
	// Hold is how long motion stays on after the last moving frame;
	// default 2s.
	Hold time.Duration
}

// Detector follows the motion in one stream of frames. It is not safe
// for concurrent use.
type Detector struct {
	opts       Options
	w, h       int // grid size in cells
	prev, cur  []uint8
	primed     bool
	run        int           // moving frames in a row
	active     bool          // motion is on
	lastMoving time.Duration // time of the last moving frame
	changed    float64       // share of changed cells in the last frame
	luma       float64       // mean luma of the last frame
}

// New returns a Detector.
func New(opts Options) *Detector {
	if opts.Threshold <= 0 {
		opts.Threshold = 10
	}
	if opts.Area <= 0 {
		opts.Area = 0.004
	}
	if opts.MaxArea <= 0 || opts.MaxArea > 1 {
		opts.MaxArea = 0.6
	}
	if opts.Frames <= 0 {
		opts.Frames = 3
	}
	if opts.Hold <= 0 {
		opts.Hold = 2 * time.Second
	}
	return &Detector{opts: opts}
}

// Update takes the luma plane of the next frame (width×height pixels,
// rows stride bytes apart) and its timestamp, and reports whether motion
// is on after it, and whether that differs from before. A frame of
// another size starts the detector again, with motion off.
func (d *Detector) Update(y []byte, width, height, stride int, t time.Duration) (active, changed bool, err error) {
	if width < CellSize || height < CellSize || stride < width {
		return d.active, false, fmt.Errorf("motion: frame %dx%d (stride %d) is smaller than a cell", width, height, stride)
	}
	if len(y) < (height-1)*stride+width {
		return d.active, false, errors.New("motion: luma plane shorter than its size")
	}
	gw, gh := width/CellSize, height/CellSize
	if gw != d.w || gh != d.h {
		d.w, d.h = gw, gh
		d.prev, d.cur = make([]uint8, gw*gh), make([]uint8, gw*gh)
		d.primed, d.run = false, 0
		was := d.active
		d.active = false
		d.cells(y, stride, d.prev)
		d.luma = mean(d.prev)
		d.primed = true
		return false, was, nil
	}
	d.cells(y, stride, d.cur)
	d.luma = mean(d.cur)
	n := 0
	for i, c := range d.cur {
		diff := int(c) - int(d.prev[i])
		if diff < 0 {
			diff = -diff
		}
		if diff > d.opts.Threshold {
			n++
		}
	}
	d.prev, d.cur = d.cur, d.prev
	d.changed = float64(n) / float64(len(d.prev))
	moving := d.changed >= d.opts.Area && d.changed < d.opts.MaxArea
	was := d.active
	if moving {
		d.run++
		if d.run >= d.opts.Frames {
			d.active, d.lastMoving = true, t
		}
	} else {
		d.run = 0
		if d.active && t-d.lastMoving >= d.opts.Hold {
			d.active = false
		}
	}
	return d.active, d.active != was, nil
}

// Changed returns the share of cells (0-1) that changed in the last frame.
func (d *Detector) Changed() float64 { return d.changed }

// Luma returns the mean luma (0-255) of the last frame, from the cells:
// a light meter for day/night decisions, free with the motion check.
func (d *Detector) Luma() float64 { return d.luma }

func mean(cells []uint8) float64 {
	sum := 0
	for _, c := range cells {
		sum += int(c)
	}
	return float64(sum) / float64(len(cells))
}

// cells fills dst with the mean of 16 samples of each cell: rows 2, 6,
// 10, 14 and columns 2, 6, 10, 14 of the cell.
func (d *Detector) cells(y []byte, stride int, dst []uint8) {
	for gy := range d.h {
		row := gy * CellSize * stride
		for gx := range d.w {
			base := row + gx*CellSize + 2
			sum := 0
			for r := 0; r < CellSize; r += 4 {
				o := base + (r+2)*stride
				p := y[o : o+13 : o+13]
				sum += int(p[0]) + int(p[4]) + int(p[8]) + int(p[12])
			}
			dst[gy*d.w+gx] = uint8(sum / 16)
		}
	}
}
