package rtsp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

// Options configures a [Server]. The zero value gives the defaults.
type Options struct {
	// SessionTimeout is advertised in the Session header. A UDP session
	// with neither an RTSP request nor an RTCP packet for this long is
	// closed. A TCP session lives as long as its connection. Default 60 s.
	SessionTimeout time.Duration
	// RTPPort is the server's UDP port for RTP; RTCP uses the next port.
	// It must be even. 0 picks a free pair.
	RTPPort int
	// WriteTimeout bounds one write to a TCP client; a client that
	// accepts nothing for this long is closed. Default 10 s.
	WriteTimeout time.Duration
	// EvictAfter closes a client whose next frame to send was captured
	// longer ago than this. Default 10 s.
	EvictAfter time.Duration
	// ClientBacklog bounds the bytes of packets queued for one client.
	// When it is full the client skips to the next IDR. Default 4 MiB.
	ClientBacklog int
	// SenderReportInterval is the period of RTCP sender reports.
	// Default 5 s.
	SenderReportInterval time.Duration
	// MaxSessions bounds the number of sessions. Default 200.
	MaxSessions int
	// MaxConns bounds the number of open RTSP connections, and
	// MaxConnsPerAddr those from one client address, and also bounds the
	// sessions set up from one address. Defaults 512 and 32.
	MaxConns, MaxConnsPerAddr int
	// IdleTimeout closes a connection that carries no TCP session and
	// sends nothing for this long. Default 60 s.
	IdleTimeout time.Duration
	// HeadTimeout bounds how long a request may take to arrive once its
	// first byte has, against slowloris clients. Default 10 s.
	HeadTimeout time.Duration
	// ServerName is sent in the Server header.
	ServerName string
	// Auth, if not nil, checks every request but OPTIONS.
	Auth *auth.Verifier
	// TunnelTimeout bounds the wait for the second half of an RTSP over
	// HTTP tunnel, and the read of each half's request head. Default 10 s.
	TunnelTimeout time.Duration
	// Logger receives the server's log; default slog.Default().
	Logger *slog.Logger

	// Multicast

	// Multicast enables multicast delivery (RFC 2326, IPv4 only; see
	// multicast.go): a SETUP with "RTP/AVP;multicast" gets its stream's
	// group, and one sender per stream serves every multicast client.
	// Off by default, when such a SETUP gets 461 Unsupported Transport.
	Multicast bool
	// MulticastPrefix is the range groups are allocated from, one per
	// stream: the first free address after the prefix's first. Default
	// 239.0.0.0/8 (administratively scoped).
	MulticastPrefix netip.Prefix
	// MulticastPort is the RTP port of every group; RTCP uses the next
	// one. It must be even. Default 5000.
	MulticastPort int
	// MulticastTTL is the packets' IP_MULTICAST_TTL, which the SETUP
	// reply advertises as ttl=. Default 16.
	MulticastTTL int
	// MulticastInterface names the interface that multicast goes out of,
	// from its first IPv4 address; empty leaves the choice to the routing
	// table (the default route).
	MulticastInterface string
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionTimeout, 60*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.EvictAfter, 10*time.Second)
	def(&o.SenderReportInterval, 5*time.Second)
	if o.ClientBacklog <= 0 {
		o.ClientBacklog = 4 << 20
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 200
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 512
	}
	if o.MaxConnsPerAddr <= 0 {
		o.MaxConnsPerAddr = 32
	}
	def(&o.IdleTimeout, 60*time.Second)
	def(&o.HeadTimeout, 10*time.Second)
	def(&o.TunnelTimeout, defaultTunnelTimeout)
	if o.ServerName == "" {
		o.ServerName = "ipcamd"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if !o.MulticastPrefix.IsValid() {
		o.MulticastPrefix = netip.MustParsePrefix("239.0.0.0/8")
	}
	if o.MulticastPort <= 0 {
		o.MulticastPort = 5000
	}
	if o.MulticastTTL <= 0 {
		o.MulticastTTL = 16
	}
}

// Server is an RTSP 1.0 server (RFC 2326) for live H.264 streams. It serves
// each [Stream] on its path over UDP unicast and TCP-interleaved transport.
type Server struct {
	opts    Options
	log     *slog.Logger
	streams map[string]*Stream
	index   map[*Stream]int // order of the streams given to NewServer

	rtp, rtcp *net.UDPConn

	mu       sync.Mutex
	closed   bool
	sessions map[string]*session
	byAddr   map[netip.AddrPort]*session // UDP clients by RTP and RTCP address
	conns    map[*conn]struct{}
	perAddr  map[netip.Addr]int // open connections per client address
	sessAddr map[netip.Addr]int // sessions per client address
	wg       sync.WaitGroup

	evicted, expired, redirected atomic.Uint64

	tunnels tunnelRegistry // RTSP over HTTP halves waiting for a partner
	mcast   mcastRegistry  // multicast groups by stream
}

