// Package scale resizes raw 4:2:0 pictures, so that one capture can feed a
// main stream and a smaller sub stream.
package scale

import "fmt"

// Plane is one 8-bit image plane.
type Plane struct {
	Pix           []byte
	Width, Height int
	Stride        int
}

// Bilinear resizes src into dst with a bilinear filter, sampling at pixel
// centres. At the usual 2:1 main-to-sub ratio each output pixel is the
// mean of a 2x2 block; much larger ratios alias. Sizes must be at least
// 1x1.
func Bilinear(dst, src Plane) error {
	if dst.Width < 1 || dst.Height < 1 || src.Width < 1 || src.Height < 1 {
		return fmt.Errorf("scale: empty plane (%dx%d from %dx%d)", dst.Width, dst.Height, src.Width, src.Height)
	}
	if len(src.Pix) < src.Stride*(src.Height-1)+src.Width || len(dst.Pix) < dst.Stride*(dst.Height-1)+dst.Width {
		return fmt.Errorf("scale: plane buffer too small")
	}
	if src.Width == 2*dst.Width && src.Height == 2*dst.Height {
		half(dst, src)
		return nil
	}
	// 16.16 fixed point steps and starts, at pixel centres.
	sx := (src.Width << 16) / dst.Width
	sy := (src.Height << 16) / dst.Height
	for y := range dst.Height {
		fy := max((y*sy+sy/2)-1<<15, 0)
		y0 := min(fy>>16, src.Height-1)
		y1 := min(y0+1, src.Height-1)
		wy := fy & 0xffff
		r0 := src.Pix[y0*src.Stride:]
		r1 := src.Pix[y1*src.Stride:]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+dst.Width]
		for x := range out {
			fx := max((x*sx+sx/2)-1<<15, 0)
			x0 := min(fx>>16, src.Width-1)
			x1 := min(x0+1, src.Width-1)
			wx := fx & 0xffff
			top := int(r0[x0])*(0x10000-wx) + int(r0[x1])*wx
			bot := int(r1[x0])*(0x10000-wx) + int(r1[x1])*wx
			out[x] = byte((top>>16*(0x10000-wy) + bot>>16*wy + 0x8000) >> 16)
		}
	}
	return nil
}

// half is Bilinear for exactly 2:1: the rounded mean of each 2x2 block.
func half(dst, src Plane) {
	for y := range dst.Height {
		r0 := src.Pix[2*y*src.Stride : 2*y*src.Stride+src.Width]
		r1 := src.Pix[(2*y+1)*src.Stride : (2*y+1)*src.Stride+src.Width]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+dst.Width]
		for x := range out {
			out[x] = byte((uint(r0[2*x]) + uint(r0[2*x+1]) + uint(r1[2*x]) + uint(r1[2*x+1]) + 2) >> 2)
		}
	}
}
