package v4l2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// step scripts one call of fakeCam.open: it fails with err, or opens a
// device that delivers frames frames and then fails with end (nil:
// delivers forever) or, with stall, stops delivering.
type step struct {
	err    error
	frames int
	end    error
	stall  bool
	mode   *Mode // nil: the fake's mode
}

// fakeCam is a scripted camera behind the device seam.
type fakeCam struct {
	t    *testing.T
	mode Mode

	mu     sync.Mutex
	script []step
	opens  []time.Time // when open was called
	open1  int         // open devices, to catch leaks
	ts     time.Duration
}

var fakeMode = Mode{Format: NV12, Width: 4, Height: 2, Interval: Fraction{1, 100}}

func (c *fakeCam) open(want *Mode) (device, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opens = append(c.opens, time.Now())
	st := step{frames: -1}
	if len(c.script) > 0 {
		st, c.script = c.script[0], c.script[1:]
	}
	if st.err != nil {
		return nil, st.err
	}
	m := c.mode
	if st.mode != nil {
		m = *st.mode
	}
	if want != nil && (want.Format != c.mode.Format) {
		c.t.Errorf("reopen asked for %v, want %v", *want, c.mode)
	}
	c.open1++
	return &fakeDev{cam: c, st: st, m: m, buf: make([]byte, 12)}, nil
}

func (c *fakeCam) openTimes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.opens)
}

type fakeDev struct {
	cam    *fakeCam
	st     step
	m      Mode
	n      int // frames delivered
	closed bool
	queued bool // the last frame was given back
	buf    []byte
}

func (d *fakeDev) mode() Mode { return d.m }

func (d *fakeDev) next(timeout time.Duration, f *Frame) error {
	if d.closed {
		d.cam.t.Error("next on a closed device")
		return unix.EBADF
	}
	if d.n > 0 && !d.queued {
		d.cam.t.Error("next before the previous frame was requeued")
	}
	if d.st.frames >= 0 && d.n >= d.st.frames {
		if d.st.stall {
			time.Sleep(timeout)
			return errNoFrame
		}
		if d.st.end != nil {
			return fmt.Errorf("capture/v4l2: VIDIOC_DQBUF: %w", d.st.end)
		}
	}
	time.Sleep(time.Millisecond)
	d.cam.mu.Lock()
	d.cam.ts += 10 * time.Millisecond
	ts := d.cam.ts
	d.cam.mu.Unlock()
	lay, _ := newLayout(NV12, 4, 2, []memPlane{{4, 12}})
	lay.fill(f, [][]byte{d.buf}, []int{12})
	f.Width, f.Height, f.Sequence, f.Timestamp, f.KeyFrame = 4, 2, uint32(d.n), ts, true
	d.n++
	d.queued = false
	return nil
}

func (d *fakeDev) requeue(*Frame) error { d.queued = true; return nil }

func (d *fakeDev) setControl(uint32, int32) error { return nil }

func (d *fakeDev) close() error {
	if d.closed {
		d.cam.t.Error("device closed twice")
	}
	d.closed = true
	d.cam.mu.Lock()
	d.cam.open1--
	d.cam.mu.Unlock()
	return nil
}

// logRecorder is a slog.Handler that keeps the messages.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Level.String()+" "+b.String())
	h.mu.Unlock()
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many messages contain s.
func (h *logRecorder) count(s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

func newFakeSource(t *testing.T, script []step, stall time.Duration) (*Source, *fakeCam, *logRecorder) {
	t.Helper()
	cam := &fakeCam{t: t, mode: fakeMode, script: script}
	rec := &logRecorder{}
	s, err := newSource("/dev/fake0", Options{StallTimeout: stall}, slog.New(rec), cam.open)
	if err != nil {
		t.Fatal(err)
	}
	s.minBackoff, s.maxBackoff = 20*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() {
		s.Close()
		cam.mu.Lock()
		defer cam.mu.Unlock()
		if cam.open1 != 0 {
			t.Errorf("%d fake devices left open", cam.open1)
		}
	})
	return s, cam, rec
}

