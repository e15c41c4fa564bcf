package software

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Format is the memory layout of an input frame.
type Format int

// Input formats.
const (
	I420 Format = iota // planar Y, U, V
	NV12               // planar Y, then interleaved U and V
)

// Frame is one raw 4:2:0 picture. For I420, U and V are the chroma
// planes; for NV12, U holds the interleaved chroma plane and V is unused.
type Frame struct {
	Format        Format
	Width, Height int
	Y, U, V       []byte
	YStride       int // 0 means Width
	CStride       int // chroma stride in bytes; 0 means Width/2 (I420) or Width (NV12)
}

// Options configures an [Encoder].
type Options struct {
	// Width and Height of the input, even, at least 16.
	Width, Height int
	// FPS is the frame rate written into the SPS timing; default 30.
	FPS float64
	// QP fixes the quantiser (1..51). With QP 0, rate control aims at
	// Bitrate.
	QP int
	// Bitrate is the target in bits per second when QP is 0; default
	// 1.5 Mbit/s.
	Bitrate int
	// IDRInterval is the number of frames from one IDR to the next;
	// default 2 s of frames.
	IDRInterval int
	// Slices splits each picture into this many slices of whole macroblock
	// rows, encoded in parallel; default 1.
	Slices int
}

// Encoder is a Constrained Baseline H.264 encoder: Intra16x16 and
// P_L0_16x16/P_Skip macroblocks, CAVLC, no loop filter. It is not safe for
// concurrent use, except [Encoder.RequestIDR].
type Encoder struct {
	width, height int
	mbW, mbH      int
	fps           float64
	opts          Options

	src, rec, ref picture
	prev          picture // the previous source picture
	ends          []int
	mbs           []mbInfo
	slices        []*sliceCoder
	frame         int // frames since the last IDR
	frameNum      uint32
	idrID         uint32
	forceIDR      atomic.Bool
	newBitrate    atomic.Int64 // from SetBitrate, for the next frame; 0: none
	rc            rateControl
	wg            sync.WaitGroup // slices in flight

	sps, pps []byte
	out      []byte
	nalus    [][]byte
}

// picture holds three planes with macroblock-aligned sizes.
type picture struct {
	y, u, v []uint8
	ys, cs  int // strides
}

func newPicture(mbW, mbH int) picture {
	return picture{
		y:  make([]uint8, mbW*16*mbH*16),
		u:  make([]uint8, mbW*8*mbH*8),
		v:  make([]uint8, mbW*8*mbH*8),
		ys: mbW * 16,
		cs: mbW * 8,
	}
}

// mbInfo is what later macroblocks need to know about an earlier one.
type mbInfo struct {
	slice int
	intra bool
	mvx   int16 // quarter samples
	mvy   int16
	nzY   [16]uint8 // TotalCoeff per luma 4x4 block, raster order in the MB
	nzC   [2][4]uint8
}

// New returns an encoder for opts.
func New(opts Options) (*Encoder, error) {
	if opts.Width < 16 || opts.Height < 16 || opts.Width%2 != 0 || opts.Height%2 != 0 || opts.Width > 8192 || opts.Height > 8192 {
		return nil, fmt.Errorf("software encoder: size %dx%d must be even, from 16x16 to 8192x8192", opts.Width, opts.Height)
	}
	if opts.FPS <= 0 {
		opts.FPS = 30
	}
	if opts.QP < 0 || opts.QP > 51 {
		return nil, fmt.Errorf("software encoder: QP %d out of 1..51", opts.QP)
	}
	if opts.Bitrate <= 0 {
		opts.Bitrate = 1500000
	}
	if opts.IDRInterval <= 0 {
		opts.IDRInterval = int(2*opts.FPS + 0.5)
	}
	e := &Encoder{
		width: opts.Width, height: opts.Height,
		mbW: (opts.Width + 15) / 16, mbH: (opts.Height + 15) / 16,
		fps: opts.FPS, opts: opts,
	}
	if opts.Slices <= 0 {
		opts.Slices = 1
	}
	opts.Slices = min(opts.Slices, e.mbH)
	e.opts = opts
	e.src = newPicture(e.mbW, e.mbH)
	e.prev = newPicture(e.mbW, e.mbH)
	e.rec = newPicture(e.mbW, e.mbH)
	e.ref = newPicture(e.mbW, e.mbH)
	e.mbs = make([]mbInfo, e.mbW*e.mbH)
	for i := range opts.Slices {
		first := i * e.mbH / opts.Slices
		last := (i + 1) * e.mbH / opts.Slices
		e.slices = append(e.slices, &sliceCoder{e: e, id: i, firstRow: first, rows: last - first})
	}
	e.rc = newRateControl(opts)
	var w bitWriter
	e.writeSPS(&w)
	e.sps = appendNALU(nil, 0x67, w.bytes())
	e.writePPS(&w)
	e.pps = appendNALU(nil, 0x68, w.bytes())
	e.forceIDR.Store(true)
	return e, nil
}

// RequestIDR makes the next encoded frame an IDR. It is safe to call from
// any goroutine.
func (e *Encoder) RequestIDR() { e.forceIDR.Store(true) }

