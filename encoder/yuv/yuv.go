// Package yuv converts raw camera pictures to I420, the planar 4:2:0
// layout the encoders take: packed 4:2:2 (YUYV, UYVY), semi-planar
// 4:2:0 (NV12, NV21) and decoded JPEG (MJPEG cameras).
//
// Conversions write into caller-owned planes, so a pipeline that reuses
// its picture allocates nothing per frame; only JPEG decoding allocates
// (image/jpeg makes a new image for each frame). Chroma is subsampled
// vertically by averaging the two rows of each pair.
package yuv

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// I420 is a planar 4:2:0 picture. Strides of 0 mean Width and
// (Width+1)/2.
type I420 struct {
	Width, Height    int
	Y, U, V          []byte
	YStride, CStride int
}

// Alloc sizes p for width×height without padding, reusing its planes'
// memory when it is large enough.
func (p *I420) Alloc(width, height int) {
	cw, ch := (width+1)/2, (height+1)/2
	p.Width, p.Height, p.YStride, p.CStride = width, height, width, cw
	p.Y = grow(p.Y, width*height)
	p.U = grow(p.U, cw*ch)
	p.V = grow(p.V, cw*ch)
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func (p *I420) strides() (int, int) {
	ys, cs := p.YStride, p.CStride
	if ys == 0 {
		ys = p.Width
	}
	if cs == 0 {
		cs = (p.Width + 1) / 2
	}
	return ys, cs
}

// Packed422 names the byte order of a packed 4:2:2 format.
type Packed422 int

// Packed 4:2:2 byte orders.
const (
	YUYV Packed422 = iota // Y0 U Y1 V
	UYVY                  // U Y0 V Y1
)

// FromPacked422 converts a packed 4:2:2 picture (src, stride bytes per
// row) into dst, which must be allocated for its size (see Alloc). Width
// and height must be even.
func FromPacked422(dst *I420, src []byte, stride int, order Packed422) error {
	w, h := dst.Width, dst.Height
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("yuv: packed 4:2:2 size %dx%d must be even and positive", w, h)
	}
	if stride < 2*w || len(src) < (h-1)*stride+2*w {
		return fmt.Errorf("yuv: packed 4:2:2 %dx%d: %d bytes with stride %d are too few", w, h, len(src), stride)
	}
	ys, cs := dst.strides()
	if err := dst.check(ys, cs); err != nil {
		return err
	}
	y0, c0 := 0, 1 // offsets of the first luma and chroma bytes
	if order == UYVY {
		y0, c0 = 1, 0
	}
	for r := 0; r < h; r += 2 {
		a := src[r*stride : r*stride+2*w]
		b := src[(r+1)*stride : (r+1)*stride+2*w]
		ya := dst.Y[r*ys : r*ys+w]
		yb := dst.Y[(r+1)*ys : (r+1)*ys+w]
		u := dst.U[r/2*cs : r/2*cs+w/2]
		v := dst.V[r/2*cs : r/2*cs+w/2]
		for i := range w / 2 {
			o := 4 * i
			ya[2*i], ya[2*i+1] = a[o+y0], a[o+2+y0]
			yb[2*i], yb[2*i+1] = b[o+y0], b[o+2+y0]
			u[i] = byte((uint(a[o+c0]) + uint(b[o+c0]) + 1) >> 1)
			v[i] = byte((uint(a[o+c0+2]) + uint(b[o+c0+2]) + 1) >> 1)
		}
	}
	return nil
}

// FromSemiPlanar converts NV12 (or, with swap, NV21) into dst: the luma
// plane y (yStride per row) and the interleaved chroma plane uv (uvStride
// per row). The luma is copied; use ChromaFromSemiPlanar instead to keep
// referring to the source's luma.
func FromSemiPlanar(dst *I420, y []byte, yStride int, uv []byte, uvStride int, swap bool) error {
	w, h := dst.Width, dst.Height
	ys, _ := dst.strides()
	if yStride < w || len(y) < (h-1)*yStride+w {
		return fmt.Errorf("yuv: NV12 %dx%d: luma of %d bytes with stride %d is too short", w, h, len(y), yStride)
	}
	if err := dst.check(ys, 0); err != nil {
		return err
	}
	for r := range h {
		copy(dst.Y[r*ys:r*ys+w], y[r*yStride:r*yStride+w])
	}
	return ChromaFromSemiPlanar(dst, uv, uvStride, swap)
}

