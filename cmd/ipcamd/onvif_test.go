package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/capture/testsrc"
	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/rtsp"
)

// mcastOf returns the multicast groups of a server with cfg's streams.
func mcastOf(cfg Config) func(string) (netip.AddrPort, error) {
	log := slog.New(slog.DiscardHandler)
	srv := rtsp.NewServer(rtsp.Options{Multicast: true, Logger: log},
		rtsp.NewStream(cfg.RTSP.Path, nil, rtsp.StreamOptions{Logger: log}),
		rtsp.NewStream(cfg.RTSP.SubPath, nil, rtsp.StreamOptions{Logger: log}))
	return srv.MulticastGroup
}

func openTestSource(t *testing.T, cfg Config) *source {
	t.Helper()
	src, err := openSource(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestONVIFProfiles(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	ps := onvifProfiles(cfg, openTestSource(t, cfg), mcastOf(cfg))
	if len(ps) != 2 {
		t.Fatalf("%d profiles", len(ps))
	}
	m, s := ps[0], ps[1]
	if m.Token != "main" || m.Width != 1280 || m.Height != 720 || m.FPS != 30 || m.BitrateKbps != 1000 || m.GOP != 60 || m.Path != "/main" {
		t.Errorf("main %+v", m)
	}
	if s.Token != "sub" || s.Width != 640 || s.Height != 360 || s.BitrateKbps != 500 || s.Path != "/sub" {
		t.Errorf("sub %+v", s)
	}
	if m.MulticastAddress.String() != "239.0.0.1" || s.MulticastAddress.String() != "239.0.0.2" ||
		m.MulticastPort != 5000 || s.MulticastPort != 5002 || m.MulticastTTL != 16 {
		t.Errorf("multicast %v:%d %v:%d ttl %d", m.MulticastAddress, m.MulticastPort, s.MulticastAddress, s.MulticastPort, m.MulticastTTL)
	}
	if len(m.Resolutions) == 0 || m.MaxFPS == 0 {
		t.Errorf("the testsrc's main profile offers no choices: %+v", m)
	}
	cfg.Source = "testsrc:320x240@10"
	cfg.Encoder.SubWidth = 0
	if ps := onvifProfiles(cfg, openTestSource(t, cfg), mcastOf(cfg)); len(ps) != 1 || ps[0].Width != 320 || ps[0].FPS != 10 {
		t.Errorf("testsrc:320x240@10 without sub: %+v", ps)
	}
	cfg.Source = "file:../../testdata/clip-720p25.h264"
	ps = onvifProfiles(cfg, openTestSource(t, cfg), mcastOf(cfg))
	if len(ps) != 1 || ps[0].Width != 1280 || ps[0].FPS != 25 || len(ps[0].Resolutions) != 0 {
		t.Errorf("file source: %+v", ps)
	}
}

func TestHTTPHandlerMountsONVIF(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	src := openTestSource(t, cfg)
	h := httpHandler(http.NotFoundHandler(),
		onvifHandler(cfg, src, onvifProfiles(cfg, src, mcastOf(cfg)), &net.TCPAddr{Port: 8554}, nil, nil, nil, nil, slog.New(slog.DiscardHandler)),
		http.NotFoundHandler(), http.NotFoundHandler())
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetProfiles xmlns="http://www.onvif.org/ver10/media/wsdl"/></s:Body></s:Envelope>`
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "http://192.0.2.1:8080/onvif/media_service", strings.NewReader(body)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `token="sub"`) {
		t.Errorf("status %d\n%s", w.Code, w.Body)
	}
}

// TestSetVideoEncoderPersists changes the sub stream as ONVIF does, and
// checks that the change is live, saved, and back after a restart; and
// that a change the pipeline cannot take is refused and not saved.
func TestSetVideoEncoderPersists(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StateDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	src := openTestSource(t, cfg)
	set := setVideoEncoder(cfg, src, log)
	ps := onvifProfiles(cfg, src, mcastOf(cfg))
	sub := ps[1]
	sub.Width, sub.Height, sub.FPS, sub.BitrateKbps, sub.GOP = 320, 180, 15, 250, 15
	if err := set(sub); err != nil {
		t.Fatal(err)
	}
	if _, s := src.settings(); s != (streamSettings{Width: 320, Height: 180, FPS: 15, Bitrate: 250000, GOP: 15}) {
		t.Errorf("live sub settings %+v", s)
	}
	b, err := os.ReadFile(mediaStatePath(cfg.StateDir))
	if err != nil || !strings.Contains(string(b), "width: 320") {
		t.Fatalf("media.yaml: %v\n%s", err, b)
	}
	again := openTestSource(t, cfg)
	if m, s := again.settings(); s.Width != 320 || s.FPS != 15 || m.Width != 1280 {
		t.Errorf("after a restart: main %+v sub %+v", m, s)
	}

	main := ps[0]
	main.Width, main.Height = 320, 180 // not larger than the sub stream
	if err := set(main); err == nil || !strings.Contains(err.Error(), "smaller") {
		t.Errorf("main as small as sub: %v", err)
	}
	if m, _ := src.settings(); m.Width != 1280 {
		t.Errorf("refused change applied: %+v", m)
	}
	if b2, _ := os.ReadFile(mediaStatePath(cfg.StateDir)); string(b2) != string(b) {
		t.Errorf("refused change saved:\n%s", b2)
	}
}

type auLog struct {
	mu  sync.Mutex
	aus []loggedAU
}

type loggedAU struct {
	pts    time.Duration
	idr    bool
	width  int
	height int
}

func (l *auLog) WriteAccessUnit(au *h264.AccessUnit) error {
	e := loggedAU{pts: au.PTS, idr: au.IDR()}
	for _, n := range au.NALUs {
		if h264.Type(n) == h264.NALUSPS {
			if sps, err := h264.ParseSPS(n); err == nil {
				e.width, e.height = sps.Width, sps.Height
			}
		}
	}
	l.mu.Lock()
	l.aus = append(l.aus, e)
	l.mu.Unlock()
	return nil
}

func (l *auLog) snapshot() []loggedAU {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loggedAU(nil), l.aus...)
}

// TestReconfigureLive changes the main stream's size while it runs: the
// next access unit is an IDR with the new size, and timestamps go on
// rising.
func TestReconfigureLive(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Encoder.SubWidth = 0
	p, err := newTestsrc(SourceSpec{Kind: "testsrc", Width: 160, Height: 96, FPS: 50}, cfg.Encoder, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var out auLog
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, &out) }()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(out.snapshot()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d access units", len(out.snapshot()))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(5)
	m, s := p.settings()
	m.Width, m.Height = 320, 192
	if err := p.reconfigure(m, s); err != nil {
		t.Fatal(err)
	}
	before := len(out.snapshot())
	waitFor(before + 10)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	aus := out.snapshot()
	if aus[0].width != 160 || !aus[0].idr {
		t.Errorf("first access unit %+v", aus[0])
	}
	changed := -1
	for i, a := range aus {
		if i > 0 && a.pts <= aus[i-1].pts {
			t.Errorf("PTS went from %v to %v at %d", aus[i-1].pts, a.pts, i)
		}
		if a.width == 320 && changed < 0 {
			changed = i
		}
	}
	if changed < 0 || !aus[changed].idr || aus[changed].height != 192 {
		t.Fatalf("no IDR with the new size: %+v", aus)
	}
	for _, a := range aus[changed:] {
		if a.width != 0 && a.width != 320 {
			t.Errorf("old size after the change: %+v", a)
		}
	}
}

// TestGrayscaleAndLuma: night mode makes the pictures grey (the
// snapshot's chroma is neutral), and every frame's mean luma reaches the
// light meter.
func TestGrayscaleAndLuma(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Encoder.SubWidth = 0
	p, err := newTestsrc(SourceSpec{Kind: "testsrc", Width: 160, Height: 96, FPS: 50}, cfg.Encoder, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lumas []float64
	p.setLuma(func(mean float64, _ time.Duration) {
		mu.Lock()
		lumas = append(lumas, mean)
		mu.Unlock()
	})
	p.setGrayscale(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, &auLog{}) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var snap testsrc.Frame
	if !p.latest.Snapshot(&snap) {
		t.Fatal("no snapshot")
	}
	for i := range snap.U {
		if snap.U[i] != 128 || snap.V[i] != 128 {
			t.Fatalf("chroma %d/%d at %d in night mode, want 128", snap.U[i], snap.V[i], i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lumas) < 5 || lumas[0] < 20 || lumas[0] > 235 {
		t.Errorf("luma readings %v", lumas)
	}
}
