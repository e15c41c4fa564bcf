package v4l2m2m

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcamd/ipcamd/internal/v4l2"
)

// Errors returned by Encoder methods.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("v4l2m2m: encoder closed")
	// ErrNotReady is returned by TryNext when no coded frame is ready.
	ErrNotReady = errors.New("v4l2m2m: no coded frame ready")
	// ErrDraining is returned by Encode and Next while a Drain that
	// failed part-way has not been completed by another Drain.
	ErrDraining = errors.New("v4l2m2m: encoder is draining; call Drain")
)

// pollSlice bounds each poll(2) so that blocked calls notice context
// cancellation and Close.
const pollSlice = 50 * time.Millisecond

// Config is what the driver agreed to, read back after setting the
// formats.
type Config struct {
	Device DeviceInfo
	// Width and Height of the driver's OUTPUT format (may be aligned up
	// from Options; the extra area is cropped when the driver allows).
	Width, Height int
	PixelFormat   uint32
	Codec         uint32
	// BytesPerLine and SizeImage of each OUTPUT buffer plane.
	BytesPerLine, SizeImage []int
	// CaptureSize is the size of each coded buffer.
	CaptureSize int
	// OutputBuffers and CaptureBuffers are the buffer counts granted.
	OutputBuffers, CaptureBuffers int
	// Memory is v4l2.MemoryMMAP or v4l2.MemoryDMABUF for the OUTPUT queue.
	Memory uint32
}

// outBuf is one OUTPUT buffer.
type outBuf struct {
	maps   [][]byte     // mapped planes (MMAP only)
	planes []v4l2.Plane // QBUF planes (multi-planar only)
	fd     int          // DMABUF fd last queued in this buffer, or -1
}

// capBuf is one CAPTURE buffer.
type capBuf struct {
	data   []byte // mapped plane
	planes []v4l2.Plane
}

// Encoder drives one stateful V4L2 memory-to-memory encoder: raw frames
// are queued with Encode (or EncodeDMABUF) and coded frames taken with
// Next. See the package documentation for the state machine.
//
// Encode and Next may run concurrently, each in its own goroutine (one
// feeding frames, one taking packets), or alternate in one goroutine
// (Encode, then TryNext until ErrNotReady). Calls to Encode must not
// overlap each other, nor calls to Next. Neither holds a lock while it
// waits, so Drain may be called from either goroutine; since Drain, like
// Next, recycles the buffer of the last Packet, call it where no Packet
// is in use (typically the goroutine calling Next). ForceKeyFrame and
// SetBitrate may be called from any goroutine. Close may be called at
// any time; blocked calls then return ErrClosed.
type Encoder struct {
	dev     *v4l2.Device
	log     *slog.Logger
	opts    Options
	cfg     Config
	outType uint32
	capType uint32
	mplane  bool

	// life guards dev against use after Close.
	life   sync.RWMutex
	closed atomic.Bool

	outMu    sync.Mutex
	out      []outBuf
	outFree  []int // indices of OUTPUT buffers owned by us
	outScr   v4l2.Buffer
	outDQ    []v4l2.Plane // scratch planes for DQBUF(OUTPUT)
	lay      layout
	draining bool // STOP sent, LAST not yet seen

	capMu  sync.Mutex
	caps   []capBuf
	capScr v4l2.Buffer
	capDQ  []v4l2.Plane
	lent   int // CAPTURE index lent out as the last Packet, or -1
	// lastTS is the timestamp of the last non-empty packet, valid when
	// delivered is set.
	lastTS    time.Duration
	delivered bool
}

// Open opens the encoder node at path (or, with path "", the first node
// Detect finds for opts.Codec), configures it for opts and starts
// streaming. The sequence follows the kernel's stateful encoder
// interface (dev-encoder.rst): QUERYCAP, S_FMT(CAPTURE), S_FMT(OUTPUT),
// S_SELECTION, S_PARM, controls, REQBUFS, mmap, QBUF(CAPTURE), STREAMON.
func Open(path string, opts Options) (*Encoder, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" {
		d, err := Detect(opts.Codec)
		if err != nil {
			return nil, err
		}
		path = d.Path
	}
	dev, err := v4l2.Open(path)
	if err != nil {
		return nil, fmt.Errorf("v4l2m2m: %w", err)
	}
	info, err := probe(dev)
	if err != nil {
		dev.Close()
		return nil, err
	}
	e := &Encoder{dev: dev, log: opts.Logger.With("device", path, "driver", info.Driver), opts: opts, lent: -1}
	e.cfg.Device = info
	if err := e.setup(); err != nil {
		e.release()
		return nil, err
	}
	return e, nil
}

// errorf formats an error prefixed with the package and device.
func (e *Encoder) errorf(format string, args ...any) error {
	return fmt.Errorf("v4l2m2m: %s: "+format, append([]any{e.dev.Path()}, args...)...)
}

