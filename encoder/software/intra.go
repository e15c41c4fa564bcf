package software

// Intra 16x16 luma prediction modes (8.3.3) and chroma modes (8.3.4).
const (
	predV     = 0
	predH     = 1
	predDC    = 2
	predPlane = 3

	chromaDC    = 0
	chromaH     = 1
	chromaV     = 2
	chromaPlane = 3
)

func clip1(x int32) uint8 {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return uint8(x)
}

// neighbours are the reconstructed samples around a square block: top[i]
// is p[i, -1], left[i] is p[-1, i], corner p[-1, -1].
type neighbours struct {
	top, left       [16]uint8
	corner          uint8
	hasTop, hasLeft bool
}

// at returns the neighbour sample p[x, y], where x or y is -1.
func (n *neighbours) at(x, y int) int32 {
	switch {
	case x == -1 && y == -1:
		return int32(n.corner)
	case y == -1:
		return int32(n.top[x])
	default:
		return int32(n.left[y])
	}
}

// predict16 writes the Intra16x16 prediction of mode into pred (raster
// 16x16). The caller checks that the mode's neighbours are available.
func predict16(n *neighbours, mode int, pred *[256]uint8) {
	switch mode {
	case predV:
		for y := range 16 {
			copy(pred[y*16:y*16+16], n.top[:])
		}
	case predH:
		for y := range 16 {
			v := n.left[y]
			for x := range 16 {
				pred[y*16+x] = v
			}
		}
	case predDC:
		var s int32
		var dc uint8
		switch {
		case n.hasTop && n.hasLeft:
			for i := range 16 {
				s += int32(n.top[i]) + int32(n.left[i])
			}
			dc = uint8((s + 16) >> 5)
		case n.hasLeft:
			for i := range 16 {
				s += int32(n.left[i])
			}
			dc = uint8((s + 8) >> 4)
		case n.hasTop:
			for i := range 16 {
				s += int32(n.top[i])
			}
			dc = uint8((s + 8) >> 4)
		default:
			dc = 128
		}
		for i := range pred {
			pred[i] = dc
		}
	case predPlane:
		var h, v int32
		for i := range 8 {
			h += int32(i+1) * (n.at(8+i, -1) - n.at(6-i, -1))
			v += int32(i+1) * (n.at(-1, 8+i) - n.at(-1, 6-i))
		}
		a := 16 * (n.at(-1, 15) + n.at(15, -1))
		b := (5*h + 32) >> 6
		c := (5*v + 32) >> 6
		for y := range int32(16) {
			for x := range int32(16) {
				pred[y*16+x] = clip1((a + b*(x-7) + c*(y-7) + 16) >> 5)
			}
		}
	}
}

// predictChroma writes the 8x8 chroma prediction of mode into pred.
func predictChroma(n *neighbours, mode int, pred *[64]uint8) {
	switch mode {
	case chromaDC:
		// Each 4x4 block has its own DC (8.3.4.1-3).
		for by := range 2 {
			for bx := range 2 {
				var st, sl int32
				for i := range 4 {
					st += int32(n.top[bx*4+i])
					sl += int32(n.left[by*4+i])
				}
				useTop, useLeft := n.hasTop, n.hasLeft
				switch {
				case bx == 1 && by == 0: // top right prefers the top
					if n.hasTop {
						useLeft = false
					}
				case bx == 0 && by == 1: // bottom left prefers the left
					if n.hasLeft {
						useTop = false
					}
				}
				var dc uint8
				switch {
				case useTop && useLeft:
					dc = uint8((st + sl + 4) >> 3)
				case useTop:
					dc = uint8((st + 2) >> 2)
				case useLeft:
					dc = uint8((sl + 2) >> 2)
				default:
					dc = 128
				}
				for y := range 4 {
					for x := range 4 {
						pred[(by*4+y)*8+bx*4+x] = dc
					}
				}
			}
		}
	case chromaH:
		for y := range 8 {
			for x := range 8 {
				pred[y*8+x] = n.left[y]
			}
		}
	case chromaV:
		for y := range 8 {
			copy(pred[y*8:y*8+8], n.top[:8])
		}
	case chromaPlane:
		var h, v int32
		for i := range 4 {
			h += int32(i+1) * (n.at(4+i, -1) - n.at(2-i, -1))
			v += int32(i+1) * (n.at(-1, 4+i) - n.at(-1, 2-i))
		}
		a := 16 * (n.at(-1, 7) + n.at(7, -1))
		b := (34*h + 32) >> 6
		c := (34*v + 32) >> 6
		for y := range int32(8) {
			for x := range int32(8) {
				pred[y*8+x] = clip1((a + b*(x-3) + c*(y-3) + 16) >> 5)
			}
		}
	}
}
