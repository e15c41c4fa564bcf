package board_test

import (
	"testing"

	"github.com/ipcamd/ipcamd/board"
	"github.com/ipcamd/ipcamd/board/boardtest"
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
