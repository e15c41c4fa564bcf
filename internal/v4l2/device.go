package v4l2

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is an open V4L2 device node. Its methods are thin wrappers of
// the ioctls; errors name the ioctl and the device. A Device is not safe
// for concurrent use, except Close.
type Device struct {
	fd   int
	path string
}

// Open opens the device node at path, non-blocking, so that Dequeue
// returns unix.EAGAIN instead of waiting (wait with Poll).
func Open(path string) (*Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("v4l2: open %s: %w", path, err)
	}
	return &Device{fd: fd, path: path}, nil
}

// Path returns the device node's path.
func (d *Device) Path() string { return d.path }

// Fd returns the file descriptor.
func (d *Device) Fd() int { return d.fd }

// Close closes the device.
func (d *Device) Close() error { return unix.Close(d.fd) }

// Errors worth telling apart.
var (
	// ErrLast is returned by Dequeue after the buffer with BufFlagLast
	// (EPIPE): the queue is drained.
	ErrLast = errors.New("v4l2: queue drained")
)

func (d *Device) ioctl(name string, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), req, uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return &Error{Op: name, Path: d.path, Err: errno}
	}
}

// Error is a failed ioctl.
type Error struct {
	Op   string // the ioctl, e.g. "VIDIOC_S_FMT"
	Path string
	Err  unix.Errno
}

func (e *Error) Error() string { return fmt.Sprintf("v4l2: %s on %s: %v", e.Op, e.Path, e.Err) }

// Unwrap returns the errno, for errors.Is(err, unix.EINVAL) and the like.
func (e *Error) Unwrap() error { return e.Err }

// QueryCap returns the device's capabilities.
func (d *Device) QueryCap() (Capability, error) {
	var c Capability
	err := d.ioctl("VIDIOC_QUERYCAP", vidiocQueryCap, unsafe.Pointer(&c))
	return c, err
}

// Formats lists the pixel formats of buffer type typ.
func (d *Device) Formats(typ uint32) ([]FmtDesc, error) {
	var out []FmtDesc
	for i := uint32(0); i < 256; i++ {
		f := FmtDesc{Index: i, Type: typ}
		if err := d.ioctl("VIDIOC_ENUM_FMT", vidiocEnumFmt, unsafe.Pointer(&f)); err != nil {
			if errors.Is(err, unix.EINVAL) {
				return out, nil
			}
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

// FrameSizes lists the frame sizes of pixel format pix.
func (d *Device) FrameSizes(pix uint32) ([]FrmSizeEnum, error) {
	var out []FrmSizeEnum
	for i := uint32(0); i < 256; i++ {
		f := FrmSizeEnum{Index: i, PixelFormat: pix}
		if err := d.ioctl("VIDIOC_ENUM_FRAMESIZES", vidiocEnumFrameSizes, unsafe.Pointer(&f)); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
				return out, nil
			}
			return out, err
		}
		out = append(out, f)
		if f.Type != FrmSizeTypeDiscrete {
			break
		}
	}
	return out, nil
}

// FrameIntervals lists the frame intervals of pix at width×height.
func (d *Device) FrameIntervals(pix, width, height uint32) ([]FrmIvalEnum, error) {
	var out []FrmIvalEnum
	for i := uint32(0); i < 256; i++ {
		f := FrmIvalEnum{Index: i, PixelFormat: pix, Width: width, Height: height}
		if err := d.ioctl("VIDIOC_ENUM_FRAMEINTERVALS", vidiocEnumFrameIntervals, unsafe.Pointer(&f)); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
				return out, nil
			}
			return out, err
		}
		out = append(out, f)
		if f.Type != FrmIvalTypeDiscrete {
			break
		}
	}
	return out, nil
}

// GetFormat fills f (whose Type is set) with the current format.
func (d *Device) GetFormat(f *Format) error {
	return d.ioctl("VIDIOC_G_FMT", vidiocGFmt, unsafe.Pointer(f))
}