// ChromaFromSemiPlanar fills dst's U and V planes from an interleaved
// NV12 (NV21 with swap) chroma plane, leaving Y alone.
func ChromaFromSemiPlanar(dst *I420, uv []byte, uvStride int, swap bool) error {
	w, h := dst.Width, dst.Height
	cw, ch := (w+1)/2, (h+1)/2
	_, cs := dst.strides()
	if uvStride < 2*cw || len(uv) < (ch-1)*uvStride+2*cw {
		return fmt.Errorf("yuv: NV12 %dx%d: chroma of %d bytes with stride %d is too short", w, h, len(uv), uvStride)
	}
	if err := dst.check(0, cs); err != nil {
		return err
	}
	ui, vi := 0, 1
	if swap {
		ui, vi = 1, 0
	}
	for r := range ch {
		row := uv[r*uvStride : r*uvStride+2*cw]
		u := dst.U[r*cs : r*cs+cw]
		v := dst.V[r*cs : r*cs+cw]
		for i := range cw {
			u[i], v[i] = row[2*i+ui], row[2*i+vi]
		}
	}
	return nil
}

// check reports whether dst's planes hold its size at strides ys and cs
// (0: not checked).
func (p *I420) check(ys, cs int) error {
	w, h := p.Width, p.Height
	cw, ch := (w+1)/2, (h+1)/2
	if ys > 0 && (ys < w || len(p.Y) < (h-1)*ys+w) {
		return fmt.Errorf("yuv: destination luma too small for %dx%d", w, h)
	}
	if cs > 0 && (cs < cw || len(p.U) < (ch-1)*cs+cw || len(p.V) < (ch-1)*cs+cw) {
		return fmt.Errorf("yuv: destination chroma too small for %dx%d", w, h)
	}
	return nil
}

// FromJPEG decodes a JPEG picture (one MJPEG frame) of width×height
// into dst, sizing it to the picture. A 4:2:0 JPEG is copied plane by
// plane; 4:2:2 and 4:4:4 are subsampled; greyscale gets neutral chroma.
// Odd sizes are cropped to even.
//
// width and height are the size the camera negotiated. The decoder
// allocates the picture its header claims, up to 65535×65535 (several
// GiB), however short data is, so FromJPEG reads the header first and
// refuses a frame of any other size before decoding it.
func FromJPEG(dst *I420, data []byte, width, height int) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("yuv: MJPEG frame header: %w", err)
	}
	if cfg.Width != width || cfg.Height != height {
		return fmt.Errorf("yuv: MJPEG frame is %dx%d, not the expected %dx%d", cfg.Width, cfg.Height, width, height)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("yuv: MJPEG frame: %w", err)
	}
	b := img.Bounds()
	w, h := b.Dx()&^1, b.Dy()&^1
	if w == 0 || h == 0 {
		return fmt.Errorf("yuv: MJPEG frame of %dx%d is too small", b.Dx(), b.Dy())
	}
	dst.Alloc(w, h)
	switch m := img.(type) {
	case *image.YCbCr:
		for r := range h {
			copy(dst.Y[r*w:r*w+w], m.Y[r*m.YStride:r*m.YStride+w])
		}
		cw, ch := w/2, h/2
		for r := range ch {
			for c := range cw {
				var u, v uint
				switch m.SubsampleRatio {
				case image.YCbCrSubsampleRatio420:
					i := r*m.CStride + c
					u, v = uint(m.Cb[i]), uint(m.Cr[i])
				case image.YCbCrSubsampleRatio422:
					i, j := 2*r*m.CStride+c, (2*r+1)*m.CStride+c
					u, v = (uint(m.Cb[i])+uint(m.Cb[j])+1)>>1, (uint(m.Cr[i])+uint(m.Cr[j])+1)>>1
				default: // 4:4:4 and the rarer ratios: sample through the image
					ci := m.COffset(2*c, 2*r)
					u, v = uint(m.Cb[ci]), uint(m.Cr[ci])
				}
				dst.U[r*cw+c], dst.V[r*cw+c] = byte(u), byte(v)
			}
		}
	case *image.Gray:
		for r := range h {
			copy(dst.Y[r*w:r*w+w], m.Pix[r*m.Stride:r*m.Stride+w])
		}
		for i := range dst.U {
			dst.U[i], dst.V[i] = 128, 128
		}
	default:
		return fmt.Errorf("yuv: MJPEG frame decodes to %T, not YCbCr", img)
	}
	return nil
}
