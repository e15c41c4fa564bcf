package software

// sliceCoder encodes one slice: whole macroblock rows from firstRow on.
// Slices share no state while they run, so they can run in parallel.
type sliceCoder struct {
	e        *Encoder
	id       int
	firstRow int
	rows     int

	bw     bitWriter
	qy, qc quantizer
	lambda int32
	skip   int // pending mb_skip_run

	// Per-macroblock scratch.
	nb      neighbours
	pred    [256]uint8
	predC   [2][64]uint8
	lumaLv  [16][16]int32 // levels per 4x4 block (raster block order), scan order
	lumaNZ  [16]int
	dcLv    [16]int32
	chromaD [2][4]int32     // chroma DC levels
	chromaA [2][4][16]int32 // chroma AC levels, scan order
	chromaN [2][4]int
}

func (s *sliceCoder) encode(idr bool, qp int) {
	e := s.e
	s.bw.reset()
	s.qy = newQuantizer(qp)
	s.qc = newQuantizer(int(chromaQP[qp]))
	s.lambda = int32(lambdaTab[qp])
	s.skip = 0
	s.header(idr, qp)
	for mby := s.firstRow; mby < s.firstRow+s.rows; mby++ {
		for mbx := range e.mbW {
			mb := &e.mbs[mby*e.mbW+mbx]
			*mb = mbInfo{slice: s.id}
			if idr {
				s.intraMB(mbx, mby, 0)
			} else {
				s.interOrIntraMB(mbx, mby)
			}
		}
	}
	if s.skip > 0 {
		s.bw.ue(uint32(s.skip))
	}
	s.bw.trailing()
}

// lambdaTab approximates the rate-distortion multiplier for SAD decisions.
var lambdaTab = [52]uint8{
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6, 6, 7, 8, 9,
	10, 11, 13, 14, 16, 18, 20, 23, 25, 29, 32, 36,
}

func (s *sliceCoder) header(idr bool, qp int) {
	e := s.e
	w := &s.bw
	w.ue(uint32(s.firstRow * e.mbW)) // first_mb_in_slice
	if idr {
		w.ue(7) // slice_type: I, and all slices of the picture are I
	} else {
		w.ue(5) // P
	}
	w.ue(0) // pic_parameter_set_id
	w.u(log2MaxFrameNum, e.frameNum)
	if idr {
		w.ue(e.idrID)
	}
	if !idr {
		w.flag(false) // num_ref_idx_active_override_flag
		w.flag(false) // ref_pic_list_modification_flag_l0
	}
	if idr {
		w.flag(false) // no_output_of_prior_pics_flag
		w.flag(false) // long_term_reference_flag
	} else {
		w.flag(false) // adaptive_ref_pic_marking_mode_flag
	}
	w.se(int32(qp - 26)) // slice_qp_delta
	w.ue(1)              // disable_deblocking_filter_idc: off
}

// avail reports which neighbouring macroblocks are in this slice.
func (s *sliceCoder) avail(mbx, mby int) (left, top, topRight bool) {
	left = mbx > 0
	top = mby > s.firstRow
	topRight = top && mbx < s.e.mbW-1
	return
}

// loadNeighbours reads the reconstructed samples around a macroblock.
func (s *sliceCoder) loadNeighbours(p []uint8, stride, x0, y0, size int, left, top bool) {
	n := &s.nb
	n.hasLeft, n.hasTop = left, top
	if top {
		copy(n.top[:size], p[(y0-1)*stride+x0:])
	}
	if left {
		for i := range size {
			n.left[i] = p[(y0+i)*stride+x0-1]
		}
	}
	if top && left {
		n.corner = p[(y0-1)*stride+x0-1]
	}
}

func sad16(a []uint8, as int, b *[256]uint8) int32 {
	var s int32
	for y := range 16 {
		ra := a[y*as : y*as+16]
		rb := b[y*16 : y*16+16]
		for x := range 16 {
			d := int32(ra[x]) - int32(rb[x])
			if d < 0 {
				d = -d
			}
			s += d
		}
	}
	return s
}

// bestIntra16 picks the Intra16x16 mode with the lowest SAD and leaves its
// prediction in s.pred.
func (s *sliceCoder) bestIntra16(mbx, mby int) (mode int, cost int32) {
	e := s.e
	left, top, _ := s.avail(mbx, mby)
	s.loadNeighbours(e.rec.y, e.rec.ys, mbx*16, mby*16, 16, left, top)
	src := e.src.y[mby*16*e.src.ys+mbx*16:]
	cost = -1
	var best [256]uint8
	for m := range 4 {
		if (m == predV && !top) || (m == predH && !left) || (m == predPlane && !(top && left)) {
			continue
		}
		predict16(&s.nb, m, &s.pred)
		if c := sad16(src, e.src.ys, &s.pred); cost < 0 || c < cost {
			mode, cost, best = m, c, s.pred
		}
	}
	s.pred = best
	return mode, cost
}