// collect runs s until n frames arrived, and returns them (without
// their planes) and Run's result.
func collect(t *testing.T, s *Source, n int, timeout time.Duration) ([]Frame, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var got []Frame
	err := s.Run(ctx, func(f *Frame) error {
		if len(f.Planes) != 2 || len(f.Planes[0].Data) != 8 {
			t.Errorf("frame %d: planes %+v", len(got), f.Planes)
		}
		c := *f
		c.Planes = nil
		got = append(got, c)
		if len(got) == n {
			cancel()
		}
		return nil
	})
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("timed out with %d of %d frames", len(got), n)
	}
	return got, err
}

// discontinuities returns the indexes of the frames marked
// Discontinuity.
func discontinuities(fs []Frame) []int {
	var out []int
	for i, f := range fs {
		if f.Discontinuity {
			out = append(out, i)
		}
	}
	return out
}

func TestRunRecoversFromUnplug(t *testing.T) {
	s, cam, rec := newFakeSource(t, []step{
		{frames: 5, end: unix.ENODEV}, // the device Open gets
		{err: fmt.Errorf("capture/v4l2: v4l2: open /dev/fake0: %w", unix.ENOENT)},
		{err: unix.ENODEV},
		{err: unix.EIO},
		{err: unix.ENOENT},
		{frames: 5, end: unix.EIO}, // comes back, fails again at once
		{frames: -1},
	}, time.Second)
	start := time.Now()
	frames, err := collect(t, s, 15, 5*time.Second)
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if got, want := discontinuities(frames), []int{5, 10}; !slices.Equal(got, want) {
		t.Errorf("discontinuities at %v, want %v", got, want)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].Timestamp <= frames[i-1].Timestamp {
			t.Errorf("frame %d: timestamp %v after %v", i, frames[i].Timestamp, frames[i-1].Timestamp)
		}
	}
	// Opens: newSource's, then 5 for the first outage (the first 20 ms
	// after the failure, then 40, 50, 50, 50 ms apart), then 1 for the
	// second (20 ms after it).
	opens := cam.openTimes()
	if len(opens) != 7 {
		t.Fatalf("%d opens, want 7", len(opens))
	}
	wantGaps := []time.Duration{40, 50, 50, 50}
	for i, w := range wantGaps {
		gap := opens[i+2].Sub(opens[i+1])
		w *= time.Millisecond
		if gap < w || gap > w+40*time.Millisecond {
			t.Errorf("gap before open %d = %v, want about %v", i+2, gap, w)
		}
	}
	if gap := opens[6].Sub(opens[5]); gap < 20*time.Millisecond {
		t.Errorf("second outage: first reopen after %v, want ≥ 20ms (the backoff restarts)", gap)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("recovery took %v", d)
	}
	if n := rec.count("device failed"); n != 2 {
		t.Errorf("%d 'device failed' logs, want 2 (one per outage): %q", n, rec.msgs)
	}
	if n := rec.count("device recovered"); n != 2 {
		t.Errorf("%d 'device recovered' logs, want 2: %q", n, rec.msgs)
	}
	if n := rec.count("attempts=5"); n != 1 {
		t.Errorf("want one recovery after 5 attempts: %q", rec.msgs)
	}
}

