package rtsp

// Multicast delivery (RFC 2326 §12.39, "multicast"), IPv4 only.
//
// A SETUP with "RTP/AVP;multicast" joins the session to its stream's
// multicast group. Each stream has a fixed group: the nth usable address
// of Options.MulticastPrefix for the nth stream given to NewServer, past
// the prefix's first address, with RTP on Options.MulticastPort + 2(n-1)
// and RTCP on the port above (distinct ports, so that a receiver bound to
// the wildcard address never gets another stream's packets);
// Server.MulticastGroup tells it in advance, for ONVIF profiles. The client's own destination, port and ttl are ignored;
// the reply names ours. The group keeps its address while any session is
// set up on it.
//
// However many clients play, a group has one sender: a subscriber on the
// stream whose sink is a UDP socket sending to group:port. It starts with
// the first multicast PLAY and stops when the last player pauses or
// leaves (TEARDOWN, session timeout, or the RTSP connection closing), with
// an RTCP BYE. Sender reports go to group:port+1 every
// Options.SenderReportInterval. Receiver reports that clients send to
// group:port+1 keep the sessions of their address alive, as RTSP
// requests do.
//
// The sockets are bound to the wildcard address on the group's ports with
// SO_REUSEADDR (so that receivers on the same host can share them), and
// send with IP_MULTICAST_TTL, IP_MULTICAST_IF (the configured interface
// and its IPv4 address, or the routing table's choice) and
// IP_MULTICAST_LOOP. The packets' source port is the group's port, as
// gortsplib clients check.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// mcastRegistry holds a server's multicast groups by stream. A group is in
// it while it has members, and no two groups share an address.
type mcastRegistry struct {
	mu sync.Mutex
	m  map[mcastKey]*mcastGroup
}

type mcastKey struct {
	srv    *Server
	stream *Stream
}

// mcastLocalControl (224.0.0.0/24) is never allocated: routers do not
// forward it and protocols such as IGMP live there.
var mcastLocalControl = netip.MustParsePrefix("224.0.0.0/24")

// mcastGroup is one stream's multicast group and the sessions set up on it.
type mcastGroup struct {
	key  mcastKey
	log  *slog.Logger
	addr netip.Addr     // the group
	port int            // RTP port; RTCP uses port+1
	ttl  int            // IP_MULTICAST_TTL, and ttl= in the SETUP reply
	ifi  *net.Interface // nil: the routing table chooses
	src  netip.Addr     // source address of the packets

	mu      sync.Mutex
	members map[*session]*mcastMember
	playing int
	snd     *mcastSender // nil while no member plays
	starts  int          // senders started so far
}

type mcastMember struct {
	playing bool
	// The sender's frame, packet and byte counts when the member started
	// playing, so that its session counts what went out meanwhile.
	base [3]uint64
}

// joinMulticast adds ss to the multicast group of st, allocating the group
// if st has none yet, and sets ss.mcast.
func joinMulticast(ss *session, st *Stream) (*mcastGroup, error) {
	key := mcastKey{ss.srv, st}
	reg := &ss.srv.mcast
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.m == nil {
		reg.m = make(map[mcastKey]*mcastGroup)
	}
	g := reg.m[key]
	if g == nil {
		var err error
		if g, err = newMcastGroup(key); err != nil {
			return nil, err
		}
		reg.m[key] = g
		g.log.Debug("rtsp: multicast group allocated", "path", st.Path(), "group", g.addr, "port", g.port, "source", g.src)
	}
	g.mu.Lock()
	g.members[ss] = &mcastMember{}
	ss.mcast = g
	g.mu.Unlock()
	return g, nil
}

// newMcastGroup allocates an address for a new group. The caller holds
// the registry's lock.
func newMcastGroup(key mcastKey) (*mcastGroup, error) {
	o := key.srv.opts
	gaddr, err := key.srv.MulticastGroup(key.stream.Path())
	if err != nil {
		return nil, err
	}
	g := &mcastGroup{
		key:     key,
		log:     key.srv.log,
		port:    int(gaddr.Port()),
		ttl:     o.MulticastTTL,
		members: make(map[*session]*mcastMember),
	}
	if name := o.MulticastInterface; name != "" {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("rtsp: multicast interface: %w", err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("rtsp: multicast interface %s: %w", name, err)
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap().Is4() {
					g.src = ip.Unmap()
					break
				}
			}
		}
		if !g.src.IsValid() {
			return nil, fmt.Errorf("rtsp: multicast interface %s has no IPv4 address", name)
		}
		g.ifi = ifi
	}
	g.addr = gaddr.Addr()
	addr := g.addr
	if !g.src.IsValid() {
		// The routing table's choice, as the kernel will make it.
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(g.port))))
		if err != nil {
			return nil, fmt.Errorf("rtsp: no route for multicast: %w", err)
		}
		g.src = c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		c.Close()
	}
	return g, nil
}

