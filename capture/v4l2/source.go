package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Timing of failure handling; see Options.
const (
	// DefaultStallTimeout is how long Run waits for a frame before it
	// takes the device for stalled and reopens it.
	DefaultStallTimeout = 2 * time.Second
	// MinBackoff and MaxBackoff bound the delay between attempts to
	// reopen a failed device; it doubles after each failed attempt. The
	// cap is short so that a replugged camera streams again within a
	// second or so (a failed open of a missing node costs nothing).
	MinBackoff = 100 * time.Millisecond
	MaxBackoff = time.Second
)

// pollSlice is the longest Run waits in one poll, so that it notices
// the end of its context promptly.
const pollSlice = 100 * time.Millisecond

// Options configure a Source.
type Options struct {
	// Width and Height are the wanted picture size; the closest the
	// device offers is used. Zero means DefaultWidth x DefaultHeight if
	// the device offers it, else its largest size within MaxAutoWidth x
	// MaxAutoHeight.
	Width, Height int
	// FPS is the wanted frame rate: the highest the device offers at
	// or below it is used. 0 means DefaultFPS.
	FPS float64
	// Format is the pixel format, by name or four characters (see
	// ParseFourCC): "H264", "NV12", "YU12" or "I420", "YUYV", "MJPG".
	// Empty means the best the device offers, in that order of
	// preference among the formats that reach FPS.
	Format string
	// StallTimeout is how long without a frame means the device has
	// stalled; 0 means DefaultStallTimeout, and it is raised to three
	// frame intervals for slow rates.
	StallTimeout time.Duration
	// Logger receives the chosen mode, device failures and recoveries.
	// nil means slog.Default().
	Logger *slog.Logger
}

// Source is a V4L2 camera. Run streams from it; Mode says what it
// delivers. Run must not be called concurrently with itself; the other
// methods may be called at any time.
type Source struct {
	path  string
	m     Mode
	log   *slog.Logger
	open  func(want *Mode) (device, error) // reopens the device in mode want
	stall time.Duration
	// backoff bounds, variables for tests
	minBackoff, maxBackoff time.Duration

	// errs counts device failures, reopens successful reopens.
	errs, reopens atomic.Uint64

	mu     sync.Mutex
	dev    device // nil while the device is lost or after Close
	closed bool
}

// Open opens the capture device at path (such as /dev/video0, or a
// stable /dev/v4l/by-id/... link), chooses a mode as Options say, sets
// it and starts streaming. It fails if the device cannot be opened now,
// is not a capture device, or offers nothing usable.
func Open(path string, opts Options) (*Source, error) {
	req := request{width: opts.Width, height: opts.Height, fps: opts.FPS}
	if opts.Format != "" {
		f, err := ParseFourCC(opts.Format)
		if err != nil {
			return nil, err
		}
		req.format = f
	}
	switch {
	case opts.Width < 0 || opts.Height < 0 || (opts.Width == 0) != (opts.Height == 0):
		return nil, fmt.Errorf("capture/v4l2: bad size %dx%d: give both width and height, or neither", opts.Width, opts.Height)
	case !(opts.FPS >= 0 && opts.FPS <= 1000):
		return nil, fmt.Errorf("capture/v4l2: frame rate %v out of range [0, 1000]", opts.FPS)
	case opts.StallTimeout < 0:
		return nil, fmt.Errorf("capture/v4l2: negative stall timeout %v", opts.StallTimeout)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	open := func(want *Mode) (device, error) {
		d, err := openDevice(path, req, want, log)
		if err != nil {
			return nil, err // not a typed nil
		}
		return d, nil
	}
	s, err := newSource(path, opts, log, open)
	if err != nil {
		return nil, err
	}
	log.Info("capture/v4l2: opened", "device", path, "format", s.m.Format.String(), "description", s.m.Description,
		"width", s.m.Width, "height", s.m.Height, "fps", s.m.FPS(), "compressed", s.m.Compressed)
	return s, nil
}

// newSource opens the device with open(nil) and makes a Source of it.
func newSource(path string, opts Options, log *slog.Logger, open func(*Mode) (device, error)) (*Source, error) {
	dev, err := open(nil)
	if err != nil {
		return nil, err
	}
	s := &Source{
		path: path, m: dev.mode(), log: log, open: open, dev: dev,
		stall:      opts.StallTimeout,
		minBackoff: MinBackoff, maxBackoff: MaxBackoff,
	}
	if s.stall == 0 {
		s.stall = DefaultStallTimeout
	}
	if iv := time.Duration(s.m.Interval.Seconds() * float64(time.Second)); 3*iv > s.stall {
		s.stall = 3 * iv
	}
	return s, nil
}

// Path returns the device node's path.
func (s *Source) Path() string { return s.path }

// Mode returns what the source captures.
func (s *Source) Mode() Mode { return s.m }

// Errors returns the number of device failures since Open: I/O errors,
// unplugs and stalls, each of which closed the device for a reopen.
func (s *Source) Errors() uint64 { return s.errs.Load() }

// Reopens returns the number of times Run reopened the device after a
// failure and streamed again.
func (s *Source) Reopens() uint64 { return s.reopens.Load() }

// SetControl sets a V4L2 control (V4L2_CID_*), such as exposure or
// white balance, on the open device. Controls are not restored when the
// device is reopened after a failure.
func (s *Source) SetControl(id uint32, value int32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev == nil {
		return fmt.Errorf("capture/v4l2: set control %#x on %s: device not open", id, s.path)
	}
	return s.dev.setControl(id, value)
}

// Close stops streaming and closes the device. Call it after Run has
// returned; Run fails afterwards.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.dev == nil {
		return nil
	}
	err := s.dev.close()
	s.dev = nil
	return err
}