// lumaCoefs transforms the residual of luma 4x4 block (bx, by) of the
// macroblock whose source starts at src against s.pred.
func (s *sliceCoder) lumaCoefs(src []uint8, stride, bx, by int) [16]int32 {
	var w [16]int32
	for y := range 4 {
		for x := range 4 {
			w[y*4+x] = int32(src[(by*4+y)*stride+bx*4+x]) - int32(s.pred[(by*4+y)*16+bx*4+x])
		}
	}
	fdct4(&w)
	return w
}

// intraMB codes an Intra16x16 macroblock; typeOffset is 0 in I slices and
// 5 in P slices.
func (s *sliceCoder) intraMB(mbx, mby int, typeOffset uint32) {
	e := s.e
	mb := &e.mbs[mby*e.mbW+mbx]
	mb.intra = true
	mode, _ := s.bestIntra16(mbx, mby)

	// Luma: transform every 4x4 block, then the DCs together.
	var dc [16]int32
	nzAC := 0
	src := e.src.y[mby*16*e.src.ys+mbx*16:]
	for rb := range 16 {
		bx, by := rb%4, rb/4
		w := s.lumaCoefs(src, e.src.ys, bx, by)
		dc[rb] = w[0]
		s.lumaNZ[rb] = s.qy.quantAC(&w, &s.lumaLv[rb], 1, true)
		nzAC += s.lumaNZ[rb]
	}
	s.qy.quantLumaDC(&dc, &s.dcLv)
	cbpL := 0
	if nzAC > 0 {
		cbpL = 15
	}
	var dcv [16]int32
	s.qy.dequantLumaDC(&s.dcLv, &dcv)
	rec := e.rec.y[mby*16*e.rec.ys+mbx*16:]
	for rb := range 16 {
		bx, by := rb%4, rb/4
		var d [16]int32
		if cbpL != 0 {
			s.qy.dequantAC(&s.lumaLv[rb], &d, 1)
		}
		d[0] = dcv[rb]
		idct4(&d)
		for y := range 4 {
			for x := range 4 {
				o := (by*4+y)*16 + bx*4 + x
				rec[(by*4+y)*e.rec.ys+bx*4+x] = clip1(int32(s.pred[o]) + d[y*4+x])
			}
		}
	}

	cmode := s.bestChroma(mbx, mby)
	cbpC := s.chromaResidual(mbx, mby, true)

	w := &s.bw
	if typeOffset > 0 { // P slice
		w.ue(uint32(s.skip))
		s.skip = 0
	}
	t := typeOffset + 1 + uint32(mode) + 4*uint32(cbpC)
	if cbpL != 0 {
		t += 12
	}
	w.ue(t)
	w.ue(uint32(cmode))
	w.se(0) // mb_qp_delta
	writeResidualBlock(w, s.dcLv[:], s.nCLuma(mbx, mby, 0, 0))
	if cbpL != 0 {
		for blk := range 16 {
			bx, by := int(blk4x4XY[blk][0]), int(blk4x4XY[blk][1])
			rb := by*4 + bx
			mb.nzY[rb] = uint8(writeResidualBlock(w, s.lumaLv[rb][1:], s.nCLuma(mbx, mby, bx, by)))
		}
	}
	s.writeChroma(mbx, mby, cbpC)
}

// bestChroma picks the chroma prediction mode with the lowest SAD over both
// planes and leaves the predictions in s.predC.
func (s *sliceCoder) bestChroma(mbx, mby int) int {
	e := s.e
	left, top, _ := s.avail(mbx, mby)
	var nbs [2]neighbours
	for c, p := range [2][]uint8{e.rec.u, e.rec.v} {
		s.loadNeighbours(p, e.rec.cs, mbx*8, mby*8, 8, left, top)
		nbs[c] = s.nb
	}
	best, bestCost := 0, int32(-1)
	var bestPred [2][64]uint8
	for m := range 4 {
		if (m == chromaH && !left) || (m == chromaV && !top) || (m == chromaPlane && !(top && left)) {
			continue
		}
		var cost int32
		var pred [2][64]uint8
		for c, p := range [2][]uint8{e.src.u, e.src.v} {
			predictChroma(&nbs[c], m, &pred[c])
			cost += sad8(p[mby*8*e.src.cs+mbx*8:], e.src.cs, &pred[c])
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost, bestPred = m, cost, pred
		}
	}
	s.predC = bestPred
	return best
}

func sad8(a []uint8, as int, b *[64]uint8) int32 {
	var s int32
	for y := range 8 {
		for x := range 8 {
			d := int32(a[y*as+x]) - int32(b[y*8+x])
			if d < 0 {
				d = -d
			}
			s += d
		}
	}
	return s
}