func (e *Encoder) setup() error {
	info, o := e.cfg.Device, e.opts
	if !info.M2M || info.Caps&v4l2.CapStreaming == 0 {
		return e.errorf("%s is not a streaming memory-to-memory device (caps %#x)", info.Driver, info.Caps)
	}
	if !info.Supports(o.Codec) {
		return e.errorf("%s does not encode to %s (CAPTURE offers %s, OUTPUT %s)", info.Driver,
			v4l2.FourCCString(o.Codec), fourccList(info.CaptureFormats), fourccList(info.OutputFormats))
	}
	e.mplane = info.MultiPlanar
	e.outType, e.capType = queueTypes(e.mplane)
	e.cfg.Codec, e.cfg.PixelFormat = o.Codec, o.PixelFormat

	// 1. CAPTURE format first: the coded format governs the OUTPUT side.
	cf := v4l2.Format{Type: e.capType}
	if e.mplane {
		p := cf.PixMP()
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(o.Width), uint32(o.Height), o.Codec, v4l2.FieldNone
		p.NumPlanes = 1
		p.PlaneFmt[0].SizeImage = uint32(o.CaptureBufferSize)
	} else {
		p := cf.Pix()
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(o.Width), uint32(o.Height), o.Codec, v4l2.FieldNone
		p.SizeImage = uint32(o.CaptureBufferSize)
	}
	if err := e.dev.SetFormat(&cf); err != nil {
		return e.errorf("set CAPTURE format %s: %w", v4l2.FourCCString(o.Codec), err)
	}
	if got := formatOf(&cf, e.mplane).pix; got != o.Codec {
		return e.errorf("driver chose CAPTURE format %s instead of %s", v4l2.FourCCString(got), v4l2.FourCCString(o.Codec))
	}

	// 2. OUTPUT format: raw frames.
	of := v4l2.Format{Type: e.outType}
	if e.mplane {
		p := of.PixMP()
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(o.Width), uint32(o.Height), o.PixelFormat, v4l2.FieldNone
		p.NumPlanes = 1
	} else {
		p := of.Pix()
		p.Width, p.Height, p.PixelFormat, p.Field = uint32(o.Width), uint32(o.Height), o.PixelFormat, v4l2.FieldNone
	}
	if err := e.dev.SetFormat(&of); err != nil {
		return e.errorf("set OUTPUT format %s %dx%d: %w", v4l2.FourCCString(o.PixelFormat), o.Width, o.Height, err)
	}
	ofm := formatOf(&of, e.mplane)
	if ofm.pix != o.PixelFormat {
		return e.errorf("driver chose OUTPUT format %s instead of %s (offers %s)",
			v4l2.FourCCString(ofm.pix), v4l2.FourCCString(o.PixelFormat), fourccList(info.OutputFormats))
	}
	if ofm.width < o.Width || ofm.height < o.Height || ofm.width-o.Width >= 64 || ofm.height-o.Height >= 64 {
		return e.errorf("driver cannot encode %dx%d: it offers %dx%d", o.Width, o.Height, ofm.width, ofm.height)
	}
	lay, err := newLayout(rawFormats[o.PixelFormat], o.Width, o.Height, ofm.height, ofm.planes)
	if err != nil {
		return e.errorf("OUTPUT format %s %dx%d: %w", v4l2.FourCCString(o.PixelFormat), ofm.width, ofm.height, err)
	}
	e.lay = lay
	e.cfg.Width, e.cfg.Height = ofm.width, ofm.height
	for _, p := range ofm.planes {
		e.cfg.BytesPerLine = append(e.cfg.BytesPerLine, p.bytesPerLine)
		e.cfg.SizeImage = append(e.cfg.SizeImage, p.sizeImage)
	}

	// The OUTPUT format may have changed the CAPTURE one (vicodec sizes
	// its coded buffers from it): read it back.
	if err := e.dev.GetFormat(&cf); err != nil {
		return e.errorf("get CAPTURE format: %w", err)
	}
	e.cfg.CaptureSize = formatOf(&cf, e.mplane).planes[0].sizeImage

	// 3. Crop to the caller's size when the driver aligned it up.
	if ofm.width != o.Width || ofm.height != o.Height {
		sel := v4l2.Selection{Type: v4l2.BufTypeVideoOutput, Target: v4l2.SelTgtCrop,
			R: v4l2.Rect{Width: uint32(o.Width), Height: uint32(o.Height)}}
		if err := e.dev.SetSelection(&sel); err != nil {
			e.log.Debug("v4l2m2m: crop not set", "err", err)
		}
	}

	// 4. Frame rate.
	parm := v4l2.StreamParm{Type: e.outType}
	parm.Parm.TimePerFrame = frameInterval(o.FPS)
	if err := e.dev.SetParm(&parm); err != nil {
		if !unsupported(err) {
			return e.errorf("set frame rate %v: %w", o.FPS, err)
		}
		e.log.Debug("v4l2m2m: driver has no S_PARM; frame rate not set", "err", err)
	}

	// 5. Controls.
	if err := e.setControls(); err != nil {
		return err
	}

	// 6. Buffers.
	e.cfg.Memory = v4l2.MemoryMMAP
	if o.DMABUF {
		e.cfg.Memory = v4l2.MemoryDMABUF
	}
	nout := o.OutputBuffers
	if m, err := e.dev.GetControl(v4l2.CIDMinBuffersForOutput); err == nil && int(m) > nout {
		nout = int(m)
	}
	if err := e.allocOutput(nout); err != nil {
		return err
	}
	if err := e.allocCapture(o.CaptureBuffers); err != nil {
		return err
	}

	// 7. Queue every CAPTURE buffer, then stream.
	for i := range e.caps {
		if err := e.queueCapture(i); err != nil {
			return err
		}
	}
	if err := e.dev.StreamOn(e.outType); err != nil {
		return e.errorf("start OUTPUT: %w", err)
	}
	if err := e.dev.StreamOn(e.capType); err != nil {
		return e.errorf("start CAPTURE: %w", err)
	}
	e.log.Info("v4l2m2m: encoder ready",
		"codec", v4l2.FourCCString(o.Codec), "input", v4l2.FourCCString(o.PixelFormat),
		"size", fmt.Sprintf("%dx%d", e.cfg.Width, e.cfg.Height), "bytesperline", e.cfg.BytesPerLine,
		"sizeimage", e.cfg.SizeImage, "capture_size", e.cfg.CaptureSize,
		"buffers", fmt.Sprintf("%d/%d", e.cfg.OutputBuffers, e.cfg.CaptureBuffers),
		"mplane", e.mplane, "dmabuf", o.DMABUF)
	return nil
}