// MulticastGroup returns the multicast group and RTP port of the stream at
// path (RTCP uses the port above), whether or not a client has set it up
// yet, or why it has none.
func (s *Server) MulticastGroup(path string) (netip.AddrPort, error) {
	o := &s.opts
	st := s.streams[path]
	switch p := o.MulticastPrefix; {
	case !o.Multicast:
		return netip.AddrPort{}, errors.New("rtsp: multicast is off")
	case st == nil:
		return netip.AddrPort{}, fmt.Errorf("rtsp: no stream %q", path)
	case !p.IsValid() || !p.Addr().Is4() || !p.Addr().IsMulticast() || p.Bits() < 4:
		return netip.AddrPort{}, fmt.Errorf("rtsp: multicast prefix %v is not an IPv4 multicast range", p)
	case o.MulticastPort <= 0 || o.MulticastPort > 65534 || o.MulticastPort%2 != 0:
		return netip.AddrPort{}, fmt.Errorf("rtsp: multicast port %d must be even and below 65535", o.MulticastPort)
	case o.MulticastTTL < 1 || o.MulticastTTL > 255:
		return netip.AddrPort{}, fmt.Errorf("rtsp: multicast TTL %d is not 1 to 255", o.MulticastTTL)
	}
	n, k := s.index[st], 0
	a, ok := allocGroup(o.MulticastPrefix, func(netip.Addr) bool {
		k++
		return k <= n // skip one address per stream before this one
	})
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("rtsp: multicast prefix %v has no address for stream %d", o.MulticastPrefix, n+1)
	}
	port := o.MulticastPort + 2*n
	if port > 65534 {
		return netip.AddrPort{}, fmt.Errorf("rtsp: multicast port %d for stream %d is above 65534", port, n+1)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// allocGroup returns the first address of p that used does not report,
// skipping the prefix's first and last address (unless p has at most two)
// and 224.0.0.0/24.
func allocGroup(p netip.Prefix, used func(netip.Addr) bool) (netip.Addr, bool) {
	p = p.Masked()
	skipEnds := p.Addr().BitLen()-p.Bits() > 1
	a := p.Addr()
	if skipEnds {
		a = a.Next()
	}
	for ; a.IsValid() && p.Contains(a); a = a.Next() {
		if skipEnds && !p.Contains(a.Next()) {
			break
		}
		if mcastLocalControl.Contains(a) || used(a) {
			continue
		}
		return a, true
	}
	return netip.Addr{}, false
}

// play makes ss a player of the group, starting the sender if it is the
// first, and returns the sequence number and timestamp of the next packet
// the group sends, for RTP-Info. A client joining a running group starts
// mid-GOP; the stream is asked for an IDR if it can make one and has not
// sent one lately, else the client's decoder waits for the next.
func (g *mcastGroup) play(ctx context.Context, ss *session) (seq uint16, ts uint32, err error) {
	g.mu.Lock()
	m := g.members[ss]
	if m == nil {
		g.mu.Unlock()
		return 0, 0, errors.New("rtsp: session is not in its multicast group")
	}
	var next chan framePos
	if g.snd == nil {
		if next, err = g.startLocked(); err != nil {
			g.mu.Unlock()
			g.log.Error("rtsp: cannot start the multicast sender", "group", g.addr, "err", err)
			return 0, 0, err
		}
	} else {
		if !m.playing {
			g.snd.sink.requestIDR(g.key.stream)
		}
		next = g.snd.sink.next()
	}
	joined := !m.playing
	if joined {
		m.playing = true
		m.base = g.snd.counts()
		g.playing++
		ss.mu.Lock()
		ss.sub = g.snd.sub
		ss.mu.Unlock()
		g.log.Info("rtsp: multicast client playing", "session", ss.id, "path", g.key.stream.Path(),
			"group", g.addr, "port", g.port, "playing", g.playing, "sender", g.starts)
	}
	g.mu.Unlock()
	select {
	case p, ok := <-next:
		if !ok {
			return 0, 0, errors.New("rtsp: multicast sender stopped")
		}
		return p.seq, p.ts, nil
	case <-ctx.Done():
		if joined {
			g.pause(ss)
		}
		return 0, 0, ctx.Err()
	}
}

// pause stops ss playing; the sender stops with the last player.
func (g *mcastGroup) pause(ss *session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pauseLocked(ss)
}

func (g *mcastGroup) pauseLocked(ss *session) {
	m := g.members[ss]
	if m == nil || !m.playing {
		return
	}
	m.playing = false
	g.playing--
	if g.snd != nil {
		now := g.snd.counts()
		ss.cnt.framesSent.Add(now[0] - m.base[0])
		ss.cnt.packetsSent.Add(now[1] - m.base[1])
		ss.cnt.bytesSent.Add(now[2] - m.base[2])
	}
	ss.mu.Lock()
	ss.sub = nil
	ss.mu.Unlock()
	if g.playing == 0 {
		g.stopLocked()
	}
}

// leave removes ss from the group, and the group from the registry with
// its last member.
func (g *mcastGroup) leave(ss *session) {
	g.mu.Lock()
	g.pauseLocked(ss)
	delete(g.members, ss)
	empty := len(g.members) == 0
	g.mu.Unlock()
	if !empty {
		return
	}
	reg := &g.key.srv.mcast
	reg.mu.Lock()
	defer reg.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) == 0 && reg.m[g.key] == g {
		delete(reg.m, g.key)
		g.log.Debug("rtsp: multicast group released", "group", g.addr)
	}
}

