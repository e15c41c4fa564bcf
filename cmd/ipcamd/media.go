package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// mediaState is media.yaml in the state directory: the encoder settings
// that ONVIF clients chose (SetVideoEncoderConfiguration). They override
// the configuration file's until the file is removed.
type mediaState struct {
	Main streamSettings  `yaml:"main"`
	Sub  *streamSettings `yaml:"sub,omitempty"`
}

func mediaStatePath(stateDir string) string { return filepath.Join(stateDir, "media.yaml") }

// loadMediaState reads media.yaml; ok is false when there is none.
func loadMediaState(stateDir string) (m mediaState, ok bool, err error) {
	path := mediaStatePath(stateDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("%s: %w", path, err)
	}
	if m.Main.Width <= 0 || m.Main.Height <= 0 || m.Main.FPS <= 0 {
		return m, false, fmt.Errorf("%s: main: no size or frame rate", path)
	}
	return m, true, nil
}

// saveMediaState writes media.yaml atomically: a crash leaves the old
// file or the new one, never half of one.
func saveMediaState(stateDir string, m mediaState) error {
	b, err := yaml.Marshal(&m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("saving encoder settings: %w", err)
	}
	b = append([]byte("# Encoder settings chosen over ONVIF or on the web page; they override the configuration file.\n"), b...)
	if err := writeFileAtomic(mediaStatePath(stateDir), b, 0o600); err != nil {
		return fmt.Errorf("saving encoder settings: %w", err)
	}
	return nil
}

// errSaving marks an applyEncoder failure to save, as opposed to settings
// the source refused.
var errSaving = errors.New("saving encoder settings")

// applyEncoder makes main and sub src's encoder settings, live, and saves
// them in media.yaml. A failure to save undoes the change and is wrapped
// in errSaving; settings the source refuses come back as its error.
func applyEncoder(cfg Config, src *source, main, sub streamSettings, log *slog.Logger) error {
	oldMain, oldSub := src.settings()
	if err := src.reconfigure(main, sub); err != nil {
		return err
	}
	st := mediaState{Main: main}
	if sub.Width > 0 {
		st.Sub = &sub
	}
	if err := saveMediaState(cfg.StateDir, st); err != nil {
		if rerr := src.reconfigure(oldMain, oldSub); rerr != nil {
			log.Error("restoring the encoder settings", "err", rerr)
		}
		return fmt.Errorf("%w: %w", errSaving, err)
	}
	return nil
}
