package h264

// bitWriter writes an RBSP MSB first; tests use it to build syntax
// structures field by field.
type bitWriter struct {
	b    []byte
	bits int // bits written
}

func (w *bitWriter) u(n int, v uint64) {
	for i := n - 1; i >= 0; i-- {
		if w.bits%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.bits%8)
		}
		w.bits++
	}
}

func (w *bitWriter) flag(f bool) {
	if f {
		w.u(1, 1)
	} else {
		w.u(1, 0)
	}
}

func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.u(n, 0)
	w.u(n+1, v)
}

func (w *bitWriter) se(v int64) {
	if v > 0 {
		w.ue(uint64(2*v - 1))
	} else {
		w.ue(uint64(-2 * v))
	}
}

// nalu returns the NAL unit made of header and the RBSP written so far
// followed by rbsp_trailing_bits, with emulation prevention applied.
func (w *bitWriter) nalu(header byte) []byte {
	rbsp := &bitWriter{b: append([]byte(nil), w.b...), bits: w.bits}
	rbsp.u(1, 1)
	for rbsp.bits%8 != 0 {
		rbsp.u(1, 0)
	}
	return escapeRBSP(header, rbsp.b)
}

// escapeRBSP inserts emulation_prevention_three_byte where needed.
func escapeRBSP(header byte, rbsp []byte) []byte {
	out := []byte{header}
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// spsSpec describes an SPS for writeSPS.
type spsSpec struct {
	profile, constraints, level uint8
	id                          uint64
	// high profiles only
	chroma, depthLuma, depthChroma uint64 // depths minus 8
	separateColourPlane            bool
	scaling                        map[int][]int64 // list index -> delta_scale values
	scalingMatrix                  bool            // seq_scaling_matrix_present_flag

	log2MaxFrameNum, pocType, log2MaxPOCLsb uint64 // minus 4
	pocCycle                                []int64
	refs                                    uint64
	widthMbs, heightMapUnits                uint64 // minus 1
	frameMbsOnly                            bool
	crop                                    []uint64 // left, right, top, bottom
	vui                                     *vuiSpec
}

type vuiSpec struct {
	aspectIDC   uint64 // 0 = absent
	overscan    bool
	colour      bool
	chromaLoc   bool
	tick, scale uint64 // timing present when scale != 0
	fixed       bool
	hrdFlag     bool
}

// writeSPS returns the SPS NAL unit for s and the number of bits that
// ParseSPS must read, NAL unit header included.
func writeSPS(s spsSpec) ([]byte, int) {
	w := &bitWriter{}
	w.u(8, uint64(s.profile))
	w.u(8, uint64(s.constraints))
	w.u(8, uint64(s.level))
	w.ue(s.id)
	if hasChromaInfo(s.profile) {
		w.ue(s.chroma)
		if s.chroma == 3 {
			w.flag(s.separateColourPlane)
		}
		w.ue(s.depthLuma)
		w.ue(s.depthChroma)
		w.flag(false)
		w.flag(s.scalingMatrix)
		if s.scalingMatrix {
			n := 8
			if s.chroma == 3 {
				n = 12
			}
			for i := range n {
				deltas, ok := s.scaling[i]
				w.flag(ok)
				if !ok {
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				last, next := int64(8), int64(8)
				for j := range size {
					if next != 0 {
						var d int64
						if j < len(deltas) {
							d = deltas[j]
						}
						w.se(d)
						next = ((last+d)%256 + 256) % 256
					}
					if next != 0 {
						last = next
					}
				}
			}
		}
	}
	w.ue(s.log2MaxFrameNum)
	w.ue(s.pocType)
	switch s.pocType {
	case 0:
		w.ue(s.log2MaxPOCLsb)
	case 1:
		w.flag(false)
		w.se(-3)
		w.se(7)
		w.ue(uint64(len(s.pocCycle)))
		for _, o := range s.pocCycle {
			w.se(o)
		}
	}
	w.ue(s.refs)
	w.flag(false)
	w.ue(s.widthMbs)
	w.ue(s.heightMapUnits)
	w.flag(s.frameMbsOnly)
	if !s.frameMbsOnly {
		w.flag(true)
	}
	w.flag(true)
	w.flag(s.crop != nil)
	for _, c := range s.crop {
		w.ue(c)
	}
	w.flag(s.vui != nil)
	if v := s.vui; v != nil {
		w.flag(v.aspectIDC != 0)
		if v.aspectIDC != 0 {
			w.u(8, v.aspectIDC)
			if v.aspectIDC == 255 {
				w.u(16, 64)
				w.u(16, 45)
			}
		}
		w.flag(v.overscan)
		if v.overscan {
			w.flag(true)
		}
		w.flag(v.colour)
		if v.colour {
			w.u(3, 5)
			w.flag(true)
			w.flag(true)
			w.u(8, 1)
			w.u(8, 1)
			w.u(8, 1)
		}
		w.flag(v.chromaLoc)
		if v.chromaLoc {
			w.ue(1)
			w.ue(2)
		}
		w.flag(v.scale != 0)
		if v.scale != 0 {
			w.u(32, v.tick)
			w.u(32, v.scale)
			w.flag(v.fixed)
		}
	}
	n := 8 + w.bits
	if v := s.vui; v != nil {
		// nal_hrd_parameters_present_flag and the rest, which ParseSPS
		// does not read.
		w.flag(v.hrdFlag)
		w.u(7, 0x55)
	}
	return w.nalu(0x67), n
}
