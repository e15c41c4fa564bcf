package v4l2

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/blackjack/webcam"
	"golang.org/x/sys/unix"

	"github.com/ipcamd/ipcamd/h264"
	iv "github.com/ipcamd/ipcamd/internal/v4l2"
)

// Configuration errors: reopening the device will not help.
var (
	// ErrNotCapture is returned for a node that is not a streaming
	// video capture device.
	ErrNotCapture = errors.New("capture/v4l2: not a streaming video capture device")
	// ErrFormatChanged is returned by Run when the reopened device no
	// longer offers the mode the Source was opened with (another camera
	// took its node, say): what the Source delivers would change under
	// the pipeline's feet.
	ErrFormatChanged = errors.New("capture/v4l2: device no longer offers the opened mode")
)

// Errors of device.next that are not failures.
var (
	errNoFrame = errors.New("capture/v4l2: no frame ready")
	errSkipped = errors.New("capture/v4l2: frame dropped")
)

// device is an open, configured and streaming capture device: the seam
// between Source.Run's recovery logic and V4L2, so that tests can fake
// it.
type device interface {
	// mode returns what the device captures.
	mode() Mode
	// next waits up to timeout for the next frame and points f at it.
	// It returns errNoFrame if none came in time, errSkipped if the
	// driver returned a buffer unfit to deliver (the buffer is
	// requeued), and any other error if the device failed.
	next(timeout time.Duration, f *Frame) error
	// requeue gives f's buffer back to the driver.
	requeue(f *Frame) error
	// setControl sets a V4L2 control.
	setControl(id uint32, value int32) error
	// close stops streaming and releases everything.
	close() error
}

// numBuffers is how many buffers are requested from the driver.
const numBuffers = 4

// v4l2Device is a device on a real V4L2 node. See doc.go for what goes
// through blackjack/webcam and what through internal/v4l2.
type v4l2Device struct {
	dev    *iv.Device
	cam    *webcam.Webcam // nil for multi-planar nodes
	typ    uint32
	m      Mode
	lay    layout
	bufs   [][][]byte // mmap'd memory: [buffer][memory plane]
	planes []iv.Plane // scratch for multi-planar ioctls
	views  [][]byte   // scratch: the memory planes of a dequeued buffer
	used   []int      // scratch: their bytes used
	log    *slog.Logger
	warned bool // about non-monotonic timestamps
}

// openDevice opens the node at path and starts streaming. With want nil
// it chooses a mode for req; otherwise it sets want exactly, failing
// with ErrFormatChanged if the device cannot do it.
func openDevice(path string, req request, want *Mode, log *slog.Logger) (_ *v4l2Device, err error) {
	dev, err := iv.Open(path)
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: %w", err)
	}
	d := &v4l2Device{dev: dev, log: log}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	c, err := dev.QueryCap()
	if err != nil {
		return nil, fmt.Errorf("capture/v4l2: %w", err)
	}
	caps := Caps(c.Caps())
	if !caps.Capture() {
		return nil, fmt.Errorf("%w: %s (%s, caps %v)", ErrNotCapture, path, iv.CString(c.Driver[:]), caps)
	}
	d.typ = bufType(caps)
	if d.typ == iv.BufTypeVideoCapture {
		if d.cam, err = webcam.Open(path); err != nil {
			return nil, fmt.Errorf("capture/v4l2: open %s with webcam: %w", path, err)
		}
	}
	formats, err := enumerate(dev, d.cam, d.typ)
	if err != nil {
		return nil, err
	}
	var m Mode
	if want == nil {
		if m, err = choose(formats, req); err != nil {
			return nil, fmt.Errorf("%w on %s", err, path)
		}
	} else {
		m = *want
		if _, err := choose(formats, request{format: m.Format}); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormatChanged, path, err)
		}
	}
	if err := d.setFormat(&m, want != nil); err != nil {
		return nil, err
	}
	d.setInterval(&m)
	d.m = m
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

