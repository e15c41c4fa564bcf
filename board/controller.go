package board

import (
	"fmt"
	"sort"
	"time"
)

// Mode is the day/night mode requested by the user (ONVIF Imaging
// IrCutFilter AUTO/ON/OFF).
type Mode int

// Modes.
const (
	// ModeAuto lets the controller decide from the light sensor.
	ModeAuto Mode = iota
	// ModeDay forces day: IR-cut filter in, IR light off.
	ModeDay
	// ModeNight forces night: IR-cut filter out, IR light on.
	ModeNight
)

// String returns "AUTO", "DAY" or "NIGHT".
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "AUTO"
	case ModeDay:
		return "DAY"
	case ModeNight:
		return "NIGHT"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ControllerConfig tunes the day/night controller. Zero fields take the
// defaults of the sensor type (DefaultControllerConfig).
type ControllerConfig struct {
	// DarkBelow: in day, an ambient value below it is "dark".
	DarkBelow float64
	// BrightAbove: in night, an ambient value above it is "bright".
	// Must be greater than DarkBelow (hysteresis).
	BrightAbove float64
	// Dwell is how long the condition must hold without interruption.
	Dwell time.Duration
	// DwellSamples is how many consecutive samples must satisfy it as well.
	DwellSamples int
	// MinSwitch is the minimum time between two automatic switches (a
	// switch is also not made sooner than MinSwitch after a forced one).
	MinSwitch time.Duration
	// Settle is the time after any switch during which samples only
	// measure the IR step and make no decision (filter movement, IR LEDs
	// warming up, auto-exposure converging).
	Settle time.Duration
	// IRAffectsSensor says the IR light raises the sensor reading (true for
	// frame luma). The controller then measures that rise and subtracts it.
	IRAffectsSensor bool
	// DefaultIRBoost is the IR contribution assumed before one has been
	// measured (e.g. when the board starts in forced night). Default 0.
	DefaultIRBoost float64
}

// DefaultControllerConfig returns the defaults for a sensor type
// (SensorLuma, SensorGPIO, SensorADC; the ADC thresholds come from the
// profile).
func DefaultControllerConfig(sensorType string) ControllerConfig {
	switch sensorType {
	case SensorGPIO:
		// Values are 0 (dark) and 1 (bright).
		return ControllerConfig{DarkBelow: 0.25, BrightAbove: 0.75, Dwell: 5 * time.Second,
			DwellSamples: 3, MinSwitch: 30 * time.Second, Settle: 2 * time.Second}
	case SensorADC:
		return ControllerConfig{Dwell: 10 * time.Second, DwellSamples: 5,
			MinSwitch: 60 * time.Second, Settle: 2 * time.Second}
	default:
		return ControllerConfig{DarkBelow: 40, BrightAbove: 80, Dwell: 10 * time.Second,
			DwellSamples: 5, MinSwitch: 60 * time.Second, Settle: 3 * time.Second, IRAffectsSensor: true}
	}
}

// merge returns c with zero fields taken from d (IRAffectsSensor is taken
// from c as is).
func (c ControllerConfig) merge(d ControllerConfig) ControllerConfig {
	if c.DarkBelow == 0 {
		c.DarkBelow = d.DarkBelow
	}
	if c.BrightAbove == 0 {
		c.BrightAbove = d.BrightAbove
	}
	if c.Dwell == 0 {
		c.Dwell = d.Dwell
	}
	if c.DwellSamples == 0 {
		c.DwellSamples = d.DwellSamples
	}
	if c.MinSwitch == 0 {
		c.MinSwitch = d.MinSwitch
	}
	if c.Settle == 0 {
		c.Settle = d.Settle
	}
	if c.DefaultIRBoost == 0 {
		c.DefaultIRBoost = d.DefaultIRBoost
	}
	return c
}

func (c ControllerConfig) validate() error {
	if c.BrightAbove <= c.DarkBelow {
		return fmt.Errorf("day/night controller: bright threshold %g must be greater than dark threshold %g", c.BrightAbove, c.DarkBelow)
	}
	if c.Dwell < 0 || c.MinSwitch < 0 || c.Settle < 0 || c.DwellSamples < 0 {
		return fmt.Errorf("day/night controller: negative dwell, samples, settle or switch interval")
	}
	return nil
}

