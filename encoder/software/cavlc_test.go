package software

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cavlcBitReader reads a byte slice most significant bit first.
type cavlcBitReader struct {
	buf []byte
	pos int // in bits

	maxLevelPrefix int // the largest level_prefix read
}

var errCAVLCEOF = errors.New("cavlc: read past the end")

func (r *cavlcBitReader) bit() (uint32, error) {
	if r.pos >= 8*len(r.buf) {
		return 0, errCAVLCEOF
	}
	b := r.buf[r.pos/8] >> (7 - r.pos%8) & 1
	r.pos++
	return uint32(b), nil
}

func (r *cavlcBitReader) bits(n int) (uint32, error) {
	var v uint32
	for range n {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
	}
	return v, nil
}

// vlc reads one code of a table by reading bit after bit until the bits read
// so far equal one of the codes, and returns that code's index in codes. A
// code table that is not prefix free would decode the shorter code.
func (r *cavlcBitReader) vlc(codes []cavlcCode) (int, error) {
	var v uint32
	for n := 1; n <= 16; n++ {
		b, err := r.bit()
		if err != nil {
			return 0, err
		}
		v = v<<1 | b
		for i, c := range codes {
			if int(c.n) == n && uint32(c.code) == v {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("cavlc: no code matches at bit %d", r.pos-16)
}

// cavlcCoeffTokenColumn is the Table 9-5 column for nC, per 9.2.1.
func cavlcCoeffTokenColumn(nC int) int {
	switch {
	case nC == -1:
		return 4
	case 0 <= nC && nC < 2:
		return 0
	case 2 <= nC && nC < 4:
		return 1
	case 4 <= nC && nC < 8:
		return 2
	default:
		return 3
	}
}

// decodeResidualBlockCAVLC is an independent residual_block_cavlc() parser
// written from 7.3.5.3.2 and 9.2. It returns the levels in scan order.
func decodeResidualBlockCAVLC(r *cavlcBitReader, maxNumCoeff, nC int) ([]int32, int, error) {
	// The column's codes, in the order TotalCoeff*4 + TrailingOnes.
	var codes []cavlcCode
	for _, row := range cavlcCoeffTokenTab[cavlcCoeffTokenColumn(nC)] {
		codes = append(codes, row[:]...)
	}
	idx, err := r.vlc(codes)
	if err != nil {
		return nil, 0, fmt.Errorf("coeff_token: %w", err)
	}
	totalCoeff, trailingOnes := idx/4, idx%4
	coeffLevel := make([]int32, maxNumCoeff)
	if totalCoeff == 0 {
		return coeffLevel, 0, nil
	}
	if totalCoeff > maxNumCoeff {
		return nil, 0, fmt.Errorf("TotalCoeff %d > maxNumCoeff %d", totalCoeff, maxNumCoeff)
	}

	levelVal := make([]int32, totalCoeff)
	suffixLength := 0
	if totalCoeff > 10 && trailingOnes < 3 {
		suffixLength = 1
	}
	for i := range totalCoeff {
		if i < trailingOnes {
			s, err := r.bit()
			if err != nil {
				return nil, 0, err
			}
			levelVal[i] = 1 - 2*int32(s)
			continue
		}
		// level_prefix: leading zero bits before a one.
		levelPrefix := 0
		for {
			b, err := r.bit()
			if err != nil {
				return nil, 0, err
			}
			if b == 1 {
				break
			}
			levelPrefix++
		}
		r.maxLevelPrefix = max(r.maxLevelPrefix, levelPrefix)
		if levelPrefix > cavlcMaxLevelPrefix {
			return nil, 0, fmt.Errorf("level_prefix %d", levelPrefix)
		}
		levelSuffixSize := suffixLength
		switch {
		case levelPrefix == 14 && suffixLength == 0:
			levelSuffixSize = 4
		case levelPrefix >= 15:
			levelSuffixSize = levelPrefix - 3
		}
		levelSuffix, err := r.bits(levelSuffixSize)
		if err != nil {
			return nil, 0, err
		}
		levelCode := int64(min(15, levelPrefix)<<suffixLength) + int64(levelSuffix)
		if levelPrefix >= 15 && suffixLength == 0 {
			levelCode += 15
		}
		if levelPrefix >= 16 {
			levelCode += 1<<(levelPrefix-3) - 4096
		}
		if i == trailingOnes && trailingOnes < 3 {
			levelCode += 2
		}
		if levelCode%2 == 0 {
			levelVal[i] = int32((levelCode + 2) >> 1)
		} else {
			levelVal[i] = int32((-levelCode - 1) >> 1)
		}
		if suffixLength == 0 {
			suffixLength = 1
		}
		if cavlcAbs(levelVal[i]) > 3<<(suffixLength-1) && suffixLength < 6 {
			suffixLength++
		}
	}

	zerosLeft := 0
	if totalCoeff < maxNumCoeff {
		if nC == -1 {
			zerosLeft, err = r.vlc(cavlcTotalZerosChromaDCTab[totalCoeff-1][:])
		} else {
			zerosLeft, err = r.vlc(cavlcTotalZerosTab[totalCoeff-1][:])
		}
		if err != nil {
			return nil, 0, fmt.Errorf("total_zeros: %w", err)
		}
		if zerosLeft > maxNumCoeff-totalCoeff {
			return nil, 0, fmt.Errorf("total_zeros %d with TotalCoeff %d of %d", zerosLeft, totalCoeff, maxNumCoeff)
		}
	}
	runVal := make([]int, totalCoeff)
	for i := range totalCoeff - 1 {
		if zerosLeft == 0 {
			break
		}
		run, err := r.vlc(cavlcRunBeforeTab[min(zerosLeft, 7)-1][:])
		if err != nil {
			return nil, 0, fmt.Errorf("run_before: %w", err)
		}
		if run > zerosLeft {
			return nil, 0, fmt.Errorf("run_before %d > zerosLeft %d", run, zerosLeft)
		}
		runVal[i] = run
		zerosLeft -= run
	}
	runVal[totalCoeff-1] = zerosLeft

	coeffNum := -1
	for i := totalCoeff - 1; i >= 0; i-- {
		coeffNum += runVal[i] + 1
		coeffLevel[coeffNum] = levelVal[i]
	}
	return coeffLevel, totalCoeff, nil
}

func cavlcAbs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// checkCAVLCStop checks that r is exactly at the rbsp_trailing_bits written
// after the last block: a one, then zeros to the end of the buffer.
func checkCAVLCStop(t testing.TB, r *cavlcBitReader) {
	t.Helper()
	if (r.pos+1+7)/8 != len(r.buf) {
		t.Fatalf("decoder stopped at bit %d of %d bytes", r.pos, len(r.buf))
	}
	if b, _ := r.bit(); b != 1 {
		t.Fatalf("no stop bit at bit %d", r.pos-1)
	}
	for r.pos < 8*len(r.buf) {
		if b, _ := r.bit(); b != 0 {
			t.Fatalf("one bit after the stop bit at bit %d", r.pos-1)
		}
	}
}

func cavlcNonZero(coeffs []int32) int {
	n := 0
	for _, c := range coeffs {
		if c != 0 {
			n++
		}
	}
	return n
}

type cavlcBlock struct {
	coeffs []int32
	nC     int
}

// roundTripCAVLC writes the blocks one after another, then decodes and
// compares them.
func roundTripCAVLC(t testing.TB, w *bitWriter, blocks []cavlcBlock) {
	t.Helper()
	w.reset()
	for _, b := range blocks {
		if got, want := writeResidualBlock(w, b.coeffs, b.nC), cavlcNonZero(b.coeffs); got != want {
			t.Fatalf("writeResidualBlock(%v, nC %d) = %d, want TotalCoeff %d", b.coeffs, b.nC, got, want)
		}
	}
	w.trailing()
	r := &cavlcBitReader{buf: w.bytes()}
	for i, b := range blocks {
		start := r.pos
		got, total, err := decodeResidualBlockCAVLC(r, len(b.coeffs), b.nC)
		if err != nil {
			t.Fatalf("block %d (%v, nC %d): decode at bit %d: %v", i, b.coeffs, b.nC, start, err)
		}
		if !slices.Equal(got, b.coeffs) || total != cavlcNonZero(b.coeffs) {
			t.Fatalf("block %d nC %d: decoded %v (TotalCoeff %d), want %v", i, b.nC, got, total, b.coeffs)
		}
	}
	checkCAVLCStop(t, r)
}

// randomCAVLCLevel draws a non-zero level, favouring ±1 so that runs of
// trailing ones are common, with the occasional large one.
func randomCAVLCLevel(rng *rand.Rand) int32 {
	var v int32
	switch k := rng.IntN(20); {
	case k < 8:
		v = 1
	case k < 13:
		v = 2 + rng.Int32N(14)
	case k < 16:
		v = 16 + rng.Int32N(300)
	case k == 16:
		v = 900 + rng.Int32N(1300) // around the level_prefix 15/16 boundary
	case k == 17:
		v = []int32{1000, 20000, 1 << 15, 2063, 2064, 2065, 2500, 2600}[rng.IntN(8)]
	case k == 18:
		v = 1 + rng.Int32N(1<<16)
	default:
		v = 1 + rng.Int32N(1<<24)
	}
	if rng.IntN(2) == 0 {
		v = -v
	}
	return v
}

// randomCAVLCBlock draws a block for nC: its TotalCoeff, positions and
// levels are all random, including empty and full blocks.
func randomCAVLCBlock(rng *rand.Rand, nC int) cavlcBlock {
	n := 4
	if nC != -1 {
		n = 15 + rng.IntN(2)
	}
	coeffs := make([]int32, n)
	total := rng.IntN(n + 1)
	switch rng.IntN(8) {
	case 0:
		total = 0
	case 1:
		total = n
	}
	for _, p := range rng.Perm(n)[:total] {
		coeffs[p] = randomCAVLCLevel(rng)
	}
	if rng.IntN(4) == 0 {
		// Only small levels, so that suffixLength stays small.
		for i, c := range coeffs {
			if c != 0 {
				coeffs[i] = c%3 + 3*(c>>31|1)
			}
		}
	}
	return cavlcBlock{coeffs, nC}
}

func randomCAVLCnC(rng *rand.Rand) int {
	switch rng.IntN(5) {
	case 0:
		return rng.IntN(2)
	case 1:
		return 2 + rng.IntN(2)
	case 2:
		return 4 + rng.IntN(4)
	case 3:
		return 8 + rng.IntN(9)
	default:
		return -1
	}
}

func TestCAVLCRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := &bitWriter{}
	for range 20000 {
		blocks := make([]cavlcBlock, 1+rng.IntN(4))
		for i := range blocks {
			blocks[i] = randomCAVLCBlock(rng, randomCAVLCnC(rng))
		}
		roundTripCAVLC(t, w, blocks)
	}
}

// TestCAVLCRoundTripEdges covers each nC class and block size with fixed
// blocks at the edges of the syntax.
func TestCAVLCRoundTripEdges(t *testing.T) {
	full := func(n int, v int32) []int32 {
		c := make([]int32, n)
		for i := range c {
			c[i] = v
		}
		return c
	}
	var blocks [][]int32
	for _, n := range []int{4, 15, 16} {
		blocks = append(blocks,
			full(n, 0), full(n, 1), full(n, -1), full(n, 2), full(n, -20000), full(n, 1<<15), full(n, -(1<<15)),
		)
		for p := range n {
			for _, v := range []int32{1, -1, 2, -2, 3, 14, 15, 16, -16, 17, 1000, -1000, 20000, -20000, 1 << 24, -(1 << 24)} {
				c := full(n, 0)
				c[p] = v
				blocks = append(blocks, c)
				// v followed by a mix of ±1 and larger levels.
				c = full(n, 0)
				c[p] = v
				for i := p + 1; i < n; i++ {
					c[i] = []int32{1, -1, 1, 5, -1, -1}[(i-p-1)%6]
				}
				blocks = append(blocks, c)
			}
		}
		// All level codes around the suffixLength and escape boundaries.
		for v := int32(1); v < 70; v++ {
			c := full(n, 0)
			for i := range c {
				c[i] = v * int32(1-2*(i&1)) * int32(1+i)
			}
			blocks = append(blocks, c)
		}
	}
	w := &bitWriter{}
	for _, c := range blocks {
		ncs := []int{-1}
		if len(c) != 4 {
			ncs = []int{0, 1, 2, 3, 4, 7, 8, 16}
		}
		for _, nC := range ncs {
			roundTripCAVLC(t, w, []cavlcBlock{{c, nC}})
		}
	}
}

// TestCAVLCLevelBoundaries writes every level up to ±5000 and levels around
// each power of two up to 2^24 as the first level after zero, one, two and
// three trailing ones, with suffixLength starting at 0 and 1, and also
// following a level of about half its size.
func TestCAVLCLevelBoundaries(t *testing.T) {
	var values []int32
	for v := int32(1); v <= 5000; v++ {
		values = append(values, v, -v)
	}
	for k := 12; k <= 24; k++ {
		for d := int32(-9); d <= 9; d++ {
			v := int32(1)<<k + d
			values = append(values, v, -v, v-4096, 4096-v)
		}
	}
	w := &bitWriter{}
	for _, v := range values {
		for t1 := range 4 {
			c := make([]int32, 16)
			c[15-t1] = v
			for i := range t1 {
				c[15-i] = 1
			}
			roundTripCAVLC(t, w, []cavlcBlock{{c, 0}})
			// TotalCoeff > 10: suffixLength starts at 1 when TrailingOnes < 3.
			for i := range 11 - t1 {
				c[i] = 7
			}
			roundTripCAVLC(t, w, []cavlcBlock{{c, 0}})
			// v after a level of similar size.
			c = make([]int32, 16)
			c[0], c[1] = v, v/2+1
			roundTripCAVLC(t, w, []cavlcBlock{{c, 0}})
		}
	}
}

// TestCAVLCBaselineMaxLevel checks that levels up to cavlcBaselineMaxLevel
// never need level_prefix > 15, the Baseline limit, and that one more does
// in some context.
func TestCAVLCBaselineMaxLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	w := &bitWriter{}
	decode := func(blocks []cavlcBlock) int {
		w.reset()
		for _, b := range blocks {
			writeResidualBlock(w, b.coeffs, b.nC)
		}
		w.trailing()
		r := &cavlcBitReader{buf: w.bytes()}
		for _, b := range blocks {
			got, _, err := decodeResidualBlockCAVLC(r, len(b.coeffs), b.nC)
			if err != nil || !slices.Equal(got, b.coeffs) {
				t.Fatalf("%v nC %d: decoded %v, %v", b.coeffs, b.nC, got, err)
			}
		}
		return r.maxLevelPrefix
	}
	for range 20000 {
		b := randomCAVLCBlock(rng, randomCAVLCnC(rng))
		for i, c := range b.coeffs {
			if cavlcAbs(c) > cavlcBaselineMaxLevel {
				b.coeffs[i] = cavlcBaselineMaxLevel - rng.Int32N(3)
				if c < 0 {
					b.coeffs[i] = -b.coeffs[i]
				}
			}
		}
		if p := decode([]cavlcBlock{b}); p > 15 {
			t.Fatalf("%v nC %d: level_prefix %d", b.coeffs, b.nC, p)
		}
	}
	// Every position of the largest levels, after 0 to 3 trailing ones.
	for _, v := range []int32{cavlcBaselineMaxLevel, -cavlcBaselineMaxLevel} {
		for t1 := range 4 {
			for n := range 16 - t1 {
				c := make([]int32, 16)
				c[n] = v
				for i := range t1 {
					c[15-i] = -1
				}
				if p := decode([]cavlcBlock{{c, 0}}); p > 15 {
					t.Fatalf("%v: level_prefix %d", c, p)
				}
			}
		}
	}
	// 2064 after three trailing ones has suffixLength 0 and levelCode 4126.
	if p := decode([]cavlcBlock{{append([]int32{cavlcBaselineMaxLevel + 1, 1, 1, 1}, make([]int32, 12)...), 0}}); p != 16 {
		t.Errorf("level %d: level_prefix %d, want 16", cavlcBaselineMaxLevel+1, p)
	}
}

// cavlcBits returns the bits written by write as a string of 0 and 1.
func cavlcBits(write func(w *bitWriter)) string {
	w := &bitWriter{}
	write(w)
	w.trailing()
	var sb strings.Builder
	for _, b := range w.bytes() {
		fmt.Fprintf(&sb, "%08b", b)
	}
	s := sb.String()
	return s[:strings.LastIndexByte(s, '1')] // drop rbsp_trailing_bits
}

// cavlcZigZag4x4 maps scan position to raster position in a 4x4 block
// (frame zig-zag scan, Figure 8-8 / Table 8-13).
var cavlcZigZag4x4 = [16]int{0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15}

func TestCAVLCKnownAnswers(t *testing.T) {
	// Richardson's example. The block
	//	 0  3 -1  0
	//	 0 -1  1  0
	//	 1  0  0  0
	//	 0  0  0  0
	// is given in raster order; its zig-zag order is 0,3,0,1,-1,-1,0,1,0,...
	// With nC = 0:
	//	coeff_token TotalCoeff 5, TrailingOnes 3: 0000100
	//	trailing_ones_sign_flag for +1 -1 -1:     011
	//	level +1 (suffixLength 0, levelCode 0):   1
	//	level +3 (suffixLength 1, levelCode 4):   0010 (prefix 2, suffix 0)
	//	total_zeros 3 (tzVlcIndex 5):             111
	//	run_before 1 (zerosLeft 3):               10
	//	run_before 0 (zerosLeft 2):               1
	//	run_before 0 (zerosLeft 2):               1
	//	run_before 1 (zerosLeft 2):               01
	// and the last level (+3) has no run_before.
	raster := [16]int32{0, 3, -1, 0, 0, -1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}
	var richardson [16]int32
	for i, p := range cavlcZigZag4x4 {
		richardson[i] = raster[p]
	}
	if want := []int32{0, 3, 0, 1, -1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}; !slices.Equal(richardson[:], want) {
		t.Fatalf("zig-zag of the example = %v, want %v", richardson, want)
	}

	tests := []struct {
		name   string
		coeffs []int32
		nC     int
		want   string
		total  int
	}{
		{"richardson", richardson[:], 0, "0000100" + "011" + "1" + "0010" + "111" + "10" + "1" + "1" + "01", 5},
		// The same raster values read as if they were already in scan
		// order: levels in reverse 1 1 -1 | -1 3, TotalCoeff 5,
		// TrailingOnes 3, total_zeros 4.
		{"raster as scan", raster[:], 0, "0000100" + "001" + // coeff_token, signs + + -
			"01" + // -1: levelCode 1, suffixLength 0
			"0010" + // +3: levelCode 4, suffixLength 1
			"110" + // total_zeros 4, tzVlcIndex 5
			"10" + "11" + "01" + "1", // run_before 1 (zerosLeft 4), 0 (3), 2 (3), 0 (1)
			5},
		{"empty nC 0", make([]int32, 16), 0, "1", 0},
		{"empty nC 1", make([]int32, 16), 1, "1", 0},
		{"empty nC 2", make([]int32, 16), 2, "11", 0},
		{"empty nC 4", make([]int32, 15), 7, "1111", 0},
		{"empty nC 8", make([]int32, 15), 8, "000011", 0},
		{"empty chroma DC", make([]int32, 4), -1, "01", 0},
		// TotalCoeff 1, TrailingOnes 1, sign +, total_zeros 0 (chroma DC).
		{"chroma DC +1", []int32{1, 0, 0, 0}, -1, "1" + "0" + "1", 1},
		// TotalCoeff 1, TrailingOnes 0; -2 is coded as -1 (levelCode 1,
		// prefix 1); total_zeros 3 with tzVlcIndex 1 is 000.
		{"chroma DC -2 last", []int32{0, 0, 0, -2}, -1, "000111" + "01" + "000", 1},
		// TotalCoeff 4 = maxNumCoeff: no total_zeros.
		// Signs of -1 +1 -1 (reverse scan order), then the leading +1 as a
		// level: levelCode 0 with suffixLength 0.
		{"chroma DC full", []int32{1, -1, 1, -1}, -1, "0000000" + "101" + "1", 4},
		// 6-bit FLC: TotalCoeff 2, TrailingOnes 1 = 0001 01. The level 5
		// before it: levelCode 8 - 2 = 6, suffixLength 0: 0000001.
		// total_zeros 0 with tzVlcIndex 2: 111.
		{"FLC", append([]int32{5, -1}, make([]int32, 14)...), 8, "000101" + "1" + "0000001" + "111", 2},
		// A single +2 at scan position 0 of a 4x4 block: levelCode 0 → 1.
		{"single 2", append([]int32{2}, make([]int32, 15)...), 0, "000101" + "1" + "1", 1},
		// +16: levelCode 28 with suffixLength 0: level_prefix 14, 4-bit
		// level_suffix 14.
		{"prefix 14", append([]int32{16}, make([]int32, 15)...), 0,
			"000101" + "000000000000001" + "1110" + "1", 1},
		// +17: levelCode 30: level_prefix 15 (escape), 12-bit suffix 0.
		{"prefix 15", append([]int32{17}, make([]int32, 15)...), 0,
			"000101" + "0000000000000001" + "000000000000" + "1", 1},
		// -2064: levelCode 4125, the largest with level_prefix 15 and
		// suffixLength 0: suffix 4095.
		{"prefix 15 max", append([]int32{-2064}, make([]int32, 15)...), 0,
			"000101" + "0000000000000001" + "111111111111" + "1", 1},
		// +2065: levelCode 4126 needs level_prefix 16 with a 13-bit
		// suffix: 4126 = 15 + 15 + 0 + (1<<13) - 4096.
		{"prefix 16", append([]int32{2065}, make([]int32, 15)...), 0,
			"000101" + "00000000000000001" + "0000000000000" + "1", 1},
		// Levels in reverse scan order: 3, 4, -7 at positions 2, 1, 0.
		// coeff_token TotalCoeff 3, TrailingOnes 0 (nC 0): 000000111.
		// 3 is the first level: levelCode 4 - 2 = 2 with suffixLength 0 →
		// 001. suffixLength becomes 1 (and stays 1, as 3 is not > 3).
		// 4: levelCode 6 → prefix 3, suffix 0. suffixLength becomes 2.
		// -7: levelCode 13 → prefix 3, suffix 01.
		// total_zeros 0, tzVlcIndex 3: 0101.
		{"suffixLength", append([]int32{-7, 4, 3}, make([]int32, 13)...), 0,
			"000000111" + "001" + "0001" + "0" + "0001" + "01" + "0101", 3},
		// 11 levels of 2 and TrailingOnes 0: suffixLength starts at 1, and
		// the first level has levelCode 2 - 2 = 0 → prefix 0, suffix 0 (10).
		// The next are levelCode 2 → 010 with suffixLength 1 until the end.
		// nC 2: coeff_token TotalCoeff 11, TrailingOnes 0 = 000000001000.
		// total_zeros 0 with tzVlcIndex 11 (0000), no run_before.
		{"suffixLength 1 start", append(slices.Repeat([]int32{2}, 11), 0, 0, 0, 0, 0), 2,
			"000000001000" + "10" + strings.Repeat("010", 10) + "0000", 11},
	}
	for _, tc := range tests {
		var total int
		got := cavlcBits(func(w *bitWriter) { total = writeResidualBlock(w, tc.coeffs, tc.nC) })
		if got != tc.want || total != tc.total {
			t.Errorf("%s: %v nC %d:\n got %s (TotalCoeff %d)\nwant %s (TotalCoeff %d)", tc.name, tc.coeffs, tc.nC, got, total, tc.want, tc.total)
		}
	}
}

// cavlcCheckPrefixFree checks that no code of codes is a prefix of another
// (or equal to it), and that each code fits its length.
func cavlcCheckPrefixFree(t *testing.T, name string, codes []cavlcCode) {
	t.Helper()
	used := 0
	for i, a := range codes {
		if a.n == 0 {
			continue
		}
		used++
		if a.n > 16 || uint32(a.code) >= 1<<a.n {
			t.Errorf("%s: code %d: %b does not fit %d bits", name, i, a.code, a.n)
		}
		for j, b := range codes {
			if i == j || b.n == 0 || b.n < a.n {
				continue
			}
			if b.code>>(b.n-a.n) == a.code {
				t.Errorf("%s: code %d (%0*b) is a prefix of code %d (%0*b)", name, i, a.n, a.code, j, b.n, b.code)
			}
		}
	}
	if used == 0 {
		t.Errorf("%s: no codes", name)
	}
}

func TestCAVLCTablesPrefixFree(t *testing.T) {
	for col := range cavlcCoeffTokenTab {
		var codes []cavlcCode
		for tc, row := range cavlcCoeffTokenTab[col] {
			for t1, c := range row {
				// A code exists exactly for TrailingOnes <= min(TotalCoeff, 3)
				// (and TotalCoeff <= 4 in the chroma DC column).
				exists := t1 <= min(tc, 3) && (col != 4 || tc <= 4)
				if (c.n != 0) != exists {
					t.Errorf("coeff_token column %d: TotalCoeff %d TrailingOnes %d: length %d", col, tc, t1, c.n)
				}
				codes = append(codes, c)
			}
		}
		cavlcCheckPrefixFree(t, fmt.Sprintf("coeff_token column %d", col), codes)
	}
	for i := range cavlcTotalZerosTab {
		row := cavlcTotalZerosTab[i][:]
		for tz, c := range row {
			if (c.n != 0) != (tz <= 16-(i+1)) {
				t.Errorf("total_zeros tzVlcIndex %d: total_zeros %d: length %d", i+1, tz, c.n)
			}
		}
		cavlcCheckPrefixFree(t, fmt.Sprintf("total_zeros tzVlcIndex %d", i+1), row)
	}
	for i := range cavlcTotalZerosChromaDCTab {
		row := cavlcTotalZerosChromaDCTab[i][:]
		for tz, c := range row {
			if (c.n != 0) != (tz <= 4-(i+1)) {
				t.Errorf("chroma DC total_zeros tzVlcIndex %d: total_zeros %d: length %d", i+1, tz, c.n)
			}
		}
		cavlcCheckPrefixFree(t, fmt.Sprintf("chroma DC total_zeros tzVlcIndex %d", i+1), row)
	}
	for i := range cavlcRunBeforeTab {
		row := cavlcRunBeforeTab[i][:]
		maxRun := i + 1
		if i == 6 {
			maxRun = 14
		}
		for run, c := range row {
			if (c.n != 0) != (run <= maxRun) {
				t.Errorf("run_before table %d: run %d: length %d", i+1, run, c.n)
			}
		}
		cavlcCheckPrefixFree(t, fmt.Sprintf("run_before table %d", i+1), row)
	}
	// The fixed length column: xxxxyy with xxxx = TotalCoeff-1 and
	// yy = TrailingOnes, and 000011 for TotalCoeff 0.
	for tc := 1; tc <= 16; tc++ {
		for t1 := 0; t1 <= min(tc, 3); t1++ {
			if c := cavlcCoeffTokenTab[3][tc][t1]; c != (cavlcCode{uint16((tc-1)<<2 | t1), 6}) {
				t.Errorf("coeff_token 8 <= nC: TotalCoeff %d TrailingOnes %d = %v", tc, t1, c)
			}
		}
	}
}

func TestCAVLCPanics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		coeffs []int32
		nC     int
	}{
		{"chroma DC of 16", make([]int32, 16), -1},
		{"4 coefficients with nC 0", make([]int32, 4), 0},
		{"8 coefficients", make([]int32, 8), 0},
		{"nC -2", make([]int32, 8), -2},
		{"level 2^30", append([]int32{1 << 30}, make([]int32, 15)...), 0},
		{"level -2^31", append([]int32{-1 << 31}, make([]int32, 15)...), 0},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			writeResidualBlock(&bitWriter{}, tc.coeffs, tc.nC)
		}()
	}
}

func TestCAVLCAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	blocks := make([]cavlcBlock, 64)
	for i := range blocks {
		blocks[i] = randomCAVLCBlock(rng, randomCAVLCnC(rng))
	}
	w := &bitWriter{}
	run := func() {
		w.reset()
		for _, b := range blocks {
			writeResidualBlock(w, b.coeffs, b.nC)
		}
	}
	run() // warm the buffer
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per run of %d blocks, want 0", n, len(blocks))
	}
}

// cavlcBlockFromBytes builds a block from fuzz input: the first byte selects
// nC and the block size, then each coefficient takes one byte, or four for
// a 24-bit level.
func cavlcBlockFromBytes(data []byte) (cavlcBlock, bool) {
	if len(data) == 0 {
		return cavlcBlock{}, false
	}
	nCs := [...]int{0, 1, 2, 3, 4, 7, 8, 16, -1}
	nC := nCs[int(data[0]&0x0f)%len(nCs)]
	n := 16 - int(data[0]>>4&1)
	if nC == -1 {
		n = 4
	}
	data = data[1:]
	coeffs := make([]int32, n)
	for i := range coeffs {
		if len(data) == 0 {
			break
		}
		b := data[0]
		data = data[1:]
		switch b & 3 {
		case 0:
		case 1:
			coeffs[i] = 1 - 2*int32(b>>7)
		case 2:
			coeffs[i] = int32(int8(b)) >> 2
		case 3: // a signed 24-bit level
			if len(data) >= 3 {
				coeffs[i] = int32(uint32(data[0])<<24|uint32(data[1])<<16|uint32(data[2])<<8) >> 8
				data = data[3:]
			}
		}
	}
	return cavlcBlock{coeffs, nC}, true
}