// Run streams frames into fn, from the goroutine that called Run, until
// ctx is done; then it returns nil. The frame and the memory it refers
// to are only valid during the call. An error from fn is logged, and
// streaming goes on.
//
// When the device fails (unplugged, I/O errors, no frame within the
// stall timeout), Run closes it and tries to reopen it in the same
// mode, first after MinBackoff and then after doubling delays up to
// MaxBackoff, logging once when the outage starts and once when it
// ends. The first frame after a reopen has Discontinuity set. Run
// returns an error only if the device reappears unable to deliver the
// same mode (ErrFormatChanged) or as something that is not a capture
// device (ErrNotCapture), since the pipeline was configured for the old
// one, or if the Source was closed.
func (s *Source) Run(ctx context.Context, fn func(*Frame) error) error {
	if fn == nil {
		return errors.New("capture/v4l2: Run: nil frame callback")
	}
	var (
		f        Frame
		discont  bool
		failures int // consecutive callback errors
		last     = time.Now()
	)
	for {
		if ctx.Err() != nil {
			return nil
		}
		dev, err := s.current()
		if err != nil {
			return err
		}
		if dev == nil {
			if dev, err = s.reopen(ctx); err != nil || dev == nil {
				return err
			}
			discont, last = true, time.Now()
		}
		err = dev.next(min(pollSlice, s.stall), &f)
		switch {
		case err == nil:
		case errors.Is(err, errSkipped):
			last = time.Now()
			continue
		case errors.Is(err, errNoFrame):
			if d := time.Since(last); d > s.stall {
				s.fail(dev, fmt.Errorf("capture/v4l2: no frame from %s for %v: device stalled", s.path, d.Round(time.Millisecond)))
			}
			continue
		default:
			s.fail(dev, err)
			continue
		}
		last = time.Now()
		f.Discontinuity, discont = discont, false
		ferr := fn(&f)
		if err := dev.requeue(&f); err != nil {
			s.fail(dev, err)
		}
		if ferr != nil {
			if failures == 0 {
				s.log.Warn("capture/v4l2: frame callback failed, continuing", "device", s.path, "seq", f.Sequence, "err", ferr)
			}
			failures++
		} else if failures > 0 {
			s.log.Info("capture/v4l2: frame callback recovered", "device", s.path, "failed_frames", failures)
			failures = 0
		}
	}
}

// current returns the open device, nil if it was lost, or an error if
// the Source is closed.
func (s *Source) current() (device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("capture/v4l2: %s: source closed", s.path)
	}
	return s.dev, nil
}

// fail closes the failed device dev and logs the start of an outage.
func (s *Source) fail(dev device, err error) {
	s.mu.Lock()
	if s.dev == dev {
		s.dev = nil
	}
	s.mu.Unlock()
	s.errs.Add(1)
	dev.close() // the device failed: errors closing it say nothing new
	s.log.Warn("capture/v4l2: device failed, reopening", "device", s.path, "err", err)
}

// reopen reopens the device with exponential backoff until it works,
// ctx is done (nil, nil) or a configuration error shows that it will
// not work (nil, err).
func (s *Source) reopen(ctx context.Context) (device, error) {
	start := time.Now()
	delay := s.minBackoff
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return nil, nil
		case <-timer.C:
		}
		want := s.m
		dev, err := s.open(&want)
		if err == nil {
			if m := dev.mode(); m.Format != s.m.Format || m.Width != s.m.Width || m.Height != s.m.Height {
				dev.close()
				err = fmt.Errorf("%w: %s: reopened as %v, was %v", ErrFormatChanged, s.path, m, s.m)
			} else {
				s.mu.Lock()
				if s.closed {
					s.mu.Unlock()
					dev.close()
					return nil, fmt.Errorf("capture/v4l2: %s: source closed", s.path)
				}
				s.dev = dev
				s.mu.Unlock()
				s.reopens.Add(1)
				if m.Interval != s.m.Interval {
					s.log.Warn("capture/v4l2: frame rate changed on reopen", "device", s.path, "was", s.m.Interval.String(), "now", m.Interval.String())
				}
				s.log.Info("capture/v4l2: device recovered", "device", s.path, "outage", time.Since(start).Round(time.Millisecond), "attempts", attempt)
				return dev, nil
			}
		}
		if !transient(err) {
			s.log.Error("capture/v4l2: device came back unusable, giving up", "device", s.path, "err", err)
			return nil, err
		}
		s.log.Debug("capture/v4l2: reopen failed", "device", s.path, "attempt", attempt, "err", err)
		delay = min(2*delay, s.maxBackoff)
		timer.Reset(delay)
	}
}

// fpsInterval returns the frame interval of a rate, in 1/1000 s units.
func fpsInterval(fps float64) Fraction {
	return reduce(Fraction{1000, uint32(math.Round(fps * 1000))})
}
