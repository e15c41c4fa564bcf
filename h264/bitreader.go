package h264

import "errors"

var (
	errTruncated = errors.New("truncated")
	errExpGolomb = errors.New("exp-Golomb code longer than 32 bits")
)

// bitReader reads the RBSP of a NAL unit MSB first, discarding
// emulation_prevention_three_byte (the 0x03 in 0x000003) on the fly so that
// no unescaped copy of the NAL unit is needed.
//
// Errors are sticky: after the first one every read returns 0 and err
// keeps the first error.
type bitReader struct {
	b     []byte // escaped payload, NAL unit header excluded
	pos   int    // index in b of the next byte to load
	zeros int    // number of consecutive 0x00 bytes loaded
	cur   byte   // current byte, consumed from the top
	left  uint   // bits of cur not yet consumed
	err   error
}

func newBitReader(b []byte) bitReader { return bitReader{b: b} }

// load fetches the next RBSP byte into cur.
func (r *bitReader) load() bool {
	if r.pos < len(r.b) && r.zeros >= 2 && r.b[r.pos] == 0x03 {
		r.pos++ // emulation_prevention_three_byte
		r.zeros = 0
	}
	if r.pos >= len(r.b) {
		r.err = errTruncated
		return false
	}
	r.cur = r.b[r.pos]
	r.pos++
	if r.cur == 0 {
		r.zeros++
	} else {
		r.zeros = 0
	}
	r.left = 8
	return true
}

// bit reads u(1).
func (r *bitReader) bit() uint32 {
	if r.err != nil {
		return 0
	}
	if r.left == 0 && !r.load() {
		return 0
	}
	r.left--
	return uint32(r.cur>>r.left) & 1
}

// flag reads u(1) as a bool.
func (r *bitReader) flag() bool { return r.bit() == 1 }

// bits reads u(n) for n <= 32.
func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

// ue reads ue(v); the largest value is 2^32-2. On a read error it
// returns 0.
func (r *bitReader) ue() uint32 {
	lz := 0
	for r.bit() == 0 {
		if r.err != nil {
			return 0
		}
		lz++
		if lz > 31 {
			r.err = errExpGolomb
			return 0
		}
	}
	if r.err != nil {
		return 0
	}
	v := uint32(uint64(1)<<lz-1) + r.bits(lz)
	if r.err != nil {
		// Truncated in the suffix: v is not a value, and a caller that
		// checks it only when r.err is nil must not loop on it.
		return 0
	}
	return v
}

// se reads se(v).
func (r *bitReader) se() int32 {
	k := int64(r.ue())
	if k&1 == 1 {
		return int32((k + 1) / 2)
	}
	return int32(-(k / 2))
}
