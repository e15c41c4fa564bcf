package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/encoder/scale"
	"github.com/ipcamd/ipcamd/encoder/software"
	"github.com/ipcamd/ipcamd/h264"
)

// auWriter takes encoded access units; the ring is one.
type auWriter interface {
	WriteAccessUnit(*h264.AccessUnit) error
}

// encodedSource runs the synthetic camera through the software encoder
// for the main stream and, scaled down, for the sub stream; it keeps the
// latest raw frame for snapshots.
type encodedSource struct {
	src    *testsrc.Source
	enc    *software.Encoder
	latest testsrc.Latest
	log    *slog.Logger

	// The sub stream, if any: its encoder, its scaled frame, and where its
	// access units go (set before Run).
	sub    *software.Encoder
	subIn  software.Frame
	subOut auWriter
}

func newTestsrc(spec SourceSpec, cfg EncoderConfig, log *slog.Logger) (*encodedSource, error) {
	w, h, fps := spec.Width, spec.Height, spec.FPS
	if w == 0 {
		w, h, fps = 1280, 720, 30
	}
	src, err := testsrc.New(testsrc.Options{Width: w, Height: h, FPS: fps, Logger: log})
	if err != nil {
		return nil, err
	}
	idr := int(cfg.IDRInterval.Seconds()*fps + 0.5)
	enc, err := software.New(software.Options{Width: w, Height: h, FPS: fps,
		QP: cfg.QP, Bitrate: cfg.Bitrate, IDRInterval: idr, Slices: cfg.Slices})
	if err != nil {
		return nil, err
	}
	p := &encodedSource{src: src, enc: enc, log: log}
	if sw, sh := cfg.SubWidth, cfg.SubHeight; sw > 0 && sw < w && sh < h {
		if p.sub, err = software.New(software.Options{Width: sw, Height: sh, FPS: fps,
			QP: cfg.QP, Bitrate: cfg.SubBitrate, IDRInterval: idr}); err != nil {
			return nil, fmt.Errorf("sub stream: %w", err)
		}
		p.subIn = software.Frame{Format: software.I420, Width: sw, Height: sh,
			Y: make([]byte, sw*sh), U: make([]byte, sw*sh/4), V: make([]byte, sw*sh/4)}
	}
	return p, nil
}

// Run encodes frames until ctx ends.
func (p *encodedSource) Run(ctx context.Context, w auWriter) error {
	var au h264.AccessUnit
	var in software.Frame
	return p.src.Run(ctx, func(f *testsrc.Frame) error {
		p.latest.Store(f)
		in = software.Frame{Format: software.I420, Width: f.Width, Height: f.Height, Y: f.Y, U: f.U, V: f.V}
		nalus, _, err := p.enc.Encode(&in)
		if err != nil {
			return err
		}
		au.NALUs, au.PTS = nalus, f.PTS
		if err := w.WriteAccessUnit(&au); err != nil {
			return err
		}
		if p.sub == nil || p.subOut == nil {
			return nil
		}
		if err := p.scale(f); err != nil {
			return err
		}
		if nalus, _, err = p.sub.Encode(&p.subIn); err != nil {
			return fmt.Errorf("sub stream: %w", err)
		}
		au.NALUs = nalus
		return p.subOut.WriteAccessUnit(&au)
	})
}

// scale fills the sub stream's frame from a capture.
func (p *encodedSource) scale(f *testsrc.Frame) error {
	d := &p.subIn
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
func (p *encodedSource) RequestIDR() { p.enc.RequestIDR() }

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