// NewServer returns a server for the given streams.
func NewServer(opts Options, streams ...*Stream) *Server {
	opts.setDefaults()
	s := &Server{
		opts:     opts,
		log:      opts.Logger,
		streams:  make(map[string]*Stream),
		index:    make(map[*Stream]int),
		sessions: make(map[string]*session),
		byAddr:   make(map[netip.AddrPort]*session),
		conns:    make(map[*conn]struct{}),
		perAddr:  make(map[netip.Addr]int),
		sessAddr: make(map[netip.Addr]int),
	}
	for i, st := range streams {
		s.streams[st.Path()] = st
		s.index[st] = i
	}
	return s
}

// Serve accepts RTSP connections on every listener until ctx ends, then
// tears every session down (sending RTCP BYE), closes every connection and
// socket, and returns. A TLS listener (crypto/tls) serves rtsps://. The
// server also listens for RTP and RTCP on UDP, on the host of the first
// listener's address.
func (s *Server) Serve(ctx context.Context, listeners ...net.Listener) error {
	if len(listeners) == 0 {
		return errors.New("rtsp: Serve needs a listener")
	}
	host := ""
	if ap, err := netip.ParseAddrPort(listeners[0].Addr().String()); err == nil && !ap.Addr().IsUnspecified() {
		host = ap.Addr().String()
	}
	if err := s.listenUDP(host); err != nil {
		for _, ln := range listeners {
			ln.Close()
		}
		return err
	}
	s.log.Debug("rtsp: UDP ready", "rtp", s.rtp.LocalAddr(), "rtcp", s.rtcp.LocalAddr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.wg.Add(3)
	go func() { defer s.wg.Done(); s.readUDP(s.rtp) }()
	go func() { defer s.wg.Done(); s.readUDP(s.rtcp) }()
	go func() { defer s.wg.Done(); s.reap(ctx) }()

	errc := make(chan error, len(listeners))
	for _, ln := range listeners {
		go func() {
			<-ctx.Done()
			ln.Close()
		}()
		go func() { errc <- s.accept(ctx, ln) }()
	}
	var err error
	for range listeners {
		if e := <-errc; e != nil && err == nil {
			err = e
			cancel() // one listener failed: stop them all
		}
	}
	cancel()
	s.shutdown()
	s.wg.Wait()
	return err
}

// accept serves one listener until it is closed.
func (s *Server) accept(ctx context.Context, ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: wait, do not die.
			s.log.Warn("rtsp: accept", "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c := newConn(s, nc)
		if !s.track(c) {
			nc.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			// RTSP over HTTP starts with GET or POST; bound that peek.
			nc.SetReadDeadline(time.Now().Add(s.opts.IdleTimeout))
			if isHTTP(c.br) {
				defer s.forgetConn(c)
				s.serveHTTP(ctx, nc, c.br)
				return
			}
			c.serve(ctx)
		}()
	}
}

// shutdown closes every session and connection and the UDP sockets.
// Players of a stream that a relay serves are first sent a REDIRECT to
// it, and their connections get redirectGrace to hang up by themselves,
// so that the request is read rather than lost in a reset.
func (s *Server) shutdown() {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	var redirected []*conn
	for _, ss := range sessions {
		if c := ss.redirect(); c != nil && !slices.Contains(redirected, c) {
			redirected = append(redirected, c)
		}
	}
	var wg sync.WaitGroup
	for _, ss := range sessions {
		wg.Go(func() { ss.close(reasonShutdown) })
	}
	wg.Wait()
	if len(redirected) > 0 {
		grace := time.NewTimer(redirectGrace)
		for _, c := range redirected {
			select {
			case <-c.done:
			case <-grace.C:
			}
		}
		grace.Stop()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.rtp.Close()
	s.rtcp.Close()
}

// redirectGrace bounds the wait at shutdown for redirected clients to
// hang up.
const redirectGrace = time.Second

// full reports whether the session cap is reached.
func (s *Server) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions) >= s.opts.MaxSessions
}

// listenUDP binds an even RTP port and the odd RTCP port above it.
func (s *Server) listenUDP(host string) error {
	if s.opts.RTPPort != 0 {
		if s.opts.RTPPort%2 != 0 {
			return fmt.Errorf("rtsp: RTP port %d is odd; it must be even", s.opts.RTPPort)
		}
		return s.bindPair(host, s.opts.RTPPort)
	}
	var err error
	for range 100 {
		var c *net.UDPConn
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addrPort(host, 0)))
		if err != nil {
			return fmt.Errorf("rtsp: listen UDP: %w", err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if p%2 != 0 || p > 65534 {
			continue
		}
		if err = s.bindPair(host, p); err == nil {
			return nil
		}
	}
	return fmt.Errorf("rtsp: no free UDP port pair for RTP and RTCP: %w", err)
}

func (s *Server) bindPair(host string, port int) error {
	rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addrPort(host, port)))
	if err != nil {
		return fmt.Errorf("rtsp: listen UDP for RTP: %w", err)
	}
	rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addrPort(host, port+1)))
	if err != nil {
		rtp.Close()
		return fmt.Errorf("rtsp: listen UDP for RTCP: %w", err)
	}
	s.rtp, s.rtcp = rtp, rtcp
	return nil
}

