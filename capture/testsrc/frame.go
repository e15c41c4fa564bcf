package testsrc

import (
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"sync"
	"time"
)

// Frame is one raw picture in I420: planar Y, then U (Cb), then V (Cr),
// with the chroma planes subsampled 2:1 both ways, BT.601 limited range.
type Frame struct {
	// Width and Height are the picture size in pixels, both even.
	Width, Height int
	// Y, U and V are the planes, without padding: their strides are
	// Width, Width/2 and Width/2, and they hold Height, Height/2 and
	// Height/2 rows.
	Y, U, V []byte
	// PTS is the capture time on the source's monotonic clock, from the
	// start of the stream.
	PTS time.Duration
	// Wall is the wall-clock capture time, the one burned into the
	// picture.
	Wall time.Time
	// Seq is the frame counter, also burned into the picture.
	Seq uint64

	st renderState // what Source.Render last drew into the planes
}

// renderState records what Render last drew into a Frame, so that the
// next Render only redraws what changed.
type renderState struct {
	src     *Source
	y, u, v *byte // the planes drawn into
	box     rect  // the moving box
	text    [textLen]byte
}

// drawnBy reports whether f holds a picture rendered by s into its
// current planes.
func (st *renderState) drawnBy(s *Source, f *Frame) bool {
	return st.src == s && st.y == &f.Y[0] && st.u == &f.U[0] && st.v == &f.V[0]
}

// planeSizes returns the sizes of the luma and of each chroma plane.
func (f *Frame) planeSizes() (luma, chroma int) {
	return f.Width * f.Height, ((f.Width + 1) / 2) * ((f.Height + 1) / 2)
}

// alloc sizes the planes for f's Width and Height, reusing their memory
// when it is large enough.
func (f *Frame) alloc() {
	ny, nc := f.planeSizes()
	f.Y = resize(f.Y, ny)
	f.U = resize(f.U, nc)
	f.V = resize(f.V, nc)
}

// resize returns b with length n, reallocated if its capacity is short.
func resize(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// copyRect copies the pixels of r, whose corners must be even, from f to
// dst, a frame of the same size.
func (f *Frame) copyRect(dst *Frame, r rect) {
	if r.empty() {
		return
	}
	w := r.x1 - r.x0
	for y := r.y0; y < r.y1; y++ {
		o := y*f.Width + r.x0
		copy(dst.Y[o:o+w], f.Y[o:o+w])
	}
	cw, cs := w/2, f.Width/2
	for y := r.y0 / 2; y < r.y1/2; y++ {
		o := y*cs + r.x0/2
		copy(dst.U[o:o+cw], f.U[o:o+cw])
		copy(dst.V[o:o+cw], f.V[o:o+cw])
	}
}

// YCbCr returns an image that shares f's planes.
func (f *Frame) YCbCr() *image.YCbCr {
	return &image.YCbCr{
		Y:              f.Y,
		Cb:             f.U,
		Cr:             f.V,
		YStride:        f.Width,
		CStride:        (f.Width + 1) / 2,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, f.Width, f.Height),
	}
}

// WriteJPEG encodes f as a baseline JPEG to w, straight from its planes.
// quality goes from 1 to 100; 0 means jpeg.DefaultQuality. It fails if
// f's planes are too small for its size, or if w fails.
func WriteJPEG(w io.Writer, f *Frame, quality int) error {
	ny, nc := f.planeSizes()
	if f.Width <= 0 || f.Height <= 0 || len(f.Y) < ny || len(f.U) < nc || len(f.V) < nc {
		return fmt.Errorf("capture/testsrc: JPEG: malformed %dx%d frame with planes of %d, %d and %d bytes",
			f.Width, f.Height, len(f.Y), len(f.U), len(f.V))
	}
	if quality == 0 {
		quality = jpeg.DefaultQuality
	}
	if err := jpeg.Encode(w, f.YCbCr(), &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("capture/testsrc: JPEG: %w", err)
	}
	return nil
}

// Latest holds a copy of the most recent frame stored in it, for readers
// that want the current picture at their own pace, such as a snapshot
// URL. It is double-buffered: Store copies the frame into a spare buffer
// without blocking readers, then swaps it in. Once the buffers have the
// frame size, neither Store nor Snapshot allocates.
//
// The zero Latest is empty and ready to use. Its methods may be called
// concurrently. A Latest must not be copied after first use.
type Latest struct {
	wmu   sync.Mutex   // serializes Store
	mu    sync.RWMutex // guards front and ok
	bufs  [2]Frame
	front int // index in bufs of the latest frame; written with wmu and mu held
	ok    bool
}

// Store records a copy of f as the latest frame.
func (l *Latest) Store(f *Frame) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	back := 1 - l.front
	copyFrame(&l.bufs[back], f) // readers only read bufs[front]
	l.mu.Lock()
	l.front, l.ok = back, true
	l.mu.Unlock()
}

// Snapshot copies the latest frame into dst, reusing dst's planes when
// they are large enough. It reports false, leaving dst alone, if no frame
// has been stored yet.
func (l *Latest) Snapshot(dst *Frame) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.ok {
		return false
	}
	copyFrame(dst, &l.bufs[l.front])
	return true
}

// copyFrame makes dst a copy of src with its own planes.
func copyFrame(dst, src *Frame) {
	dst.Width, dst.Height = src.Width, src.Height
	dst.PTS, dst.Wall, dst.Seq = src.PTS, src.Wall, src.Seq
	dst.Y = append(dst.Y[:0], src.Y...)
	dst.U = append(dst.U[:0], src.U...)
	dst.V = append(dst.V[:0], src.V...)
	dst.st = renderState{}
}
