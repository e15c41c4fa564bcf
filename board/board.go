package board

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Status is what the status LED shows.
type Status int

// Statuses and their LED patterns.
const (
	// StatusStarting: slow blink, 500 ms on, 500 ms off.
	StatusStarting Status = iota
	// StatusStreaming: steady on.
	StatusStreaming
	// StatusClient (a client is connected): on, with a 100 ms off-blink
	// every 2 s.
	StatusClient
	// StatusError: fast blink, 100 ms on, 100 ms off.
	StatusError
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case StatusStarting:
		return "starting"
	case StatusStreaming:
		return "streaming"
	case StatusClient:
		return "client"
	case StatusError:
		return "error"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// segment is one step of an LED pattern; d == 0 means "hold".
type segment struct {
	on bool
	d  time.Duration
}

func (s Status) pattern() []segment {
	switch s {
	case StatusStarting:
		return []segment{{true, 500 * time.Millisecond}, {false, 500 * time.Millisecond}}
	case StatusClient:
		return []segment{{true, 1900 * time.Millisecond}, {false, 100 * time.Millisecond}}
	case StatusError:
		return []segment{{true, 100 * time.Millisecond}, {false, 100 * time.Millisecond}}
	}
	return []segment{{true, 0}}
}

// Defaults of Options.
const (
	DefaultResetHold  = 10 * time.Second
	DefaultButtonPoll = 50 * time.Millisecond
	DefaultSensorPoll = time.Second
	// MinLumaInterval: Luma samples closer together than this (by their
	// frame timestamps) are dropped.
	MinLumaInterval = 100 * time.Millisecond
)

// Options configures Open. The zero value is usable.
type Options struct {
	// Logger receives the board's logs; nil means slog.Default().
	Logger *slog.Logger
	// Lines opens a line by config; nil means periph.io gpioioctl (GPIO
	// character device) with a sysfs fallback (NewPeriphOpener). Tests
	// inject boardtest.Opener. Lines is not used by a profile without
	// lines ("none").
	Lines LineOpener
	// OnDayNight is called when the effective state changes (night true or
	// false), after the IR-cut and IR light have been switched. Calls are
	// serialised, in order, on a goroutine owned by the Board, so the
	// callback may call any Board method; calls still pending at Close are
	// dropped.
	OnDayNight func(night bool)
	// OnReset is called once per press when the reset button has been held
	// for ResetHold, on the same goroutine as OnDayNight.
	OnReset func()
	// ResetHold is how long the reset button must be held (default 10 s).
	ResetHold time.Duration
	// ButtonPoll is the reset button polling period (default 50 ms).
	ButtonPoll time.Duration
	// Controller overrides the day/night controller: non-zero fields win
	// over the profile's thresholds, which win over
	// DefaultControllerConfig of the sensor type.
	Controller ControllerConfig
	// Now returns the time (tests); nil means time.Now.
	Now func() time.Time
}

// Board drives a camera board's IR-cut, IR light, LEDs and reset button and
// runs the automatic day/night controller. Its methods are safe for
// concurrent use.
type Board struct {
	p     *Profile
	log   *slog.Logger
	opts  Options
	now   func() time.Time
	start time.Time
	sleep func(time.Duration)

	// hw serialises every line operation and guards the lines.
	hw      sync.Mutex
	ircut   *irCut
	irLight Output
	white   Output
	status  Output
	leds    map[string]Output
	button  Input
	sensor  Input
	applied bool // night state applied to the lines
	closed  bool
	// switches counts day/night switches applied to the lines.
	switches atomic.Uint64

	// mu guards the controller and the requested status.
	mu        sync.Mutex
	ctl       *Controller
	curStatus Status
	lastLuma  time.Duration
	haveLuma  bool
	running   bool

	statusWake chan struct{}
	applyWake  chan struct{}
	notify     *notifier
}

// Open requests the profile's lines, moves the IR-cut filter to the day
// position, switches the lights off and returns the Board in AUTO mode and
// day state. A nil profile is the "none" profile. Call Run to animate the
// LED, watch the button and poll sensors, and Close (or end Run's context)
// to release the lines.
func Open(p *Profile, opts Options) (*Board, error) {
	if p == nil {
		p = &Profile{Name: "none"}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("board profile %q: %w", p.Name, err)
	}
	b := &Board{
		p:          p,
		opts:       opts,
		log:        opts.Logger,
		now:        opts.Now,
		sleep:      time.Sleep,
		leds:       map[string]Output{},
		statusWake: make(chan struct{}, 1),
		applyWake:  make(chan struct{}, 1),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	b.log = b.log.With("board", p.Name)
	if b.now == nil {
		b.now = time.Now
	}
	if b.opts.ResetHold <= 0 {
		b.opts.ResetHold = DefaultResetHold
	}
	if b.opts.ButtonPoll <= 0 {
		b.opts.ButtonPoll = DefaultButtonPoll
	}
	b.start = b.now()
	ctlCfg, err := b.controllerConfig()
	if err != nil {
		return nil, err
	}
	if b.ctl, err = NewController(ctlCfg); err != nil {
		return nil, err
	}
	if p.hasLines() {
		lo := opts.Lines
		if lo == nil {
			lo = NewPeriphOpener(b.log)
		}
		if err := b.openLines(lo); err != nil {
			_ = b.closeLines()
			return nil, err
		}
	}
	b.notify = newNotifier()
	return b, nil
}

func (p *Profile) hasLines() bool {
	return p.IRCut != nil || p.IRLight != nil || p.WhiteLight != nil || len(p.LEDs) > 0 ||
		p.ResetButton != nil || (p.LightSensor != nil && p.LightSensor.Type == SensorGPIO)
}

func (b *Board) controllerConfig() (ControllerConfig, error) {
	typ := SensorLuma
	var prof ControllerConfig
	if s := b.p.LightSensor; s != nil {
		typ = s.Type
		prof.DarkBelow, prof.BrightAbove = s.DarkBelow, s.BrightAbove
		prof.Dwell, prof.MinSwitch = s.Dwell, s.MinSwitch
	}
	def := DefaultControllerConfig(typ)
	cfg := b.opts.Controller.merge(prof.merge(def))
	cfg.IRAffectsSensor = def.IRAffectsSensor
	if s := b.p.LightSensor; s != nil && s.IRAffectsSensor != nil {
		cfg.IRAffectsSensor = *s.IRAffectsSensor
	}
	if b.opts.Controller.IRAffectsSensor {
		cfg.IRAffectsSensor = true
	}
	if err := cfg.validate(); err != nil {
		return cfg, fmt.Errorf("board profile %q: %w", b.p.Name, err)
	}
	return cfg, nil
}

func (b *Board) openLines(lo LineOpener) error {
	p := b.p
	var err error
	if p.IRCut != nil {
		if b.ircut, err = openIRCut(lo, *p.IRCut, b.sleep); err != nil {
			return err
		}
	}
	if p.IRLight != nil {
		if b.irLight, err = lo.Output(*p.IRLight, p.IRLight.physical(false)); err != nil {
			return fmt.Errorf("ir_light %s: %w", p.IRLight, err)
		}
	}
	if p.WhiteLight != nil {
		if b.white, err = lo.Output(*p.WhiteLight, p.WhiteLight.physical(false)); err != nil {
			return fmt.Errorf("white_light %s: %w", p.WhiteLight, err)
		}
	}
	for role, c := range p.LEDs {
		o, err := lo.Output(c, c.physical(false))
		if err != nil {
			return fmt.Errorf("led %s %s: %w", role, c, err)
		}
		b.leds[role] = o
		if role == "status" {
			b.status = o
		}
	}
	if p.ResetButton != nil {
		if b.button, err = lo.Input(*p.ResetButton); err != nil {
			return fmt.Errorf("reset_button %s: %w", p.ResetButton, err)
		}
	}
	if s := p.LightSensor; s != nil && s.Type == SensorGPIO {
		if b.sensor, err = lo.Input(s.Line); err != nil {
			return fmt.Errorf("light_sensor %s: %w", s.Line, err)
		}
	}
	// Known state: filter in, IR off.
	b.hw.Lock()
	defer b.hw.Unlock()
	return b.applyLocked(false, true)
}

// applyLocked switches the lines to night or day. b.hw must be held.
func (b *Board) applyLocked(night, force bool) error {
	if b.closed || (!force && b.applied == night) {
		return nil
	}
	var errs []error
	if night {
		if b.ircut != nil {
			errs = append(errs, b.ircut.set(true))
		}
		if b.irLight != nil {
			errs = append(errs, wrap("ir_light", b.irLight.Out(b.p.IRLight.physical(true))))
		}
	} else {
		if b.irLight != nil {
			errs = append(errs, wrap("ir_light", b.irLight.Out(b.p.IRLight.physical(false))))
		}
		if b.ircut != nil {
			errs = append(errs, b.ircut.set(false))
		}
	}
	b.applied = night
	return errors.Join(errs...)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// since is the controller's time base.
func (b *Board) since() time.Duration { return b.now().Sub(b.start) }

// Profile returns the profile the board was opened with.
func (b *Board) Profile() *Profile { return b.p }

// Mode returns the day/night mode.
func (b *Board) Mode() Mode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ctl.Mode()
}

// Switches returns the number of day/night switches since Open, in
// either direction and in any mode: automatic, by SetMode or by the
// button. The initial day state set by Open is not counted.
func (b *Board) Switches() uint64 { return b.switches.Load() }

// Night returns the effective state: true when in night (filter out, IR on).
func (b *Board) Night() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ctl.Night()
}

// SetMode sets the mode. DAY and NIGHT switch at once (the IR-cut is
// pulsed and the IR light switched before SetMode returns); AUTO keeps the
// current state and hands over to the controller.
func (b *Board) SetMode(m Mode) error {
	if m != ModeAuto && m != ModeDay && m != ModeNight {
		return fmt.Errorf("board: invalid day/night mode %d", int(m))
	}
	b.mu.Lock()
	old := b.ctl.Mode()
	night, changed := b.ctl.SetMode(m, b.since())
	b.mu.Unlock()
	if old != m {
		b.log.Info("day/night mode", "mode", m.String(), "night", night)
	}
	if changed {
		return b.sync()
	}
	return nil
}

// sync applies the controller's state to the lines and reports a change.
func (b *Board) sync() error {
	b.hw.Lock()
	defer b.hw.Unlock()
	if b.closed {
		return nil
	}
	b.mu.Lock()
	night := b.ctl.Night()
	b.mu.Unlock()
	if night == b.applied {
		return nil
	}
	err := b.applyLocked(night, false)
	b.switches.Add(1)
	if err != nil {
		b.log.Error("day/night switch", "night", night, "err", err)
	} else {
		b.log.Info("day/night switch", "night", night)
	}
	if f := b.opts.OnDayNight; f != nil {
		b.notify.push(func() { f(night) })
	}
	return err
}

// SetStatus selects the status LED pattern; it takes effect at once while
// Run is running. Without a status LED it only records the status.
func (b *Board) SetStatus(s Status) {
	b.mu.Lock()
	b.curStatus = s
	b.mu.Unlock()
	select {
	case b.statusWake <- struct{}{}:
	default:
	}
}

// Luma feeds the "luma" light sensor with the mean luma (0–255) of a frame
// whose timestamp is at. It is cheap: samples closer than MinLumaInterval
// are dropped, and a resulting switch is applied by Run's goroutine. The
// controller's clock is Options.Now, at only rate-limits. Without a luma
// sensor it does nothing.
func (b *Board) Luma(mean float64, at time.Duration) {
	if b.p.LightSensor == nil || b.p.LightSensor.Type != SensorLuma {
		return
	}
	b.mu.Lock()
	if b.haveLuma && at >= b.lastLuma && at-b.lastLuma < MinLumaInterval {
		b.mu.Unlock()
		return
	}
	b.haveLuma, b.lastLuma = true, at
	_, changed := b.ctl.Sample(mean, b.since())
	b.mu.Unlock()
	if changed {
		b.wakeApply()
	}
}

func (b *Board) wakeApply() {
	select {
	case b.applyWake <- struct{}{}:
	default:
	}
}

// Run animates the status LED, watches the reset button, polls gpio and adc
// light sensors and applies automatic day/night switches until ctx ends;
// then it releases every line (Close) and returns nil. Run may be called
// once.
func (b *Board) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return errors.New("board: Run called twice")
	}
	b.running = true
	b.mu.Unlock()
	var wg sync.WaitGroup
	goLoop := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	if b.status != nil {
		goLoop(b.ledLoop)
	}
	if b.button != nil {
		goLoop(b.buttonLoop)
	}
	if s := b.p.LightSensor; s != nil && (s.Type == SensorGPIO || s.Type == SensorADC) {
		goLoop(b.sensorLoop)
	}
	goLoop(b.applyLoop)
	<-ctx.Done()
	wg.Wait()
	return b.Close()
}

