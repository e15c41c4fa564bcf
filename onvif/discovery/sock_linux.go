//go:build linux

package discovery

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listen binds a UDP socket with SO_REUSEADDR (other WS-Discovery
// responders may share the port) and IP_PKTINFO (to learn the receiving
// interface of each datagram).
func listen(ctx context.Context, addr string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// joinGroup joins group on the interface with index ifindex and address
// local.
func joinGroup(c *net.UDPConn, group net.IP, ifindex int, local net.IP) error {
	mreq := &unix.IPMreqn{Ifindex: int32(ifindex)}
	copy(mreq.Multiaddr[:], group.To4())
	copy(mreq.Address[:], local.To4())
	return control(c, func(fd int) error {
		return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq)
	})
}

// dialMulticast returns a socket that sends multicast out of the given
// interface only, with TTL 1, bound to the interface's address.
func dialMulticast(ifindex int, local net.IP) (*net.UDPConn, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: local})
	if err != nil {
		return nil, err
	}
	mreq := &unix.IPMreqn{Ifindex: int32(ifindex)}
	copy(mreq.Address[:], local.To4())
	err = control(c, func(fd int) error {
		if err := unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq); err != nil {
			return fmt.Errorf("IP_MULTICAST_IF: %w", err)
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 1)
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func control(c *net.UDPConn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// oobSize is room for one IP_PKTINFO control message.
var oobSize = unix.CmsgSpace(int(unsafe.Sizeof(unix.Inet4Pktinfo{})))

// truncated reports whether recvmsg flags say the datagram did not fit.
func truncated(flags int) bool { return flags&unix.MSG_TRUNC != 0 }

// parsePktinfo returns the receiving interface index and the datagram's
// destination address from an IP_PKTINFO control message.
func parsePktinfo(oob []byte) (ifindex int, dst net.IP, ok bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, nil, false
	}
	for _, m := range msgs {
		if m.Header.Level != unix.IPPROTO_IP || m.Header.Type != unix.IP_PKTINFO ||
			len(m.Data) < int(unsafe.Sizeof(unix.Inet4Pktinfo{})) {
			continue
		}
		// struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst; struct in_addr ipi_addr; }
		idx := int32(binary.NativeEndian.Uint32(m.Data[0:4]))
		return int(idx), net.IP(append([]byte(nil), m.Data[8:12]...)), true
	}
	return 0, nil, false
}
