package main

import (
	"testing"
	"time"
)

type fakeRateEncoder struct{ bps []int }

func (f *fakeRateEncoder) Encode(*picture, func([][]byte, time.Duration) error) error { return nil }
func (f *fakeRateEncoder) RequestIDR()                                                {}
func (f *fakeRateEncoder) Close() error                                               { return nil }
func (f *fakeRateEncoder) SetBitrate(bps int)                                         { f.bps = append(f.bps, bps) }

// TestSetBitrateReachesEncoder: rate adaptation's bitrate reaches the
// encoder in use, never above the stream's configured bitrate, and an
// encoder made later (after a settings change) starts at it.
func TestSetBitrateReachesEncoder(t *testing.T) {
	p := &encodedSource{main: streamSettings{Bitrate: 1000000}, sub: streamSettings{Bitrate: 300000}}
	p.setBitrate(400000) // no encoder yet: kept for the first
	var enc, sub fakeRateEncoder
	var fe, fs frameEncoder = &enc, &sub
	p.enc.Store(&fe)
	p.subEnc.Store(&fs)
	applyRate(fe, p.rate.Load(), p.main.Bitrate) // what run does with a new encoder
	p.setBitrate(700000)
	p.setBitrate(2000000)
	p.subSetBitrate(100000)
	if want := []int{400000, 700000, 1000000}; !equalInts(enc.bps, want) {
		t.Errorf("main encoder got %v, want %v", enc.bps, want)
	}
	if want := []int{100000}; !equalInts(sub.bps, want) {
		t.Errorf("sub encoder got %v, want %v", sub.bps, want)
	}
	// An encoder without SetBitrate is left alone.
	applyRate(nil, 1, 1)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRateOptions: rate adaptation only with the option on, a source that
// encodes and rate control (no fixed QP); max is the stream's bitrate.
func TestRateOptions(t *testing.T) {
	set := func(int) {}
	src := &source{setBitrate: set, subSetBitrate: set,
		settings: func() (streamSettings, streamSettings) {
			return streamSettings{Bitrate: 1000000}, streamSettings{Bitrate: 150000}
		}}
	cfg := DefaultConfig()
	if m, s := rateOptions(cfg, src); m.SetBitrate != nil || s.SetBitrate != nil {
		t.Fatal("rate adaptation on by default")
	}
	cfg.RTSP.RateAdaptation.Enabled = true
	m, s := rateOptions(cfg, src)
	if m.SetBitrate == nil || m.MinBitrate != 200000 || m.MaxBitrate != 1000000 {
		t.Errorf("main: %+v", m)
	}
	if s.SetBitrate == nil || s.MinBitrate != 150000 || s.MaxBitrate != 150000 {
		t.Errorf("sub: %+v", s)
	}
	cfg.Encoder.QP = 26
	if m, _ := rateOptions(cfg, src); m.SetBitrate != nil {
		t.Error("rate adaptation with a fixed QP")
	}
	cfg.Encoder.QP = 0
	if m, _ := rateOptions(cfg, &source{settings: src.settings}); m.SetBitrate != nil {
		t.Error("rate adaptation for a source that does not encode")
	}
}
