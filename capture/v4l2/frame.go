package v4l2

import (
	"fmt"
	"time"
)

// Frame is one captured picture. It refers to the driver's mmap'd
// buffer: it is only valid during the callback given to Source.Run, and
// the buffer is given back to the driver when the callback returns.
// Copy whatever must outlive the call.
type Frame struct {
	// Format is the pixel format. The multi-planar variants NV12M and
	// YU12M are reported as NV12 and YU12: Planes says where each plane
	// is.
	Format FourCC
	// Width and Height are the picture size in pixels.
	Width, Height int
	// Planes holds the picture of a raw format: one plane for YUYV
	// (packed), two for NV12 (Y, then interleaved UV), three for YU12
	// (Y, U, V). Each plane's stride is the driver's bytesperline, which
	// may exceed the visible width. Planes is nil for compressed
	// formats.
	Planes []Plane
	// Data holds the bytes of a compressed format (the driver's
	// bytesused): an Annex-B H.264 access unit, or a JPEG picture. It is
	// nil for raw formats.
	Data []byte
	// Timestamp is the driver's buffer timestamp, on CLOCK_MONOTONIC
	// for drivers that set V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, which is
	// all capture drivers of interest; it is the time the driver
	// captured the frame (typically the start or end of exposure or of
	// the transfer), not the time it was dequeued.
	Timestamp time.Duration
	// Sequence is the driver's frame counter. It restarts after a
	// Discontinuity, and gaps in it mean dropped frames.
	Sequence uint32
	// KeyFrame reports whether the frame can be decoded on its own:
	// always true for raw and JPEG frames; for H.264, the driver's
	// key-frame flag or, if the driver does not set it, whether the
	// frame holds an IDR slice.
	KeyFrame bool
	// Discontinuity is set on the first frame after the device was
	// reopened following a failure: frames were lost, and an encoder
	// fed from this source should start a new GOP with an IDR.
	Discontinuity bool

	index uint32 // the driver's buffer index
}

// Plane is one plane of a raw picture.
type Plane struct {
	// Data holds the plane's rows, Stride bytes apart.
	Data []byte
	// Stride is the distance in bytes between the starts of two rows.
	Stride int
}

// planeLayout places one picture plane in the buffers of a frame.
type planeLayout struct {
	mem    int // index of the memory plane (buffer) holding it
	offset int // from the start of the memory plane's data
	stride int
	size   int // bytes: stride × rows
}

// layout says where the planes of a format are in a buffer.
type layout struct {
	format     FourCC // as reported in Frame.Format
	compressed bool
	planes     []planeLayout
	need       []int // bytes each memory plane must hold for a raw picture
}

// memPlane is the driver's geometry of one memory plane: bytesperline
// and sizeimage from VIDIOC_G_FMT.
type memPlane struct {
	bytesPerLine, sizeImage int
}

