package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

type nopWriter struct{}

func (nopWriter) WriteAccessUnit(*h264.AccessUnit) error { return nil }

// TestWatchdogDisarmsOnExit: a clean exit writes the magic 'V', so a
// shutdown or a restart in place never resets the board. (Feeding and
// the reset on a stall are tested on the emulated board's i6300esb.)
func TestWatchdogDisarmsOnExit(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "watchdog") // a file: the ioctls fail, harmlessly
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := &healthWriter{w: nopWriter{}}
	h.WriteAccessUnit(&h264.AccessUnit{})
	if h.since(time.Now().Add(-time.Hour)) > time.Second {
		t.Error("a fresh access unit does not count as health")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- runWatchdog(ctx, WatchdogConfig{Device: dev, Timeout: 2 * time.Second}, h, slog.New(slog.DiscardHandler))
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dev); string(b) != "V" {
		t.Errorf("watchdog device got %q at exit, want the magic close V", b)
	}
	if err := runWatchdog(context.Background(), WatchdogConfig{Device: "/nonexistent/watchdog", Timeout: 2 * time.Second}, h, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a missing device is not an error")
	}
}

func TestWatchdogConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Watchdog = WatchdogConfig{Device: "/dev/watchdog", Timeout: time.Second}
	if err := cfg.Validate(); err == nil {
		t.Error("a 1 s watchdog timeout was accepted")
	}
	cfg.Watchdog.Timeout = 15 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
