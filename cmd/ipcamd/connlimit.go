package main

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// HTTP connection limits: the web page, its API, ONVIF, /metrics and RTSP
// tunnelled over HTTP share them across the HTTP and HTTPS ports.
const (
	httpMaxConns        = 256
	httpMaxConnsPerAddr = 32
	// The server's timeouts: a request (header and body) must arrive
	// within httpReadTimeout, and a keep-alive connection may idle for
	// httpIdleTimeout. httpWriteTimeout exceeds ONVIF's longest
	// PullMessages wait (60 s); the MJPEG live view and the tunnels set
	// their own deadlines.
	httpReadTimeout   = 30 * time.Second
	httpIdleTimeout   = 60 * time.Second
	httpWriteTimeout  = 90 * time.Second
	httpMaxHeaderSize = 32 << 10
)

// connLimiter caps the open connections of one or more listeners, in total
// and per client address, so that idle or slow clients cannot pile up
// goroutines and memory. Over a cap a connection is closed as soon as it
// is accepted: the listener never blocks.
type connLimiter struct {
	max, perAddr int
	log          *slog.Logger

	mu     sync.Mutex
	open   int
	byAddr map[netip.Addr]int
}

func newConnLimiter(max, perAddr int, log *slog.Logger) *connLimiter {
	return &connLimiter{max: max, perAddr: perAddr, log: log, byAddr: map[netip.Addr]int{}}
}

// listener returns ln with its connections counted against the limits.
func (l *connLimiter) listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, l: l}
}

func (l *connLimiter) take(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max || l.byAddr[addr] >= l.perAddr {
		return false
	}
	l.open++
	l.byAddr[addr]++
	return true
}

func (l *connLimiter) give(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

type limitedListener struct {
	net.Listener
	l *connLimiter
}

// Accept returns the next connection within the limits, closing those
// beyond them.
func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		addr := ap.Addr().Unmap()
		if ll.l.take(addr) {
			return &limitedConn{Conn: c, l: ll.l, addr: addr}, nil
		}
		ll.l.log.Warn("http: connection refused: too many connections", "client", addr, "limit", ll.l.max, "per_address", ll.l.perAddr)
		c.Close()
	}
}

// limitedConn gives its slot back when closed, once. It passes on the
// *net.TCPConn methods that net/http (CloseWrite, for a clean close after
// an error reply) and the RTSP tunnel (SetWriteBuffer) look for.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.give(c.addr) })
	return err
}

// CloseWrite half-closes the connection.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// SetWriteBuffer sets the size of the kernel's send buffer.
func (c *limitedConn) SetWriteBuffer(n int) error {
	if sw, ok := c.Conn.(interface{ SetWriteBuffer(int) error }); ok {
		return sw.SetWriteBuffer(n)
	}
	return errors.ErrUnsupported
}
