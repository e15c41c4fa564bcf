package board

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// irCut drives the IR-cut filter actuator.
type irCut struct {
	cfg    IRCutConfig
	group  OutputGroup // H-bridge A (bit 0) and B (bit 1) in one request
	a, b   Output      // H-bridge fallback: separate lines
	single Output
	sleep  func(time.Duration)
}

const bitA, bitB gpio.GPIOValue = 1, 2

// idleBits are the physical levels of A and B both inactive.
func (ir *irCut) idleBits() gpio.GPIOValue {
	var v gpio.GPIOValue
	if ir.cfg.A.physical(false) {
		v |= bitA
	}
	if ir.cfg.B.physical(false) {
		v |= bitB
	}
	return v
}

func openIRCut(lo LineOpener, c IRCutConfig, sleep func(time.Duration)) (*irCut, error) {
	ir := &irCut{cfg: c, sleep: sleep}
	switch c.Type {
	case IRCutSingle:
		// Requested in the day position; Open switches to day anyway.
		o, err := lo.Output(c.Line, c.Line.physical(true))
		if err != nil {
			return nil, fmt.Errorf("ircut line %s: %w", c.Line, err)
		}
		ir.single = o
		return ir, nil
	case IRCutHBridge:
		g, err := lo.OutputGroup([]LineConfig{c.A, c.B}, ir.idleBits())
		if err == nil {
			ir.group = g
			return ir, nil
		}
		if !errors.Is(err, ErrNotAtomic) {
			return nil, fmt.Errorf("ircut lines %s and %s: %w", c.A, c.B, err)
		}
		if ir.a, err = lo.Output(c.A, c.A.physical(false)); err != nil {
			return nil, fmt.Errorf("ircut line a %s: %w", c.A, err)
		}
		if ir.b, err = lo.Output(c.B, c.B.physical(false)); err != nil {
			_ = ir.a.Close()
			return nil, fmt.Errorf("ircut line b %s: %w", c.B, err)
		}
		return ir, nil
	}
	return nil, fmt.Errorf("ircut: unknown type %q", c.Type)
}

// set moves the filter: in for day, out for night. For an H-bridge it
// drives A (day) or B (night) active for Pulse, then both inactive; the two
// lines are never active together.
func (ir *irCut) set(night bool) error {
	if ir.single != nil {
		if err := ir.single.Out(ir.cfg.Line.physical(!night)); err != nil {
			return fmt.Errorf("ircut line %s: %w", ir.cfg.Line, err)
		}
		return nil
	}
	if ir.group != nil {
		on := bitA
		onCfg := ir.cfg.A
		if night {
			on, onCfg = bitB, ir.cfg.B
		}
		bits := ir.idleBits() &^ on
		if onCfg.physical(true) {
			bits |= on
		}
		if err := ir.group.Out(bits, bitA|bitB); err != nil {
			_ = ir.group.Out(ir.idleBits(), bitA|bitB)
			return fmt.Errorf("ircut pulse %s: %w", onCfg, err)
		}
		ir.sleep(ir.cfg.Pulse)
		if err := ir.group.Out(ir.idleBits(), bitA|bitB); err != nil {
			return fmt.Errorf("ircut idle %s/%s: %w", ir.cfg.A, ir.cfg.B, err)
		}
		return nil
	}
	on, off := ir.a, ir.b
	onCfg, offCfg := ir.cfg.A, ir.cfg.B
	if night {
		on, off, onCfg, offCfg = ir.b, ir.a, ir.cfg.B, ir.cfg.A
	}
	// The other line first: never both active.
	if err := off.Out(offCfg.physical(false)); err != nil {
		return fmt.Errorf("ircut line %s: %w", offCfg, err)
	}
	if err := on.Out(onCfg.physical(true)); err != nil {
		_ = on.Out(onCfg.physical(false))
		return fmt.Errorf("ircut line %s: %w", onCfg, err)
	}
	ir.sleep(ir.cfg.Pulse)
	if err := on.Out(onCfg.physical(false)); err != nil {
		return fmt.Errorf("ircut line %s: %w", onCfg, err)
	}
	return nil
}

// close leaves an H-bridge idle (both inactive) and releases the lines.
func (ir *irCut) close() error {
	var errs []error
	switch {
	case ir.single != nil:
		errs = append(errs, ir.single.Close())
	case ir.group != nil:
		errs = append(errs, ir.group.Out(ir.idleBits(), bitA|bitB), ir.group.Close())
	default:
		errs = append(errs, ir.a.Out(ir.cfg.A.physical(false)), ir.b.Out(ir.cfg.B.physical(false)),
			ir.a.Close(), ir.b.Close())
	}
	return errors.Join(errs...)
}