// negotiated is the part of a v4l2.Format the encoder uses.
type negotiated struct {
	width, height int
	pix           uint32
	planes        []bufPlane
}

func formatOf(f *v4l2.Format, mplane bool) negotiated {
	if !mplane {
		p := f.Pix()
		return negotiated{int(p.Width), int(p.Height), p.PixelFormat,
			[]bufPlane{{int(p.BytesPerLine), int(p.SizeImage)}}}
	}
	p := f.PixMP()
	n := negotiated{width: int(p.Width), height: int(p.Height), pix: p.PixelFormat}
	for i := 0; i < int(p.NumPlanes) && i < len(p.PlaneFmt); i++ {
		n.planes = append(n.planes, bufPlane{int(p.PlaneFmt[i].BytesPerLine), int(p.PlaneFmt[i].SizeImage)})
	}
	if len(n.planes) == 0 {
		n.planes = []bufPlane{{}}
	}
	return n
}

// unsupported reports whether err says the driver lacks an ioctl or a
// control.
func unsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY)
}

// control is one codec control to set at open.
type control struct {
	name  string
	id    uint32
	value int32
}

// controls returns the controls o asks for, in the order they are set.
func (o *Options) controls() []control {
	var cs []control
	switch o.BitrateMode {
	case BitrateModeVBR:
		cs = append(cs, control{"bitrate mode", v4l2.CIDMPEGVideoBitrateMode, v4l2.BitrateModeVBR})
	case BitrateModeCBR:
		cs = append(cs, control{"bitrate mode", v4l2.CIDMPEGVideoBitrateMode, v4l2.BitrateModeCBR})
	}
	if o.Bitrate > 0 {
		cs = append(cs, control{"bitrate", v4l2.CIDMPEGVideoBitrate, int32(o.Bitrate)})
	}
	if o.GOP > 0 {
		cs = append(cs, control{"GOP size", v4l2.CIDMPEGVideoGOPSize, int32(o.GOP)})
	}
	if o.Codec != v4l2.PixFmtH264 {
		return cs
	}
	if o.GOP > 0 {
		cs = append(cs, control{"H.264 I period", v4l2.CIDMPEGVideoH264IPeriod, int32(o.GOP)})
	}
	cs = append(cs, control{"H.264 profile", v4l2.CIDMPEGVideoH264Profile, o.Profile.v4l2()})
	if o.Level != "" {
		cs = append(cs, control{"H.264 level", v4l2.CIDMPEGVideoH264Level, h264Levels[o.Level]})
	}
	if o.MinQP > 0 {
		cs = append(cs, control{"H.264 min QP", v4l2.CIDMPEGVideoH264MinQP, int32(o.MinQP)})
	}
	if o.MaxQP > 0 {
		cs = append(cs, control{"H.264 max QP", v4l2.CIDMPEGVideoH264MaxQP, int32(o.MaxQP)})
	}
	// V4L2_MPEG_VIDEO_HEADER_MODE_JOINED_WITH_1ST_FRAME: SPS and PPS in
	// the same buffer as the IDR, so that each packet is an access unit.
	cs = append(cs, control{"header mode", v4l2.CIDMPEGVideoHeaderMode, 1})
	repeat := int32(1)
	if o.DisableRepeatSequenceHeader {
		repeat = 0
	}
	cs = append(cs, control{"repeat sequence header", v4l2.CIDMPEGVideoRepeatSeqHeader, repeat})
	return cs
}