func FuzzCAVLC(f *testing.F) {
	f.Add([]byte{0x00, 0, 0x01, 0x81, 0, 0x05, 0x01})
	f.Add([]byte{0x08, 0x03, 0x80, 0x00, 0x00, 0x03, 0x7f, 0xff, 0xff, 0x81, 0x81})
	f.Add([]byte{0x13, 0xff, 0xfe, 0xfd, 0x03, 0x00, 0x4e, 0x20, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01})
	w := &bitWriter{}
	f.Fuzz(func(t *testing.T, data []byte) {
		var blocks []cavlcBlock
		// Up to three blocks, split at 0xa5 bytes.
		for part := range strings.SplitSeq(string(data), "\xa5") {
			if b, ok := cavlcBlockFromBytes([]byte(part)); ok && len(blocks) < 3 {
				blocks = append(blocks, b)
			}
		}
		roundTripCAVLC(t, w, blocks)
	})
}

// cavlcNAL returns the RBSP in w with its trailing bits as an Annex B NAL
// unit with emulation prevention.
func cavlcNAL(hdr byte, w *bitWriter) []byte {
	w.trailing()
	out := []byte{0, 0, 0, 1, hdr}
	zeros := 0
	for _, b := range w.bytes() {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// cavlcTestStream returns a Constrained Baseline stream of IDR pictures of
// mbW x mbH macroblocks, each an I_16x16_2_2_1 macroblock (DC prediction,
// all luma AC and chroma DC and AC coded) with random residual levels, so
// that every block of the stream goes through writeResidualBlock with the
// nC of 9.2.1.
func cavlcTestStream(rng *rand.Rand, mbW, mbH, pictures int, big bool) []byte {
	w := &bitWriter{}
	// seq_parameter_set_rbsp()
	w.u(8, 66)   // profile_idc: Baseline
	w.u(8, 0xc0) // constraint_set0_flag, constraint_set1_flag: Constrained Baseline
	w.u(8, 30)   // level_idc
	w.ue(0)      // seq_parameter_set_id
	w.ue(0)      // log2_max_frame_num_minus4
	w.ue(2)      // pic_order_cnt_type
	w.ue(1)      // max_num_ref_frames
	w.flag(false)
	w.ue(uint32(mbW - 1))
	w.ue(uint32(mbH - 1))
	w.flag(true)  // frame_mbs_only_flag
	w.flag(true)  // direct_8x8_inference_flag
	w.flag(false) // frame_cropping_flag
	w.flag(false) // vui_parameters_present_flag
	out := cavlcNAL(0x67, w)
	// pic_parameter_set_rbsp()
	w.reset()
	w.ue(0)       // pic_parameter_set_id
	w.ue(0)       // seq_parameter_set_id
	w.flag(false) // entropy_coding_mode_flag: CAVLC
	w.flag(false) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)       // num_slice_groups_minus1
	w.ue(0)       // num_ref_idx_l0_default_active_minus1
	w.ue(0)       // num_ref_idx_l1_default_active_minus1
	w.flag(false) // weighted_pred_flag
	w.u(2, 0)     // weighted_bipred_idc
	w.se(0)       // pic_init_qp_minus26
	w.se(0)       // pic_init_qs_minus26
	w.se(0)       // chroma_qp_index_offset
	w.flag(true)  // deblocking_filter_control_present_flag
	w.flag(false) // constrained_intra_pred_flag
	w.flag(false) // redundant_pic_cnt_present_flag
	out = append(out, cavlcNAL(0x68, w)...)

	level := func() int32 {
		v := int32(1)
		switch k := rng.IntN(10); {
		case k < 5:
		case k < 8:
			v += rng.Int32N(10)
		default:
			v += rng.Int32N(100)
		}
		if big && rng.IntN(30) == 0 {
			v = 1 + rng.Int32N(1<<(4+rng.IntN(13)))
		}
		if rng.IntN(2) == 0 {
			v = -v
		}
		return v
	}
	block := func(c []int32) []int32 {
		clear(c)
		n := rng.IntN(len(c) + 1)
		if rng.IntN(6) == 0 {
			n = len(c)
		}
		for _, p := range rng.Perm(len(c))[:n] {
			c[p] = level()
		}
		return c
	}
	// nC of 9.2.1 from the TotalCoeff of the blocks to the left and above,
	// in a grid of blocks over the picture, all in one slice.
	nCOf := func(grid []int, stride, x, y int) int {
		switch {
		case x > 0 && y > 0:
			return (grid[y*stride+x-1] + grid[(y-1)*stride+x] + 1) >> 1
		case x > 0:
			return grid[y*stride+x-1]
		case y > 0:
			return grid[(y-1)*stride+x]
		}
		return 0
	}
	var c16 [16]int32
	var c15 [15]int32
	var c4 [4]int32
	for pic := range pictures {
		w.reset()
		w.ue(0)               // first_mb_in_slice
		w.ue(7)               // slice_type: I
		w.ue(0)               // pic_parameter_set_id
		w.u(4, 0)             // frame_num
		w.ue(uint32(pic % 2)) // idr_pic_id
		w.flag(false)         // no_output_of_prior_pics_flag
		w.flag(false)         // long_term_reference_flag
		w.se(0)               // slice_qp_delta
		w.ue(1)               // disable_deblocking_filter_idc
		// TotalCoeff of the Intra16x16ACLevel and chroma AC blocks.
		luma := make([]int, 4*mbW*4*mbH)
		chroma := [2][]int{make([]int, 2*mbW*2*mbH), make([]int, 2*mbW*2*mbH)}
		for my := range mbH {
			for mx := range mbW {
				w.ue(23) // mb_type I_16x16_2_2_1
				w.ue(0)  // intra_chroma_pred_mode: DC
				w.se(0)  // mb_qp_delta
				// Intra16x16DCLevel takes nC of luma4x4BlkIdx 0.
				writeResidualBlock(w, block(c16[:]), nCOf(luma, 4*mbW, 4*mx, 4*my))
				for blk := range 16 {
					x := 4*mx + blk%2 + 2*(blk/4%2)
					y := 4*my + blk%4/2 + 2*(blk/8)
					luma[y*4*mbW+x] = writeResidualBlock(w, block(c15[:]), nCOf(luma, 4*mbW, x, y))
				}
				for range 2 {
					writeResidualBlock(w, block(c4[:]), -1)
				}
				for c := range 2 {
					for blk := range 4 {
						x, y := 2*mx+blk%2, 2*my+blk/2
						chroma[c][y*2*mbW+x] = writeResidualBlock(w, block(c15[:]), nCOf(chroma[c], 2*mbW, x, y))
					}
				}
			}
		}
		out = append(out, cavlcNAL(0x65, w)...)
	}
	return out
}

// TestCAVLCFFmpeg has ffmpeg decode streams of random residual blocks with
// error detection that fails on any parse error and on bits left over at
// the end of a slice.
func TestCAVLCFFmpeg(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found: run e2e/install-peers.sh (make test does)")
	}
	const mbW, mbH, pictures = 11, 9, 4
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for i, big := range []bool{false, true, false, true} {
		in := filepath.Join(dir, fmt.Sprintf("s%d.264", i))
		if err := os.WriteFile(in, cavlcTestStream(rng, mbW, mbH, pictures, big), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-v", "error",
			"-err_detect", "explode+aggressive+bitstream", "-i", in, "-f", "rawvideo", "-")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("stream %d: ffmpeg: %v\n%s", i, err, stderr.Bytes())
		}
		if want := pictures * mbW * mbH * 384; stdout.Len() != want {
			t.Fatalf("stream %d: ffmpeg decoded %d bytes, want %d", i, stdout.Len(), want)
		}
	}
}
