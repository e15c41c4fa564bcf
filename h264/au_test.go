package h264

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
)

const clipPath = "../testdata/clip-720p25.h264"

func readClip(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(clipPath)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestClip(t *testing.T) {
	clip := readClip(t)
	aus := SplitAccessUnits(clip)
	if len(aus) != 250 {
		t.Fatalf("%d access units, want 250", len(aus))
	}
	for i, au := range aus {
		if got, want := au.IDR(), i%25 == 0; got != want {
			t.Errorf("access unit %d: IDR() = %v, want %v", i, got, want)
		}
		vcl := 0
		for _, n := range au.NALUs {
			if isVCL(Type(n)) {
				vcl++
			}
		}
		// libx264 with sliced threads: first_mb_in_slice 0 and 1840.
		if vcl != 2 {
			t.Errorf("access unit %d: %d slices, want 2", i, vcl)
		}
	}
	first := aus[0].NALUs
	if Type(first[0]) != NALUSPS || Type(first[1]) != NALUPPS {
		t.Fatalf("first access unit starts with types %d, %d, want SPS, PPS", Type(first[0]), Type(first[1]))
	}
	sps, err := ParseSPS(first[0])
	if err != nil {
		t.Fatal(err)
	}
	if sps.Width != 1280 || sps.Height != 720 {
		t.Errorf("SPS size %dx%d, want 1280x720", sps.Width, sps.Height)
	}
	if num, den, ok := sps.FrameRate(); num != 25 || den != 1 || !ok {
		t.Errorf("FrameRate() = %d, %d, %v, want 25, 1, true", num, den, ok)
	}
	if got := ProfileLevelID(first[0]); got != "42c01f" {
		t.Errorf("ProfileLevelID = %q, want 42c01f", got)
	}

	// Every NAL unit is in exactly one access unit, in order.
	var all [][]byte
	for _, au := range aus {
		all = append(all, au.NALUs...)
	}
	if !slices.EqualFunc(all, SplitAnnexB(clip), bytes.Equal) {
		t.Error("access units do not partition the NAL units")
	}
}

// testdata/multislice-aud.h264 is 12 pictures of 320x240, 4 slices each,
// with access unit delimiters, from:
//
//	ffmpeg -f lavfi -i testsrc2=size=320x240:rate=25 -frames:v 12 -c:v libx264 \
//	  -preset veryfast -g 6 -bf 0 -x264-params slices=4:aud=1 -crf 40 multislice-aud.h264
func TestMultiSlice(t *testing.T) {
	b, err := os.ReadFile("testdata/multislice-aud.h264")
	if err != nil {
		t.Fatal(err)
	}
	aus := SplitAccessUnits(b)
	if len(aus) != 12 {
		t.Fatalf("%d access units, want 12", len(aus))
	}
	for i, au := range aus {
		if Type(au.NALUs[0]) != NALUAUD {
			t.Errorf("access unit %d starts with type %d, want AUD", i, Type(au.NALUs[0]))
		}
		slices := 0
		for _, n := range au.NALUs {
			if t := Type(n); t == NALUIDR || t == NALUNonIDR {
				slices++
			}
		}
		if slices != 4 {
			t.Errorf("access unit %d has %d slices, want 4", i, slices)
		}
		if got, want := au.IDR(), i%6 == 0; got != want {
			t.Errorf("access unit %d: IDR() = %v, want %v", i, got, want)
		}
	}
}

// Synthetic NAL units for the grouping rules. A slice header starts with
// first_mb_in_slice: ue(v) "1" is 0, "010" is 1.
var (
	aud      = []byte{0x09, 0xf0}
	sps      = []byte{0x67, 0x42}
	pps      = []byte{0x68, 0xce}
	sei      = []byte{0x06, 0x05}
	idr0     = []byte{0x65, 0x88} // first_mb_in_slice 0
	idr1     = []byte{0x65, 0x40} // first_mb_in_slice 1
	p0       = []byte{0x41, 0x9a}
	p1       = []byte{0x41, 0x40}
	pBad     = []byte{0x41}                   // no slice header
	pBad2    = []byte{0x41, 0, 0, 3, 0, 0x80} // 32 zero bits: invalid ue(v)
	partA0   = []byte{0x22, 0x80}
	partB    = []byte{0x23, 0x80}
	eoseq    = []byte{0x0a}
	prefix14 = []byte{0x6e, 0x80}
	filler   = []byte{0x0c, 0xff}
)

func TestAUSplitter(t *testing.T) {
	tests := []struct {
		name string
		in   [][]byte
		want [][][]byte
	}{
		{"empty", nil, nil},
		{"one picture", [][]byte{sps, pps, idr0}, [][][]byte{{sps, pps, idr0}}},
		{"slices by first_mb", [][]byte{idr0, idr1, p0, p1, p1, p0},
			[][][]byte{{idr0, idr1}, {p0, p1, p1}, {p0}}},
		{"AUD starts", [][]byte{aud, sps, pps, sei, idr0, idr1, aud, p0, filler, aud, p0},
			[][][]byte{{aud, sps, pps, sei, idr0, idr1}, {aud, p0, filler}, {aud, p0}}},
		{"parameter sets start", [][]byte{p0, sps, p0, pps, p0, sei, p1, prefix14, p1},
			[][][]byte{{p0}, {sps, p0}, {pps, p0}, {sei, p1}, {prefix14, p1}}},
		{"end of sequence stays", [][]byte{p0, eoseq, idr0}, [][][]byte{{p0, eoseq}, {idr0}}},
		{"data partitions", [][]byte{partA0, partB, partA0}, [][][]byte{{partA0, partB}, {partA0}}},
		{"malformed slice header continues", [][]byte{p0, pBad, pBad2, p0}, [][][]byte{{p0, pBad, pBad2}, {p0}}},
		{"leading non-VCL", [][]byte{sei, sei, pps, p0}, [][][]byte{{sei, sei, pps, p0}}},
		{"trailing non-VCL", [][]byte{p0, sei}, [][][]byte{{p0}, {sei}}},
		{"empty NAL units ignored", [][]byte{{}, p0, {}, p0}, [][][]byte{{p0}, {p0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				s   AUSplitter
				got [][][]byte
			)
			for _, n := range tt.in {
				au, err := s.Push(n)
				if err != nil {
					t.Fatalf("Push(%x): %v", n, err)
				}
				if au != nil {
					got = append(got, slices.Clone(au))
				}
			}
			if au := s.Flush(); au != nil {
				got = append(got, slices.Clone(au))
			}
			if !slices.EqualFunc(got, tt.want, func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }) {
				t.Errorf("access units = %x, want %x", got, tt.want)
			}
			if s.Flush() != nil {
				t.Error("second Flush returned NAL units")
			}
			// SplitAccessUnits agrees.
			var aus [][][]byte
			for _, au := range SplitAccessUnits(AppendAnnexB(nil, tt.in)) {
				aus = append(aus, au.NALUs)
			}
			if !slices.EqualFunc(aus, tt.want, func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }) {
				t.Errorf("SplitAccessUnits = %x, want %x", aus, tt.want)
			}
		})
	}
}