// Controller is the day/night decision logic. It is pure: it has no clock,
// no goroutine and no I/O; callers feed it timestamped sensor samples and
// apply its decisions. It is not safe for concurrent use.
//
// Algorithm (see also doc.go):
//
//   - Hysteresis: in day it switches to night when the ambient value stays
//     below DarkBelow; in night it switches to day when the ambient value
//     stays above BrightAbove (> DarkBelow).
//   - Dwell: "stays" means for at least Dwell and DwellSamples consecutive
//     samples; one sample on the other side restarts the count, so brief
//     shadows and flashes do nothing.
//   - Rate limit: no automatic switch sooner than MinSwitch after the
//     previous switch (automatic or forced).
//   - IR compensation: when IRAffectsSensor, the controller measures the
//     step the switch itself causes: the median of the last samples before
//     a switch versus the median of the samples in the Settle window after
//     it (switching to night adds the IR, switching to day removes it).
//     That step is the IR boost. In night the ambient value is estimated as
//     reading − boost, so the controller's own IR light cannot make it
//     return to day. Both directions update the estimate, so an
//     underestimate (which could cause one early return to day) is
//     corrected by the next switch, and MinSwitch bounds the rate meanwhile.
type Controller struct {
	cfg  ControllerConfig
	mode Mode

	night      bool
	started    bool
	lastSwitch time.Duration // time of the last switch (valid if switched)
	switched   bool
	lastAt     time.Duration

	// dwell run
	runStart time.Duration
	runCount int

	// IR boost measurement
	boost    float64
	measured bool
	recent   []float64 // last readings before a switch (ring, newest last)
	settling bool
	before   float64 // median of recent at the switch
	haveBef  bool
	toNight  bool // direction of the switch being measured
	after    []float64
}

const recentSamples = 5

// NewController returns a controller in AUTO mode and day state.
func NewController(cfg ControllerConfig) (*Controller, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.DwellSamples == 0 {
		cfg.DwellSamples = 1
	}
	return &Controller{cfg: cfg, boost: cfg.DefaultIRBoost}, nil
}

// Config returns the configuration in use.
func (c *Controller) Config() ControllerConfig { return c.cfg }

// Mode returns the current mode.
func (c *Controller) Mode() Mode { return c.mode }

// Night returns the effective state.
func (c *Controller) Night() bool { return c.night }

// IRBoost returns the IR contribution to the reading the controller uses
// (measured, or DefaultIRBoost), and whether it was measured.
func (c *Controller) IRBoost() (float64, bool) { return c.boost, c.measured }

// Ambient returns reading with the IR contribution removed in night.
func (c *Controller) Ambient(reading float64) float64 {
	if c.night && c.cfg.IRAffectsSensor {
		return reading - c.boost
	}
	return reading
}

// SetMode sets the mode at time at. DAY and NIGHT force the state at once;
// AUTO keeps the current state and lets the samples decide from now on.
// It returns the new state and whether it changed.
func (c *Controller) SetMode(m Mode, at time.Duration) (night, changed bool) {
	c.mode = m
	c.resetRun()
	switch m {
	case ModeDay:
		if c.night {
			c.switchTo(false, at)
			return false, true
		}
	case ModeNight:
		if !c.night {
			c.switchTo(true, at)
			return true, true
		}
	}
	return c.night, false
}

// Sample feeds one reading taken at time at (monotonic, any origin). It
// returns the state and whether this sample switched it.
func (c *Controller) Sample(v float64, at time.Duration) (night, changed bool) {
	if c.started && at < c.lastAt {
		// Time went backwards (clock or stream restart): start over.
		c.resetRun()
		if c.switched {
			c.lastSwitch = at
		}
	}
	c.started = true
	c.lastAt = at
	if c.settling {
		if at-c.lastSwitch < c.cfg.Settle {
			c.after = append(c.after, v)
			return c.night, false
		}
		c.finishMeasure()
	}
	c.recent = append(c.recent, v)
	if len(c.recent) > recentSamples {
		c.recent = c.recent[1:]
	}
	if c.mode != ModeAuto {
		return c.night, false
	}
	amb := c.Ambient(v)
	want := c.night
	if c.night && amb > c.cfg.BrightAbove {
		want = false
	} else if !c.night && amb < c.cfg.DarkBelow {
		want = true
	}
	if want == c.night {
		c.resetRun()
		return c.night, false
	}
	if c.runCount == 0 {
		c.runStart = at
	}
	c.runCount++
	if c.runCount < c.cfg.DwellSamples || at-c.runStart < c.cfg.Dwell {
		return c.night, false
	}
	if c.switched && at-c.lastSwitch < c.cfg.MinSwitch {
		return c.night, false
	}
	c.switchTo(want, at)
	return c.night, true
}

func (c *Controller) resetRun() { c.runCount = 0 }

func (c *Controller) switchTo(night bool, at time.Duration) {
	if c.settling {
		c.finishMeasure()
	}
	c.night = night
	c.switched = true
	c.lastSwitch = at
	c.resetRun()
	c.toNight = night
	c.haveBef = len(c.recent) > 0
	if c.haveBef {
		c.before = median(c.recent)
	}
	c.recent = c.recent[:0]
	c.after = c.after[:0]
	c.settling = true
}

// finishMeasure ends the Settle window and updates the IR boost from the
// step across the switch.
func (c *Controller) finishMeasure() {
	c.settling = false
	if !c.cfg.IRAffectsSensor || !c.haveBef || len(c.after) == 0 {
		return
	}
	// Use the second half of the window: the first is still moving.
	after := median(c.after[len(c.after)/2:])
	step := after - c.before
	if !c.toNight {
		step = -step
	}
	if step < 0 {
		step = 0
	}
	c.boost = step
	c.measured = true
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
