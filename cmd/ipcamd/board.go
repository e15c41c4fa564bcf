package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/onvif"
	"github.com/ipcamd/ipcamd/rtsp"
)

// boardHooks are what the board tells the rest of ipcamd; they are set
// once the parts that listen exist.
type boardHooks struct {
	onvif   atomic.Pointer[onvif.Server]
	restart func()
}

// openBoard opens the board profile of cfg and connects it: day/night
// turns the picture grey and is published over ONVIF; frames feed a luma
// light sensor; the reset button restores the factory config.
func openBoard(cfg Config, src *source, hooks *boardHooks, log *slog.Logger) (*board.Board, error) {
	prof, err := board.LoadProfile(cfg.Board.Profile)
	if err != nil {
		return nil, fmt.Errorf("board.profile: %w", err)
	}
	b, err := board.Open(prof, board.Options{
		Logger: log,
		OnDayNight: func(night bool) {
			log.Info("day/night", "night", night)
			if src.setGrayscale != nil {
				src.setGrayscale(night)
			}
			if ov := hooks.onvif.Load(); ov != nil {
				ov.PublishImageTooDark(night)
			}
		},
		OnReset: func() {
			log.Warn("reset button held: restoring the factory configuration")
			if err := factoryReset(cfg); err != nil {
				log.Error("factory reset", "err", err)
			}
			if hooks.restart != nil {
				hooks.restart()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("board %s: %w", cfg.Board.Profile, err)
	}
	if src.setLuma != nil {
		src.setLuma(b.Luma)
	}
	return b, nil
}

// factoryReset empties the state directory (saved encoder settings, the
// TLS certificate, the key that seals WS-Security passwords) and, if the
// config names a factory configuration, copies it over the config file.
func factoryReset(cfg Config) error {
	entries, err := os.ReadDir(cfg.StateDir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(cfg.StateDir, e.Name())); err != nil {
			return err
		}
	}
	if cfg.Board.FactoryConfig == "" || cfg.path == "" {
		return nil
	}
	b, err := os.ReadFile(cfg.Board.FactoryConfig)
	if err != nil {
		return fmt.Errorf("factory config: %w", err)
	}
	if _, err := parseConfig(b); err != nil {
		return fmt.Errorf("factory config %s: %w", cfg.Board.FactoryConfig, err)
	}
	return writeFileAtomic(cfg.path, b, 0o600)
}

// boardImaging is the ONVIF imaging service's IR-cut switch on the
// board: ON keeps the filter in (day), OFF takes it out (night), AUTO
// lets the day/night controller decide.
type boardImaging struct{ b *board.Board }

func (i boardImaging) IrCut() string {
	switch i.b.Mode() {
	case board.ModeDay:
		return onvif.IrCutOn
	case board.ModeNight:
		return onvif.IrCutOff
	}
	return onvif.IrCutAuto
}

func (i boardImaging) SetIrCut(mode string) error {
	m := board.ModeAuto
	switch mode {
	case onvif.IrCutOn:
		m = board.ModeDay
	case onvif.IrCutOff:
		m = board.ModeNight
	}
	return i.b.SetMode(m)
}

// followClients shows on the status LED whether anyone is watching,
// until ctx ends.
func followClients(ctx context.Context, b *board.Board, srv *rtsp.Server) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := board.Status(-1)
	for {
		s := board.StatusStreaming
		if len(srv.Stats().Sessions) > 0 {
			s = board.StatusClient
		}
		if s != last {
			b.SetStatus(s)
			last = s
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
