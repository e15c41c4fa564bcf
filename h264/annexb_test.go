package h264

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

func TestNextNALU(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"empty", nil, nil},
		{"no start code", []byte{0x67, 0x42, 0, 0, 2}, nil},
		{"start code only", []byte{0, 0, 0, 1}, nil},
		{"three-byte", []byte{0, 0, 1, 0x09, 0xf0}, [][]byte{{0x09, 0xf0}}},
		{"four-byte", []byte{0, 0, 0, 1, 0x09, 0xf0}, [][]byte{{0x09, 0xf0}}},
		{"mixed", []byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88},
			[][]byte{{0x67, 0x42}, {0x68, 0xce}, {0x65, 0x88}}},
		{"leading garbage", []byte{0xff, 0x01, 0, 1, 0, 0, 1, 0x41, 0x9a}, [][]byte{{0x41, 0x9a}}},
		{"trailing zeros", []byte{0, 0, 1, 0x41, 0x9a, 0, 0, 0, 0, 0, 0, 1, 0x41, 0x9b, 0, 0},
			[][]byte{{0x41, 0x9a}, {0x41, 0x9b}}},
		{"empty NAL units skipped", []byte{0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0x06, 0x05, 0, 0, 1}, [][]byte{{0x06, 0x05}}},
		{"emulation prevention kept", []byte{0, 0, 1, 0x65, 0, 0, 3, 1, 0, 0, 3, 0, 0x80},
			[][]byte{{0x65, 0, 0, 3, 1, 0, 0, 3, 0, 0x80}}},
		{"start code at end", []byte{0, 0, 1, 0x09, 0x10, 0, 0, 1}, [][]byte{{0x09, 0x10}}},
		{"ones near start code", []byte{1, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 1, 1}, [][]byte{{1}, {0, 1, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]byte
			for nalu, rest := NextNALU(tt.in); nalu != nil; nalu, rest = NextNALU(rest) {
				got = append(got, nalu)
			}
			if !slices.EqualFunc(got, tt.want, bytes.Equal) {
				t.Errorf("NextNALU loop = %x, want %x", got, tt.want)
			}
			if split := SplitAnnexB(tt.in); !slices.EqualFunc(split, tt.want, bytes.Equal) {
				t.Errorf("SplitAnnexB = %x, want %x", split, tt.want)
			}
		})
	}
}

func TestNextNALUCapacity(t *testing.T) {
	b := []byte{0, 0, 1, 0x41, 0x9a, 0, 0, 1, 0x41, 0x9b}
	nalu, _ := NextNALU(b)
	if cap(nalu) != len(nalu) {
		// An append to nalu must not overwrite the next start code.
		t.Errorf("cap(nalu) = %d, want %d", cap(nalu), len(nalu))
	}
}

func TestNextNALUAllocs(t *testing.T) {
	b := AppendAnnexB(nil, [][]byte{{0x67, 1, 2, 3}, {0x68, 4}, {0x65, 5, 6, 7, 8}})
	allocs := testing.AllocsPerRun(100, func() {
		for nalu, rest := NextNALU(b); nalu != nil; nalu, rest = NextNALU(rest) {
		}
	})
	if allocs != 0 {
		t.Errorf("NextNALU allocates %v times per stream", allocs)
	}
}

func TestAppendAnnexB(t *testing.T) {
	nalus := [][]byte{{0x67, 0x42}, {}, {0x68, 0xce}, {0x65, 0, 0, 3, 0x88}}
	got := AppendAnnexB([]byte{0xaa}, nalus)
	want := []byte{0xaa, 0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0, 0, 3, 0x88}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendAnnexB = %x, want %x", got, want)
	}
	if back := SplitAnnexB(got); !slices.EqualFunc(back, slices.DeleteFunc(nalus, func(b []byte) bool { return len(b) == 0 }), bytes.Equal) {
		t.Errorf("SplitAnnexB(AppendAnnexB(x)) = %x", back)
	}
}

func BenchmarkNextNALU(b *testing.B) {
	clip := readClip(b)
	b.SetBytes(int64(len(clip)))
	for b.Loop() {
		for nalu, rest := NextNALU(clip); nalu != nil; nalu, rest = NextNALU(rest) {
		}
	}
}

func FuzzNextNALU(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		nalus := SplitAnnexB(b)
		total := 0
		for i, n := range nalus {
			if len(n) == 0 || n[len(n)-1] == 0 || bytes.Contains(n, []byte{0, 0, 1}) {
				t.Fatalf("NAL unit %d = %x: empty, ends in zero, or holds a start code", i, n)
			}
			total += len(n)
		}
		if total > len(b) {
			t.Fatalf("NAL units total %d bytes of %d", total, len(b))
		}
		// Re-framing finds the same NAL units.
		again := SplitAnnexB(AppendAnnexB(nil, nalus))
		if !slices.EqualFunc(again, nalus, bytes.Equal) {
			t.Fatal(fmt.Sprintf("round trip: got %x, want %x", again, nalus))
		}
	})
}
