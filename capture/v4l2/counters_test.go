package v4l2

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestErrorsAndReopens checks the failure and reopen counters over
// scripted outages: every device failure is an error, every device that
// streams again after one is a reopen, and failed attempts to reopen
// count as neither.
func TestErrorsAndReopens(t *testing.T) {
	tests := []struct {
		name                string
		script              []step
		stall               time.Duration
		frames              int
		wantErrs, wantReops uint64
	}{
		{"healthy", []step{{frames: -1}}, time.Second, 5, 0, 0},
		{"one unplug", []step{{frames: 3, end: unix.ENODEV}, {frames: -1}}, time.Second, 6, 1, 1},
		{"unplug with failed attempts", []step{
			{frames: 2, end: unix.ENODEV},
			{err: fmt.Errorf("open /dev/fake0: %w", unix.ENOENT)},
			{err: unix.ENOENT},
			{frames: -1},
		}, time.Second, 5, 1, 1},
		{"two outages", []step{{frames: 2, end: unix.EIO}, {frames: 2, end: unix.EIO}, {frames: -1}}, time.Second, 6, 2, 2},
		{"stall", []step{{frames: 2, stall: true}, {frames: -1}}, 150 * time.Millisecond, 4, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newFakeSource(t, tt.script, tt.stall)
			if s.Errors() != 0 || s.Reopens() != 0 {
				t.Fatalf("fresh source: %d errors, %d reopens", s.Errors(), s.Reopens())
			}
			if _, err := collect(t, s, tt.frames, 5*time.Second); err != nil {
				t.Fatalf("Run = %v", err)
			}
			if got := s.Errors(); got != tt.wantErrs {
				t.Errorf("Errors() = %d, want %d", got, tt.wantErrs)
			}
			if got := s.Reopens(); got != tt.wantReops {
				t.Errorf("Reopens() = %d, want %d", got, tt.wantReops)
			}
		})
	}
}
