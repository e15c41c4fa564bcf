package software

// mv is a motion vector in quarter samples.
type mv struct{ x, y int16 }

// searchRange bounds the motion search, in whole luma samples, around the
// predicted vector.
const searchRange = 24

// neighbourMV returns the motion of the macroblock at (x, y) for motion
// vector prediction: its vector and reference index (-1 for intra), and
// whether it is available at all.
func (s *sliceCoder) neighbourMV(x, y int) (v mv, ref int, ok bool) {
	e := s.e
	if x < 0 || x >= e.mbW || y < s.firstRow || y >= e.mbH {
		return mv{}, -1, false
	}
	mb := &e.mbs[y*e.mbW+x]
	if mb.intra {
		return mv{}, -1, true
	}
	return mv{mb.mvx, mb.mvy}, 0, true
}

func median3(a, b, c int16) int16 {
	return max(min(a, b), min(max(a, b), c))
}

// predictMV returns the predicted vector of a 16x16 partition (8.4.1.3)
// and the P_Skip vector (8.4.1.1).
func (s *sliceCoder) predictMV(mbx, mby int) (pred, skip mv) {
	a, refA, okA := s.neighbourMV(mbx-1, mby)
	b, refB, okB := s.neighbourMV(mbx, mby-1)
	c, refC, okC := s.neighbourMV(mbx+1, mby-1)
	if !okC {
		c, refC, okC = s.neighbourMV(mbx-1, mby-1)
	}
	if !okB && !okC && okA {
		b, refB, c, refC = a, refA, a, refA
	}
	switch {
	case refA == 0 && refB != 0 && refC != 0:
		pred = a
	case refA != 0 && refB == 0 && refC != 0:
		pred = b
	case refA != 0 && refB != 0 && refC == 0:
		pred = c
	default:
		pred = mv{median3(a.x, b.x, c.x), median3(a.y, b.y, c.y)}
	}
	// P_Skip uses the original A and B, before any substitution.
	a0, refA0, okA0 := s.neighbourMV(mbx-1, mby)
	b0, refB0, okB0 := s.neighbourMV(mbx, mby-1)
	switch {
	case !okA0 || !okB0:
	case refA0 == 0 && a0 == (mv{}):
	case refB0 == 0 && b0 == (mv{}):
	default:
		skip = pred
	}
	return pred, skip
}

// predictLuma writes the 16x16 luma prediction for a whole-sample vector
// into s.pred, clamping reads to the reference picture as decoders do.
func (s *sliceCoder) predictLuma(mbx, mby int, v mv) {
	e := s.e
	ref := e.ref.y
	w, h := e.mbW*16, e.mbH*16
	x0, y0 := mbx*16+int(v.x>>2), mby*16+int(v.y>>2)
	if x0 >= 0 && y0 >= 0 && x0+16 <= w && y0+16 <= h {
		for y := range 16 {
			copy(s.pred[y*16:y*16+16], ref[(y0+y)*w+x0:])
		}
		return
	}
	for y := range 16 {
		ry := min(max(y0+y, 0), h-1)
		for x := range 16 {
			rx := min(max(x0+x, 0), w-1)
			s.pred[y*16+x] = ref[ry*w+rx]
		}
	}
}

// predictChromaMC writes the 8x8 chroma predictions for a luma vector into
// s.predC, with the bilinear interpolation of 8.4.2.2.2.
func (s *sliceCoder) predictChromaMC(mbx, mby int, v mv) {
	e := s.e
	w, h := e.mbW*8, e.mbH*8
	xf, yf := int32(v.x&7), int32(v.y&7)
	x0, y0 := mbx*8+int(v.x>>3), mby*8+int(v.y>>3)
	if xf == 0 && yf == 0 && x0 >= 0 && y0 >= 0 && x0+8 <= w && y0+8 <= h {
		for c, ref := range [2][]uint8{e.ref.u, e.ref.v} {
			for y := range 8 {
				copy(s.predC[c][y*8:y*8+8], ref[(y0+y)*w+x0:])
			}
		}
		return
	}
	for c, ref := range [2][]uint8{e.ref.u, e.ref.v} {
		for y := range 8 {
			ya := min(max(y0+y, 0), h-1)
			yb := min(max(y0+y+1, 0), h-1)
			for x := range 8 {
				xa := min(max(x0+x, 0), w-1)
				xb := min(max(x0+x+1, 0), w-1)
				p := (8-xf)*(8-yf)*int32(ref[ya*w+xa]) + xf*(8-yf)*int32(ref[ya*w+xb]) +
					(8-xf)*yf*int32(ref[yb*w+xa]) + xf*yf*int32(ref[yb*w+xb])
				s.predC[c][y*8+x] = uint8((p + 32) >> 6)
			}
		}
	}
}