// setFormat sets m's format and size, through webcam when there is one,
// then reads the format back on d.dev (and sets it there if it did not
// stick) and computes the frame layout. The driver may adjust the size:
// m is updated, unless exact, when that is an error.
func (d *v4l2Device) setFormat(m *Mode, exact bool) error {
	path := d.dev.Path()
	if d.cam != nil {
		if _, _, _, err := d.cam.SetImageFormat(webcam.PixelFormat(m.Format), uint32(m.Width), uint32(m.Height)); err != nil {
			return fmt.Errorf("capture/v4l2: set format %v %dx%d on %s: %w", m.Format, m.Width, m.Height, path, err)
		}
	}
	f := iv.Format{Type: d.typ}
	if err := d.dev.GetFormat(&f); err != nil {
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	if pf, w, h := d.current(&f); d.cam == nil || pf != m.Format || w != m.Width || h != m.Height {
		// Multi-planar, or the format set through webcam's file
		// descriptor did not show on ours: set it on ours.
		if d.cam != nil {
			d.log.Debug("capture/v4l2: format set through webcam not seen on the streaming descriptor, setting it there",
				"device", path, "want", m.String(), "got", fmt.Sprintf("%v %dx%d", pf, w, h))
		}
		f = iv.Format{Type: d.typ}
		if d.typ == iv.BufTypeVideoCaptureMPlane {
			p := f.PixMP()
			p.Width, p.Height, p.PixelFormat, p.Field = uint32(m.Width), uint32(m.Height), uint32(m.Format), iv.FieldNone
		} else {
			p := f.Pix()
			p.Width, p.Height, p.PixelFormat, p.Field = uint32(m.Width), uint32(m.Height), uint32(m.Format), iv.FieldNone
		}
		if err := d.dev.SetFormat(&f); err != nil {
			return fmt.Errorf("capture/v4l2: set format %v %dx%d: %w", m.Format, m.Width, m.Height, err)
		}
	}
	pf, w, h := d.current(&f)
	switch {
	case pf != m.Format:
		err := fmt.Errorf("capture/v4l2: %s: asked for format %v, the driver set %v", path, m.Format, pf)
		if exact {
			err = fmt.Errorf("%w: %v", ErrFormatChanged, err)
		}
		return err
	case exact && (w != m.Width || h != m.Height):
		return fmt.Errorf("%w: %s: asked for %dx%d, the driver set %dx%d", ErrFormatChanged, path, m.Width, m.Height, w, h)
	case w != m.Width || h != m.Height:
		d.log.Warn("capture/v4l2: driver adjusted the frame size", "device", path,
			"asked", fmt.Sprintf("%dx%d", m.Width, m.Height), "got", fmt.Sprintf("%dx%d", w, h))
		m.Width, m.Height = w, h
	}
	var mem []memPlane
	if d.typ == iv.BufTypeVideoCaptureMPlane {
		p := f.PixMP()
		for i := 0; i < int(p.NumPlanes) && i < len(p.PlaneFmt); i++ {
			mem = append(mem, memPlane{int(p.PlaneFmt[i].BytesPerLine), int(p.PlaneFmt[i].SizeImage)})
		}
	} else {
		p := f.Pix()
		mem = []memPlane{{int(p.BytesPerLine), int(p.SizeImage)}}
	}
	lay, err := newLayout(m.Format, w, h, mem)
	if err != nil {
		return fmt.Errorf("%w on %s", err, path)
	}
	d.lay = lay
	return nil
}

// current returns the pixel format and size in f.
func (d *v4l2Device) current(f *iv.Format) (FourCC, int, int) {
	if d.typ == iv.BufTypeVideoCaptureMPlane {
		p := f.PixMP()
		return FourCC(p.PixelFormat), int(p.Width), int(p.Height)
	}
	p := f.Pix()
	return FourCC(p.PixelFormat), int(p.Width), int(p.Height)
}

// setInterval sets the frame interval m asks for, if the driver lets it
// be set (through webcam's SetFramerate when there is one), and updates
// m with what the driver reports. A driver that refuses is logged, not
// an error: the stream works at whatever rate it has.
func (d *v4l2Device) setInterval(m *Mode) {
	p := iv.StreamParm{Type: d.typ}
	if err := d.dev.GetParm(&p); err != nil {
		d.log.Debug("capture/v4l2: cannot read the frame interval", "device", d.dev.Path(), "err", err)
		m.Interval = Fraction{}
		return
	}
	if p.Parm.Capability&iv.CapTimePerFrame != 0 && !m.Interval.IsZero() {
		var err error
		if d.cam != nil {
			err = d.cam.SetFramerate(float32(m.Interval.FPS()))
		} else {
			s := iv.StreamParm{Type: d.typ}
			s.Parm.TimePerFrame = iv.Fract{Numerator: m.Interval.Num, Denominator: m.Interval.Den}
			err = d.dev.SetParm(&s)
		}
		if err != nil {
			d.log.Warn("capture/v4l2: cannot set the frame rate", "device", d.dev.Path(), "fps", m.Interval.FPS(), "err", err)
		}
		p = iv.StreamParm{Type: d.typ}
		if err := d.dev.GetParm(&p); err != nil {
			m.Interval = Fraction{}
			return
		}
	}
	m.Interval = reduce(frac(p.Parm.TimePerFrame))
}

// start requests and maps the buffers, queues them and starts
// streaming.
func (d *v4l2Device) start() error {
	n, err := d.dev.RequestBuffers(d.typ, iv.MemoryMMAP, numBuffers)
	if err != nil {
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	if n < 2 {
		return fmt.Errorf("capture/v4l2: %s: driver allocated %d buffers, need 2", d.dev.Path(), n)
	}
	nmem := 1
	if d.typ == iv.BufTypeVideoCaptureMPlane {
		nmem = len(d.lay.need)
		if d.lay.compressed {
			nmem = 1
		}
		d.planes = make([]iv.Plane, nmem)
	}
	d.views = make([][]byte, nmem)
	d.used = make([]int, nmem)
	for i := uint32(0); i < n; i++ {
		b := iv.Buffer{Index: i, Type: d.typ, Memory: iv.MemoryMMAP}
		if err := d.dev.QueryBuffer(&b, d.planes); err != nil {
			return fmt.Errorf("capture/v4l2: %w", err)
		}
		var mem [][]byte
		if d.planes == nil {
			m, err := d.dev.Mmap(int64(b.M), int(b.Length))
			if err != nil {
				return err
			}
			mem = [][]byte{m}
		} else {
			for _, p := range d.planes {
				m, err := d.dev.Mmap(int64(p.M), int(p.Length))
				if err != nil {
					return err
				}
				mem = append(mem, m)
			}
		}
		d.bufs = append(d.bufs, mem)
		if err := d.queue(i); err != nil {
			return err
		}
	}
	if err := d.dev.StreamOn(d.typ); err != nil {
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	return nil
}

// queue queues buffer i.
func (d *v4l2Device) queue(i uint32) error {
	b := iv.Buffer{Index: i, Type: d.typ, Memory: iv.MemoryMMAP}
	clear(d.planes)
	if err := d.dev.Queue(&b, d.planes); err != nil {
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	return nil
}

func (d *v4l2Device) mode() Mode { return d.m }

func (d *v4l2Device) next(timeout time.Duration, f *Frame) error {
	ev, err := d.dev.Poll(unix.POLLIN, timeout)
	if err != nil {
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	if ev&unix.POLLIN == 0 {
		return errNoFrame
	}
	b := iv.Buffer{Type: d.typ, Memory: iv.MemoryMMAP}
	clear(d.planes)
	if err := d.dev.Dequeue(&b, d.planes); err != nil {
		if errors.Is(err, unix.EAGAIN) {
			return errNoFrame
		}
		return fmt.Errorf("capture/v4l2: %w", err)
	}
	if int(b.Index) >= len(d.bufs) {
		return fmt.Errorf("capture/v4l2: %s: driver returned buffer %d of %d", d.dev.Path(), b.Index, len(d.bufs))
	}
	mem := d.bufs[b.Index]
	if d.planes == nil {
		d.views[0], d.used[0] = mem[0], int(b.BytesUsed)
	} else {
		for i, p := range d.planes {
			off := min(int(p.DataOffset), len(mem[i]))
			d.views[i], d.used[i] = mem[i][off:], int(p.BytesUsed)-off
		}
	}
	f.index = b.Index
	if b.Flags&iv.BufFlagError != 0 || !d.lay.fill(f, d.views, d.used) {
		if err := d.queue(b.Index); err != nil {
			return err
		}
		return errSkipped
	}
	f.Width, f.Height = d.m.Width, d.m.Height
	f.Sequence = b.Sequence
	f.Timestamp = b.Timestamp.Duration()
	if b.Flags&iv.BufFlagTimestampMask != iv.BufFlagTimestampMonotonic && !d.warned {
		d.warned = true
		d.log.Warn("capture/v4l2: driver timestamps are not on CLOCK_MONOTONIC", "device", d.dev.Path(), "flags", fmt.Sprintf("%#x", b.Flags))
	}
	switch {
	case f.Format != H264:
		f.KeyFrame = true
	case b.Flags&iv.BufFlagKeyFrame != 0:
		f.KeyFrame = true
	default:
		f.KeyFrame = hasIDR(f.Data)
	}
	return nil
}

// hasIDR reports whether an Annex-B byte stream holds an IDR slice.
func hasIDR(b []byte) bool {
	for n, rest := h264.NextNALU(b); n != nil; n, rest = h264.NextNALU(rest) {
		if h264.Type(n) == h264.NALUIDR {
			return true
		}
	}
	return false
}

func (d *v4l2Device) requeue(f *Frame) error { return d.queue(f.index) }

func (d *v4l2Device) setControl(id uint32, value int32) error {
	if d.cam != nil {
		if err := d.cam.SetControl(webcam.ControlID(id), value); err != nil {
			return fmt.Errorf("capture/v4l2: set control %#x = %d on %s: %w", id, value, d.dev.Path(), err)
		}
		return nil
	}
	if err := d.dev.SetControl(id, value); err != nil {
		return fmt.Errorf("capture/v4l2: %s: %w", d.dev.Path(), err)
	}
	return nil
}

// close stops streaming, unmaps and frees the buffers and closes the
// file descriptors. On a vanished device the ioctls fail; that is
// expected, and only the first error is returned.
func (d *v4l2Device) close() error {
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	if d.bufs != nil {
		keep(d.dev.StreamOff(d.typ))
	}
	for _, mem := range d.bufs {
		for _, m := range mem {
			keep(iv.Munmap(m))
		}
	}
	if d.bufs != nil {
		_, err := d.dev.RequestBuffers(d.typ, iv.MemoryMMAP, 0)
		keep(err)
	}
	d.bufs = nil
	if d.cam != nil {
		keep(d.cam.Close())
	}
	keep(d.dev.Close())
	return first
}
