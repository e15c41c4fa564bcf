package board

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"periph.io/x/conn/v3/gpio"
)

// SysfsOpener is a LineOpener on the deprecated /sys/class/gpio interface,
// for kernels without the GPIO character device. Lines are addressed by
// chip (label, or gpiochipN with N the sysfs base) and offset; sysfs has no
// line names. Outputs are configured glitch-free by writing "low"/"high" to
// direction; Close unexports the line. It cannot group lines.
type SysfsOpener struct {
	root string
}

// NewSysfsOpener returns a SysfsOpener on root ("" = /sys/class/gpio).
func NewSysfsOpener(root string) *SysfsOpener {
	if root == "" {
		root = "/sys/class/gpio"
	}
	return &SysfsOpener{root: root}
}

func (s *SysfsOpener) number(cfg LineConfig) (int, error) {
	if cfg.Offset == nil {
		return 0, fmt.Errorf("sysfs GPIO needs an offset for %s (no line names in sysfs)", cfg)
	}
	chips, _ := filepath.Glob(filepath.Join(s.root, "gpiochip*"))
	for _, dir := range chips {
		label, _ := os.ReadFile(filepath.Join(dir, "label"))
		if strings.TrimSpace(string(label)) != cfg.Chip && filepath.Base(dir) != cfg.Chip {
			continue
		}
		base, err := readIntFile(filepath.Join(dir, "base"))
		if err != nil {
			return 0, err
		}
		n, err := readIntFile(filepath.Join(dir, "ngpio"))
		if err != nil {
			return 0, err
		}
		if *cfg.Offset >= n {
			return 0, fmt.Errorf("sysfs gpio chip %s has %d lines, no offset %d", cfg.Chip, n, *cfg.Offset)
		}
		return base + *cfg.Offset, nil
	}
	return 0, fmt.Errorf("sysfs gpio chip %q not found in %s", cfg.Chip, s.root)
}

func readIntFile(p string) (int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", p, err)
	}
	return v, nil
}

type sysfsLine struct {
	root  string
	n     int
	value *os.File
}

func (s *SysfsOpener) export(cfg LineConfig, direction string) (*sysfsLine, error) {
	n, err := s.number(cfg)
	if err != nil {
		return nil, err
	}
	l := &sysfsLine{root: s.root, n: n}
	dir := filepath.Join(s.root, "gpio"+strconv.Itoa(n))
	if _, err := os.Stat(dir); err != nil {
		if err := os.WriteFile(filepath.Join(s.root, "export"), []byte(strconv.Itoa(n)), 0); err != nil {
			return nil, fmt.Errorf("sysfs export gpio%d (%s): %w", n, cfg, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "direction"), []byte(direction), 0); err != nil {
		_ = l.unexport()
		return nil, fmt.Errorf("sysfs gpio%d (%s) direction %s: %w", n, cfg, direction, err)
	}
	if cfg.ActiveLow {
		// The board applies ActiveLow itself; keep sysfs non-inverted.
		_ = os.WriteFile(filepath.Join(dir, "active_low"), []byte("0"), 0)
	}
	if l.value, err = os.OpenFile(filepath.Join(dir, "value"), os.O_RDWR, 0); err != nil {
		_ = l.unexport()
		return nil, fmt.Errorf("sysfs gpio%d (%s): %w", n, cfg, err)
	}
	return l, nil
}

func (l *sysfsLine) unexport() error {
	return os.WriteFile(filepath.Join(l.root, "unexport"), []byte(strconv.Itoa(l.n)), 0)
}

func (l *sysfsLine) Out(v gpio.Level) error {
	b := []byte("0")
	if v {
		b = []byte("1")
	}
	_, err := l.value.WriteAt(b, 0)
	return err
}

func (l *sysfsLine) Read() (gpio.Level, error) {
	b := make([]byte, 1)
	if _, err := l.value.ReadAt(b, 0); err != nil {
		return gpio.Low, fmt.Errorf("sysfs gpio%d: %w", l.n, err)
	}
	return b[0] == '1', nil
}

func (l *sysfsLine) Close() error {
	var err error
	if l.value != nil {
		err = l.value.Close()
		l.value = nil
	}
	return errors.Join(err, l.unexport())
}

// Output implements LineOpener.
func (s *SysfsOpener) Output(cfg LineConfig, initial gpio.Level) (Output, error) {
	d := "low"
	if initial {
		d = "high"
	}
	return s.export(cfg, d)
}

// Input implements LineOpener. Bias is not available through sysfs.
func (s *SysfsOpener) Input(cfg LineConfig) (Input, error) {
	return s.export(cfg, "in")
}

// OutputGroup implements LineOpener; sysfs cannot set lines together.
func (s *SysfsOpener) OutputGroup([]LineConfig, gpio.GPIOValue) (OutputGroup, error) {
	return nil, fmt.Errorf("sysfs GPIO: %w", ErrNotAtomic)
}
