package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// picture is one raw frame on its way to the encoders: I420 planes with
// strides, as the software encoder takes them.
type picture struct {
	software.Frame
	PTS  time.Duration // on the source's clock
	Wall time.Time     // wall-clock capture time
	// Discontinuity marks the first frame after a gap (a camera
	// reopened): the encoders start again with an IDR.
	Discontinuity bool
}

// rawSource produces raw pictures until ctx ends.
type rawSource interface {
	Run(ctx context.Context, fn func(*picture) error) error
}

// rawKind opens the raw sources of one kind (the test pattern, a camera)
// at given settings, and says which settings it can take.
type rawKind interface {
	// open returns a source for the main stream's size and rate.
	open(main streamSettings) (rawSource, error)
	// check reports whether open would accept main.
	check(main streamSettings) error
}

// frameEncoder encodes pictures into access units: the software encoder,
// or a hardware one. Encode calls emit with each access unit that is
// ready, with its timestamp: the software encoder's at once, a hardware
// encoder's when the device returns it. The NAL units are only valid
// during the call.
type frameEncoder interface {
	Encode(p *picture, emit func(nalus [][]byte, pts time.Duration) error) error
	RequestIDR()
	Close() error
}

// bitrateSetter is a frameEncoder whose target bitrate can change while it
// runs, from any goroutine, from the next frame on.
type bitrateSetter interface {
	SetBitrate(bps int)
}

// newEncoder makes an encoder for a stream's settings; slices is a hint
// for the software encoder.
type newEncoder func(s streamSettings, slices int) (frameEncoder, error)

// encodedSource runs a raw source through an encoder for the main stream
// and, scaled down, the software encoder for the sub stream; it watches
// for motion and keeps a recent raw frame for snapshots. Its settings can
// change while it runs: it then starts again with a new source and new
// encoders, whose first frame is an IDR with the new parameter sets, and
// timestamps that go on from the old ones.
type encodedSource struct {
	kind       rawKind
	newMain    newEncoder
	qp, slices int
	latest     testsrc.Latest
	log        *slog.Logger
	// subOut is where the sub stream's access units go (set before Run).
	subOut auWriter

	mu        sync.Mutex
	main, sub streamSettings // sub.Width == 0: no sub stream
	changed   chan struct{}  // closed when the settings change

	// The encoders in use, for RequestIDR from other goroutines.
	enc, subEnc atomic.Pointer[frameEncoder]
	// rate and subRate are the bitrates rate adaptation chose for the
	// streams (0: none yet); they outlive a change of encoders.
	rate, subRate atomic.Int64

	// motion watches the main stream's frames; onMotion, if set, hears
	// when motion starts and stops.
	motion   *motion.Detector
	onMotion atomic.Pointer[func(bool)]
	// onLuma, if set, takes each frame's mean luma (a light meter).
	onLuma atomic.Pointer[func(mean float64, at time.Duration)]
	// gray makes the pictures grayscale (night mode): neutral chroma.
	gray atomic.Bool
}

// setLuma sets the function that takes each frame's mean luma.
func (p *encodedSource) setLuma(fn func(mean float64, at time.Duration)) { p.onLuma.Store(&fn) }

// setGrayscale turns grayscale on or off from the next frame.
func (p *encodedSource) setGrayscale(on bool) { p.gray.Store(on) }

// setMotion sets the function told when motion starts and stops.
func (p *encodedSource) setMotion(fn func(active bool)) { p.onMotion.Store(&fn) }

// settingsFor derives the streams' settings from the configuration.
func settingsFor(spec SourceSpec, cfg EncoderConfig) (main, sub streamSettings) {
	main = streamSettings{Width: spec.Width, Height: spec.Height, FPS: spec.FPS, Bitrate: cfg.Bitrate}
	if main.Width == 0 {
		main.Width, main.Height = 1280, 720
	}
	if main.FPS == 0 {
		main.FPS = 30
	}
	main.GOP = max(1, int(cfg.IDRInterval.Seconds()*main.FPS+0.5))
	if cfg.SubWidth > 0 && cfg.SubWidth < main.Width && cfg.SubHeight < main.Height {
		sub = streamSettings{Width: cfg.SubWidth, Height: cfg.SubHeight, FPS: main.FPS, Bitrate: cfg.SubBitrate, GOP: main.GOP}
	}
	return main, sub
}

// newEncodedSource returns a pipeline from kind through newMain (nil:
// the software encoder), with settings from the configuration.
func newEncodedSource(kind rawKind, newMain newEncoder, main, sub streamSettings, cfg EncoderConfig, log *slog.Logger) (*encodedSource, error) {
	p := &encodedSource{kind: kind, newMain: newMain, qp: cfg.QP, slices: cfg.Slices, log: log,
		changed: make(chan struct{}), motion: motion.New(motion.Options{}), main: main, sub: sub}
	if p.newMain == nil {
		p.newMain = p.softwareEncoder
	}
	if err := p.check(p.main, p.sub); err != nil {
		return nil, err
	}
	return p, nil
}