// newLayout computes the layout of a width×height picture of format f
// from the driver's geometry of its memory planes (one for single-planar
// formats, one per picture plane for NV12M and YU12M).
//
// Strides are the driver's bytesperline (at least the picture's width
// in bytes). Chroma planes of single-buffer 4:2:0 formats start after
// bytesperline × height bytes of luma, unless sizeimage is exactly the
// size of a picture whose luma height is padded to a multiple of 16 or
// 32 rows, as some drivers (bcm2835) pad it: then the chroma follows the
// padded luma.
func newLayout(f FourCC, width, height int, mem []memPlane) (layout, error) {
	if width <= 0 || height <= 0 {
		return layout{}, fmt.Errorf("capture/v4l2: %v: bad picture size %dx%d", f, width, height)
	}
	if len(mem) == 0 {
		return layout{}, fmt.Errorf("capture/v4l2: %v: driver reported no planes", f)
	}
	l := layout{format: f.base(), compressed: f.Compressed()}
	if l.compressed {
		return l, nil
	}
	want := 1
	switch f {
	case NV12M:
		want = 2
	case YU12M:
		want = 3
	}
	if len(mem) != want {
		return layout{}, fmt.Errorf("capture/v4l2: %v: driver reported %d memory planes, want %d", f, len(mem), want)
	}
	stride := func(i, min int) int {
		return max(mem[i].bytesPerLine, min)
	}
	cw, ch := (width+1)/2, (height+1)/2
	switch f {
	case YUYV:
		s := stride(0, 2*width)
		l.planes = []planeLayout{{stride: s, size: s * height}}
	case NV12:
		s := stride(0, width)
		rows := lumaRows(height, s, mem[0].sizeImage, 3)
		l.planes = []planeLayout{
			{stride: s, size: s * height},
			{offset: s * rows, stride: s, size: s * ch},
		}
	case YU12:
		s := stride(0, width)
		rows := lumaRows(height, s, mem[0].sizeImage, 3)
		cs := s / 2
		crows := (rows + 1) / 2
		l.planes = []planeLayout{
			{stride: s, size: s * height},
			{offset: s * rows, stride: cs, size: cs * ch},
			{offset: s*rows + cs*crows, stride: cs, size: cs * ch},
		}
	case NV12M:
		s0, s1 := stride(0, width), stride(1, 2*cw)
		l.planes = []planeLayout{
			{stride: s0, size: s0 * height},
			{mem: 1, stride: s1, size: s1 * ch},
		}
	case YU12M:
		s0, s1, s2 := stride(0, width), stride(1, cw), stride(2, cw)
		l.planes = []planeLayout{
			{stride: s0, size: s0 * height},
			{mem: 1, stride: s1, size: s1 * ch},
			{mem: 2, stride: s2, size: s2 * ch},
		}
	default:
		return layout{}, fmt.Errorf("capture/v4l2: pixel format %v is not supported", f)
	}
	l.need = make([]int, len(mem))
	for _, p := range l.planes {
		l.need[p.mem] = max(l.need[p.mem], p.offset+p.size)
	}
	for i, n := range l.need {
		if si := mem[i].sizeImage; si != 0 && si < n {
			return layout{}, fmt.Errorf("capture/v4l2: %v %dx%d: driver's sizeimage %d of plane %d is below the %d bytes the picture needs",
				f, width, height, si, i, n)
		}
	}
	return l, nil
}

// lumaRows returns the number of rows the luma plane of a single-buffer
// 4:2:0 picture occupies: height, or height padded to 16 or 32 rows
// when sizeImage is exactly that padded picture's size (halves is 3: a
// 4:2:0 picture is 3/2 luma planes).
func lumaRows(height, stride, sizeImage, halves int) int {
	for _, a := range []int{16, 32} {
		rows := (height + a - 1) / a * a
		if rows != height && sizeImage == stride*rows*halves/2 {
			return rows
		}
	}
	return height
}

// fill points f's Planes or Data at the buffers of one dequeued frame.
// bufs are the memory planes' data (from their data offset) and used
// their bytes used. It reports false if the buffers are too short for
// the picture, as after a driver error.
func (l *layout) fill(f *Frame, bufs [][]byte, used []int) bool {
	f.Format = l.format
	if l.compressed {
		f.Planes = nil
		if used[0] <= 0 || used[0] > len(bufs[0]) {
			return false
		}
		f.Data = bufs[0][:used[0]:used[0]]
		return true
	}
	f.Data = nil
	for i, n := range l.need {
		if used[i] < n || len(bufs[i]) < n {
			return false
		}
	}
	if cap(f.Planes) < len(l.planes) {
		f.Planes = make([]Plane, len(l.planes))
	}
	f.Planes = f.Planes[:len(l.planes)]
	for i, p := range l.planes {
		end := p.offset + p.size
		f.Planes[i] = Plane{Data: bufs[p.mem][p.offset:end:end], Stride: p.stride}
	}
	return true
}