func (e *Encoder) setControls() error {
	for _, c := range e.opts.controls() {
		err := e.dev.SetControl(c.id, c.value)
		switch {
		case err == nil:
			e.log.Debug("v4l2m2m: control set", "control", c.name, "value", c.value)
		case unsupported(err):
			e.log.Debug("v4l2m2m: driver lacks control; skipped", "control", c.name, "err", err)
		default:
			return e.errorf("set %s to %d: %w", c.name, c.value, err)
		}
	}
	return nil
}

func (e *Encoder) allocOutput(n int) error {
	mem := e.cfg.Memory
	got, err := e.dev.RequestBuffers(e.outType, mem, uint32(n))
	if err != nil {
		return e.errorf("request %d OUTPUT buffers: %w", n, err)
	}
	if got == 0 {
		return e.errorf("driver granted no OUTPUT buffers")
	}
	e.cfg.OutputBuffers = int(got)
	nplanes := len(e.cfg.SizeImage)
	e.out = make([]outBuf, got)
	e.outFree = make([]int, 0, got)
	e.outDQ = make([]v4l2.Plane, nplanes)
	for i := range e.out {
		ob := &e.out[i]
		ob.fd = -1
		if e.mplane {
			ob.planes = make([]v4l2.Plane, nplanes)
		}
		if mem == v4l2.MemoryMMAP {
			b := v4l2.Buffer{Type: e.outType, Memory: mem, Index: uint32(i)}
			if err := e.dev.QueryBuffer(&b, ob.planes); err != nil {
				return e.errorf("query OUTPUT buffer %d: %w", i, err)
			}
			maps, err := e.mapBuffer(&b, ob.planes)
			ob.maps = maps
			if err != nil {
				return e.errorf("OUTPUT buffer %d: %w", i, err)
			}
			for p, m := range ob.maps {
				if len(m) < e.cfg.SizeImage[p] {
					return e.errorf("OUTPUT buffer %d plane %d is %d bytes, below sizeimage %d", i, p, len(m), e.cfg.SizeImage[p])
				}
			}
		}
		e.outFree = append(e.outFree, i)
	}
	return nil
}

// mapBuffer maps every plane of a queried MMAP buffer.
func (e *Encoder) mapBuffer(b *v4l2.Buffer, planes []v4l2.Plane) ([][]byte, error) {
	if !e.mplane {
		m, err := e.dev.Mmap(int64(b.M), int(b.Length))
		if err != nil {
			return nil, err
		}
		return [][]byte{m}, nil
	}
	maps := make([][]byte, 0, len(planes))
	for _, p := range planes {
		m, err := e.dev.Mmap(int64(p.M), int(p.Length))
		if err != nil {
			return maps, err
		}
		maps = append(maps, m)
	}
	return maps, nil
}

func (e *Encoder) allocCapture(n int) error {
	got, err := e.dev.RequestBuffers(e.capType, v4l2.MemoryMMAP, uint32(n))
	if err != nil {
		return e.errorf("request %d CAPTURE buffers: %w", n, err)
	}
	if got == 0 {
		return e.errorf("driver granted no CAPTURE buffers")
	}
	e.cfg.CaptureBuffers = int(got)
	e.caps = make([]capBuf, got)
	e.capDQ = make([]v4l2.Plane, 1)
	for i := range e.caps {
		cb := &e.caps[i]
		if e.mplane {
			cb.planes = make([]v4l2.Plane, 1)
		}
		b := v4l2.Buffer{Type: e.capType, Memory: v4l2.MemoryMMAP, Index: uint32(i)}
		if err := e.dev.QueryBuffer(&b, cb.planes); err != nil {
			return e.errorf("query CAPTURE buffer %d: %w", i, err)
		}
		maps, err := e.mapBuffer(&b, cb.planes)
		if len(maps) > 0 {
			cb.data = maps[0]
		}
		if err != nil {
			return e.errorf("CAPTURE buffer %d: %w", i, err)
		}
	}
	return nil
}