func (b *Board) applyLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.applyWake:
			_ = b.sync()
		}
	}
}

func (b *Board) setLED(on bool) {
	b.hw.Lock()
	defer b.hw.Unlock()
	if b.closed {
		return
	}
	if err := b.status.Out(b.p.LEDs["status"].physical(on)); err != nil {
		b.log.Warn("status led", "err", err)
	}
}

func (b *Board) ledLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		b.mu.Lock()
		pat := b.curStatus.pattern()
		b.mu.Unlock()
		for i := 0; ; i = (i + 1) % len(pat) {
			b.setLED(pat[i].on)
			var tick <-chan time.Time
			if pat[i].d > 0 {
				timer.Reset(pat[i].d)
				tick = timer.C
			}
			select {
			case <-ctx.Done():
				return
			case <-b.statusWake:
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
			case <-tick:
				continue
			}
			break
		}
	}
}

func (b *Board) buttonLoop(ctx context.Context) {
	t := time.NewTicker(b.opts.ButtonPoll)
	defer t.Stop()
	var pressedAt time.Time
	pressed, fired := false, false
	cfg := *b.p.ResetButton
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.hw.Lock()
		if b.closed {
			b.hw.Unlock()
			return
		}
		l, err := b.button.Read()
		b.hw.Unlock()
		if err != nil {
			b.log.Warn("reset button", "line", cfg.String(), "err", err)
			continue
		}
		now := b.now()
		switch down := cfg.logical(l); {
		case down && !pressed:
			pressed, fired, pressedAt = true, false, now
		case down && pressed && !fired && now.Sub(pressedAt) >= b.opts.ResetHold:
			fired = true
			b.log.Warn("reset button held: reset", "held", now.Sub(pressedAt))
			if f := b.opts.OnReset; f != nil {
				b.notify.push(f)
			}
		case !down && pressed:
			pressed = false
			if !fired {
				b.log.Info("reset button: short press ignored", "held", now.Sub(pressedAt), "need", b.opts.ResetHold)
			}
		}
	}
}

