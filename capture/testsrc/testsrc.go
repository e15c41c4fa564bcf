// Package testsrc is a synthetic live camera: it produces raw I420 frames
// in real time, for the software encoder to compress when no camera is
// present.
//
// The picture is SMPTE-like colour bars with a white box bouncing over
// them and, below them on a dark box, the wall-clock capture time in UTC
// with milliseconds and a frame counter, so that liveness and latency can
// be read in any player. Everything but the box and the digits that
// change is static from frame to frame, which keeps the cost of encoding
// low: an encoder that skips unchanged macroblocks only has to code a few
// dozen of them per frame.
package testsrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Default picture size and frame rate.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
	DefaultFPS    = 30
)

// Limits on Options.
const (
	MinSize = 16   // smallest width and height
	MaxSize = 8192 // largest width and height
	MinFPS  = 0.01
	MaxFPS  = 1000
)

// maxLag is how late a frame may be before the schedule is moved forward
// rather than catching up with a burst of frames.
const maxLag = time.Second

// Options configure a Source.
type Options struct {
	// Width and Height are the picture size in pixels: even, from
	// MinSize to MaxSize. Both zero means DefaultWidth x DefaultHeight.
	Width, Height int
	// FPS is the frame rate in frames per second, from MinFPS to
	// MaxFPS. 0 means DefaultFPS.
	FPS float64
	// Logger receives what goes wrong while running, such as callback
	// errors. nil means slog.Default().
	Logger *slog.Logger
}

// Source is a synthetic live camera. It is immutable once made: its
// methods may be called concurrently, and each Run is an independent
// stream.
type Source struct {
	width, height int
	fps           float64
	log           *slog.Logger
	l             layout
	// bg is the static picture: the bars and the empty text box,
	// without the moving box and the text. Read-only.
	bg Frame
}

// New returns a Source for opts. It fails if the size is odd, too small
// or too large, or the frame rate is out of range.
func New(opts Options) (*Source, error) {
	w, h, fps := opts.Width, opts.Height, opts.FPS
	if w == 0 && h == 0 {
		w, h = DefaultWidth, DefaultHeight
	}
	if fps == 0 {
		fps = DefaultFPS
	}
	switch {
	case w < MinSize || h < MinSize || w > MaxSize || h > MaxSize:
		return nil, fmt.Errorf("capture/testsrc: size %dx%d out of range [%d, %d]", w, h, MinSize, MaxSize)
	case w%2 != 0 || h%2 != 0:
		return nil, fmt.Errorf("capture/testsrc: size %dx%d is odd: I420 needs an even width and height", w, h)
	case !(fps >= MinFPS && fps <= MaxFPS): // also rejects NaN
		return nil, fmt.Errorf("capture/testsrc: frame rate %v out of range [%v, %v]", fps, MinFPS, MaxFPS)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Source{width: w, height: h, fps: fps, log: log, l: newLayout(w, h)}
	s.bg = Frame{Width: w, Height: h}
	s.bg.alloc()
	s.l.drawBackground(&s.bg)
	return s, nil
}

// Info returns the picture size and the frame rate.
func (s *Source) Info() (width, height int, fps float64) {
	return s.width, s.height, s.fps
}

// pts returns the presentation time of frame n: n frame intervals.
func (s *Source) pts(n uint64) time.Duration {
	return time.Duration(math.Round(float64(n) * float64(time.Second) / s.fps))
}

// slot returns the number of the last frame due at or before d.
func (s *Source) slot(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	n := uint64(d.Seconds() * s.fps)
	for n > 0 && s.pts(n) > d { // float rounding
		n--
	}
	return n
}

// Run produces frames until ctx is done, then returns nil. It calls fn
// with each frame, from the goroutine that called Run. The frame is only
// valid during the call and must not be modified: its memory is reused
// for the next frame.
//
// Frame n is due at start + n/fps on the monotonic clock and has PTS
// n/fps and Seq n: absolute deadlines keep the rate from drifting. If Run
// falls more than a second behind, because fn blocks, it skips forward to
// the current frame instead of producing the backlog in a burst, and Seq
// and PTS jump with it. Each frame's Wall is the wall-clock time at which
// it was drawn, which is the time burned into the picture.
//
// Errors from fn are logged and the source goes on.
func (s *Source) Run(ctx context.Context, fn func(*Frame) error) error {
	if fn == nil {
		return errors.New("capture/testsrc: Run: nil frame callback")
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	f := &Frame{}
	var (
		start    = time.Now()
		n        uint64 // number of the next frame
		failures int    // consecutive callback errors
	)
	s.log.Info("capture/testsrc: started", "width", s.width, "height", s.height, "fps", s.fps)
	for {
		pts := s.pts(n)
		if wait := time.Until(start.Add(pts)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if -wait > maxLag {
			skipped := n
			n = s.slot(time.Since(start))
			pts = s.pts(n)
			s.log.Warn("capture/testsrc: fell behind, skipping ahead",
				"late", -wait, "skipped_frames", n-skipped)
		}
		if ctx.Err() != nil {
			return nil
		}

		s.Render(f, n, time.Now())
		f.PTS = pts
		n++
		if err := fn(f); err != nil {
			if failures == 0 {
				s.log.Warn("capture/testsrc: frame callback failed, continuing",
					"seq", f.Seq, "pts", f.PTS, "err", err)
			}
			failures++
		} else if failures > 0 {
			s.log.Info("capture/testsrc: frame callback recovered", "failed_frames", failures)
			failures = 0
		}
	}
}

// Render draws frame seq, its clock showing wall in UTC, into f. It
// sets f's Width, Height, Seq and Wall, allocating the planes if they are
// too small, and leaves PTS alone. The picture depends on seq and wall
// only.
//
// Render only redraws what changed since the previous Render into f: the
// moving box and the characters of the text that differ. So f's pixels
// must not be modified between calls. A Frame that is new, whose planes
// were replaced, that was filled by Latest.Snapshot or that was last
// drawn by another Source is drawn in full.
func (s *Source) Render(f *Frame, seq uint64, wall time.Time) {
	f.Width, f.Height = s.width, s.height
	f.Seq, f.Wall = seq, wall
	f.alloc()

	st := &f.st
	if !st.drawnBy(s, f) {
		copy(f.Y, s.bg.Y)
		copy(f.U, s.bg.U)
		copy(f.V, s.bg.V)
		*st = renderState{src: s, y: &f.Y[0], u: &f.U[0], v: &f.V[0]}
		for i := range st.text {
			st.text[i] = ' ' // the background's text box is blank
		}
	}

	box := s.l.boxAt(seq)
	if box != st.box {
		s.bg.copyRect(f, st.box)
		s.l.drawBox(f, box)
		st.box = box
	}

	var text [textLen]byte
	formatText(&text, seq, wall)
	for i, c := range text {
		if c != st.text[i] {
			s.l.drawChar(f, i, c)
			st.text[i] = c
		}
	}
}