// queueCapture gives CAPTURE buffer i to the driver.
func (e *Encoder) queueCapture(i int) error {
	b := &e.capScr
	*b = v4l2.Buffer{Type: e.capType, Memory: v4l2.MemoryMMAP, Index: uint32(i)}
	cb := &e.caps[i]
	if e.mplane {
		cb.planes[0] = v4l2.Plane{Length: uint32(len(cb.data))}
	} else {
		b.Length = uint32(len(cb.data))
	}
	if err := e.dev.Queue(b, cb.planes); err != nil {
		return e.errorf("queue CAPTURE buffer %d: %w", i, err)
	}
	return nil
}

// Config returns the formats and buffer counts the driver agreed to.
func (e *Encoder) Config() Config { return e.cfg }

// Encode queues one raw frame, copying it once into a free OUTPUT
// buffer, honouring the driver's bytesperline. It blocks while every
// OUTPUT buffer is with the driver, which happens when coded frames are
// not taken with Next. It does not allocate.
func (e *Encoder) Encode(ctx context.Context, frame RawFrame) error {
	if e.cfg.Memory != v4l2.MemoryMMAP {
		return fmt.Errorf("v4l2m2m: Encode on a DMABUF encoder; use EncodeDMABUF")
	}
	if err := e.lay.check(&frame); err != nil {
		return err
	}
	if frame.Timestamp < 0 {
		return fmt.Errorf("v4l2m2m: negative timestamp %v", frame.Timestamp)
	}
	return e.enqueue(ctx, func(i int) (*v4l2.Buffer, []v4l2.Plane) {
		ob := &e.out[i]
		e.lay.copyFrame(ob.maps, &frame)
		b := &e.outScr
		*b = v4l2.Buffer{Type: e.outType, Memory: v4l2.MemoryMMAP, Index: uint32(i), Field: v4l2.FieldNone,
			Timestamp: v4l2.TimevalOf(frame.Timestamp)}
		if e.mplane {
			for p := range ob.planes {
				ob.planes[p] = v4l2.Plane{BytesUsed: uint32(e.cfg.SizeImage[p]), Length: uint32(len(ob.maps[p]))}
			}
		} else {
			b.BytesUsed, b.Length = uint32(e.cfg.SizeImage[0]), uint32(len(ob.maps[0]))
		}
		return b, ob.planes
	}, -1)
}

// EncodeDMABUF queues a raw frame held in the DMABUF fd (for example a
// camera buffer exported with VIDIOC_EXPBUF), without copying. The
// encoder must have been opened with Options.DMABUF, and the buffer
// must have the layout of Config (BytesPerLine, SizeImage) in a single
// plane. bytesUsed 0 means SizeImage. The driver reads the buffer
// asynchronously: the caller must not refill it until the packet with
// timestamp ts has come out of Next.
func (e *Encoder) EncodeDMABUF(ctx context.Context, fd int, bytesUsed int, ts time.Duration) error {
	if e.cfg.Memory != v4l2.MemoryDMABUF {
		return fmt.Errorf("v4l2m2m: EncodeDMABUF needs Options.DMABUF")
	}
	if len(e.cfg.SizeImage) != 1 {
		return fmt.Errorf("v4l2m2m: EncodeDMABUF supports single-plane buffers only (driver uses %d)", len(e.cfg.SizeImage))
	}
	if fd < 0 || ts < 0 || bytesUsed < 0 {
		return fmt.Errorf("v4l2m2m: EncodeDMABUF: bad fd %d, size %d or timestamp %v", fd, bytesUsed, ts)
	}
	if bytesUsed == 0 {
		bytesUsed = e.cfg.SizeImage[0]
	}
	return e.enqueue(ctx, func(i int) (*v4l2.Buffer, []v4l2.Plane) {
		ob := &e.out[i]
		ob.fd = fd
		b := &e.outScr
		*b = v4l2.Buffer{Type: e.outType, Memory: v4l2.MemoryDMABUF, Index: uint32(i), Field: v4l2.FieldNone,
			Timestamp: v4l2.TimevalOf(ts)}
		// The length is that of the imported buffer as far as the
		// driver needs it; vb2 rejects a multi-planar buffer whose
		// length is below bytesused, and one larger than the DMABUF.
		length := uint32(max(bytesUsed, e.cfg.SizeImage[0]))
		if e.mplane {
			ob.planes[0] = v4l2.Plane{BytesUsed: uint32(bytesUsed), Length: length, M: uintptr(fd)}
		} else {
			b.BytesUsed, b.Length, b.M = uint32(bytesUsed), length, uintptr(fd)
		}
		return b, ob.planes
	}, fd)
}

