package board_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/board/boardtest"
	"periph.io/x/conn/v3/gpio"
)

const (
	keyA      = "cam-sim/IR_CUT_A"
	keyB      = "cam-sim/IR_CUT_B"
	keyIR     = "cam-sim/IR_LED"
	keyLED    = "cam-sim/LED_STATUS"
	keyButton = "cam-sim/BUTTON_RESET"
	keySensor = "cam-sim/LIGHT_SENSOR"
)

func qemu(t *testing.T) *board.Profile {
	t.Helper()
	p, err := board.LoadProfile("qemu-virt")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// pulses extracts, from the recorded events, each interval where A or B
// was high, and checks they are never high together.
func checkPulses(t *testing.T, ev []boardtest.Event, pulse time.Duration) (seq []string) {
	t.Helper()
	var start time.Time
	var on string
	for _, e := range ev {
		a, b := e.State[keyA], e.State[keyB]
		if a && b {
			t.Fatalf("A and B both active at %v (%s %v)", e.At, e.Op, e.Lines)
		}
		cur := ""
		if a {
			cur = "A"
		} else if b {
			cur = "B"
		}
		if cur != on {
			if on != "" {
				if cur != "" {
					t.Fatalf("%s went to %s without idle", on, cur)
				}
				d := e.At.Sub(start)
				if d < pulse || d > pulse+150*time.Millisecond {
					t.Errorf("%s active for %v, want %v", on, d, pulse)
				}
			} else {
				start = e.At
				seq = append(seq, cur)
			}
			on = cur
		}
	}
	if on != "" {
		t.Fatalf("%s left active", on)
	}
	return seq
}

func TestIRCutAndModes(t *testing.T) {
	for _, noGroups := range []bool{false, true} {
		name := "lineset"
		if noGroups {
			name = "separate lines"
		}
		t.Run(name, func(t *testing.T) {
			lines := boardtest.New(nil)
			lines.NoGroups = noGroups
			var nights []bool
			done := make(chan bool, 10)
			b, err := board.Open(qemu(t), board.Options{Lines: lines, OnDayNight: func(n bool) {
				nights = append(nights, n)
				done <- n
			}})
			if err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				m     board.Mode
				night bool
			}{{board.ModeNight, true}, {board.ModeNight, true}, {board.ModeDay, false}, {board.ModeAuto, false}, {board.ModeNight, true}}
			for _, s := range steps {
				if err := b.SetMode(s.m); err != nil {
					t.Fatal(err)
				}
				if b.Mode() != s.m || b.Night() != s.night {
					t.Fatalf("after %v: mode %v night %v", s.m, b.Mode(), b.Night())
				}
				if lines.Level(keyIR) != gpio.Level(s.night) {
					t.Fatalf("after %v: IR light %v", s.m, lines.Level(keyIR))
				}
			}
			for range 3 {
				<-done
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			seq := checkPulses(t, lines.Events(), 50*time.Millisecond)
			// Open: A (day); NIGHT: B; DAY: A; NIGHT: B.
			if got := strings.Join(seq, ""); got != "ABAB" {
				t.Fatalf("pulses %q, want ABAB", got)
			}
			if got := len(nights); got != 3 {
				t.Fatalf("OnDayNight called %d times (%v), want 3", got, nights)
			}
			for _, k := range []string{keyA, keyB, keyIR, keyLED, keyButton, keySensor} {
				if !lines.Released(k) {
					t.Errorf("%s not released", k)
				}
			}
			ev := lines.Events()
			last := ev[len(ev)-1]
			if last.Op != "release" {
				t.Fatalf("last op %q", last.Op)
			}
			if lines.Level(keyA) || lines.Level(keyB) || lines.Level(keyIR) {
				t.Fatal("lines not idle/off at Close")
			}
		})
	}
}

func TestActiveLowIRCut(t *testing.T) {
	p := qemu(t)
	p.IRCut.A.ActiveLow, p.IRCut.B.ActiveLow = true, true
	lines := boardtest.New(nil)
	b, err := board.Open(p, board.Options{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetMode(board.ModeNight); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()
	for _, e := range lines.Events() {
		a, okA := e.State[keyA]
		b, okB := e.State[keyB]
		if okA && okB && !bool(a) && !bool(b) {
			t.Fatalf("both active (low) at %v", e.At)
		}
	}
	if !lines.Level(keyA) || !lines.Level(keyB) {
		t.Fatal("active-low lines not idle (high) at Close")
	}
}

func TestNoneProfile(t *testing.T) {
	for _, p := range []*board.Profile{nil, mustLoad(t, "none"), mustLoad(t, "")} {
		b, err := board.Open(p, board.Options{Lines: failingOpener{}})
		if err != nil {
			t.Fatal(err)
		}
		b.SetStatus(board.StatusClient)
		b.Luma(10, 0)
		if err := b.SetMode(board.ModeNight); err != nil || !b.Night() || b.Mode() != board.ModeNight {
			t.Fatalf("none: SetMode(NIGHT): %v night=%v", err, b.Night())
		}
		if err := b.SetMode(board.ModeAuto); err != nil || !b.Night() {
			t.Fatal("none: AUTO changed state")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := b.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func mustLoad(t *testing.T, name string) *board.Profile {
	t.Helper()
	p, err := board.LoadProfile(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type failingOpener struct{}

func (failingOpener) Output(board.LineConfig, gpio.Level) (board.Output, error) {
	panic("none profile opened a line")
}
func (failingOpener) Input(board.LineConfig) (board.Input, error) {
	panic("none profile opened a line")
}
func (failingOpener) OutputGroup([]board.LineConfig, gpio.GPIOValue) (board.OutputGroup, error) {
	panic("none profile opened a line")
}

func TestResetButton(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hold  time.Duration
		fires int32
	}{{"short press", 150 * time.Millisecond, 0}, {"long press", 700 * time.Millisecond, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			lines := boardtest.New(nil)
			var fired atomic.Int32
			b, err := board.Open(qemu(t), board.Options{Lines: lines, ResetHold: 400 * time.Millisecond,
				ButtonPoll: 10 * time.Millisecond, OnReset: func() { fired.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error)
			go func() { errc <- b.Run(ctx) }()
			time.Sleep(50 * time.Millisecond)
			lines.SetInput(keyButton, gpio.Low) // pressed (active low)
			time.Sleep(tc.hold)
			lines.SetInput(keyButton, gpio.High)
			time.Sleep(100 * time.Millisecond)
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if got := fired.Load(); got != tc.fires {
				t.Fatalf("OnReset called %d times, want %d", got, tc.fires)
			}
			if len(lines.Open()) != 0 {
				t.Fatalf("lines still open after Run: %v", lines.Open())
			}
		})
	}
}

func TestStatusLED(t *testing.T) {
	lines := boardtest.New(nil)
	b, err := board.Open(qemu(t), board.Options{Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- b.Run(ctx) }()
	count := func(d time.Duration) (toggles int, on bool) {
		t0 := len(lines.Events())
		time.Sleep(d)
		for _, e := range lines.Events()[t0:] {
			if e.Op == "out" && e.Lines[0] == keyLED {
				toggles++
			}
		}
		return toggles, bool(lines.Level(keyLED))
	}
	b.SetStatus(board.StatusStarting)
	if n, _ := count(1100 * time.Millisecond); n < 2 || n > 4 {
		t.Errorf("starting: %d LED writes in 1.1 s, want ~2", n)
	}
	b.SetStatus(board.StatusError)
	if n, _ := count(1000 * time.Millisecond); n < 7 || n > 12 {
		t.Errorf("error: %d LED writes in 1 s, want ~10", n)
	}
	b.SetStatus(board.StatusStreaming)
	for deadline := time.Now().Add(time.Second); !bool(lines.Level(keyLED)) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n, on := count(500 * time.Millisecond); n != 0 || !on {
		t.Errorf("streaming: %d writes, on=%v; want steady on", n, on)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestGPIOSensorAuto switches by a GPIO light sensor: dusk then dawn,
// each counted by Switches, with clean IR-cut pulses.
func TestGPIOSensorAuto(t *testing.T) {
	p := qemu(t)
	p.LightSensor.Poll = 10 * time.Millisecond
	lines := boardtest.New(nil)
	lines.SetInput(keySensor, gpio.Low) // bright
	got := make(chan bool, 4)
	b, err := board.Open(p, board.Options{Lines: lines, OnDayNight: func(n bool) { got <- n },
		Controller: board.ControllerConfig{Dwell: 50 * time.Millisecond, MinSwitch: 100 * time.Millisecond,
			Settle: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- b.Run(ctx) }()
	lines.SetInput(keySensor, gpio.High) // dark
	if n := waitBool(t, got); !n {
		t.Fatal("want night")
	}
	if n := b.Switches(); n != 1 {
		t.Errorf("after dusk: %d switches, want 1", n)
	}
	lines.SetInput(keySensor, gpio.Low)
	if n := waitBool(t, got); n {
		t.Fatal("want day")
	}
	if n := b.Switches(); n != 2 {
		t.Errorf("after dawn: %d switches, want 2", n)
	}
	cancel()
	<-errc
	checkPulses(t, lines.Events(), 50*time.Millisecond)
}

func waitBool(t *testing.T, c chan bool) bool {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(3 * time.Second):
		t.Fatal("timeout waiting for OnDayNight")
	}
	return false
}

func TestLoadProfile(t *testing.T) {
	if got := strings.Join(board.BuiltinProfiles(), ","); got != "none,qemu-virt,rpi-generic" {
		t.Fatalf("built-ins %q", got)
	}
	for _, n := range board.BuiltinProfiles() {
		if _, err := board.LoadProfile(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	p := mustLoad(t, "qemu-virt")
	if p.IRCut.Pulse != 50*time.Millisecond || p.IRCut.A.Line != "IR_CUT_A" || !p.ResetButton.ActiveLow {
		t.Fatalf("qemu-virt: %+v", p)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"ok", "name: x\nir_light: {chip: gpiochip0, offset: 3, active_low: true}\nircut: {type: single, line: {line: F}}\n", ""},
		{"default pulse", "name: x\nircut: {type: hbridge, a: {line: A}, b: {line: B}}\n", ""},
		{"unknown key", "name: x\nir_lite: {line: X}\n", "ir_lite"},
		{"unknown nested key", "name: x\nir_light: {line: X, actve_low: true}\n", "actve_low"},
		{"no name", "ir_light: {line: X}\n", "name"},
		{"pulse too long", "name: x\nircut: {type: hbridge, a: {line: A}, b: {line: B}, pulse: 500ms}\n", "ircut.pulse"},
		{"same line", "name: x\nircut: {type: hbridge, a: {line: A}, b: {line: A}}\n", "same line"},
		{"bad type", "name: x\nircut: {type: motor}\n", "ircut.type"},
		{"no line", "name: x\nir_light: {chip: c}\n", "ir_light"},
		{"offset without chip", "name: x\nir_light: {offset: 3}\n", "chip"},
		{"bad bias", "name: x\nreset_button: {line: R, bias: sideways}\n", "bias"},
		{"adc no thresholds", "name: x\nlight_sensor: {type: adc, adc_path: /x}\n", "dark_below"},
		{"inverted thresholds", "name: x\nlight_sensor: {type: luma, dark_below: 90, bright_above: 50}\n", "bright_above"},
		{"bad sensor", "name: x\nlight_sensor: {type: radar}\n", "light_sensor.type"},
		{"empty", "", "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := board.LoadProfile(f)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
	if _, err := board.LoadProfile("nosuch"); err == nil || !strings.Contains(err.Error(), "qemu-virt") {
		t.Fatalf("unknown built-in: %v", err)
	}
}
