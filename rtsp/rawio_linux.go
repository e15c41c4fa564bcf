package rtsp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawWriter makes single non-blocking writev(2) calls on a stream socket.
type rawWriter struct {
	rc  syscall.RawConn
	iov []unix.Iovec
	n   int
	err error
	fn  func(fd uintptr) bool // w.write as a value, made once
}

func newRawWriter(c net.Conn) (*rawWriter, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("rtsp: connection has no file descriptor")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	w := &rawWriter{rc: rc}
	w.fn = w.write
	return w, nil
}

// writev writes as much of v as the socket takes now, and returns how many
// bytes that was. It does not wait.
func (w *rawWriter) writev(v net.Buffers) (int, error) {
	if len(v) > 1024 { // IOV_MAX: leave big batches to the blocking path
		return 0, nil
	}
	w.iov = w.iov[:0]
	for _, b := range v {
		if len(b) == 0 {
			continue
		}
		var iov unix.Iovec
		iov.Base = &b[0]
		iov.SetLen(len(b))
		w.iov = append(w.iov, iov)
	}
	w.n, w.err = 0, nil
	if err := w.rc.Write(w.fn); err != nil {
		return 0, err
	}
	clear(w.iov)
	return w.n, w.err
}

// write is the RawConn callback; it never asks to wait.
func (w *rawWriter) write(fd uintptr) bool {
	if len(w.iov) == 0 {
		return true
	}
	for {
		r, _, e := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(len(w.iov)))
		switch e {
		case 0:
			w.n = int(r)
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			w.err = e
		}
		return true
	}
}

// mmsghdr is struct mmsghdr of sendmmsg(2); Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// datagramWriter sends frames to one UDP destination, every packet a
// datagram, with one sendmmsg(2) call per batch and no allocation. The
// socket may be shared with other writers.
type datagramWriter struct {
	rc   syscall.RawConn
	sa4  unix.RawSockaddrInet4
	sa6  unix.RawSockaddrInet6
	name *byte
	nlen uint32

	msgs    []mmsghdr
	iovs    []unix.Iovec
	off     int  // first message not sent yet
	wait    bool // whether send may wait for the socket
	pending int  // packets of the head frame already sent by tryWrite
	one     [1]*frame
	fn      func(fd uintptr) bool // w.send as a value, made once
	secure  bool                  // send the frames' SRTP packets
}

func newDatagramWriter(c *net.UDPConn, to netip.AddrPort) (*datagramWriter, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var domain int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		domain, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, serr
	}
	w := &datagramWriter{rc: rc}
	port := to.Port()
	switch {
	case domain == unix.AF_INET && to.Addr().Unmap().Is4():
		w.sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: to.Addr().Unmap().As4()}
		w.sa4.Port = port<<8 | port>>8 // network byte order
		w.name, w.nlen = (*byte)(unsafe.Pointer(&w.sa4)), unix.SizeofSockaddrInet4
	case domain == unix.AF_INET6:
		w.sa6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: to.Addr().As16()}
		w.sa6.Port = port<<8 | port>>8
		w.name, w.nlen = (*byte)(unsafe.Pointer(&w.sa6)), unix.SizeofSockaddrInet6
	default:
		return nil, errors.New("rtsp: UDP socket family does not fit the client address")
	}
	w.fn = w.send
	return w, nil
}

// prepare fills the message headers for the packets of frames.
func (w *datagramWriter) prepare(frames []*frame) int {
	n := 0
	for _, f := range frames {
		n += f.packets()
	}
	if cap(w.msgs) < n {
		w.msgs = make([]mmsghdr, n)
		w.iovs = make([]unix.Iovec, n)
	}
	w.msgs, w.iovs = w.msgs[:n], w.iovs[:n]
	k := 0
	for _, f := range frames {
		for i := range f.packets() {
			p := f.wirePacket(w.secure, i)
			w.iovs[k].Base = &p[0]
			w.iovs[k].SetLen(len(p))
			m := &w.msgs[k].hdr
			m.Name, m.Namelen = w.name, w.nlen
			m.Iov = &w.iovs[k]
			m.SetIovlen(1)
			k++
		}
	}
	return n
}

// partial is false: datagrams are whole packets, so nothing can land
// inside one.
func (w *datagramWriter) partial() bool { return false }

func (w *datagramWriter) writeFrames(frames []*frame) error {
	n := w.prepare(frames)
	w.off, w.wait = min(w.pending, n), true
	w.pending = 0
	var err error
	for w.off < n && err == nil {
		err = w.rc.Write(w.fn)
	}
	clear(w.iovs) // do not pin recycled frames
	return err
}

func (w *datagramWriter) tryWrite(f *frame) (bool, error) {
	w.one[0] = f
	n := w.prepare(w.one[:])
	w.one[0] = nil
	w.off, w.wait = 0, false
	err := w.rc.Write(w.fn)
	clear(w.iovs)
	if err != nil {
		return false, err
	}
	if w.off >= n {
		return true, nil
	}
	w.pending = w.off
	return false, nil
}

// send is the RawConn callback. It returns false to wait until the socket
// is writable, which only writeFrames asks for.
func (w *datagramWriter) send(fd uintptr) bool {
	for w.off < len(w.msgs) {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&w.msgs[w.off])), uintptr(len(w.msgs)-w.off), 0, 0, 0)
		switch e {
		case 0:
			w.off += int(r)
		case unix.EINTR:
		case unix.EAGAIN:
			return !w.wait
		default:
			// An ICMP error or similar costs this datagram only.
			w.off++
		}
	}
	return true
}

// setMulticastOptions makes c send IPv4 multicast with the given TTL, out
// of interface ifIndex (0: the one that holds src, or the routing table's
// choice) from source address src (if valid), looped back to receivers on
// this host; and makes c receive only the groups it joined itself.
func setMulticastOptions(c *net.UDPConn, ttl, ifIndex int, src netip.Addr) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		s := int(fd)
		mreq := &unix.IPMreqn{Ifindex: int32(ifIndex)}
		if src.Is4() {
			mreq.Address = src.As4()
		}
		for _, opt := range [...][2]int{{unix.IP_MULTICAST_TTL, ttl}, {unix.IP_MULTICAST_LOOP, 1}, {unix.IP_MULTICAST_ALL, 0}} {
			if serr = unix.SetsockoptInt(s, unix.IPPROTO_IP, opt[0], opt[1]); serr != nil {
				return
			}
		}
		serr = unix.SetsockoptIPMreqn(s, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq)
	})
	if err != nil {
		return err
	}
	return serr
}