// enqueue waits for a free OUTPUT buffer, lets fill prepare it and
// queues it. With fd >= 0 it prefers the buffer that last held that
// DMABUF: the driver keeps the import attached to the buffer index.
// outMu is held while a buffer is filled and queued, not while waiting,
// so that Drain (from another goroutine) can proceed.
func (e *Encoder) enqueue(ctx context.Context, fill func(i int) (*v4l2.Buffer, []v4l2.Plane), fd int) error {
	for {
		done, err := e.tryEnqueue(fill, fd)
		if done || err != nil {
			return err
		}
		e.life.RLock()
		err = e.wait(ctx, unix.POLLOUT)
		e.life.RUnlock()
		if err != nil {
			return err
		}
	}
}

func (e *Encoder) tryEnqueue(fill func(i int) (*v4l2.Buffer, []v4l2.Plane), fd int) (bool, error) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed.Load() {
		return false, ErrClosed
	}
	if e.draining {
		return false, ErrDraining
	}
	if err := e.reclaimOutput(); err != nil {
		return false, err
	}
	n := len(e.outFree)
	if n == 0 {
		return false, nil
	}
	slot := n - 1
	if fd >= 0 {
		for k, idx := range e.outFree {
			if e.out[idx].fd == fd {
				slot = k
				break
			}
		}
	}
	i := e.outFree[slot]
	b, planes := fill(i)
	if err := e.dev.Queue(b, planes); err != nil {
		return false, e.errorf("queue OUTPUT buffer %d: %w", i, err)
	}
	e.outFree[slot] = e.outFree[n-1]
	e.outFree = e.outFree[:n-1]
	return true, nil
}

// reclaimOutput dequeues every OUTPUT buffer the driver has returned.
func (e *Encoder) reclaimOutput() error {
	for len(e.outFree) < len(e.out) {
		b := &e.outScr
		*b = v4l2.Buffer{Type: e.outType, Memory: e.cfg.Memory}
		var planes []v4l2.Plane
		if e.mplane {
			planes = e.outDQ
		}
		err := e.dev.Dequeue(b, planes)
		if errors.Is(err, unix.EAGAIN) {
			return nil
		}
		if err != nil {
			return e.errorf("dequeue OUTPUT: %w", err)
		}
		if b.Flags&v4l2.BufFlagError != 0 {
			e.log.Warn("v4l2m2m: driver flagged a raw frame as failed", "index", b.Index, "ts", b.Timestamp.Duration())
		}
		e.outFree = append(e.outFree, int(b.Index))
	}
	return nil
}

// wait polls for events until one is ready, ctx is done or the encoder
// is closed. life is read-locked by the caller.
func (e *Encoder) wait(ctx context.Context, events int16) error {
	for {
		if e.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d := pollSlice
		if dl, ok := ctx.Deadline(); ok {
			d = min(d, max(time.Until(dl), time.Millisecond))
		}
		rev, err := e.dev.Poll(events, d)
		if err != nil {
			return fmt.Errorf("v4l2m2m: %w", err)
		}
		if rev&events != 0 {
			return nil
		}
	}
}

// Next returns the next coded frame, waiting for it until ctx is done.
// The packet's Data is valid until the next call to Next, TryNext,
// Drain or Close, when its buffer goes back to the driver.
func (e *Encoder) Next(ctx context.Context) (Packet, error) {
	return e.next(ctx, true)
}

// TryNext is Next without waiting: it returns ErrNotReady when no coded
// frame is ready.
func (e *Encoder) TryNext() (Packet, error) {
	return e.next(context.Background(), false)
}

func (e *Encoder) next(ctx context.Context, block bool) (Packet, error) {
	for {
		pkt, err := e.tryNext()
		if !errors.Is(err, ErrNotReady) || !block {
			return pkt, err
		}
		e.life.RLock()
		err = e.wait(ctx, unix.POLLIN)
		e.life.RUnlock()
		if err != nil {
			return Packet{}, err
		}
	}
}

// tryNext dequeues a coded frame if one is ready. capMu is held only
// here, not while waiting, so that Drain can proceed.
func (e *Encoder) tryNext() (Packet, error) {
	e.capMu.Lock()
	defer e.capMu.Unlock()
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed.Load() {
		return Packet{}, ErrClosed
	}
	if err := e.requeueLent(); err != nil {
		return Packet{}, err
	}
	pkt, idx, last, err := e.dequeueCapture()
	switch {
	case err == nil && last && len(pkt.Data) == 0:
		// Only a drain ends with LAST, and Drain consumes it; here a
		// Drain gave up part-way.
		if err := e.queueCapture(idx); err != nil {
			return Packet{}, err
		}
		return Packet{}, ErrDraining
	case err == nil:
		e.lent = idx
		return pkt, nil
	case errors.Is(err, v4l2.ErrLast):
		return Packet{}, ErrDraining
	case errors.Is(err, unix.EAGAIN):
		return Packet{}, ErrNotReady
	}
	return Packet{}, err
}

// requeueLent returns the buffer of the last Packet to the driver.
func (e *Encoder) requeueLent() error {
	if e.lent < 0 {
		return nil
	}
	i := e.lent
	e.lent = -1
	return e.queueCapture(i)
}

