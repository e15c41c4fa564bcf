//go:build !linux

package rtsp

import (
	"errors"
	"net"
	"net/netip"
)

// rawWriter is missing off Linux: every write goes through the client's
// sender goroutine.
type rawWriter struct{}

func (*rawWriter) writev(v net.Buffers) (int, error) { return 0, nil }

func newRawWriter(c net.Conn) (*rawWriter, error) {
	return nil, errors.New("rtsp: no non-blocking writev on this platform")
}

// datagramWriter sends datagrams one by one where sendmmsg(2) is missing.
type datagramWriter struct {
	c      *net.UDPConn
	to     netip.AddrPort
	secure bool // send the frames' SRTP packets
}

func newDatagramWriter(c *net.UDPConn, to netip.AddrPort) (*datagramWriter, error) {
	return &datagramWriter{c: c, to: to}, nil
}

func (w *datagramWriter) tryWrite(f *frame) (bool, error) { return false, nil }

func (w *datagramWriter) partial() bool { return false }

func (w *datagramWriter) writeFrames(frames []*frame) error {
	for _, f := range frames {
		for i := range f.packets() {
			if _, err := w.c.WriteToUDPAddrPort(f.wirePacket(w.secure, i), w.to); errors.Is(err, net.ErrClosed) {
				return err
			}
		}
	}
	return nil
}

func setMulticastOptions(c *net.UDPConn, ttl, ifIndex int, src netip.Addr) error {
	return errors.New("rtsp: multicast is only supported on Linux")
}