// SetFormat sets f; the driver adjusts it to what it can do.
func (d *Device) SetFormat(f *Format) error {
	return d.ioctl("VIDIOC_S_FMT", vidiocSFmt, unsafe.Pointer(f))
}

// TryFormat adjusts f as SetFormat would, without applying it.
func (d *Device) TryFormat(f *Format) error {
	return d.ioctl("VIDIOC_TRY_FMT", vidiocTryFmt, unsafe.Pointer(f))
}

// GetParm fills p (whose Type is set) with the streaming parameters.
func (d *Device) GetParm(p *StreamParm) error {
	return d.ioctl("VIDIOC_G_PARM", vidiocGParm, unsafe.Pointer(p))
}

// SetParm sets the streaming parameters, such as the frame interval.
func (d *Device) SetParm(p *StreamParm) error {
	return d.ioctl("VIDIOC_S_PARM", vidiocSParm, unsafe.Pointer(p))
}

// RequestBuffers asks for count buffers of type typ and memory mem, and
// returns how many the driver allocated (count 0 frees them).
func (d *Device) RequestBuffers(typ, mem, count uint32) (uint32, error) {
	r := RequestBuffers{Count: count, Type: typ, Memory: mem}
	err := d.ioctl("VIDIOC_REQBUFS", vidiocReqBufs, unsafe.Pointer(&r))
	return r.Count, err
}

// MultiPlanar reports whether typ is a multi-planar buffer type.
func MultiPlanar(typ uint32) bool {
	return typ == BufTypeVideoCaptureMPlane || typ == BufTypeVideoOutputMPlane
}

// bufferCall runs a buffer ioctl. For multi-planar types, planes holds
// the planes (len(planes) of them) and b.M points to them during the call.
func (d *Device) bufferCall(name string, req uintptr, b *Buffer, planes []Plane) error {
	if !MultiPlanar(b.Type) {
		return d.ioctl(name, req, unsafe.Pointer(b))
	}
	if len(planes) == 0 {
		return fmt.Errorf("v4l2: %s on %s: multi-planar buffer without planes", name, d.path)
	}
	var pin runtime.Pinner
	pin.Pin(&planes[0])
	defer pin.Unpin()
	b.M = uintptr(unsafe.Pointer(&planes[0]))
	b.Length = uint32(len(planes))
	err := d.ioctl(name, req, unsafe.Pointer(b))
	b.M = 0
	return err
}

// QueryBuffer fills b (Type, Memory and Index set) and, for
// multi-planar types, planes.
func (d *Device) QueryBuffer(b *Buffer, planes []Plane) error {
	return d.bufferCall("VIDIOC_QUERYBUF", vidiocQueryBuf, b, planes)
}

// Queue queues buffer b (with planes, for multi-planar types).
func (d *Device) Queue(b *Buffer, planes []Plane) error {
	return d.bufferCall("VIDIOC_QBUF", vidiocQBuf, b, planes)
}

// Dequeue dequeues a filled buffer into b (Type and Memory set) and
// planes. It returns an error wrapping unix.EAGAIN when none is ready, and
// ErrLast after the last buffer of a drained queue.
func (d *Device) Dequeue(b *Buffer, planes []Plane) error {
	err := d.bufferCall("VIDIOC_DQBUF", vidiocDQBuf, b, planes)
	if errors.Is(err, unix.EPIPE) {
		return ErrLast
	}
	return err
}

// ExportBuffer exports plane of buffer index as a DMABUF file descriptor.
func (d *Device) ExportBuffer(typ, index, plane uint32) (int, error) {
	e := ExportBuffer{Type: typ, Index: index, Plane: plane, Flags: unix.O_CLOEXEC | unix.O_RDWR}
	err := d.ioctl("VIDIOC_EXPBUF", vidiocExpBuf, unsafe.Pointer(&e))
	return int(e.FD), err
}