// dequeueCapture dequeues one CAPTURE buffer. Empty or failed buffers
// that are not LAST are requeued and skipped. It returns an error
// wrapping unix.EAGAIN when none is ready, and v4l2.ErrLast after the
// last buffer of a drain.
func (e *Encoder) dequeueCapture() (pkt Packet, idx int, last bool, err error) {
	for {
		b := &e.capScr
		*b = v4l2.Buffer{Type: e.capType, Memory: v4l2.MemoryMMAP}
		var planes []v4l2.Plane
		if e.mplane {
			planes = e.capDQ
		}
		if err := e.dev.Dequeue(b, planes); err != nil {
			if errors.Is(err, v4l2.ErrLast) || errors.Is(err, unix.EAGAIN) {
				return Packet{}, -1, false, err
			}
			return Packet{}, -1, false, e.errorf("dequeue CAPTURE: %w", err)
		}
		idx = int(b.Index)
		if idx >= len(e.caps) {
			return Packet{}, -1, false, e.errorf("driver returned CAPTURE buffer %d of %d", idx, len(e.caps))
		}
		used, off := int(b.BytesUsed), 0
		if e.mplane {
			used, off = int(e.capDQ[0].BytesUsed), int(e.capDQ[0].DataOffset)
		}
		data := e.caps[idx].data
		if used > len(data) || off > used {
			return Packet{}, -1, false, e.errorf("CAPTURE buffer %d: bytesused %d, offset %d beyond its %d bytes", idx, used, off, len(data))
		}
		last = b.Flags&v4l2.BufFlagLast != 0
		failed := b.Flags&v4l2.BufFlagError != 0
		if failed {
			e.log.Warn("v4l2m2m: driver flagged a coded frame as failed", "ts", b.Timestamp.Duration(), "seq", b.Sequence)
		}
		pkt = Packet{
			Data:      data[off:used],
			Timestamp: b.Timestamp.Duration(),
			KeyFrame:  b.Flags&v4l2.BufFlagKeyFrame != 0,
			Sequence:  b.Sequence,
		}
		if failed {
			pkt.Data = data[:0]
		}
		if last && len(pkt.Data) > 0 && e.delivered && pkt.Timestamp <= e.lastTS {
			// The framework flags an idle buffer LAST without clearing
			// its payload (v4l2_m2m_last_buffer_done); what it holds is
			// an old frame, recognisable by its old timestamp.
			e.log.Debug("v4l2m2m: LAST buffer holds a stale payload; treated as empty", "ts", pkt.Timestamp, "bytes", len(pkt.Data))
			pkt.Data = data[:0]
		}
		if len(pkt.Data) > 0 {
			e.lastTS, e.delivered = pkt.Timestamp, true
		}
		if len(pkt.Data) > 0 || last {
			return pkt, idx, last, nil
		}
		if err := e.queueCapture(idx); err != nil {
			return Packet{}, -1, false, err
		}
	}
}

// Drain flushes the encoder: it sends V4L2_ENC_CMD_STOP, hands every
// remaining coded frame to fn (which may be nil; the packet is only
// valid during the call), waits for the buffer flagged
// V4L2_BUF_FLAG_LAST, and then restarts the encoder with
// V4L2_ENC_CMD_START (or, for drivers that do not resume on START, by
// restarting the CAPTURE queue) so that Encode can continue. Frames
// queued before Drain all come out; for H.264 encoding resumes with an
// IDR when the CAPTURE queue had to be restarted.
//
// If ctx ends or fn fails, Drain returns the error and the encoder stays
// draining: Encode and Next return ErrDraining until a later Drain
// completes.
func (e *Encoder) Drain(ctx context.Context, fn func(Packet) error) error {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	e.capMu.Lock()
	defer e.capMu.Unlock()
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed.Load() {
		return ErrClosed
	}
	if err := e.requeueLent(); err != nil {
		return err
	}
	if !e.draining {
		if err := e.dev.EncoderCommand(v4l2.EncCmdStop); err != nil {
			return e.errorf("drain: encoder command STOP: %w", err)
		}
		e.draining = true
	}
	for done := false; !done; {
		if err := e.reclaimOutput(); err != nil {
			return err
		}
		pkt, idx, last, err := e.dequeueCapture()
		switch {
		case errors.Is(err, v4l2.ErrLast):
			done = true
			continue
		case errors.Is(err, unix.EAGAIN):
			if err := e.wait(ctx, unix.POLLIN); err != nil {
				return fmt.Errorf("v4l2m2m: drain: %w", err)
			}
			continue
		case err != nil:
			return err
		}
		var ferr error
		if len(pkt.Data) > 0 && fn != nil {
			ferr = fn(pkt)
		}
		if last {
			// The driver will not fill buffers again before the restart;
			// requeue it all the same so restart finds it queued.
			done = true
		}
		if err := e.queueCapture(idx); err != nil {
			return err
		}
		if ferr != nil {
			if done {
				// The drain itself completed: restart before reporting.
				if err := e.restart(); err != nil {
					return err
				}
			}
			return ferr
		}
	}
	if err := e.reclaimOutput(); err != nil {
		return err
	}
	return e.restart()
}