// SetBitrate changes the rate control's target, in bits per second, from
// the next frame on; it has no effect with a fixed QP. It is safe to call
// from any goroutine.
func (e *Encoder) SetBitrate(bps int) {
	if bps > 0 {
		e.newBitrate.Store(int64(bps))
	}
}

// ParameterSets returns the SPS and PPS NAL units.
func (e *Encoder) ParameterSets() (sps, pps []byte) { return e.sps, e.pps }

// Encode compresses one frame and returns its NAL units (SPS and PPS lead
// every IDR) and whether it is an IDR. The NAL units stay valid until the
// next call.
func (e *Encoder) Encode(f *Frame) (nalus [][]byte, idr bool, err error) {
	if f.Width != e.width || f.Height != e.height {
		return nil, false, fmt.Errorf("software encoder: frame is %dx%d, encoder %dx%d", f.Width, f.Height, e.width, e.height)
	}
	if err := e.load(f); err != nil {
		return nil, false, err
	}
	if b := e.newBitrate.Swap(0); b > 0 {
		e.rc.setBitrate(float64(b), e.fps)
	}
	idr = e.forceIDR.Swap(false) || e.frame >= e.opts.IDRInterval
	if idr {
		e.frame, e.frameNum = 0, 0
	}
	qp := e.rc.qp(idr)
	e.encodeSlices(idr, qp)

	e.out = e.out[:0]
	e.nalus = e.nalus[:0]
	bits := 0
	if idr {
		e.out = append(e.out, e.sps...)
		e.out = append(e.out, e.pps...)
	}
	hdr := byte(0x41) // nal_ref_idc 2, non-IDR slice
	if idr {
		hdr = 0x65 // nal_ref_idc 3, IDR slice
	}
	ends := e.ends[:0]
	if idr {
		ends = append(ends, len(e.sps), len(e.sps)+len(e.pps))
	}
	for _, s := range e.slices {
		e.out = appendNALU(e.out, hdr, s.bw.bytes())
		ends = append(ends, len(e.out))
		bits += 8 * len(s.bw.bytes())
	}
	e.ends = ends
	start := 0
	for _, end := range ends {
		e.nalus = append(e.nalus, e.out[start:end])
		start = end
	}
	e.rc.update(bits, idr)
	e.rec, e.ref = e.ref, e.rec
	e.frame++
	e.frameNum = (e.frameNum + 1) % (1 << log2MaxFrameNum)
	if idr {
		e.idrID = (e.idrID + 1) % 65536
	}
	return e.nalus, idr, nil
}

// encodeSlices encodes every slice, in parallel when there are several.
func (e *Encoder) encodeSlices(idr bool, qp int) {
	if len(e.slices) == 1 {
		e.slices[0].encode(idr, qp)
		return
	}
	for _, s := range e.slices {
		e.wg.Go(func() { s.encode(idr, qp) })
	}
	e.wg.Wait()
}

// Reconstruction returns the decoded picture of the last encoded frame, as
// a decoder produces it: planes of Width x Height (cropped) with the given
// strides.
func (e *Encoder) Reconstruction() (y, u, v []byte, yStride, cStride int) {
	r := e.ref // the last reconstruction, after the swap
	return r.y, r.u, r.v, r.ys, r.cs
}

// load copies f into the padded source picture, replicating the right and
// bottom edges into the padding.
func (e *Encoder) load(f *Frame) error {
	ys := f.YStride
	if ys == 0 {
		ys = f.Width
	}
	cs := f.CStride
	if cs == 0 {
		cs = f.Width / 2
		if f.Format == NV12 {
			cs = f.Width
		}
	}
	cw, ch := f.Width/2, f.Height/2
	if len(f.Y) < ys*(f.Height-1)+f.Width {
		return errors.New("software encoder: Y plane too small")
	}
	switch f.Format {
	case I420:
		if len(f.U) < cs*(ch-1)+cw || len(f.V) < cs*(ch-1)+cw {
			return errors.New("software encoder: chroma plane too small")
		}
	case NV12:
		if len(f.U) < cs*(ch-1)+2*cw {
			return errors.New("software encoder: chroma plane too small")
		}
	default:
		return fmt.Errorf("software encoder: unknown format %d", f.Format)
	}
	e.src, e.prev = e.prev, e.src
	p := &e.src
	for y := range e.mbH * 16 {
		sy := min(y, f.Height-1)
		row := p.y[y*p.ys : (y+1)*p.ys]
		copy(row, f.Y[sy*ys:sy*ys+f.Width])
		for x := f.Width; x < len(row); x++ {
			row[x] = row[f.Width-1]
		}
	}
	for y := range e.mbH * 8 {
		sy := min(y, ch-1)
		ru := p.u[y*p.cs : (y+1)*p.cs]
		rv := p.v[y*p.cs : (y+1)*p.cs]
		if f.Format == I420 {
			copy(ru, f.U[sy*cs:sy*cs+cw])
			copy(rv, f.V[sy*cs:sy*cs+cw])
		} else {
			src := f.U[sy*cs : sy*cs+2*cw]
			for x := range cw {
				ru[x], rv[x] = src[2*x], src[2*x+1]
			}
		}
		for x := cw; x < len(ru); x++ {
			ru[x], rv[x] = ru[cw-1], rv[cw-1]
		}
	}
	return nil
}