// sadAt returns the luma SAD of the macroblock against the reference at
// whole-sample offset (dx, dy), or -1 if the block is not fully inside.
func (s *sliceCoder) sadAt(mbx, mby, dx, dy int, limit int32) int32 {
	e := s.e
	w, h := e.mbW*16, e.mbH*16
	x0, y0 := mbx*16+dx, mby*16+dy
	if x0 < 0 || y0 < 0 || x0+16 > w || y0+16 > h {
		return -1
	}
	src := e.src.y[mby*16*w+mbx*16:]
	ref := e.ref.y[y0*w+x0:]
	var sum int32
	for y := range 16 {
		rs := src[y*w : y*w+16]
		rr := ref[y*w : y*w+16]
		for x := range 16 {
			d := int32(rs[x]) - int32(rr[x])
			if d < 0 {
				d = -d
			}
			sum += d
		}
		if sum >= limit {
			return sum
		}
	}
	return sum
}

// mvCost approximates the bits of a motion vector difference, weighted by
// lambda.
func (s *sliceCoder) mvCost(v, pred mv) int32 {
	bits := func(d int16) int32 {
		if d < 0 {
			d = -d
		}
		n := int32(1)
		for x := int32(d)*2 + 1; x > 1; x >>= 1 {
			n += 2
		}
		return n
	}
	return s.lambda * (bits((v.x-pred.x)>>2) + bits((v.y-pred.y)>>2))
}

// search finds a whole-sample motion vector with a low SAD plus vector
// cost: the best of a few candidates, refined by a shrinking diamond.
func (s *sliceCoder) search(mbx, mby int, pred, skip mv) (best mv, bestSAD int32) {
	const inf = 1 << 30
	bestCost := int32(inf)
	try := func(v mv) {
		if v.x < -4*searchRange+pred.x || v.x > 4*searchRange+pred.x || v.y < -4*searchRange+pred.y || v.y > 4*searchRange+pred.y {
			return
		}
		c := s.mvCost(v, pred)
		if c >= bestCost {
			return
		}
		sad := s.sadAt(mbx, mby, int(v.x>>2), int(v.y>>2), bestCost-c)
		if sad < 0 {
			return
		}
		if sad+c < bestCost {
			best, bestSAD, bestCost = v, sad, sad+c
		}
	}
	round := func(v mv) mv { return mv{v.x &^ 3, v.y &^ 3} }
	try(mv{})
	try(round(pred))
	try(round(skip))
	if a, _, ok := s.neighbourMV(mbx-1, mby); ok {
		try(round(a))
	}
	if b, _, ok := s.neighbourMV(mbx, mby-1); ok {
		try(round(b))
	}
	if bestCost == inf {
		return mv{}, -1
	}
	for step := int16(16 * 4); step >= 4; step /= 2 {
		for {
			c := best
			try(mv{c.x + step, c.y})
			try(mv{c.x - step, c.y})
			try(mv{c.x, c.y + step})
			try(mv{c.x, c.y - step})
			if best == c {
				break
			}
		}
	}
	return best, bestSAD
}

// interOrIntraMB codes a macroblock of a P slice as P_Skip, P_L0_16x16 or
// Intra16x16, whichever is cheapest.
func (s *sliceCoder) interOrIntraMB(mbx, mby int) {
	e := s.e
	mb := &e.mbs[mby*e.mbW+mbx]
	pred, skipMV := s.predictMV(mbx, mby)

	// A static macroblock, the common case of a fixed camera: nothing
	// changed since the reference, and the skip vector is zero.
	if skipMV == (mv{}) && s.unchanged(mbx, mby) {
		s.copyRefMB(mbx, mby)
		mb.mvx, mb.mvy = 0, 0
		s.skip++
		return
	}

	v, sad := s.search(mbx, mby, pred, skipMV)
	_, intraSAD := s.bestIntra16(mbx, mby)
	if sad < 0 || intraSAD+6*s.lambda*8 < sad {
		s.intraMB(mbx, mby, 5)
		return
	}
	s.predictLuma(mbx, mby, v)
	s.predictChromaMC(mbx, mby, v)
	cbp := s.interResidual(mbx, mby)
	if cbp == 0 && v == skipMV {
		s.skipMB(mbx, mby, v) // the reconstruction is already the prediction
		return
	}
	mb.mvx, mb.mvy = v.x, v.y
	w := &s.bw
	w.ue(uint32(s.skip))
	s.skip = 0
	w.ue(0) // mb_type P_L0_16x16
	w.se(int32(v.x - pred.x))
	w.se(int32(v.y - pred.y))
	w.ue(uint32(interCBPCode[cbp]))
	if cbp == 0 {
		return
	}
	w.se(0) // mb_qp_delta
	for b8 := range 4 {
		if cbp&(1<<b8) == 0 {
			continue
		}
		for b4 := range 4 {
			blk := b8*4 + b4
			bx, by := int(blk4x4XY[blk][0]), int(blk4x4XY[blk][1])
			rb := by*4 + bx
			mb.nzY[rb] = uint8(writeResidualBlock(w, s.lumaLv[rb][:], s.nCLuma(mbx, mby, bx, by)))
		}
	}
	s.writeChroma(mbx, mby, cbp>>4)
}