func (b *Board) sensorLoop(ctx context.Context) {
	s := b.p.LightSensor
	period := s.Poll
	if period <= 0 {
		period = DefaultSensorPoll
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		v, err := b.readSensor()
		if err != nil {
			b.log.Warn("light sensor", "type", s.Type, "err", err)
		} else {
			b.mu.Lock()
			_, changed := b.ctl.Sample(v, b.since())
			b.mu.Unlock()
			if changed {
				_ = b.sync()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readSensor returns the ambient reading of a gpio (0 dark, 1 bright) or
// adc sensor.
func (b *Board) readSensor() (float64, error) {
	s := b.p.LightSensor
	if s.Type == SensorGPIO {
		b.hw.Lock()
		defer b.hw.Unlock()
		if b.closed {
			return 0, errors.New("board closed")
		}
		l, err := b.sensor.Read()
		if err != nil {
			return 0, fmt.Errorf("line %s: %w", s.Line, err)
		}
		if s.Line.logical(l) {
			return 0, nil
		}
		return 1, nil
	}
	data, err := os.ReadFile(s.ADCPath)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
	if err != nil {
		return 0, fmt.Errorf("adc %s: %w", s.ADCPath, err)
	}
	if s.Invert {
		v = s.Max - v
	}
	return v, nil
}

// Close releases every line: the IR-cut is left idle (H-bridge both
// inactive), the IR light and LEDs off. It is idempotent.
func (b *Board) Close() error {
	b.hw.Lock()
	defer b.hw.Unlock()
	if b.closed {
		return nil
	}
	err := b.closeLines()
	b.closed = true
	if b.notify != nil {
		b.notify.close()
	}
	return err
}

// closeLines releases the lines; b.hw held (or Open failing).
func (b *Board) closeLines() error {
	var errs []error
	off := func(name string, o Output, c *LineConfig) {
		if o == nil {
			return
		}
		errs = append(errs, wrap(name, o.Out(c.physical(false))), wrap(name, o.Close()))
	}
	if b.ircut != nil {
		errs = append(errs, b.ircut.close())
	}
	off("ir_light", b.irLight, b.p.IRLight)
	off("white_light", b.white, b.p.WhiteLight)
	for role, o := range b.leds {
		c := b.p.LEDs[role]
		off("led "+role, o, &c)
	}
	if b.button != nil {
		errs = append(errs, wrap("reset_button", b.button.Close()))
	}
	if b.sensor != nil {
		errs = append(errs, wrap("light_sensor", b.sensor.Close()))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("board %s: releasing lines: %w", b.p.Name, err)
	}
	return nil
}

// notifier runs callbacks in order on one goroutine.
type notifier struct {
	mu     sync.Mutex
	q      []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newNotifier() *notifier {
	n := &notifier{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go n.loop()
	return n
}

func (n *notifier) push(f func()) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.q = append(n.q, f)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) loop() {
	for {
		select {
		case <-n.done:
			return
		case <-n.wake:
		}
		for {
			n.mu.Lock()
			if n.closed || len(n.q) == 0 {
				n.mu.Unlock()
				break
			}
			f := n.q[0]
			n.q = n.q[1:]
			n.mu.Unlock()
			f()
		}
	}
}

// close drops pending callbacks and stops the goroutine (without waiting,
// so a callback may call Close).
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		n.q = nil
		close(n.done)
	}
}
