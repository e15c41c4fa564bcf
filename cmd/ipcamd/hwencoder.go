package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/encoder/v4l2m2m"
	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// mainEncoder chooses the main stream's encoder for raw frames, as
// encoder.kind says: nil means the software encoder. what names the
// choice for the log.
func mainEncoder(cfg Config, log *slog.Logger) (enc newEncoder, what string, err error) {
	kind := cfg.Encoder.Kind
	if kind == "software" {
		return nil, "software encoder", nil
	}
	var dev v4l2m2m.DeviceInfo
	if path := cfg.Encoder.Device; path != "" {
		dev, err = v4l2m2m.Probe(path)
		if err == nil && !dev.Supports(v4l2.PixFmtH264) {
			err = fmt.Errorf("%s is not an H.264 encoder (%s)", path, dev)
		}
	} else {
		dev, err = v4l2m2m.Detect(v4l2.PixFmtH264)
	}
	if err == nil && !slices.Contains(dev.OutputFormats, v4l2.PixFmtYU12) {
		err = fmt.Errorf("%s does not take YU12 frames (%s)", dev.Path, dev)
	}
	if err != nil {
		if kind == "hardware" {
			return nil, "", fmt.Errorf("encoder.kind hardware: %w", err)
		}
		log.Info("no usable hardware H.264 encoder, using the software encoder", "reason", err)
		return nil, "software encoder", nil
	}
	return func(s streamSettings, _ int) (frameEncoder, error) {
		e, err := v4l2m2m.Open(dev.Path, v4l2m2m.Options{Width: s.Width, Height: s.Height, FPS: s.FPS,
			PixelFormat: v4l2.PixFmtYU12, Codec: v4l2.PixFmtH264, Bitrate: s.Bitrate, GOP: s.GOP, Logger: log})
		if err != nil {
			return nil, err
		}
		return &hwEncoder{e: e, frame: time.Duration(float64(time.Second) / s.FPS), log: log}, nil
	}, "hardware encoder " + dev.Path + " (" + dev.Driver + ")", nil
}

// hwEncoder adapts a V4L2 memory-to-memory encoder to frameEncoder. Each
// Encode queues one frame, then hands on every access unit the device
// has ready, waiting up to half a frame for the first.
type hwEncoder struct {
	e     *v4l2m2m.Encoder
	frame time.Duration
	log   *slog.Logger
	idr   atomic.Bool
	nalus [][]byte
	warn  bool // ForceKeyFrame unsupported was logged
	// rateWarn: SetBitrate failing was logged.
	rateWarn atomic.Bool
}

// SetBitrate changes the device's bitrate control (V4L2_CID_MPEG_VIDEO_BITRATE)
// while it streams. A device that cannot is logged once and keeps its
// bitrate.
func (h *hwEncoder) SetBitrate(bps int) {
	if err := h.e.SetBitrate(bps); err != nil && !errors.Is(err, v4l2m2m.ErrClosed) && !h.rateWarn.Swap(true) {
		h.log.Warn("the hardware encoder cannot change its bitrate while it runs: rate adaptation has no effect", "err", err)
	}
}

func (h *hwEncoder) RequestIDR() { h.idr.Store(true) }

func (h *hwEncoder) Encode(p *picture, emit func([][]byte, time.Duration) error) error {
	if h.idr.Swap(false) {
		if err := h.e.ForceKeyFrame(); err != nil && !h.warn {
			h.warn = true
			h.log.Warn("the hardware encoder cannot make a key frame on demand: new clients wait for the next one", "err", err)
		}
	}
	ys, cs := cmp0(p.YStride, p.Width), cmp0(p.CStride, p.Width/2)
	f := v4l2m2m.RawFrame{Planes: [3][]byte{p.Y, p.U, p.V}, Strides: [3]int{ys, cs, cs}, Timestamp: p.PTS}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.e.Encode(ctx, f); err != nil {
		return fmt.Errorf("hardware encoder: %w", err)
	}
	wait, wcancel := context.WithTimeout(ctx, h.frame/2)
	pkt, err := h.e.Next(wait)
	wcancel()
	for {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, v4l2m2m.ErrNotReady):
			return nil
		case err != nil:
			return fmt.Errorf("hardware encoder: %w", err)
		}
		au := pkt.AccessUnit(h.nalus[:0])
		h.nalus = au.NALUs
		if err := emit(au.NALUs, pkt.Timestamp); err != nil {
			return err
		}
		pkt, err = h.e.TryNext()
	}
}

func (h *hwEncoder) Close() error { return h.e.Close() }