// testsrcKind is the synthetic live camera.
type testsrcKind struct{ log *slog.Logger }

func (k testsrcKind) options(s streamSettings) testsrc.Options {
	return testsrc.Options{Width: s.Width, Height: s.Height, FPS: s.FPS, Logger: k.log}
}

func (k testsrcKind) check(main streamSettings) error {
	_, err := testsrc.New(k.options(main))
	return err
}

func (k testsrcKind) open(main streamSettings) (rawSource, error) {
	src, err := testsrc.New(k.options(main))
	if err != nil {
		return nil, err
	}
	return &testsrcRaw{src: src}, nil
}

// testsrcRaw adapts the test pattern's frames to pictures.
type testsrcRaw struct {
	src *testsrc.Source
	pic picture
}

func (t *testsrcRaw) Run(ctx context.Context, fn func(*picture) error) error {
	return t.src.Run(ctx, func(f *testsrc.Frame) error {
		t.pic = picture{Frame: software.Frame{Format: software.I420, Width: f.Width, Height: f.Height,
			Y: f.Y, U: f.U, V: f.V}, PTS: f.PTS, Wall: f.Wall}
		return fn(&t.pic)
	})
}

func newTestsrc(spec SourceSpec, cfg EncoderConfig, log *slog.Logger) (*encodedSource, error) {
	main, sub := settingsFor(spec, cfg)
	return newEncodedSource(testsrcKind{log}, nil, main, sub, cfg, log)
}

