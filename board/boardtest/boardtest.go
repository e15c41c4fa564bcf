// Package boardtest provides a fake board.LineOpener that records every
// line change with a timestamp and the levels of all lines after each
// operation, and lets tests drive inputs.
package boardtest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"periph.io/x/conn/v3/gpio"
)

// Event is one recorded operation.
type Event struct {
	// At is the clock time of the operation.
	At time.Time
	// Op is "request", "out", "group-out" or "release".
	Op string
	// Lines are the lines the operation touched (keys as LineConfig.String).
	Lines []string
	// State holds the physical level of every requested output after the
	// operation.
	State map[string]gpio.Level
}

// Opener is a fake board.LineOpener. The zero value is not usable; use New.
type Opener struct {
	// NoGroups makes OutputGroup fail with board.ErrNotAtomic, as for lines
	// on different chips.
	NoGroups bool

	mu       sync.Mutex
	now      func() time.Time
	outputs  map[string]gpio.Level
	inputs   map[string]gpio.Level
	open     map[string]bool
	released map[string]bool
	events   []Event
}

// New returns an Opener using clock (nil = time.Now).
func New(clock func() time.Time) *Opener {
	if clock == nil {
		clock = time.Now
	}
	return &Opener{now: clock, outputs: map[string]gpio.Level{}, inputs: map[string]gpio.Level{},
		open: map[string]bool{}, released: map[string]bool{}}
}

// SetInput drives the input line key (e.g. "cam-sim/BUTTON_RESET").
func (o *Opener) SetInput(key string, l gpio.Level) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.inputs[key] = l
}

// Level returns the physical level of output key.
func (o *Opener) Level(key string) gpio.Level {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.outputs[key]
}

// Events returns a copy of the recorded events.
func (o *Opener) Events() []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.events...)
}

// Open returns the keys of the lines currently requested, sorted.
func (o *Opener) Open() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var k []string
	for key, ok := range o.open {
		if ok {
			k = append(k, key)
		}
	}
	sort.Strings(k)
	return k
}

// Released reports whether key was requested and then released.
func (o *Opener) Released(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.released[key] && !o.open[key]
}

func (o *Opener) record(op string, lines ...string) {
	st := make(map[string]gpio.Level, len(o.outputs))
	for k, v := range o.outputs {
		if o.open[k] {
			st[k] = v
		}
	}
	o.events = append(o.events, Event{At: o.now(), Op: op, Lines: lines, State: st})
}

func (o *Opener) request(key string) error {
	if o.open[key] {
		return fmt.Errorf("boardtest: line %s already requested", key)
	}
	o.open[key] = true
	return nil
}

func (o *Opener) release(keys ...string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if !o.open[k] {
			return fmt.Errorf("boardtest: line %s released twice", k)
		}
		o.open[k] = false
		o.released[k] = true
	}
	o.record("release", keys...)
	return nil
}

type out struct {
	o   *Opener
	key string
}

func (l *out) Out(v gpio.Level) error {
	l.o.mu.Lock()
	defer l.o.mu.Unlock()
	if !l.o.open[l.key] {
		return fmt.Errorf("boardtest: %s not requested", l.key)
	}
	l.o.outputs[l.key] = v
	l.o.record("out", l.key)
	return nil
}

func (l *out) Close() error { return l.o.release(l.key) }

type in struct {
	o   *Opener
	key string
}

func (l *in) Read() (gpio.Level, error) {
	l.o.mu.Lock()
	defer l.o.mu.Unlock()
	if !l.o.open[l.key] {
		return gpio.Low, fmt.Errorf("boardtest: %s not requested", l.key)
	}
	return l.o.inputs[l.key], nil
}

func (l *in) Close() error { return l.o.release(l.key) }

type group struct {
	o    *Opener
	keys []string
}

func (g *group) Out(bits, mask gpio.GPIOValue) error {
	if mask == 0 {
		return errors.New("boardtest: zero mask")
	}
	g.o.mu.Lock()
	defer g.o.mu.Unlock()
	var touched []string
	for i, k := range g.keys {
		if mask&(1<<i) != 0 {
			if !g.o.open[k] {
				return fmt.Errorf("boardtest: %s not requested", k)
			}
			g.o.outputs[k] = bits&(1<<i) != 0
			touched = append(touched, k)
		}
	}
	g.o.record("group-out", touched...)
	return nil
}

func (g *group) Close() error { return g.o.release(g.keys...) }

// Output implements board.LineOpener.
func (o *Opener) Output(cfg board.LineConfig, initial gpio.Level) (board.Output, error) {
	key := cfg.String()
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.request(key); err != nil {
		return nil, err
	}
	o.outputs[key] = initial
	o.record("request", key)
	return &out{o, key}, nil
}

// Input implements board.LineOpener. An input not driven by SetInput reads
// high when cfg.Bias is "up", else low.
func (o *Opener) Input(cfg board.LineConfig) (board.Input, error) {
	key := cfg.String()
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.request(key); err != nil {
		return nil, err
	}
	if _, ok := o.inputs[key]; !ok {
		o.inputs[key] = cfg.Bias == "up"
	}
	return &in{o, key}, nil
}

// OutputGroup implements board.LineOpener.
func (o *Opener) OutputGroup(cfgs []board.LineConfig, initial gpio.GPIOValue) (board.OutputGroup, error) {
	if o.NoGroups {
		return nil, fmt.Errorf("boardtest: %w", board.ErrNotAtomic)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	g := &group{o: o}
	for i, c := range cfgs {
		key := c.String()
		if err := o.request(key); err != nil {
			return nil, err
		}
		o.outputs[key] = initial&(1<<i) != 0
		g.keys = append(g.keys, key)
	}
	o.record("request", g.keys...)
	return g, nil
}

var _ board.LineOpener = (*Opener)(nil)
