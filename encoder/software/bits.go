package software

// bitWriter writes an RBSP most significant bit first. The emulation
// prevention bytes of the NAL unit are added when the RBSP is wrapped into a
// NAL unit, not here.
type bitWriter struct {
	buf  []byte
	cur  uint64 // pending bits, right-aligned
	ncur uint   // number of pending bits, < 8 between calls
}

// reset empties the writer, keeping its buffer.
func (w *bitWriter) reset() {
	w.buf, w.cur, w.ncur = w.buf[:0], 0, 0
}

// u writes the low n bits of v, n <= 32.
func (w *bitWriter) u(n uint, v uint32) {
	if n == 0 {
		return
	}
	w.cur = w.cur<<n | uint64(v)&(1<<n-1)
	w.ncur += n
	for w.ncur >= 8 {
		w.ncur -= 8
		w.buf = append(w.buf, byte(w.cur>>w.ncur))
	}
	w.cur &= 1<<w.ncur - 1
}

// flag writes one bit.
func (w *bitWriter) flag(b bool) {
	if b {
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
}

// ue writes v as an unsigned Exp-Golomb code, ue(v).
func (w *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := uint(0)
	for t := x; t > 1; t >>= 1 {
		n++
	}
	// n leading zeros, then the n+1 bits of x.
	if n < 16 {
		w.u(2*n+1, uint32(x))
		return
	}
	w.u(n, 0)
	w.u(n+1, uint32(x))
}

// se writes v as a signed Exp-Golomb code, se(v).
func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

// byteAligned reports whether the writer is on a byte boundary.
func (w *bitWriter) byteAligned() bool { return w.ncur == 0 }

// trailing writes rbsp_trailing_bits: a one, then zeros to the byte boundary.
func (w *bitWriter) trailing() {
	w.u(1, 1)
	if w.ncur > 0 {
		w.u(8-w.ncur, 0)
	}
}

// bytes returns the written bytes; the writer must be byte aligned.
func (w *bitWriter) bytes() []byte { return w.buf }

// appendNALU appends a NAL unit with header byte hdr and payload rbsp to
// dst, inserting emulation prevention bytes (7.4.1).
func appendNALU(dst []byte, hdr byte, rbsp []byte) []byte {
	dst = append(dst, hdr)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}
