package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/encoder/scale"
	"github.com/ipcamd/ipcamd/encoder/software"
	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/motion"
)

// auWriter takes encoded access units; the ring is one.
type auWriter interface {
	WriteAccessUnit(*h264.AccessUnit) error
}

// streamSettings are the encoder settings of one stream, as ONVIF
// clients change them and media.yaml keeps them.
type streamSettings struct {
	Width   int     `yaml:"width"`
	Height  int     `yaml:"height"`
	FPS     float64 `yaml:"fps"`
	Bitrate int     `yaml:"bitrate"` // bits per second
	GOP     int     `yaml:"gop"`     // frames from one IDR to the next
}

// encodedSource runs the synthetic camera through the software encoder
// for the main stream and, scaled down, for the sub stream; it keeps the
// latest raw frame for snapshots. Its settings can change while it runs:
// it then starts again with new encoders, whose first frame is an IDR
// with the new parameter sets, and timestamps that go on from the old
// ones.
type encodedSource struct {
	qp, slices int
	latest     testsrc.Latest
	log        *slog.Logger
	// subOut is where the sub stream's access units go (set before Run).
	subOut auWriter

	mu        sync.Mutex
	main, sub streamSettings // sub.Width == 0: no sub stream
	changed   chan struct{}  // closed when the settings change

	// The encoders in use, for RequestIDR from other goroutines.
	enc, subEnc atomic.Pointer[software.Encoder]

	// motion watches the main stream's frames; onMotion, if set, hears
	// when motion starts and stops.
	motion   *motion.Detector
	onMotion atomic.Pointer[func(bool)]
}

// setMotion sets the function told when motion starts and stops.
func (p *encodedSource) setMotion(fn func(active bool)) { p.onMotion.Store(&fn) }

// settingsFor derives the streams' settings from the configuration.
func settingsFor(spec SourceSpec, cfg EncoderConfig) (main, sub streamSettings) {
	main = streamSettings{Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Bitrate: cfg.Bitrate}
	if main.Width == 0 {
		main.Width, main.Height, main.FPS = 1280, 720, 30
	}
	main.GOP = max(1, int(cfg.IDRInterval.Seconds()*main.FPS+0.5))
	if cfg.SubWidth > 0 && cfg.SubWidth < main.Width && cfg.SubHeight < main.Height {
		sub = streamSettings{Width: cfg.SubWidth, Height: cfg.SubHeight, FPS: main.FPS, Bitrate: cfg.SubBitrate, GOP: main.GOP}
	}
	return main, sub
}

func newTestsrc(spec SourceSpec, cfg EncoderConfig, log *slog.Logger) (*encodedSource, error) {
	p := &encodedSource{qp: cfg.QP, slices: cfg.Slices, log: log, changed: make(chan struct{}), motion: motion.New(motion.Options{})}
	p.main, p.sub = settingsFor(spec, cfg)
	if err := p.check(p.main, p.sub); err != nil {
		return nil, err
	}
	return p, nil
}

// check reports whether main and sub can be encoded together.
func (p *encodedSource) check(main, sub streamSettings) error {
	if _, err := testsrc.New(testsrc.Options{Width: main.Width, Height: main.Height, FPS: main.FPS, Logger: p.log}); err != nil {
		return err
	}
	if _, err := software.New(p.encoderOptions(main, p.slices)); err != nil {
		return err
	}
	if sub.Width == 0 {
		return nil
	}
	if _, err := software.New(p.encoderOptions(sub, 1)); err != nil {
		return fmt.Errorf("sub stream: %w", err)
	}
	switch {
	case sub.Width >= main.Width || sub.Height >= main.Height:
		return fmt.Errorf("the sub stream (%dx%d) must be smaller than the main stream (%dx%d)",
			sub.Width, sub.Height, main.Width, main.Height)
	case sub.FPS > main.FPS:
		return fmt.Errorf("the sub stream's frame rate (%g) cannot exceed the main stream's (%g)", sub.FPS, main.FPS)
	}
	return nil
}

func (p *encodedSource) encoderOptions(s streamSettings, slices int) software.Options {
	return software.Options{Width: s.Width, Height: s.Height, FPS: s.FPS,
		QP: p.qp, Bitrate: s.Bitrate, IDRInterval: s.GOP, Slices: slices}
}

// settings returns the current settings of the streams.
func (p *encodedSource) settings() (main, sub streamSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.main, p.sub
}

// reconfigure changes the settings of the streams, taking effect at the
// next frame. The sub stream cannot be added or removed.
func (p *encodedSource) reconfigure(main, sub streamSettings) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if (sub.Width == 0) != (p.sub.Width == 0) {
		return errors.New("the sub stream cannot be added or removed while running")
	}
	if err := p.check(main, sub); err != nil {
		return err
	}
	p.main, p.sub = main, sub
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// Run encodes frames until ctx ends.
func (p *encodedSource) Run(ctx context.Context, w auWriter) error {
	var base time.Duration // PTS of the first frame of this run
	for {
		p.mu.Lock()
		main, sub, changed := p.main, p.sub, p.changed
		p.mu.Unlock()
		next, err := p.run(ctx, w, main, sub, changed, base)
		if err != nil || ctx.Err() != nil {
			return err
		}
		base = next
		m, s := p.settings()
		p.log.Info("encoder settings changed", "size", fmt.Sprintf("%dx%d", m.Width, m.Height), "fps", m.FPS,
			"bitrate", m.Bitrate, "gop", m.GOP, "sub_size", fmt.Sprintf("%dx%d", s.Width, s.Height),
			"sub_fps", s.FPS, "sub_bitrate", s.Bitrate, "sub_gop", s.GOP)
	}
}