// receiverReport takes an RTCP receiver report that from sent to the group:
// it keeps the sessions of that address alive and records their figures.
func (g *mcastGroup) receiverReport(from netip.Addr, b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ss := range g.members {
		if ss.mcastFrom == from {
			ss.touch()
			ss.handleRTCP(b)
		}
	}
}

// fail ends the sessions of a group whose sender failed.
func (g *mcastGroup) fail(snd *mcastSender, err error) {
	g.mu.Lock()
	if g.snd != snd {
		g.mu.Unlock()
		return
	}
	var ss []*session
	for s := range g.members {
		ss = append(ss, s)
	}
	g.mu.Unlock()
	for _, s := range ss {
		s.close("multicast sender failed: " + err.Error())
	}
}

// mcastConnGone reports whether c, the RTSP connection that set up a
// multicast session, is closed. The caller holds srv.mu, as the reaper
// does when it asks sessions whether they expired.
func mcastConnGone(srv *Server, c *conn) bool {
	if c == nil {
		return false
	}
	_, ok := srv.conns[c]
	return !ok
}

// mcastSender is a running group's sender: one subscriber on the stream
// and the group's two sockets.
type mcastSender struct {
	g      *mcastGroup
	rtp    *net.UDPConn // sends RTP from the group's RTP port
	rtcp   *net.UDPConn // joined to the group on the RTCP port
	sink   *mcastSink
	sub    *subscriber
	cnt    counters
	cancel context.CancelFunc
	done   chan struct{}
}

// startLocked starts the group's sender and returns a channel that gets
// the position of its first packet. The caller holds g.mu.
func (g *mcastGroup) startLocked() (chan framePos, error) {
	o := g.key.srv.opts
	rtpAddr := netip.AddrPortFrom(g.addr, uint16(g.port))
	// Asked to listen on a multicast address, package net binds the
	// wildcard address with SO_REUSEADDR and joins nothing: the port can
	// be shared with receivers on this host.
	rtpConn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(rtpAddr))
	if err != nil {
		return nil, fmt.Errorf("rtsp: multicast RTP socket: %w", err)
	}
	rtcpConn, err := net.ListenMulticastUDP("udp4", g.ifi, net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.addr, uint16(g.port+1))))
	if err != nil {
		rtpConn.Close()
		return nil, fmt.Errorf("rtsp: multicast RTCP socket: %w", err)
	}
	ifIndex := 0
	if g.ifi != nil {
		ifIndex = g.ifi.Index
	}
	for _, c := range [...]*net.UDPConn{rtpConn, rtcpConn} {
		if err = setMulticastOptions(c, g.ttl, ifIndex, g.src); err != nil {
			break
		}
	}
	var w *datagramWriter
	if err == nil {
		w, err = newDatagramWriter(rtpConn, rtpAddr)
	}
	if err != nil {
		rtpConn.Close()
		rtcpConn.Close()
		return nil, fmt.Errorf("rtsp: multicast socket options: %w", err)
	}
	snd := &mcastSender{g: g, rtp: rtpConn, rtcp: rtcpConn, sink: &mcastSink{w: w}, done: make(chan struct{})}
	first := snd.sink.next()
	// No eviction: a group that falls behind drops frames up to the next
	// IDR, like any client with a full backlog.
	snd.sub = newSubscriber(snd.sink, 1024, o.ClientBacklog, &snd.cnt)
	snd.sub.paced = true
	ctx, cancel := context.WithCancel(context.Background())
	snd.cancel = cancel
	go snd.run(ctx, o.SenderReportInterval)
	go snd.readRTCP()
	g.key.stream.subscribe(snd.sub)
	g.snd = snd
	g.starts++
	iface := "(routing table)"
	if g.ifi != nil {
		iface = g.ifi.Name
	}
	g.log.Info("rtsp: multicast sender started", "path", g.key.stream.Path(), "group", g.addr, "port", g.port,
		"ttl", g.ttl, "interface", iface, "source", g.src, "sender", g.starts)
	return first, nil
}