func TestRunRecoversFromStall(t *testing.T) {
	s, cam, rec := newFakeSource(t, []step{
		{frames: 3, stall: true},
		{frames: -1},
	}, 150*time.Millisecond)
	frames, err := collect(t, s, 6, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := discontinuities(frames); !slices.Equal(got, []int{3}) {
		t.Errorf("discontinuities at %v, want [3]", got)
	}
	if n := rec.count("stalled"); n != 1 {
		t.Errorf("%d stall logs, want 1: %q", n, rec.msgs)
	}
	opens := cam.openTimes()
	if len(opens) != 2 {
		t.Fatalf("%d opens, want 2", len(opens))
	}
}

func TestRunGivesUpOnConfigErrors(t *testing.T) {
	other := Mode{Format: YUYV, Width: 4, Height: 2}
	tests := []struct {
		name   string
		script []step
		want   error
	}{
		{"format gone", []step{{frames: 2, end: unix.ENODEV}, {err: unix.ENOENT},
			{err: fmt.Errorf("%w: NV12 not offered", ErrFormatChanged)}}, ErrFormatChanged},
		{"reopened in another mode", []step{{frames: 2, end: unix.ENODEV}, {mode: &other, frames: -1}}, ErrFormatChanged},
		{"not a capture device any more", []step{{frames: 2, end: unix.ENODEV}, {err: ErrNotCapture}}, ErrNotCapture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, rec := newFakeSource(t, tt.script, time.Second)
			frames, err := collect(t, s, 100, 5*time.Second)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
			if len(frames) != 2 {
				t.Errorf("%d frames, want 2", len(frames))
			}
			if rec.count("giving up") != 1 {
				t.Errorf("logs: %q", rec.msgs)
			}
		})
	}
}

func TestRunStopsDuringOutage(t *testing.T) {
	s, _, _ := newFakeSource(t, []step{
		{frames: 1, end: unix.ENODEV},
		{err: unix.ENOENT}, {err: unix.ENOENT}, {err: unix.ENOENT}, {err: unix.ENOENT},
		{err: unix.ENOENT}, {err: unix.ENOENT}, {err: unix.ENOENT}, {err: unix.ENOENT},
	}, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Run(ctx, func(*Frame) error { return nil }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("Run returned %v after the context ended", d-150*time.Millisecond)
	}
}

func TestRunStopsWhileStreaming(t *testing.T) {
	s, _, _ := newFakeSource(t, []step{{frames: 1, stall: true}}, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Run(ctx, func(*Frame) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond+2*pollSlice {
		t.Errorf("Run took %v to notice the end of its context", d)
	}
}

func TestRunCallbackErrors(t *testing.T) {
	s, _, rec := newFakeSource(t, nil, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := s.Run(ctx, func(*Frame) error {
		n++
		switch {
		case n == 20:
			cancel()
		case n < 10:
			return errors.New("downstream full")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.count("callback failed") != 1 || rec.count("callback recovered") != 1 {
		t.Errorf("want one failure and one recovery log: %q", rec.msgs)
	}
}

func TestRunAfterClose(t *testing.T) {
	s, _, _ := newFakeSource(t, nil, time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), func(*Frame) error { return nil }); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run after Close = %v", err)
	}
	if err := s.SetControl(1, 2); err == nil {
		t.Error("SetControl after Close succeeded")
	}
	if err := s.Run(context.Background(), nil); err == nil {
		t.Error("Run with a nil callback succeeded")
	}
}

func TestStallTimeoutFollowsRate(t *testing.T) {
	cam := &fakeCam{t: t, mode: Mode{Format: NV12, Width: 4, Height: 2, Interval: Fraction{2, 1}}}
	s, err := newSource("/dev/fake0", Options{}, slog.New(slog.DiscardHandler), cam.open)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.stall != 6*time.Second {
		t.Errorf("stall timeout at 0.5 fps = %v, want 6s", s.stall)
	}
}

func TestOpenValidatesOptions(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{Width: 640}, "bad size"},
		{Options{Width: -1, Height: 480}, "bad size"},
		{Options{FPS: -1}, "frame rate"},
		{Options{Format: "toolong"}, "pixel format"},
		{Options{StallTimeout: -time.Second}, "stall timeout"},
		{Options{}, "/nonexistent/video0"},
	}
	for _, tt := range tests {
		_, err := Open("/nonexistent/video0", tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%+v) = %v, want an error containing %q", tt.opts, err, tt.want)
		}
	}
}