// chromaResidual transforms and quantises both chroma planes against
// s.predC, reconstructs them, and returns coded_block_pattern's chroma part.
func (s *sliceCoder) chromaResidual(mbx, mby int, intra bool) int {
	e := s.e
	cbp := 0
	for c := range 2 {
		src := e.src.u
		if c == 1 {
			src = e.src.v
		}
		off := mby*8*e.src.cs + mbx*8
		var dc [4]int32
		for b := range 4 {
			bx, by := b%2, b/2
			var w [16]int32
			for y := range 4 {
				for x := range 4 {
					w[y*4+x] = int32(src[off+(by*4+y)*e.src.cs+bx*4+x]) - int32(s.predC[c][(by*4+y)*8+bx*4+x])
				}
			}
			fdct4(&w)
			dc[b] = w[0]
			s.chromaN[c][b] = s.qc.quantAC(&w, &s.chromaA[c][b], 1, intra)
			if s.chromaN[c][b] > 0 {
				cbp = 2
			}
		}
		if s.qc.quantChromaDC(&dc, &s.chromaD[c], intra) > 0 && cbp == 0 {
			cbp = 1
		}
	}
	for c := range 2 {
		rec := e.rec.u
		if c == 1 {
			rec = e.rec.v
		}
		off := mby*8*e.rec.cs + mbx*8
		var dcv [4]int32
		if cbp > 0 {
			s.qc.dequantChromaDC(&s.chromaD[c], &dcv)
		}
		for b := range 4 {
			bx, by := b%2, b/2
			var d [16]int32
			if cbp == 2 {
				s.qc.dequantAC(&s.chromaA[c][b], &d, 1)
			}
			d[0] = dcv[b]
			idct4(&d)
			for y := range 4 {
				for x := range 4 {
					rec[off+(by*4+y)*e.rec.cs+bx*4+x] = clip1(int32(s.predC[c][(by*4+y)*8+bx*4+x]) + d[y*4+x])
				}
			}
		}
	}
	return cbp
}

// writeChroma writes the chroma residual for the given chroma cbp.
func (s *sliceCoder) writeChroma(mbx, mby, cbp int) {
	mb := &s.e.mbs[mby*s.e.mbW+mbx]
	if cbp == 0 {
		return
	}
	for c := range 2 {
		writeResidualBlock(&s.bw, s.chromaD[c][:], -1)
	}
	if cbp < 2 {
		return
	}
	for c := range 2 {
		for b := range 4 {
			mb.nzC[c][b] = uint8(writeResidualBlock(&s.bw, s.chromaA[c][b][1:], s.nCChroma(mbx, mby, c, b%2, b/2)))
		}
	}
}

// nC derives the coeff_token table selector from the neighbours (9.2.1).
func nC(nA, nB int, availA, availB bool) int {
	switch {
	case availA && availB:
		return (nA + nB + 1) >> 1
	case availA:
		return nA
	case availB:
		return nB
	}
	return 0
}

// nCLuma is nC for the luma 4x4 block at (bx, by) of a macroblock.
func (s *sliceCoder) nCLuma(mbx, mby, bx, by int) int {
	e := s.e
	addr := mby*e.mbW + mbx
	cur := &e.mbs[addr]
	left, top, _ := s.avail(mbx, mby)
	var nA, nB int
	availA, availB := true, true
	switch {
	case bx > 0:
		nA = int(cur.nzY[by*4+bx-1])
	case left:
		nA = int(e.mbs[addr-1].nzY[by*4+3])
	default:
		availA = false
	}
	switch {
	case by > 0:
		nB = int(cur.nzY[(by-1)*4+bx])
	case top:
		nB = int(e.mbs[addr-e.mbW].nzY[12+bx])
	default:
		availB = false
	}
	return nC(nA, nB, availA, availB)
}

// nCChroma is nC for chroma AC block (bx, by) of plane c.
func (s *sliceCoder) nCChroma(mbx, mby, c, bx, by int) int {
	e := s.e
	addr := mby*e.mbW + mbx
	cur := &e.mbs[addr]
	left, top, _ := s.avail(mbx, mby)
	var nA, nB int
	availA, availB := true, true
	switch {
	case bx > 0:
		nA = int(cur.nzC[c][by*2])
	case left:
		nA = int(e.mbs[addr-1].nzC[c][by*2+1])
	default:
		availA = false
	}
	switch {
	case by > 0:
		nB = int(cur.nzC[c][bx])
	case top:
		nB = int(e.mbs[addr-e.mbW].nzC[c][2+bx])
	default:
		availB = false
	}
	return nC(nA, nB, availA, availB)
}