// StreamOn starts streaming on queue typ.
func (d *Device) StreamOn(typ uint32) error {
	t := int32(typ)
	return d.ioctl("VIDIOC_STREAMON", vidiocStreamOn, unsafe.Pointer(&t))
}

// StreamOff stops streaming on queue typ, returning all its buffers to
// the application.
func (d *Device) StreamOff(typ uint32) error {
	t := int32(typ)
	return d.ioctl("VIDIOC_STREAMOFF", vidiocStreamOff, unsafe.Pointer(&t))
}

// SetControl sets control id to value.
func (d *Device) SetControl(id uint32, value int32) error {
	c := Control{ID: id, Value: value}
	if err := d.ioctl("VIDIOC_S_CTRL", vidiocSCtrl, unsafe.Pointer(&c)); err != nil {
		return fmt.Errorf("control %#x = %d: %w", id, value, err)
	}
	return nil
}

// GetControl returns the value of control id.
func (d *Device) GetControl(id uint32) (int32, error) {
	c := Control{ID: id}
	err := d.ioctl("VIDIOC_G_CTRL", vidiocGCtrl, unsafe.Pointer(&c))
	return c.Value, err
}

// QueryControl describes control id.
func (d *Device) QueryControl(id uint32) (QueryCtrl, error) {
	q := QueryCtrl{ID: id}
	err := d.ioctl("VIDIOC_QUERYCTRL", vidiocQueryCtrl, unsafe.Pointer(&q))
	return q, err
}

// EncoderCommand sends an encoder command such as EncCmdStop.
func (d *Device) EncoderCommand(cmd uint32) error {
	c := EncoderCmd{Cmd: cmd}
	return d.ioctl("VIDIOC_ENCODER_CMD", vidiocEncoderCmd, unsafe.Pointer(&c))
}

// SetSelection sets a selection rectangle, such as the crop of an
// encoder's OUTPUT queue.
func (d *Device) SetSelection(s *Selection) error {
	return d.ioctl("VIDIOC_S_SELECTION", vidiocSSelection, unsafe.Pointer(s))
}

// GetSelection reads a selection rectangle.
func (d *Device) GetSelection(s *Selection) error {
	return d.ioctl("VIDIOC_G_SELECTION", vidiocGSelection, unsafe.Pointer(s))
}

// Poll waits up to timeout for events (unix.POLLIN, unix.POLLOUT,
// unix.POLLPRI) and returns those that happened; none means the timeout
// passed. POLLERR is returned as an error.
func (d *Device) Poll(events int16, timeout time.Duration) (int16, error) {
	fds := []unix.PollFd{{Fd: int32(d.fd), Events: events}}
	ms := int(timeout / time.Millisecond)
	for {
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("v4l2: poll %s: %w", d.path, err)
		}
		if n == 0 {
			return 0, nil
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLNVAL|unix.POLLHUP) != 0 && fds[0].Revents&events == 0 {
			return fds[0].Revents, fmt.Errorf("v4l2: poll %s: device error (revents %#x)", d.path, fds[0].Revents)
		}
		return fds[0].Revents, nil
	}
}

// Mmap maps length bytes of the device at offset (a buffer's MMAP
// offset) read-write and shared.
func (d *Device) Mmap(offset int64, length int) ([]byte, error) {
	b, err := unix.Mmap(d.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("v4l2: mmap %s: %w", d.path, err)
	}
	return b, nil
}

// Munmap unmaps a buffer mapped with Mmap.
func Munmap(b []byte) error { return unix.Munmap(b) }

// Duration converts a buffer timestamp to a time.Duration since the
// clock's origin (CLOCK_MONOTONIC for BufFlagTimestampMonotonic).
func (t Timeval) Duration() time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

// TimevalOf converts a duration to a buffer timestamp.
func TimevalOf(d time.Duration) Timeval {
	return Timeval{Sec: int(d / time.Second), Usec: int(d % time.Second / time.Microsecond)}
}