// rep returns n copies of nalu.
func rep(n int, nalu []byte) [][]byte {
	return slices.Repeat([][]byte{nalu}, n)
}

func TestAUSplitterLimit(t *testing.T) {
	const limit = MaxAccessUnitNALUs
	cat := func(parts ...[][]byte) [][]byte { return slices.Concat(parts...) }
	tests := []struct {
		name   string
		in     [][]byte
		errsAt []int // indexes of the Pushes that fail
		wantAU []int // lengths of the access units returned
	}{
		{"slices at the limit", cat(rep(1, p0), rep(limit-1, p1), rep(1, p0)), nil, []int{limit, 1}},
		{"slices one over", cat(rep(1, p0), rep(limit, p1), rep(1, p0)), []int{limit}, []int{1}},
		{"delimiters at the limit", cat(rep(limit-1, aud), rep(1, idr0), rep(1, aud), rep(1, p0)), nil, []int{limit, 2}},
		{"delimiters one over", cat(rep(limit+1, aud), rep(1, idr0), rep(1, aud), rep(1, p0)), []int{limit}, []int{2}},
		{"dropped until a new picture", cat(rep(limit+1, sei), rep(3, p1), rep(1, p0), rep(1, sps), rep(1, idr0)),
			[]int{limit}, []int{1, 2}},
		{"dropped until the end", cat(rep(1, idr0), rep(200_000, p1)), []int{limit}, nil},
		{"over twice", cat(rep(1, p0), rep(limit, p1), rep(1, p0), rep(limit, p1), rep(1, p0)), []int{limit, 2*limit + 1}, []int{1}},
		{"after a complete access unit", cat(rep(1, p0), rep(1, aud), rep(limit, p1), rep(1, p0)), []int{limit + 1}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				s      AUSplitter
				got    []int
				errsAt []int
			)
			for i, n := range tt.in {
				au, err := s.Push(n)
				if err != nil {
					if !errors.Is(err, ErrAccessUnitTooLong) {
						t.Fatalf("Push %d: %v, want ErrAccessUnitTooLong", i, err)
					}
					errsAt = append(errsAt, i)
				}
				if au != nil {
					got = append(got, len(au))
				}
			}
			if au := s.Flush(); au != nil {
				got = append(got, len(au))
			}
			if !slices.Equal(errsAt, tt.errsAt) {
				t.Errorf("errors at Push %v, want %v", errsAt, tt.errsAt)
			}
			if !slices.Equal(got, tt.wantAU) {
				t.Errorf("access units of %v NAL units, want %v", got, tt.wantAU)
			}
			// SplitAccessUnits leaves out what was dropped.
			got = nil
			for _, au := range SplitAccessUnits(AppendAnnexB(nil, tt.in)) {
				got = append(got, len(au.NALUs))
			}
			if !slices.Equal(got, tt.wantAU) {
				t.Errorf("SplitAccessUnits: access units of %v NAL units, want %v", got, tt.wantAU)
			}
		})
	}
	if ErrAccessUnitTooLong.Error() != "h264: more than 4096 NAL units in one access unit" {
		t.Errorf("ErrAccessUnitTooLong = %q", ErrAccessUnitTooLong)
	}
}