// run encodes with one set of settings until ctx ends or changed is
// closed, and returns the PTS the next frame would have had.
func (p *encodedSource) run(ctx context.Context, w auWriter, main, sub streamSettings, changed <-chan struct{}, base time.Duration) (time.Duration, error) {
	src, err := testsrc.New(testsrc.Options{Width: main.Width, Height: main.Height, FPS: main.FPS, Logger: p.log})
	if err != nil {
		return 0, err
	}
	enc, err := software.New(p.encoderOptions(main, p.slices))
	if err != nil {
		return 0, err
	}
	p.enc.Store(enc)
	var subEnc *software.Encoder
	var subIn software.Frame
	if sub.Width > 0 {
		if subEnc, err = software.New(p.encoderOptions(sub, 1)); err != nil {
			return 0, fmt.Errorf("sub stream: %w", err)
		}
		p.subEnc.Store(subEnc)
		sw, sh := sub.Width, sub.Height
		subIn = software.Frame{Format: software.I420, Width: sw, Height: sh,
			Y: make([]byte, sw*sh), U: make([]byte, sw*sh/4), V: make([]byte, sw*sh/4)}
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-changed:
			cancel()
		case <-rctx.Done():
		}
	}()

	frame := time.Duration(float64(time.Second) / main.FPS)
	var subFrame time.Duration
	if sub.Width > 0 {
		subFrame = time.Duration(float64(time.Second) / sub.FPS)
	}
	var (
		au      h264.AccessUnit
		in      software.Frame
		next    = base
		nextSub = base
	)
	err = src.Run(rctx, func(f *testsrc.Frame) error {
		p.latest.Store(f)
		pts := base + f.PTS
		if on, changed, err := p.motion.Update(f.Y, f.Width, f.Height, f.Width, pts); err == nil && changed {
			p.log.Debug("motion", "active", on, "changed_cells", p.motion.Changed())
			if fn := p.onMotion.Load(); fn != nil {
				(*fn)(on)
			}
		}
		next = pts + frame
		in = software.Frame{Format: software.I420, Width: f.Width, Height: f.Height, Y: f.Y, U: f.U, V: f.V}
		nalus, _, err := enc.Encode(&in)
		if err != nil {
			return err
		}
		au.NALUs, au.PTS = nalus, pts
		if err := w.WriteAccessUnit(&au); err != nil {
			return err
		}
		// The sub stream takes the frames due at its own rate: with a
		// frame's slack, so that equal rates take every frame.
		if subEnc == nil || p.subOut == nil || pts+frame/2 < nextSub {
			return nil
		}
		nextSub = max(nextSub+subFrame, pts+subFrame/2)
		if err := scaleI420(&subIn, f); err != nil {
			return err
		}
		if au.NALUs, _, err = subEnc.Encode(&subIn); err != nil {
			return fmt.Errorf("sub stream: %w", err)
		}
		return p.subOut.WriteAccessUnit(&au)
	})
	return next, err
}

// scaleI420 fills d from a capture.
func scaleI420(d *software.Frame, f *testsrc.Frame) error {
	planes := [3][2]scale.Plane{
		{{Pix: d.Y, Width: d.Width, Height: d.Height, Stride: d.Width}, {Pix: f.Y, Width: f.Width, Height: f.Height, Stride: f.Width}},
		{{Pix: d.U, Width: d.Width / 2, Height: d.Height / 2, Stride: d.Width / 2}, {Pix: f.U, Width: f.Width / 2, Height: f.Height / 2, Stride: f.Width / 2}},
		{{Pix: d.V, Width: d.Width / 2, Height: d.Height / 2, Stride: d.Width / 2}, {Pix: f.V, Width: f.Width / 2, Height: f.Height / 2, Stride: f.Width / 2}},
	}
	for _, pl := range planes {
		if err := scale.Bilinear(pl[0], pl[1]); err != nil {
			return err
		}
	}
	return nil
}

// RequestIDR makes the main stream's next frame an IDR.
func (p *encodedSource) RequestIDR() {
	if e := p.enc.Load(); e != nil {
		e.RequestIDR()
	}
}

// subRequestIDR makes the sub stream's next frame an IDR.
func (p *encodedSource) subRequestIDR() {
	if e := p.subEnc.Load(); e != nil {
		e.RequestIDR()
	}
}

// snapshotHandler serves the latest raw frame as a JPEG. Sources without
// raw frames (nil latest) get 503 with the reason.
func snapshotHandler(latest *testsrc.Latest, why string) http.Handler {
	var mu sync.Mutex
	var frame testsrc.Frame
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if latest == nil {
			http.Error(w, "no snapshot: "+why, http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !latest.Snapshot(&frame) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "no snapshot: no frame captured yet", http.StatusServiceUnavailable)
			return
		}
		var buf jpegBuffer
		if err := testsrc.WriteJPEG(&buf, &frame, 85); err != nil {
			http.Error(w, "snapshot: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Last-Modified", frame.Wall.UTC().Format(http.TimeFormat))
		w.Write(buf)
	})
}

type jpegBuffer []byte

func (b *jpegBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