// restart resumes encoding after the LAST buffer: ENC_CMD_START, and,
// if the CAPTURE queue still reports the end of stream (vb2 keeps
// returning EPIPE until the driver clears it, which not every driver
// does on START), STREAMOFF/STREAMON of the CAPTURE queue.
func (e *Encoder) restart() error {
	startErr := e.dev.EncoderCommand(v4l2.EncCmdStart)
	needReset := startErr != nil
	if startErr == nil {
		_, idx, _, err := e.dequeueCapture()
		switch {
		case err == nil:
			e.log.Warn("v4l2m2m: unexpected coded frame right after drain; dropped")
			if err := e.queueCapture(idx); err != nil {
				return err
			}
		case errors.Is(err, v4l2.ErrLast):
			needReset = true
		case !errors.Is(err, unix.EAGAIN):
			return err
		}
	}
	if needReset {
		e.log.Debug("v4l2m2m: restarting the CAPTURE queue after drain", "start_err", startErr)
		if err := e.dev.StreamOff(e.capType); err != nil {
			return e.errorf("restart: stop CAPTURE: %w", err)
		}
		for i := range e.caps {
			if err := e.queueCapture(i); err != nil {
				return err
			}
		}
		if err := e.dev.StreamOn(e.capType); err != nil {
			return e.errorf("restart: start CAPTURE: %w", err)
		}
	}
	e.draining = false
	return nil
}

// ForceKeyFrame asks the encoder to make the next frame a key frame
// (V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME). It returns an error wrapping
// errors.ErrUnsupported when the driver lacks the control.
func (e *Encoder) ForceKeyFrame() error {
	return e.liveControl("force key frame", v4l2.CIDMPEGVideoForceKeyFrame, 1)
}

// SetBitrate changes the target bitrate, in bits per second, while
// encoding. It returns an error wrapping errors.ErrUnsupported when the
// driver lacks the control.
func (e *Encoder) SetBitrate(bps int) error {
	if bps <= 0 || bps > 1<<31-1 {
		return fmt.Errorf("v4l2m2m: bitrate %d out of range", bps)
	}
	return e.liveControl("bitrate", v4l2.CIDMPEGVideoBitrate, int32(bps))
}

func (e *Encoder) liveControl(name string, id uint32, v int32) error {
	e.life.RLock()
	defer e.life.RUnlock()
	if e.closed.Load() {
		return ErrClosed
	}
	if err := e.dev.SetControl(id, v); err != nil {
		if unsupported(err) {
			return e.errorf("set %s: %w: %w", name, errors.ErrUnsupported, err)
		}
		return e.errorf("set %s: %w", name, err)
	}
	return nil
}

// Close stops streaming, unmaps and frees the buffers and closes the
// device. Blocked calls return ErrClosed. Closing twice is a no-op.
func (e *Encoder) Close() error {
	if e.closed.Swap(true) {
		return nil
	}
	e.outMu.Lock()
	defer e.outMu.Unlock()
	e.capMu.Lock()
	defer e.capMu.Unlock()
	e.life.Lock()
	defer e.life.Unlock()
	return e.release()
}

// release tears down whatever setup built, reporting the first error.
func (e *Encoder) release() error {
	var errs []error
	if e.out != nil {
		if err := e.dev.StreamOff(e.outType); err != nil {
			errs = append(errs, err)
		}
	}
	if e.caps != nil {
		if err := e.dev.StreamOff(e.capType); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range e.out {
		for _, m := range e.out[i].maps {
			if err := v4l2.Munmap(m); err != nil {
				errs = append(errs, err)
			}
		}
		e.out[i].maps = nil
	}
	for i := range e.caps {
		if e.caps[i].data != nil {
			if err := v4l2.Munmap(e.caps[i].data); err != nil {
				errs = append(errs, err)
			}
			e.caps[i].data = nil
		}
	}
	if e.out != nil {
		if _, err := e.dev.RequestBuffers(e.outType, e.cfg.Memory, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if e.caps != nil {
		if _, err := e.dev.RequestBuffers(e.capType, v4l2.MemoryMMAP, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.dev.Close(); err != nil {
		errs = append(errs, err)
	}
	e.lent = -1
	if len(errs) > 0 {
		return fmt.Errorf("v4l2m2m: close %s: %w", e.dev.Path(), errors.Join(errs...))
	}
	return nil
}
