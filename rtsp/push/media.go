package push

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/ipcamd/ipcamd/rtsp/message"
)

// mediaWriter sends a session's RTP and RTCP to the relay.
type mediaWriter interface {
	writeFrame(f *frame) error
	writeRTCP(b []byte) error
	String() string
}

// interleavedWriter sends on the RTSP connection, channels 0 and 1.
type interleavedWriter struct {
	cn  *conn
	buf []byte
}

func (w *interleavedWriter) String() string { return "tcp" }

func (w *interleavedWriter) writeFrame(f *frame) error {
	b := w.buf[:0]
	start := 0
	for _, end := range f.ends {
		b, _ = message.AppendInterleaved(b, 0, f.buf[start:end])
		start = end
	}
	w.buf = b
	return w.cn.write(b)
}

func (w *interleavedWriter) writeRTCP(b []byte) error {
	buf, err := message.AppendInterleaved(w.buf[:0], 1, b)
	if err != nil {
		return err
	}
	w.buf = buf
	return w.cn.write(buf)
}

// udpMedia sends RTP and RTCP from a local even/odd port pair to the
// relay's server ports.
type udpMedia struct {
	rtp, rtcp     *net.UDPConn
	port          int // of rtp; rtcp is port+1
	toRTP, toRTCP netip.AddrPort
	drained       chan struct{}
}

// listenUDPPair binds an even port and the next one on the address the
// RTSP connection nc goes out from.
func listenUDPPair(nc net.Conn) (*udpMedia, error) {
	local, err := netip.ParseAddrPort(nc.LocalAddr().String())
	if err != nil {
		return nil, fmt.Errorf("push: local address: %w", err)
	}
	ip := local.Addr()
	for range 32 {
		a, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			return nil, fmt.Errorf("push: UDP for RTP: %w", err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port+1))))
		if err != nil {
			a.Close()
			continue
		}
		return &udpMedia{rtp: a, rtcp: b, port: port, drained: make(chan struct{})}, nil
	}
	return nil, errors.New("push: no free even/odd UDP port pair for RTP and RTCP")
}

// connect aims the sockets at the relay's ports, on the relay's address
// of the RTSP connection, and starts discarding what the relay sends
// back (receiver reports).
func (u *udpMedia) connect(nc net.Conn, ports *[2]int) error {
	remote, err := netip.ParseAddrPort(nc.RemoteAddr().String())
	if err != nil {
		return fmt.Errorf("push: relay address: %w", err)
	}
	if ports[0] <= 0 || ports[0] > 65535 || ports[1] <= 0 || ports[1] > 65535 {
		return fmt.Errorf("push: SETUP: relay's server_port %d-%d is out of range", ports[0], ports[1])
	}
	u.toRTP = netip.AddrPortFrom(remote.Addr(), uint16(ports[0]))
	u.toRTCP = netip.AddrPortFrom(remote.Addr(), uint16(ports[1]))
	go func() {
		defer close(u.drained)
		buf := make([]byte, 1500)
		for {
			if _, _, err := u.rtcp.ReadFromUDPAddrPort(buf); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	return nil
}

func (u *udpMedia) String() string { return "udp" }

func (u *udpMedia) writeFrame(f *frame) error {
	start := 0
	for _, end := range f.ends {
		if _, err := u.rtp.WriteToUDPAddrPort(f.buf[start:end], u.toRTP); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (u *udpMedia) writeRTCP(b []byte) error {
	_, err := u.rtcp.WriteToUDPAddrPort(b, u.toRTCP)
	return err
}

func (u *udpMedia) close() {
	u.rtp.Close()
	u.rtcp.Close()
	if u.toRTCP.IsValid() {
		<-u.drained
	}
}
