package h264

import (
	"errors"
	"testing"
)

// TestExpGolomb reads ue(v) and se(v) codes, and checks that a code cut
// off in its suffix reads as 0 with an error: a caller that bounds a
// loop by the value only when there is no error must not get 2^31.
func TestExpGolomb(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		ue   uint32
		se   int32
		err  error
	}{
		{"1 → 0", []byte{0b1000_0000}, 0, 0, nil},
		{"010 → 1", []byte{0b0100_0000}, 1, 1, nil},
		{"011 → 2", []byte{0b0110_0000}, 2, -1, nil},
		{"00111 → 6", []byte{0b0011_1000}, 6, -3, nil},
		{"31 zeros then a cut suffix", []byte{0, 0, 0, 0b0000_0001, 0xff}, 0, 0, errTruncated},
		{"a cut prefix", []byte{0, 0}, 0, 0, errTruncated},
		{"32 zeros", []byte{0, 0, 0, 0, 0xff}, 0, 0, errExpGolomb},
	}
	for _, tt := range tests {
		r := newBitReader(tt.in)
		if got := r.ue(); got != tt.ue || !errors.Is(r.err, tt.err) {
			t.Errorf("%s: ue() = %d, %v; want %d, %v", tt.name, got, r.err, tt.ue, tt.err)
		}
		r = newBitReader(tt.in)
		if got := r.se(); got != tt.se || !errors.Is(r.err, tt.err) {
			t.Errorf("%s: se() = %d, %v; want %d, %v", tt.name, got, r.err, tt.se, tt.err)
		}
	}
}

// TestParseSPSCutPOCCycle: an SPS cut off inside
// num_ref_frames_in_pic_order_cnt_cycle, found by fuzzing, took 12 s
// (2^31 reads of offset_for_ref_frame). It is a truncation error.
func TestParseSPSCutPOCCycle(t *testing.T) {
	if _, err := ParseSPS([]byte("'00A%0\x00\x00\x00\x10")); !errors.Is(err, errTruncated) {
		t.Fatalf("ParseSPS = %v, want a truncation error", err)
	}
}
