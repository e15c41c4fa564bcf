package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/onvif"
)

func TestFactoryReset(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(filepath.Join(state, "tls"), 0o700)
	os.WriteFile(filepath.Join(state, "media.yaml"), []byte("main: {}\n"), 0o600)
	os.WriteFile(filepath.Join(state, "tls", "cert.pem"), []byte("x"), 0o600)
	cfgPath := filepath.Join(dir, "ipcamd.yaml")
	os.WriteFile(cfgPath, []byte("state_dir: "+state+"\nusers:\n  - name: bob\n    hash: x\n"), 0o600)
	factory := filepath.Join(dir, "factory.yaml")
	os.WriteFile(factory, []byte("state_dir: "+state+"\nlog_level: debug\n"), 0o600)

	cfg := DefaultConfig()
	cfg.StateDir, cfg.path, cfg.Board.FactoryConfig = state, cfgPath, factory
	if err := factoryReset(cfg); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(state); len(es) != 0 {
		t.Errorf("state dir still holds %v", es)
	}
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "log_level: debug") || strings.Contains(string(b), "bob") {
		t.Errorf("config after the reset:\n%s", b)
	}

	// A broken factory config is not copied: the camera must still start.
	os.WriteFile(factory, []byte("nonsense_key: 1\n"), 0o600)
	if err := factoryReset(cfg); err == nil || !strings.Contains(err.Error(), "nonsense_key") {
		t.Errorf("broken factory config: %v", err)
	}
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "log_level: debug") {
		t.Errorf("config replaced by a broken one:\n%s", b)
	}
}

func TestBoardImaging(t *testing.T) {
	b, err := board.Open(nil, board.Options{Logger: slog.New(slog.DiscardHandler)}) // the "none" board
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	im := boardImaging{b}
	if got := im.IrCut(); got != onvif.IrCutAuto {
		t.Errorf("initial mode %s", got)
	}
	for _, m := range []string{onvif.IrCutOff, onvif.IrCutOn, onvif.IrCutAuto} {
		if err := im.SetIrCut(m); err != nil {
			t.Fatal(err)
		}
		if got := im.IrCut(); got != m {
			t.Errorf("SetIrCut(%s) then IrCut() = %s", m, got)
		}
	}
	if err := im.SetIrCut(onvif.IrCutOff); err != nil || !b.Night() {
		t.Errorf("OFF (filter out) is night: night=%v err=%v", b.Night(), err)
	}
}
