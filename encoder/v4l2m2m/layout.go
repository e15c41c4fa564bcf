package v4l2m2m

import (
	"fmt"
	"time"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// RawFrame is one uncompressed picture to encode. Planes are in the
// memory order of the pixel format: Y, U, V for YU12 (Y, V, U for YV12);
// Y and interleaved chroma for NV12/NV21; one packed plane for
// YUYV/UYVY. Unused entries are nil. A RawFrame is a value with fixed
// arrays so that building one per frame does not allocate.
type RawFrame struct {
	Planes [3][]byte
	// Strides are the bytes per line of each plane; 0 means tightly
	// packed (the plane's row width).
	Strides [3]int
	// Timestamp is the capture time. It is copied, at microsecond
	// resolution, to the coded packet (Packet.Timestamp); it must not
	// be negative and should increase from frame to frame.
	Timestamp time.Duration
}

// rawFormat describes the planes of a raw pixel format.
type rawFormat struct {
	planes int
	// For each picture plane: row bytes = width*bpp/hsub, rows =
	// height/vsub.
	bpp, hsub, vsub [3]int
	// chromaStride returns the bytes per line of the chroma planes
	// when all planes share one buffer whose luma stride is bpl.
	chromaStride func(bpl int) int
}

// rawFormats are the input formats the encoder accepts.
var rawFormats = map[uint32]rawFormat{
	v4l2.PixFmtYU12: yuv420p,
	v4l2.PixFmtYV12: yuv420p,
	v4l2.PixFmtNV12: yuv420sp,
	v4l2.PixFmtNV21: yuv420sp,
	v4l2.PixFmtYUYV: yuv422packed,
	v4l2.PixFmtUYVY: yuv422packed,
}

var (
	yuv420p = rawFormat{
		planes: 3,
		bpp:    [3]int{1, 1, 1}, hsub: [3]int{1, 2, 2}, vsub: [3]int{1, 2, 2},
		chromaStride: func(bpl int) int { return bpl / 2 },
	}
	yuv420sp = rawFormat{
		planes: 2,
		bpp:    [3]int{1, 2, 0}, hsub: [3]int{1, 2, 1}, vsub: [3]int{1, 2, 1},
		chromaStride: func(bpl int) int { return bpl },
	}
	yuv422packed = rawFormat{
		planes: 1,
		bpp:    [3]int{2, 0, 0}, hsub: [3]int{1, 1, 1}, vsub: [3]int{1, 1, 1},
	}
)

// bufPlane is the driver's layout of one plane of an OUTPUT buffer.
type bufPlane struct {
	bytesPerLine int
	sizeImage    int
}

// planeCopy says where one picture plane goes in an OUTPUT buffer.
type planeCopy struct {
	buf      int // index of the buffer plane
	offset   int // byte offset in the buffer plane
	stride   int // driver bytes per line
	rowBytes int // bytes of picture per row
	rows     int // rows of the caller's picture
}

// layout maps a caller's RawFrame onto the driver's OUTPUT buffers.
type layout struct {
	n      int // picture planes
	planes [3]planeCopy
}

// newLayout computes the copy layout of format f at width×height (the
// caller's size) into buffers with the driver's format: driverHeight
// rows per luma plane (at least height) and the given buffer planes,
// either one buffer holding every picture plane (the common case:
// YU12, NV12, YUYV) or one buffer plane per picture plane.
func newLayout(f rawFormat, width, height, driverHeight int, bufs []bufPlane) (layout, error) {
	var l layout
	l.n = f.planes
	switch {
	case len(bufs) == 1:
		bpl := bufs[0].bytesPerLine
		if bpl <= 0 {
			return l, fmt.Errorf("driver reports bytesperline %d", bpl)
		}
		off := 0
		for i := 0; i < f.planes; i++ {
			stride := bpl
			if i > 0 {
				stride = f.chromaStride(bpl)
			}
			l.planes[i] = planeCopy{buf: 0, offset: off, stride: stride,
				rowBytes: width * f.bpp[i] / f.hsub[i], rows: height / f.vsub[i]}
			off += stride * (driverHeight / f.vsub[i])
		}
	case len(bufs) == f.planes:
		for i := range bufs {
			l.planes[i] = planeCopy{buf: i, stride: bufs[i].bytesPerLine,
				rowBytes: width * f.bpp[i] / f.hsub[i], rows: height / f.vsub[i]}
		}
	default:
		return l, fmt.Errorf("driver uses %d buffer planes for a %d-plane format", len(bufs), f.planes)
	}
	for i := 0; i < l.n; i++ {
		p := l.planes[i]
		if p.stride < p.rowBytes {
			return l, fmt.Errorf("plane %d: driver stride %d below row size %d", i, p.stride, p.rowBytes)
		}
		if end := p.offset + p.stride*(p.rows-1) + p.rowBytes; end > bufs[p.buf].sizeImage {
			return l, fmt.Errorf("plane %d ends at byte %d, beyond the driver's sizeimage %d", i, end, bufs[p.buf].sizeImage)
		}
	}
	return l, nil
}

// check reports whether frame holds enough bytes for every plane.
func (l *layout) check(frame *RawFrame) error {
	for i := 0; i < l.n; i++ {
		p := &l.planes[i]
		stride := frame.Strides[i]
		if stride == 0 {
			stride = p.rowBytes
		}
		if stride < p.rowBytes {
			return fmt.Errorf("v4l2m2m: plane %d stride %d below row size %d", i, stride, p.rowBytes)
		}
		if need := stride*(p.rows-1) + p.rowBytes; len(frame.Planes[i]) < need {
			return fmt.Errorf("v4l2m2m: plane %d holds %d bytes, want at least %d", i, len(frame.Planes[i]), need)
		}
	}
	return nil
}

// copyFrame copies frame into the mapped buffer planes dst, once, row
// by row unless both sides are tightly packed. The frame must have
// passed check.
func (l *layout) copyFrame(dst [][]byte, frame *RawFrame) {
	for i := 0; i < l.n; i++ {
		p := &l.planes[i]
		src := frame.Planes[i]
		sstride := frame.Strides[i]
		if sstride == 0 {
			sstride = p.rowBytes
		}
		d := dst[p.buf][p.offset:]
		if sstride == p.rowBytes && p.stride == p.rowBytes {
			copy(d[:p.rowBytes*p.rows], src)
			continue
		}
		for y := 0; y < p.rows; y++ {
			copy(d[y*p.stride:y*p.stride+p.rowBytes], src[y*sstride:y*sstride+p.rowBytes])
		}
	}
}
