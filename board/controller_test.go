package board

import (
	"math/rand"
	"testing"
	"time"
)

// ambient is a day→dusk→night→dawn→day curve (luma units), one value per second.
func ambient(t int) float64 {
	switch {
	case t < 1800:
		return 150
	case t < 3600:
		return 150 - 145*float64(t-1800)/1800
	case t < 7200:
		return 5
	case t < 9000:
		return 5 + 145*float64(t-7200)/1800
	}
	return 150
}

type switchAt struct {
	at    time.Duration
	night bool
}

// runTrace feeds the controller with amb(t)+noise, plus irBoost while night.
func runTrace(t *testing.T, c *Controller, n int, amb func(int) float64, irBoost, noise float64) []switchAt {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	var sw []switchAt
	for i := 0; i < n; i++ {
		v := amb(i) + (rng.Float64()*2-1)*noise
		if c.Night() {
			v += irBoost
		}
		v = min(max(v, 0), 255)
		at := time.Duration(i) * time.Second
		if night, changed := c.Sample(v, at); changed {
			sw = append(sw, switchAt{at, night})
		}
	}
	return sw
}

func TestControllerTrace(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfg       ControllerConfig
		boost     float64
		noise     float64
		wantN     int
		maxFlips  int // for the uncompensated case
		checkTime bool
	}{
		{"luma defaults boost 30", DefaultControllerConfig(SensorLuma), 30, 8, 2, 0, true},
		{"luma defaults boost 60", DefaultControllerConfig(SensorLuma), 60, 8, 2, 0, true},
		{"luma defaults no IR effect", DefaultControllerConfig(SensorLuma), 0, 8, 2, 0, true},
		{"heavy noise", DefaultControllerConfig(SensorLuma), 45, 15, 2, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewController(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			sw := runTrace(t, c, 10800, ambient, tc.boost, tc.noise)
			t.Logf("switches: %v; boost %.1f", sw, c.boost)
			if len(sw) != tc.wantN {
				t.Fatalf("got %d switches %v, want %d", len(sw), sw, tc.wantN)
			}
			if !sw[0].night || sw[1].night {
				t.Fatalf("want night then day, got %v", sw)
			}
			// Night between dusk (1800–3600) and dawn (7200–9000).
			if sw[0].at < 1800*time.Second || sw[0].at > 3600*time.Second ||
				sw[1].at < 7200*time.Second || sw[1].at > 9000*time.Second {
				t.Fatalf("switch times %v out of dusk/dawn", sw)
			}
		})
	}
}

// Without IR compensation the controller's own IR makes it oscillate; with
// it, it does not. MinSwitch is respected either way.
func TestControllerIRCompensation(t *testing.T) {
	for _, affects := range []bool{false, true} {
		cfg := DefaultControllerConfig(SensorLuma)
		cfg.IRAffectsSensor = affects
		c, err := NewController(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sw := runTrace(t, c, 10800, ambient, 60, 5)
		for i := 1; i < len(sw); i++ {
			if d := sw[i].at - sw[i-1].at; d < cfg.MinSwitch {
				t.Errorf("affects=%v: switches %v apart < MinSwitch %v", affects, d, cfg.MinSwitch)
			}
		}
		t.Logf("IRAffectsSensor=%v: %d switches", affects, len(sw))
		if affects && len(sw) != 2 {
			t.Errorf("compensated: %d switches, want 2: %v", len(sw), sw)
		}
		if !affects && len(sw) <= 2 {
			t.Errorf("uncompensated: expected oscillation, got %v", sw)
		}
	}
}

func TestControllerTransients(t *testing.T) {
	cfg := DefaultControllerConfig(SensorLuma)
	for _, tc := range []struct {
		name string
		amb  func(int) float64
		n    int
	}{
		{"day shadow 8s", func(i int) float64 {
			if i >= 100 && i < 108 {
				return 5
			}
			return 150
		}, 600},
		{"day repeated shadows", func(i int) float64 {
			if i%12 < 8 {
				return 5
			}
			return 150
		}, 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := NewController(cfg)
			if sw := runTrace(t, c, tc.n, tc.amb, 30, 3); len(sw) != 0 {
				t.Fatalf("switched on a transient: %v", sw)
			}
		})
	}
	t.Run("night flash 6s", func(t *testing.T) {
		c, _ := NewController(cfg)
		sw := runTrace(t, c, 1200, func(i int) float64 {
			if i >= 600 && i < 606 {
				return 255
			}
			return 5
		}, 30, 3)
		if len(sw) != 1 || !sw[0].night {
			t.Fatalf("want exactly one switch to night, got %v", sw)
		}
	})
}

func TestControllerModes(t *testing.T) {
	cfg := DefaultControllerConfig(SensorLuma)
	c, _ := NewController(cfg)
	if n, ch := c.SetMode(ModeNight, 0); !n || !ch {
		t.Fatal("NIGHT did not switch")
	}
	// Forced: bright samples do nothing.
	for i := 1; i < 100; i++ {
		c.Sample(200, time.Duration(i)*time.Second)
	}
	if !c.Night() {
		t.Fatal("forced night left")
	}
	if n, ch := c.SetMode(ModeDay, 100*time.Second); n || !ch {
		t.Fatal("DAY did not switch")
	}
	if _, ch := c.SetMode(ModeAuto, 101*time.Second); ch {
		t.Fatal("AUTO switched by itself")
	}
	// Dark in AUTO: not before MinSwitch after the forced switch.
	var at time.Duration
	for i := 102; i < 400; i++ {
		if _, ch := c.Sample(5, time.Duration(i)*time.Second); ch {
			at = time.Duration(i) * time.Second
			break
		}
	}
	if at < 100*time.Second+cfg.MinSwitch {
		t.Fatalf("auto switch at %v, before MinSwitch after the forced one", at)
	}
	if ModeAuto.String() != "AUTO" || ModeDay.String() != "DAY" || ModeNight.String() != "NIGHT" {
		t.Fatal("Mode.String")
	}
	if _, err := NewController(ControllerConfig{DarkBelow: 50, BrightAbove: 40}); err == nil {
		t.Fatal("inverted thresholds accepted")
	}
}