func addrPort(host string, port int) netip.AddrPort {
	a, err := netip.ParseAddr(host)
	if err != nil {
		a = netip.IPv6Unspecified()
	}
	return netip.AddrPortFrom(a, uint16(port))
}

// UDPPorts returns the server's RTP and RTCP ports, once Serve has bound
// them.
func (s *Server) UDPPorts() (rtp, rtcp int) {
	return s.rtp.LocalAddr().(*net.UDPAddr).Port, s.rtcp.LocalAddr().(*net.UDPAddr).Port
}

// readUDP reads packets from clients: RTCP receiver reports on the RTCP
// port, and anything (such as NAT keepalives) on the RTP port. Every packet
// from a known client keeps its session alive.
func (s *Server) readUDP(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.mu.Lock()
		ss := s.byAddr[from]
		s.mu.Unlock()
		if ss == nil {
			continue
		}
		ss.touch()
		if c == s.rtcp {
			ss.handleRTCP(buf[:n])
		}
	}
}

// reap closes UDP sessions that outlived their timeout.
func (s *Server) reap(ctx context.Context) {
	t := time.NewTicker(time.Second / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var expired []*session
		s.mu.Lock()
		for _, ss := range s.sessions {
			if ss.setUp.Load() && ss.expired(now, s.opts.SessionTimeout) {
				expired = append(expired, ss)
			}
		}
		s.mu.Unlock()
		for _, ss := range expired {
			s.expired.Add(1)
			ss.timeOut("timed out: no RTSP request or RTCP report within " + s.opts.SessionTimeout.String())
		}
	}
}

// newSession registers a new session.
func (s *Server) newSession(c *conn) (*session, error) {
	var b [8]byte
	rand.Read(b[:])
	ss := &session{id: hex.EncodeToString(b[:]), srv: s, log: s.log, from: remoteAddr(c.nc)}
	ss.touch()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("rtsp: server closed")
	}
	if len(s.sessions) >= s.opts.MaxSessions {
		return nil, fmt.Errorf("rtsp: session limit of %d reached", s.opts.MaxSessions)
	}
	if s.sessAddr[ss.from] >= s.opts.MaxConnsPerAddr {
		return nil, fmt.Errorf("rtsp: limit of %d sessions from %s reached", s.opts.MaxConnsPerAddr, ss.from)
	}
	s.sessions[ss.id] = ss
	s.sessAddr[ss.from]++
	return ss, nil
}

func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// forget removes a closed session from the registries.
func (s *Server) forget(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[ss.id] == ss {
		delete(s.sessions, ss.id)
		uncount(s.sessAddr, ss.from)
	}
	for _, a := range [...]netip.AddrPort{ss.clientRTP, ss.clientRTCP} {
		if s.byAddr[a] == ss {
			delete(s.byAddr, a)
		}
	}
}

// track registers a new connection, within the connection caps, and adds
// it to the server's wait group; the caller then runs c.serve and calls
// s.wg.Done when it returns. It reports false when the connection must be
// refused.
func (s *Server) track(c *conn) bool {
	addr := remoteAddr(c.nc)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false
	case len(s.conns) >= s.opts.MaxConns:
		s.log.Warn("rtsp: connection refused: too many connections", "client", addr, "limit", s.opts.MaxConns)
		return false
	case s.perAddr[addr] >= s.opts.MaxConnsPerAddr:
		s.log.Warn("rtsp: connection refused: too many connections from one address", "client", addr, "limit", s.opts.MaxConnsPerAddr)
		return false
	}
	s.conns[c] = struct{}{}
	s.perAddr[addr]++
	s.wg.Add(1)
	return true
}

func (s *Server) forgetConn(c *conn) {
	addr := remoteAddr(c.nc)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	uncount(s.perAddr, addr)
}

// uncount takes one from a's count in m, forgetting a at zero.
func uncount(m map[netip.Addr]int, a netip.Addr) {
	if m[a]--; m[a] <= 0 {
		delete(m, a)
	}
}

// remoteAddr is the client IP address of a connection.
func remoteAddr(nc net.Conn) netip.Addr {
	ap, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
	return ap.Addr().Unmap()
}

// registerUDP maps a UDP client's addresses to its session.
func (s *Server) registerUDP(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byAddr[ss.clientRTP] = ss
	s.byAddr[ss.clientRTCP] = ss
}

// stream returns the stream for a request path, which may name the stream
// itself, with or without a trailing slash, or its track
// (path + "/trackID=0").
func (s *Server) stream(path string) *Stream {
	for len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	if st := s.streams[path]; st != nil {
		return st
	}
	if i := lastSlash(path); i > 0 && path[i+1:] == trackControl {
		return s.streams[path[:i]]
	}
	return nil
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// trackControl is the a=control value of the single video track.
const trackControl = "trackID=0"
