package software

// fdct4 applies the forward 4x4 core transform of H.264 to the residual
// block r (raster order) in place.
func fdct4(r *[16]int32) {
	for i := 0; i < 16; i += 4 {
		s03, d03 := r[i]+r[i+3], r[i]-r[i+3]
		s12, d12 := r[i+1]+r[i+2], r[i+1]-r[i+2]
		r[i] = s03 + s12
		r[i+1] = 2*d03 + d12
		r[i+2] = s03 - s12
		r[i+3] = d03 - 2*d12
	}
	for j := range 4 {
		s03, d03 := r[j]+r[12+j], r[j]-r[12+j]
		s12, d12 := r[4+j]+r[8+j], r[4+j]-r[8+j]
		r[j] = s03 + s12
		r[4+j] = 2*d03 + d12
		r[8+j] = s03 - s12
		r[12+j] = d03 - 2*d12
	}
}

// idct4 is the decoder's inverse transform (8.5.12.2) of the scaled block
// d in place, including the final (x + 32) >> 6.
func idct4(d *[16]int32) {
	for i := 0; i < 16; i += 4 {
		e0 := d[i] + d[i+2]
		e1 := d[i] - d[i+2]
		e2 := d[i+1]>>1 - d[i+3]
		e3 := d[i+1] + d[i+3]>>1
		d[i] = e0 + e3
		d[i+1] = e1 + e2
		d[i+2] = e1 - e2
		d[i+3] = e0 - e3
	}
	for j := range 4 {
		e0 := d[j] + d[8+j]
		e1 := d[j] - d[8+j]
		e2 := d[4+j]>>1 - d[12+j]
		e3 := d[4+j] + d[12+j]>>1
		d[j] = (e0 + e3 + 32) >> 6
		d[4+j] = (e1 + e2 + 32) >> 6
		d[8+j] = (e1 - e2 + 32) >> 6
		d[12+j] = (e0 - e3 + 32) >> 6
	}
}

// hadamard4 applies the 4x4 Hadamard transform in place (no scaling).
func hadamard4(c *[16]int32) {
	for i := 0; i < 16; i += 4 {
		s01, d01 := c[i]+c[i+1], c[i]-c[i+1]
		s23, d23 := c[i+2]+c[i+3], c[i+2]-c[i+3]
		c[i], c[i+1], c[i+2], c[i+3] = s01+s23, s01-s23, d01-d23, d01+d23
	}
	for j := range 4 {
		s01, d01 := c[j]+c[4+j], c[j]-c[4+j]
		s23, d23 := c[8+j]+c[12+j], c[8+j]-c[12+j]
		c[j], c[4+j], c[8+j], c[12+j] = s01+s23, s01-s23, d01-d23, d01+d23
	}
}

// quantizer holds the per-QP constants of one plane type.
type quantizer struct {
	qp      int
	qbits   uint
	mf      [16]int32 // forward multiplier per raster position
	scale   [16]int32 // dequantisation LevelScale4x4 per raster position (16 * normAdjust)
	deadInt int32     // rounding offset, intra
	deadP   int32     // rounding offset, inter
}

func newQuantizer(qp int) quantizer {
	q := quantizer{qp: qp, qbits: uint(15 + qp/6)}
	for i := range 16 {
		q.mf[i] = quantMF[qp%6][posClass[i]]
		q.scale[i] = 16 * dequantV[qp%6][posClass[i]]
	}
	q.deadInt = int32(1<<q.qbits) / 3
	q.deadP = int32(1<<q.qbits) / 6
	return q
}

func absInt32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// quant1 quantises one coefficient. Levels are clamped to what Baseline
// CAVLC can code without level_prefix above 15 (9.2.2.1), which only
// matters at very low QP.
func quant1(w, mf, f int32, qbits uint) int32 {
	l := min((absInt32(w)*mf+f)>>qbits, cavlcBaselineMaxLevel)
	if w < 0 {
		return -l
	}
	return l
}

// quantAC quantises a transformed block into levels in scan order, from
// scan position first on (1 when the DC is coded separately), and returns
// the number of non-zero levels.
func (q *quantizer) quantAC(w *[16]int32, levels *[16]int32, first int, intra bool) int {
	f := q.deadP
	if intra {
		f = q.deadInt
	}
	nz := 0
	for k := range 16 {
		if k < first {
			levels[k] = 0
			continue
		}
		pos := zigzag[k]
		l := quant1(w[pos], q.mf[pos], f, q.qbits)
		levels[k] = l
		if l != 0 {
			nz++
		}
	}
	return nz
}

// dequantAC turns scan-order levels into the scaled raster block d the
// inverse transform takes (8.5.12.1, flat scaling), leaving d[0] alone when
// first is 1.
func (q *quantizer) dequantAC(levels *[16]int32, d *[16]int32, first int) {
	sh := uint(q.qp / 6)
	for k := first; k < 16; k++ {
		pos := zigzag[k]
		d[pos] = levels[k] * q.scale[pos] << sh >> 4
	}
}

// dcTransformLuma quantises the 16 luma DC coefficients of an Intra16x16
// macroblock (raster order over the 4x4 grid of blocks) into scan-order
// levels, and returns the number of non-zero levels.
func (q *quantizer) quantLumaDC(dc *[16]int32, levels *[16]int32) int {
	hadamard4(dc)
	nz := 0
	for k := range 16 {
		pos := zigzag[k]
		v := dc[pos] >> 1
		l := quant1(v, q.mf[0], 2*q.deadInt, q.qbits+1)
		levels[k] = l
		if l != 0 {
			nz++
		}
	}
	return nz
}

// dequantLumaDC is 8.5.10: it turns scan-order DC levels into the scaled
// DC values of the 16 blocks, in raster order over the grid of blocks.
func (q *quantizer) dequantLumaDC(levels *[16]int32, dc *[16]int32) {
	var c [16]int32
	for k := range 16 {
		c[zigzag[k]] = levels[k]
	}
	hadamard4(&c)
	ls := q.scale[0]
	k := q.qp / 6
	for i := range 16 {
		if q.qp >= 36 {
			dc[i] = c[i] * ls << uint(k-6)
		} else {
			dc[i] = (c[i]*ls + 1<<uint(5-k)) >> uint(6-k)
		}
	}
}

// quantChromaDC quantises the four chroma DC coefficients (raster order)
// into levels, and returns the number of non-zero levels.
func (q *quantizer) quantChromaDC(dc *[4]int32, levels *[4]int32, intra bool) int {
	a, b, c, d := dc[0], dc[1], dc[2], dc[3]
	t := [4]int32{a + b + c + d, a - b + c - d, a + b - c - d, a - b - c + d}
	f := q.deadP
	if intra {
		f = q.deadInt
	}
	nz := 0
	for i := range 4 {
		levels[i] = quant1(t[i], q.mf[0], 2*f, q.qbits+1)
		if levels[i] != 0 {
			nz++
		}
	}
	return nz
}

// dequantChromaDC is 8.5.11.2 for 4:2:0.
func (q *quantizer) dequantChromaDC(levels *[4]int32, dc *[4]int32) {
	a, b, c, d := levels[0], levels[1], levels[2], levels[3]
	f := [4]int32{a + b + c + d, a - b + c - d, a + b - c - d, a - b - c + d}
	ls := q.scale[0]
	sh := uint(q.qp / 6)
	for i := range 4 {
		dc[i] = (f[i] * ls << sh) >> 5
	}
}
