package software

// CAVLC residual coding, ITU-T H.264 §9.2 and the residual_block_cavlc()
// syntax of 7.3.5.3.2. The tables are in cavlc_tables.go.

// cavlcMaxLevelPrefix is the largest level_prefix written. Levels that need
// more are rejected. libavcodec rejects level_prefix > 25+3 as well.
const cavlcMaxLevelPrefix = 28

// cavlcBaselineMaxLevel is the largest level magnitude that is coded with
// level_prefix <= 15 whatever the suffixLength and trailing ones: with
// suffixLength 0, level_prefix 15 reaches levelCode 30 + 4095 = 4125, that is
// +2063 or -2063. The NOTE in 9.2.2.1 (and A.2.1, A.2.1.1) limits
// level_prefix to 15 in Baseline, Constrained Baseline, Main and Extended
// streams, so a conforming encoder clamps its levels to this magnitude when
// it quantises (before reconstruction, so that it stays in step with the
// decoder). Larger levels only occur at a low QP, mostly for Intra16x16 DC.
const cavlcBaselineMaxLevel = 2063

// writeResidualBlock writes residual_block_cavlc() for one block.
//
// coeffs holds the block's levels in scan (zig-zag) order and
// len(coeffs) == maxNumCoeff: 16 for a 4x4 block, 15 for an Intra16x16 AC or
// chroma AC block (whose DC is coded elsewhere, so coeffs starts at scan
// position 1), 4 for a 4:2:0 chroma DC block.
//
// nC selects the coeff_token table as derived in 9.2.1: 0..1, 2..3, 4..7, >= 8,
// or -1 for chroma DC (which requires len(coeffs) == 4).
//
// It returns TotalCoeff(coeff_token), which the caller keeps to derive nC for
// the neighbouring blocks.
//
// Level magnitudes up to about 2^25 can be coded. level_prefix exceeds 15,
// which Constrained Baseline does not allow, only for magnitudes above
// cavlcBaselineMaxLevel (2063 to 2528 depending on suffixLength); libavcodec
// decodes those too. It panics on a level too large to code or on an
// unsupported nC or block length, all programming errors.
func writeResidualBlock(w *bitWriter, coeffs []int32, nC int) int {
	maxNumCoeff := len(coeffs)
	switch {
	case nC == -1:
		if maxNumCoeff != 4 {
			panic("cavlc: chroma DC block must have 4 coefficients")
		}
	case nC < -1:
		panic("cavlc: unsupported nC")
	case maxNumCoeff != 15 && maxNumCoeff != 16:
		panic("cavlc: block must have 15 or 16 coefficients")
	}

	// The non-zero levels in reverse scan order and, for each, run_before:
	// the number of zeros between it and the next non-zero level towards
	// the start of the block.
	var levels [16]int32
	var runs [16]uint8
	total := 0
	last := maxNumCoeff - 1
	for last >= 0 && coeffs[last] == 0 {
		last--
	}
	for i := last; i >= 0; {
		levels[total] = coeffs[i]
		i--
		run := 0
		for i >= 0 && coeffs[i] == 0 {
			run++
			i--
		}
		runs[total] = uint8(run)
		total++
	}
	totalZeros := last + 1 - total

	// TrailingOnes: up to three ±1 levels at the end of the block.
	trailingOnes := 0
	for trailingOnes < total && trailingOnes < 3 &&
		(levels[trailingOnes] == 1 || levels[trailingOnes] == -1) {
		trailingOnes++
	}

	// coeff_token, Table 9-5.
	col := 4
	switch {
	case nC == -1:
	case nC < 2:
		col = 0
	case nC < 4:
		col = 1
	case nC < 8:
		col = 2
	default:
		col = 3
	}
	ct := cavlcCoeffTokenTab[col][total][trailingOnes]
	w.u(uint(ct.n), uint32(ct.code))
	if total == 0 {
		return 0
	}

	// trailing_ones_sign_flag, 1 for a negative level.
	var signs uint32
	for i := 0; i < trailingOnes; i++ {
		signs <<= 1
		if levels[i] < 0 {
			signs |= 1
		}
	}
	w.u(uint(trailingOnes), signs)

	// level_prefix and level_suffix, 9.2.2.1 in reverse.
	suffixLength := uint(0)
	if total > 10 && trailingOnes < 3 {
		suffixLength = 1
	}
	for i := trailingOnes; i < total; i++ {
		level := int64(levels[i])
		abs := level
		if abs < 0 {
			abs = -abs
		}
		levelCode := 2*abs - 2 // levelVal > 0
		if level < 0 {
			levelCode = 2*abs - 1
		}
		if i == trailingOnes && trailingOnes < 3 {
			// The decoder adds 2 to the first levelCode after fewer than
			// three trailing ones: such a level cannot be ±1.
			levelCode -= 2
		}
		writeLevelCode(w, uint64(levelCode), suffixLength)
		if suffixLength == 0 {
			suffixLength = 1
		}
		if abs > 3<<(suffixLength-1) && suffixLength < 6 {
			suffixLength++
		}
	}

	// total_zeros, Tables 9-7, 9-8 and 9-9 (a).
	if total < maxNumCoeff {
		var tz cavlcCode
		if nC == -1 {
			tz = cavlcTotalZerosChromaDCTab[total-1][totalZeros]
		} else {
			tz = cavlcTotalZerosTab[total-1][totalZeros]
		}
		w.u(uint(tz.n), uint32(tz.code))
	}

	// run_before, Table 9-10, for all but the last level while zeros are left.
	zerosLeft := totalZeros
	for i := 0; i < total-1 && zerosLeft > 0; i++ {
		rb := cavlcRunBeforeTab[min(zerosLeft, 7)-1][runs[i]]
		w.u(uint(rb.n), uint32(rb.code))
		zerosLeft -= int(runs[i])
	}
	return total
}

// writeLevelCode writes level_prefix and level_suffix for levelCode (the
// value of 9.2.2.1 after any adjustment for trailing ones) with suffixLength.
func writeLevelCode(w *bitWriter, levelCode uint64, suffixLength uint) {
	var esc uint64 // levelCode minus what level_prefix 15 starts at
	if suffixLength == 0 {
		switch {
		case levelCode < 14: // level_prefix = levelCode, no suffix
			w.u(uint(levelCode)+1, 1)
			return
		case levelCode < 30: // level_prefix 14, levelSuffixSize 4
			w.u(15+4, 1<<4|uint32(levelCode-14))
			return
		}
		esc = levelCode - 30
	} else {
		if levelCode < 15<<suffixLength {
			prefix := uint(levelCode >> suffixLength)
			suffix := uint32(levelCode) & (1<<suffixLength - 1)
			w.u(prefix+1+suffixLength, 1<<suffixLength|suffix)
			return
		}
		esc = levelCode - 15<<suffixLength
	}
	if esc < 1<<12 { // level_prefix 15, levelSuffixSize 12
		w.u(16+12, 1<<12|uint32(esc))
		return
	}
	// level_prefix >= 16 adds (1 << (level_prefix-3)) - 4096 to levelCode and
	// has a level_prefix-3 bit suffix: it covers esc in
	// [2^(level_prefix-3) - 4096, 2^(level_prefix-2) - 4096).
	prefix := uint(16)
	for esc >= 1<<(prefix-2)-4096 {
		if prefix == cavlcMaxLevelPrefix {
			panic("cavlc: level too large")
		}
		prefix++
	}
	w.u(prefix+1, 1)
	w.u(prefix-3, uint32(esc-(1<<(prefix-3)-4096)))
}