func TestAUSplitterAllocs(t *testing.T) {
	var s AUSplitter
	stream := [][]byte{aud, sps, pps, idr0, idr1, aud, p0, p1, aud, p0, p1}
	for _, n := range stream { // warm up
		s.Push(n)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, n := range stream {
			s.Push(n)
		}
	})
	if allocs != 0 {
		t.Errorf("Push allocates %v times per run", allocs)
	}
}

func FuzzSplitAccessUnits(f *testing.F) {
	// One access unit too long, then a picture.
	f.Add(append(bytes.Repeat([]byte{0, 0, 1, 9}, MaxAccessUnitNALUs+1), 0, 0, 1, 0x41, 0x9a, 0, 0, 1, 9, 0, 0, 1, 0x41, 0x9a))
	f.Fuzz(func(t *testing.T, b []byte) {
		nalus := SplitAnnexB(b)
		aus := SplitAccessUnits(b)
		var (
			s       AUSplitter
			dropped bool
		)
		for _, n := range nalus {
			if _, err := s.Push(n); err != nil {
				dropped = true
			}
		}
		var all [][]byte
		for i, au := range aus {
			if len(au.NALUs) == 0 || len(au.NALUs) > MaxAccessUnitNALUs {
				t.Fatalf("access unit %d has %d NAL units", i, len(au.NALUs))
			}
			// A VCL NAL unit is followed only by VCL NAL units or
			// types that never start an access unit.
			seenVCL := false
			for j, n := range au.NALUs {
				if seenVCL && j > 0 {
					switch Type(n) {
					case NALUAUD, NALUSPS, NALUPPS, NALUSEI, 14, 15, 16, 17, 18:
						t.Fatalf("access unit %d: type %d after a slice", i, Type(n))
					}
				}
				if isVCL(Type(n)) {
					seenVCL = true
				}
			}
			all = append(all, au.NALUs...)
		}
		if dropped {
			if len(all) >= len(nalus) {
				t.Fatalf("%d of %d NAL units kept after an access unit was dropped", len(all), len(nalus))
			}
		} else if !slices.EqualFunc(all, nalus, bytes.Equal) {
			t.Fatal("access units do not partition the NAL units")
		}
	})
}
