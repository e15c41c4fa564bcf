package board

import (
	"errors"

	"periph.io/x/conn/v3/gpio"
)

// ErrNotAtomic is returned by LineOpener.OutputGroup when the lines cannot
// be driven by one operation (for example they are on different chips, or a
// line has no name and the backend can only group named lines). The board
// then falls back to separate lines, changing them in a safe order.
var ErrNotAtomic = errors.New("board: lines cannot be set in one operation")

// Output is a requested output line. Levels are physical (gpio.High is the
// electrical high level); the board applies LineConfig.ActiveLow.
type Output interface {
	// Out drives the line.
	Out(l gpio.Level) error
	// Close releases the line.
	Close() error
}

// Input is a requested input line.
type Input interface {
	// Read returns the physical level of the line.
	Read() (gpio.Level, error)
	// Close releases the line.
	Close() error
}

// OutputGroup is a set of output lines on one chip driven by one operation,
// as periph.io's gpioioctl.LineSet.Out does with a single ioctl. Bit i of
// bits and mask is line i of the group, as passed to LineOpener.OutputGroup.
type OutputGroup interface {
	// Out sets the lines selected by mask to the physical levels in bits, at
	// once. A zero mask is not allowed.
	Out(bits, mask gpio.GPIOValue) error
	// Close releases every line of the group.
	Close() error
}

// LineOpener requests GPIO lines. Board uses it for every line it touches;
// the default is periph.io's character-device driver (gpioioctl) with a
// sysfs fallback, and tests inject boardtest.Opener.
type LineOpener interface {
	// Output requests cfg as an output whose physical level is initial from
	// the moment it is requested (where the backend allows; see doc.go).
	Output(cfg LineConfig, initial gpio.Level) (Output, error)
	// Input requests cfg as an input with cfg.Bias.
	Input(cfg LineConfig) (Input, error)
	// OutputGroup requests several outputs as one group with the physical
	// levels initial (bit i = cfgs[i]). It returns an error wrapping
	// ErrNotAtomic when the lines cannot be driven together.
	OutputGroup(cfgs []LineConfig, initial gpio.GPIOValue) (OutputGroup, error)
}

// physical returns the physical level that represents the logical state
// active for a line configured by c.
func (c LineConfig) physical(active bool) gpio.Level {
	return gpio.Level(active != c.ActiveLow)
}

// logical converts a physical level read from a line configured by c into
// "active".
func (c LineConfig) logical(l gpio.Level) bool {
	return bool(l) != c.ActiveLow
}
