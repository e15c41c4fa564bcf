package board

import (
	"fmt"
	"log/slog"
	"strings"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3/gpioioctl"
)

// PeriphOpener is the default LineOpener: periph.io's gpioioctl (GPIO
// character device, uAPI v2) and, when no character device chip exists
// (old vendor kernels), the sysfs GPIO interface.
type PeriphOpener struct {
	log   *slog.Logger
	sysfs *SysfsOpener
}

// NewPeriphOpener initialises periph.io's registered drivers once
// (driverreg.Init, which is idempotent; it fills gpioioctl.Chips, a
// package-level list owned by periph) and returns the opener.
func NewPeriphOpener(log *slog.Logger) *PeriphOpener {
	if log == nil {
		log = slog.Default()
	}
	if _, err := driverreg.Init(); err != nil {
		log.Warn("periph.io driver init", "err", err)
	}
	o := &PeriphOpener{log: log}
	if len(gpioioctl.Chips) == 0 {
		log.Info("no GPIO character device chips; using sysfs GPIO")
		o.sysfs = NewSysfsOpener("")
	}
	return o
}

func chipMatches(c *gpioioctl.GPIOChip, want string) bool {
	return c.Label() == want || c.Name() == want || c.Path() == want ||
		"/dev/"+c.Name() == want
}

// lineOf finds the chip and line for cfg.
func lineOf(cfg LineConfig) (*gpioioctl.GPIOChip, *gpioioctl.GPIOLine, error) {
	var chips []*gpioioctl.GPIOChip
	for _, c := range gpioioctl.Chips {
		if cfg.Chip == "" || chipMatches(c, cfg.Chip) {
			chips = append(chips, c)
		}
	}
	if len(chips) == 0 {
		var have []string
		for _, c := range gpioioctl.Chips {
			have = append(have, c.Name()+" ("+c.Label()+")")
		}
		return nil, nil, fmt.Errorf("gpio chip %q not found (have %s)", cfg.Chip, strings.Join(have, ", "))
	}
	for _, c := range chips {
		if cfg.Line != "" {
			for _, l := range c.Lines() {
				// gpioioctl renames lines whose name another chip already
				// registered to "<chip>-<name>".
				if l.Name() == cfg.Line || l.Name() == c.Name()+"-"+cfg.Line {
					return c, l, nil
				}
			}
			continue
		}
		if *cfg.Offset >= c.LineCount() {
			return nil, nil, fmt.Errorf("gpio chip %s has %d lines, no offset %d", c.Name(), c.LineCount(), *cfg.Offset)
		}
		return c, c.ByNumber(*cfg.Offset), nil
	}
	return nil, nil, fmt.Errorf("gpio line %q not found on chip %q", cfg.Line, cfg.Chip)
}

func pull(bias string) gpio.Pull {
	switch bias {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	case "disable":
		return gpio.Float
	}
	return gpio.PullNoChange
}

type periphOut struct{ l *gpioioctl.GPIOLine }

func (o periphOut) Out(l gpio.Level) error { return o.l.Out(l) }
func (o periphOut) Close() error           { o.l.Close(); return nil }

type periphIn struct{ l *gpioioctl.GPIOLine }

func (i periphIn) Read() (gpio.Level, error) { return i.l.Read(), nil }
func (i periphIn) Close() error              { i.l.Close(); return nil }

// Output implements LineOpener. gpioioctl v3.8.5 requests the line as an
// output without an initial value (the kernel drives it low) and then sets
// initial, so a line whose initial level is high glitches low for the time
// of two ioctls.
func (o *PeriphOpener) Output(cfg LineConfig, initial gpio.Level) (Output, error) {
	if o.sysfs != nil {
		return o.sysfs.Output(cfg, initial)
	}
	_, l, err := lineOf(cfg)
	if err != nil {
		return nil, err
	}
	if err := l.Out(initial); err != nil {
		l.Close()
		return nil, fmt.Errorf("request %s as output: %w", cfg, err)
	}
	return periphOut{l}, nil
}

// Input implements LineOpener.
func (o *PeriphOpener) Input(cfg LineConfig) (Input, error) {
	if o.sysfs != nil {
		return o.sysfs.Input(cfg)
	}
	_, l, err := lineOf(cfg)
	if err != nil {
		return nil, err
	}
	if err := l.In(pull(cfg.Bias), gpio.NoEdge); err != nil {
		l.Close()
		return nil, fmt.Errorf("request %s as input: %w", cfg, err)
	}
	return periphIn{l}, nil
}

// OutputGroup implements LineOpener with a gpioioctl.LineSet, whose Out
// sets every line in one GPIO_V2_LINE_SET_VALUES ioctl. periph's LineSet
// addresses lines by name, so the lines must be on one chip and have
// unique names there; otherwise the error wraps ErrNotAtomic.
func (o *PeriphOpener) OutputGroup(cfgs []LineConfig, initial gpio.GPIOValue) (OutputGroup, error) {
	if o.sysfs != nil {
		return nil, fmt.Errorf("sysfs GPIO: %w", ErrNotAtomic)
	}
	var chip *gpioioctl.GPIOChip
	var names []string
	for _, cfg := range cfgs {
		c, l, err := lineOf(cfg)
		if err != nil {
			return nil, err
		}
		if chip != nil && c != chip {
			return nil, fmt.Errorf("%s and %s are on different chips: %w", cfgs[0], cfg, ErrNotAtomic)
		}
		chip = c
		n := 0
		for _, other := range c.Lines() {
			if other.Name() == l.Name() {
				n++
			}
		}
		if l.Name() == "" || n != 1 {
			return nil, fmt.Errorf("line %s has no unique name on %s: %w", cfg, c.Name(), ErrNotAtomic)
		}
		names = append(names, l.Name())
	}
	ls, err := chip.LineSetFromConfig(&gpioioctl.LineSetConfig{Lines: names, DefaultDirection: gpioioctl.LineOutput})
	if err != nil {
		return nil, fmt.Errorf("request %s as outputs on %s: %w", strings.Join(names, ", "), chip.Name(), err)
	}
	mask := gpio.GPIOValue(1)<<len(cfgs) - 1
	if err := ls.Out(initial, mask); err != nil {
		_ = ls.Close()
		return nil, fmt.Errorf("set %s on %s: %w", strings.Join(names, ", "), chip.Name(), err)
	}
	return ls, nil
}
