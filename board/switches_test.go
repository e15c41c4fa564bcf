package board_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/board/boardtest"
	"periph.io/x/conn/v3/gpio"
)

// TestSwitchesCountsModeChanges checks that Switches counts each change of
// the lines between day and night, and nothing else.
func TestSwitchesCountsModeChanges(t *testing.T) {
	tests := []struct {
		name  string
		modes []board.Mode
		want  uint64
	}{
		{"none", nil, 0},
		{"day is the initial state", []board.Mode{board.ModeDay}, 0},
		{"night", []board.Mode{board.ModeNight}, 1},
		{"night twice", []board.Mode{board.ModeNight, board.ModeNight}, 1},
		{"auto keeps the state", []board.Mode{board.ModeNight, board.ModeAuto}, 1},
		{"night day night", []board.Mode{board.ModeNight, board.ModeDay, board.ModeNight}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := board.Open(qemu(t), board.Options{Lines: boardtest.New(nil)})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, m := range tt.modes {
				if err := b.SetMode(m); err != nil {
					t.Fatalf("SetMode(%v): %v", m, err)
				}
			}
			if got := b.Switches(); got != tt.want {
				t.Errorf("after %v: %d switches, want %d", tt.modes, got, tt.want)
			}
		})
	}
}

// TestSwitchesCountsAutomatic checks that switches made by the automatic
// controller from a GPIO light sensor are counted too.
func TestSwitchesCountsAutomatic(t *testing.T) {
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
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- b.Run(ctx) }()
	defer func() { cancel(); <-errc }()
	lines.SetInput(keySensor, gpio.High) // dark
	waitBool(t, got)
	if n := b.Switches(); n != 1 {
		t.Errorf("after dusk: %d switches, want 1", n)
	}
	lines.SetInput(keySensor, gpio.Low)
	waitBool(t, got)
	if n := b.Switches(); n != 2 {
		t.Errorf("after dawn: %d switches, want 2", n)
	}
}