// stopLocked stops the sender, if any, and says goodbye with an RTCP BYE.
// The caller holds g.mu.
func (g *mcastGroup) stopLocked() {
	snd := g.snd
	if snd == nil {
		return
	}
	g.snd = nil
	g.key.stream.unsubscribe(snd.sub)
	snd.cancel()
	<-snd.done
	snd.sub.stop()
	snd.sink.close() // nothing goes out after this, not even from the stream's own goroutine
	snd.sendRTCP(true)
	snd.rtp.Close()
	snd.rtcp.Close()
	c := snd.counts()
	g.log.Info("rtsp: multicast sender stopped", "path", g.key.stream.Path(), "group", g.addr, "port", g.port,
		"frames_sent", c[0], "packets_sent", c[1], "frames_dropped", snd.cnt.framesDropped.Load(), "sender", g.starts)
}

func (snd *mcastSender) counts() [3]uint64 {
	return [3]uint64{snd.cnt.framesSent.Load(), snd.cnt.packetsSent.Load(), snd.cnt.bytesSent.Load()}
}

func (snd *mcastSender) run(ctx context.Context, period time.Duration) {
	defer close(snd.done)
	if err := snd.sub.run(ctx, 0, period, func() { snd.sendRTCP(false) }); err != nil {
		snd.g.log.Error("rtsp: multicast sender failed", "group", snd.g.addr, "err", err)
		go snd.g.fail(snd, err)
	}
}

// sendRTCP sends a sender report to the group's RTCP port, followed by a
// BYE when bye is set. Before the first packet only the BYE is sent.
func (snd *mcastSender) sendRTCP(bye bool) {
	b := rtcpReport(snd.g.key.stream.SSRC(), snd.sub, &snd.cnt, bye)
	if b == nil {
		return
	}
	snd.rtcp.WriteToUDPAddrPort(b, netip.AddrPortFrom(snd.g.addr, uint16(snd.g.port+1)))
}

// readRTCP reads what arrives on the group's RTCP port until the socket
// closes, and passes on the receiver reports (not the sender's own
// reports, which come back when looped).
func (snd *mcastSender) readRTCP() {
	buf := make([]byte, 1500)
	for {
		n, from, err := snd.rtcp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		const typeRR = 201
		if n >= 8 && buf[1] == typeRR {
			snd.g.receiverReport(from.Addr().Unmap(), buf[:n])
		}
	}
}

// framePos is where a frame starts: the sequence number of its first
// packet, and its RTP timestamp.
type framePos struct {
	seq uint16
	ts  uint32
}

// mcastSink is the group's sink: a datagram writer to the group that also
// tells waiting PLAY requests where the next frame starts, notes when an
// IDR went out, and can be shut for good.
type mcastSink struct {
	w *datagramWriter

	mu     sync.Mutex // held while writing
	closed bool

	wmu     sync.Mutex // guards waiters and gone
	waiters []chan framePos
	gone    bool
	nwait   atomic.Int32
	lastIDR atomic.Int64 // unix nanoseconds when the last IDR went out
}

func (m *mcastSink) tryWrite(f *frame) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return true, nil
	}
	m.note(f)
	return m.w.tryWrite(f)
}

func (m *mcastSink) partial() bool { return false }

func (m *mcastSink) writeFrames(frames []*frame) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	for _, f := range frames {
		m.note(f)
	}
	return m.w.writeFrames(frames)
}

// note records that f is about to go out.
func (m *mcastSink) note(f *frame) {
	if f.idr {
		m.lastIDR.Store(time.Now().UnixNano())
	}
	if m.nwait.Load() == 0 {
		return
	}
	m.wmu.Lock()
	for i, c := range m.waiters {
		c <- framePos{f.seq, f.ts}
		m.waiters[i] = nil
	}
	m.waiters = m.waiters[:0]
	m.nwait.Store(0)
	m.wmu.Unlock()
}

// next returns a channel that gets the position of the next frame sent,
// or is closed if the sink closes first.
func (m *mcastSink) next() chan framePos {
	c := make(chan framePos, 1)
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if m.gone {
		close(c)
		return c
	}
	m.waiters = append(m.waiters, c)
	m.nwait.Add(1)
	return c
}

// requestIDR asks st for an IDR for a joining client, unless one went out
// within JoinReplayLimit.
func (m *mcastSink) requestIDR(st *Stream) {
	if st.requestIDR == nil {
		return
	}
	if last := m.lastIDR.Load(); last != 0 && time.Since(time.Unix(0, last)) < JoinReplayLimit {
		return
	}
	st.requestIDR()
}

// close stops all writing, waiting for a write in progress.
func (m *mcastSink) close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.wmu.Lock()
	m.gone = true
	for _, c := range m.waiters {
		close(c)
	}
	m.waiters = nil
	m.wmu.Unlock()
}