// unchanged reports whether the source macroblock equals the same
// macroblock of the previous source picture, in all three planes. Coding
// it as a zero-vector P_Skip then keeps the picture the decoder already
// shows there.
func (s *sliceCoder) unchanged(mbx, mby int) bool {
	e := s.e
	o := mby*16*e.src.ys + mbx*16
	for y := range 16 {
		i := o + y*e.src.ys
		if string(e.src.y[i:i+16]) != string(e.prev.y[i:i+16]) {
			return false
		}
	}
	o = mby*8*e.src.cs + mbx*8
	for y := range 8 {
		i := o + y*e.src.cs
		if string(e.src.u[i:i+8]) != string(e.prev.u[i:i+8]) || string(e.src.v[i:i+8]) != string(e.prev.v[i:i+8]) {
			return false
		}
	}
	return true
}

// copyRefMB copies the co-located reference macroblock into the
// reconstruction: the decoding of a P_Skip with a zero vector.
func (s *sliceCoder) copyRefMB(mbx, mby int) {
	e := s.e
	o := mby*16*e.rec.ys + mbx*16
	for y := range 16 {
		i := o + y*e.rec.ys
		copy(e.rec.y[i:i+16], e.ref.y[i:i+16])
	}
	o = mby*8*e.rec.cs + mbx*8
	for y := range 8 {
		i := o + y*e.rec.cs
		copy(e.rec.u[i:i+8], e.ref.u[i:i+8])
		copy(e.rec.v[i:i+8], e.ref.v[i:i+8])
	}
}

// skipMB records a P_Skip macroblock and copies its prediction into the
// reconstruction.
func (s *sliceCoder) skipMB(mbx, mby int, v mv) {
	e := s.e
	mb := &e.mbs[mby*e.mbW+mbx]
	mb.mvx, mb.mvy = v.x, v.y
	s.predictLuma(mbx, mby, v)
	s.predictChromaMC(mbx, mby, v)
	rec := e.rec.y[mby*16*e.rec.ys+mbx*16:]
	for y := range 16 {
		copy(rec[y*e.rec.ys:y*e.rec.ys+16], s.pred[y*16:y*16+16])
	}
	for c, p := range [2][]uint8{e.rec.u, e.rec.v} {
		r := p[mby*8*e.rec.cs+mbx*8:]
		for y := range 8 {
			copy(r[y*e.rec.cs:y*e.rec.cs+8], s.predC[c][y*8:y*8+8])
		}
	}
	s.skip++
}

// chromaSAD is the SAD of both chroma planes against s.predC.
func (s *sliceCoder) chromaSAD(mbx, mby int) int32 {
	e := s.e
	off := mby*8*e.src.cs + mbx*8
	return sad8(e.src.u[off:], e.src.cs, &s.predC[0]) + sad8(e.src.v[off:], e.src.cs, &s.predC[1])
}

// interResidual codes the luma and chroma residual against s.pred and
// s.predC, reconstructs the macroblock, and returns coded_block_pattern.
func (s *sliceCoder) interResidual(mbx, mby int) int {
	e := s.e
	src := e.src.y[mby*16*e.src.ys+mbx*16:]
	cbp := 0
	for rb := range 16 {
		bx, by := rb%4, rb/4
		w := s.lumaCoefs(src, e.src.ys, bx, by)
		s.lumaNZ[rb] = s.qy.quantAC(&w, &s.lumaLv[rb], 0, false)
		if s.lumaNZ[rb] > 0 {
			cbp |= 1 << ((by/2)*2 + bx/2)
		}
	}
	rec := e.rec.y[mby*16*e.rec.ys+mbx*16:]
	for rb := range 16 {
		bx, by := rb%4, rb/4
		var d [16]int32
		if cbp&(1<<((by/2)*2+bx/2)) != 0 {
			s.qy.dequantAC(&s.lumaLv[rb], &d, 0)
			idct4(&d)
		}
		for y := range 4 {
			for x := range 4 {
				o := (by*4+y)*16 + bx*4 + x
				rec[(by*4+y)*e.rec.ys+bx*4+x] = clip1(int32(s.pred[o]) + d[y*4+x])
			}
		}
	}
	return cbp | s.chromaResidual(mbx, mby, false)<<4
}
