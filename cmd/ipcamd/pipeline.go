package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/encoder/software"
	"github.com/ipcamd/ipcamd/h264"
)

// auWriter takes encoded access units; the ring is one.
type auWriter interface {
	WriteAccessUnit(*h264.AccessUnit) error
}

// encodedSource runs the synthetic camera through the software encoder,
// and keeps the latest raw frame for snapshots.
type encodedSource struct {
	src    *testsrc.Source
	enc    *software.Encoder
	latest testsrc.Latest
	log    *slog.Logger
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
	enc, err := software.New(software.Options{
		Width: w, Height: h, FPS: fps,
		QP:          cfg.QP,
		Bitrate:     cfg.Bitrate,
		IDRInterval: int(cfg.IDRInterval.Seconds()*fps + 0.5),
		Slices:      cfg.Slices,
	})
	if err != nil {
		return nil, err
	}
	return &encodedSource{src: src, enc: enc, log: log}, nil
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
		return w.WriteAccessUnit(&au)
	})
}

// RequestIDR makes the next frame an IDR.
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