// check reports whether main and sub can be encoded together.
func (p *encodedSource) check(main, sub streamSettings) error {
	if err := p.kind.check(main); err != nil {
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

// swEncoder adapts the software encoder to frameEncoder.
type swEncoder struct{ *software.Encoder }

func (e swEncoder) Encode(p *picture, emit func([][]byte, time.Duration) error) error {
	nalus, _, err := e.Encoder.Encode(&p.Frame)
	if err != nil {
		return err
	}
	return emit(nalus, p.PTS)
}

func (e swEncoder) Close() error { return nil }

func (p *encodedSource) softwareEncoder(s streamSettings, slices int) (frameEncoder, error) {
	e, err := software.New(p.encoderOptions(s, slices))
	if err != nil {
		return nil, err
	}
	return swEncoder{e}, nil
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

// snapshotEvery is how often a raw frame is kept for snapshots.
const snapshotEvery = 200 * time.Millisecond

// run encodes with one set of settings until ctx ends or changed is
// closed, and returns the PTS the next frame would have had.
func (p *encodedSource) run(ctx context.Context, w auWriter, main, sub streamSettings, changed <-chan struct{}, base time.Duration) (time.Duration, error) {
	src, err := p.kind.open(main)
	if err != nil {
		return 0, err
	}
	enc, err := p.newMain(main, p.slices)
	if err != nil {
		return 0, err
	}
	defer enc.Close()
	p.enc.Store(&enc)
	applyRate(enc, p.rate.Load(), main.Bitrate)
	var subEnc frameEncoder
	var subPic picture
	if sub.Width > 0 {
		if subEnc, err = p.softwareEncoder(sub, 1); err != nil {
			return 0, fmt.Errorf("sub stream: %w", err)
		}
		defer subEnc.Close()
		p.subEnc.Store(&subEnc)
		applyRate(subEnc, p.subRate.Load(), sub.Bitrate)
		sw, sh := sub.Width, sub.Height
		subPic.Frame = software.Frame{Format: software.I420, Width: sw, Height: sh,
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
	var au h264.AccessUnit
	write := func(w auWriter) func([][]byte, time.Duration) error {
		return func(nalus [][]byte, pts time.Duration) error {
			if len(nalus) == 0 {
				return nil
			}
			au.NALUs, au.PTS = nalus, pts
			return w.WriteAccessUnit(&au)
		}
	}
	writeMain, writeSub := write(w), write(p.subOut)
	var (
		next     = base
		nextSub  = base
		first    = time.Duration(-1) // the source's PTS of the first frame
		lastSnap time.Time
		snap     testsrc.Frame
		neutral  []byte // grey chroma for night mode
	)
	err = src.Run(rctx, func(f *picture) error {
		if first < 0 {
			first = f.PTS
		}
		pts := base + f.PTS - first
		if pts < next-frame/2 { // a source clock that went back
			pts = next
		}
		next = pts + frame
		if p.gray.Load() {
			neutral = grayChroma(&f.Frame, neutral)
		}
		if f.Wall.Sub(lastSnap) >= snapshotEvery || f.Wall.Before(lastSnap) {
			lastSnap = f.Wall
			p.keep(&snap, f)
		}
		if on, changed, err := p.motion.Update(f.Y, f.Width, f.Height, cmp0(f.YStride, f.Width), pts); err == nil {
			if changed {
				p.log.Debug("motion", "active", on, "changed_cells", p.motion.Changed())
				if fn := p.onMotion.Load(); fn != nil {
					(*fn)(on)
				}
			}
			if fn := p.onLuma.Load(); fn != nil {
				(*fn)(p.motion.Luma(), pts)
			}
		}
		if f.Discontinuity {
			enc.RequestIDR()
			if subEnc != nil {
				subEnc.RequestIDR()
			}
		}
		f.PTS = pts
		if err := enc.Encode(f, writeMain); err != nil {
			return err
		}
		// The sub stream takes the frames due at its own rate: with a
		// frame's slack, so that equal rates take every frame.
		if subEnc == nil || p.subOut == nil || pts+frame/2 < nextSub {
			return nil
		}
		nextSub = max(nextSub+subFrame, pts+subFrame/2)
		if err := scaleI420(&subPic.Frame, &f.Frame); err != nil {
			return err
		}
		subPic.PTS = pts
		if err := subEnc.Encode(&subPic, writeSub); err != nil {
			return fmt.Errorf("sub stream: %w", err)
		}
		return nil
	})
	return next, err
}

// grayChroma points f's chroma planes at neutral (128) ones, made from buf
// when it is too small, and returns them: a grayscale picture for night
// mode, whatever the encoder, with chroma that costs almost no bits.
func grayChroma(f *software.Frame, buf []byte) []byte {
	cw, ch := (f.Width+1)/2, (f.Height+1)/2
	if len(buf) < cw*ch {
		buf = make([]byte, cw*ch)
		for i := range buf {
			buf[i] = 128
		}
	}
	f.U, f.V, f.CStride = buf[:cw*ch], buf[:cw*ch], cw
	return buf
}

// keep stores f for snapshots, packing its planes into snap first when
// they have padding.
func (p *encodedSource) keep(snap *testsrc.Frame, f *picture) {
	w, h := f.Width, f.Height
	cw, ch := (w+1)/2, (h+1)/2
	ys, cs := cmp0(f.YStride, w), cmp0(f.CStride, cw)
	snap.Width, snap.Height, snap.PTS, snap.Wall = w, h, f.PTS, f.Wall
	if ys == w && cs == cw {
		snap.Y, snap.U, snap.V = f.Y[:w*h], f.U[:cw*ch], f.V[:cw*ch]
	} else {
		snap.Y, snap.U, snap.V = snap.Y[:0], snap.U[:0], snap.V[:0]
		for r := range h {
			snap.Y = append(snap.Y, f.Y[r*ys:r*ys+w]...)
		}
		for r := range ch {
			snap.U = append(snap.U, f.U[r*cs:r*cs+cw]...)
			snap.V = append(snap.V, f.V[r*cs:r*cs+cw]...)
		}
	}
	p.latest.Store(snap)
	if ys == w && cs == cw {
		snap.Y, snap.U, snap.V = nil, nil, nil // not ours
	}
}

// scaleI420 fills d from s, both I420.
func scaleI420(d, s *software.Frame) error {
	ys, cs := cmp0(s.YStride, s.Width), cmp0(s.CStride, s.Width/2)
	planes := [3][2]scale.Plane{
		{{Pix: d.Y, Width: d.Width, Height: d.Height, Stride: d.Width}, {Pix: s.Y, Width: s.Width, Height: s.Height, Stride: ys}},
		{{Pix: d.U, Width: d.Width / 2, Height: d.Height / 2, Stride: d.Width / 2}, {Pix: s.U, Width: s.Width / 2, Height: s.Height / 2, Stride: cs}},
		{{Pix: d.V, Width: d.Width / 2, Height: d.Height / 2, Stride: d.Width / 2}, {Pix: s.V, Width: s.Width / 2, Height: s.Height / 2, Stride: cs}},
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
		(*e).RequestIDR()
	}
}

// setBitrate sets the main stream's encoder bitrate, as rate adaptation
// chose it, from the next frame on; encoders made later start at it too.
// It never exceeds the stream's configured bitrate.
func (p *encodedSource) setBitrate(bps int) {
	p.rate.Store(int64(bps))
	if e := p.enc.Load(); e != nil {
		main, _ := p.settings()
		applyRate(*e, int64(bps), main.Bitrate)
	}
}

// subSetBitrate is setBitrate for the sub stream.
func (p *encodedSource) subSetBitrate(bps int) {
	p.subRate.Store(int64(bps))
	if e := p.subEnc.Load(); e != nil {
		_, sub := p.settings()
		applyRate(*e, int64(bps), sub.Bitrate)
	}
}

// applyRate sets enc's bitrate to bps, at most limit, if bps is set and
// enc can change its bitrate.
func applyRate(enc frameEncoder, bps int64, limit int) {
	if bs, ok := enc.(bitrateSetter); ok && bps > 0 {
		bs.SetBitrate(int(min(bps, int64(limit))))
	}
}

// subRequestIDR makes the sub stream's next frame an IDR.
func (p *encodedSource) subRequestIDR() {
	if e := p.subEnc.Load(); e != nil {
		(*e).RequestIDR()
	}
}

type jpegBuffer []byte

func (b *jpegBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
