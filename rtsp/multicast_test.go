//go:build linux

package rtsp

// These tests send multicast in the root namespace, so every socket goes
// through lo explicitly: the server with MulticastInterface "lo" (which
// sets IP_MULTICAST_IF to lo and 127.0.0.1, and is asserted below), the
// receivers joined on lo. Nothing may follow the default route.

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// mcastPrefix is the range the tests allocate from.
var mcastPrefix = netip.MustParsePrefix("239.255.77.0/24")

// mcastPort returns an even port whose pair is free on the wildcard
// address right now.
func mcastPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		p &^= 1
		ok := true
		for _, q := range []int{p, p + 1} {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: q})
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free UDP port pair")
	return 0
}

func loopback(t *testing.T) *net.Interface {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	return lo
}

func mcastOptions(t *testing.T) Options {
	return Options{
		Multicast:            true,
		MulticastInterface:   "lo",
		MulticastPrefix:      mcastPrefix,
		MulticastPort:        mcastPort(t),
		MulticastTTL:         7,
		SenderReportInterval: 200 * time.Millisecond,
	}
}

// mcastReceiver joins group:port on lo.
func mcastReceiver(t *testing.T, group netip.Addr, port int) *net.UDPConn {
	t.Helper()
	c, err := net.ListenMulticastUDP("udp4", loopback(t), net.UDPAddrFromAddrPort(netip.AddrPortFrom(group, uint16(port))))
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20)
	t.Cleanup(func() { c.Close() })
	return c
}

// groupOf returns the server's group for its stream, or nil.
func groupOf(ts *testServer) *mcastGroup {
	ts.srv.mcast.mu.Lock()
	defer ts.srv.mcast.mu.Unlock()
	return ts.srv.mcast.m[mcastKey{ts.srv, ts.stream}]
}

func groupState(g *mcastGroup) (members, playing, starts int, snd *mcastSender) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members), g.playing, g.starts, g.snd
}

// setupMulticast sets up a multicast session and checks the reply.
func setupMulticast(t *testing.T, ts *testServer, c *client, o Options) (string, headers.Transport) {
	t.Helper()
	// The client's own destination, port and ttl are ignored.
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP;multicast;destination=239.9.9.9;port=6000-6001;ttl=3")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP multicast: status %d", res.StatusCode)
	}
	raw := res.Header.Get("Transport")
	var tr headers.Transport
	if err := tr.Unmarshal(raw); err != nil {
		t.Fatalf("Transport %q: %v", raw, err)
	}
	want := fmt.Sprintf("RTP/AVP;multicast;destination=239.255.77.1;port=%d-%d;ttl=%d;ssrc=%08X",
		o.MulticastPort, o.MulticastPort+1, o.MulticastTTL, ts.stream.SSRC())
	if raw != want {
		t.Errorf("Transport\n got %q\nwant %q", raw, want)
	}
	return sessionID(t, res), tr
}

type rtpRead struct {
	pkt  rtp.Packet
	from netip.AddrPort
}

func readRTPFrom(t *testing.T, c *net.UDPConn, d time.Duration) (rtpRead, error) {
	t.Helper()
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(d))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return rtpRead{}, err
	}
	var r rtpRead
	if err := r.pkt.Unmarshal(buf[:n]); err != nil {
		t.Fatalf("bad RTP packet: %v", err)
	}
	r.from = from
	return r, nil
}

// waitRTCP reads RTCP from c until a packet of which ok approves.
func waitRTCP(t *testing.T, c *net.UDPConn, d time.Duration, ok func([]rtcp.Packet) bool) []rtcp.Packet {
	t.Helper()
	buf := make([]byte, 1500)
	deadline := time.Now().Add(d)
	for {
		c.SetReadDeadline(deadline)
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("waiting for RTCP: %v", err)
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err == nil && ok(pkts) {
			return pkts
		}
	}
}

func isSR(ssrc uint32) func([]rtcp.Packet) bool {
	return func(p []rtcp.Packet) bool {
		sr, ok := p[0].(*rtcp.SenderReport)
		return ok && sr.SSRC == ssrc && sr.PacketCount > 0
	}
}

func isBye(ssrc uint32) func([]rtcp.Packet) bool {
	return func(p []rtcp.Packet) bool {
		b, ok := p[len(p)-1].(*rtcp.Goodbye)
		return ok && len(b.Sources) == 1 && b.Sources[0] == ssrc
	}
}

// drainSilence reads until the socket has been silent for quiet, and
// fails if that takes longer than limit.
func drainSilence(t *testing.T, c *net.UDPConn, quiet, limit time.Duration) {
	t.Helper()
	buf := make([]byte, 2048)
	start := time.Now()
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			t.Fatal(err)
		}
		if time.Since(start) > limit {
			t.Fatalf("packets still arriving %v after the sender should have stopped", limit)
		}
	}
}

func sockoptInt(t *testing.T, c *net.UDPConn, opt int) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	rc.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, opt) })
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// multicastIf returns the source address set with IP_MULTICAST_IF (Linux
// reports the address, not the interface index).
func multicastIf(t *testing.T, c *net.UDPConn) [4]byte {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var a [4]byte
	var serr error
	rc.Control(func(fd uintptr) { a, serr = unix.GetsockoptInet4Addr(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF) })
	if serr != nil {
		t.Fatal(serr)
	}
	return a
}

// eventually polls cond for up to 2 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatal(what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMulticastOneSenderForTwoClients: two clients get the same group and
// ports, one sender serves both, the reply's ttl is the socket's, and the
// sender stops with a BYE when the last client tears down.
func TestMulticastOneSenderForTwoClients(t *testing.T) {
	o := mcastOptions(t)
	ts := startServer(t, o, 20*time.Millisecond)
	ssrc := ts.stream.SSRC()
	c1, c2 := dial(t, ts.addr), dial(t, ts.addr)
	id1, tr1 := setupMulticast(t, ts, c1, o)
	id2, tr2 := setupMulticast(t, ts, c2, o)
	if *tr1.Destination != *tr2.Destination || *tr1.Ports != *tr2.Ports {
		t.Fatalf("clients got different groups: %v:%v and %v:%v", *tr1.Destination, *tr1.Ports, *tr2.Destination, *tr2.Ports)
	}
	group := *tr1.Destination
	g := groupOf(ts)
	if g == nil || g.addr != group {
		t.Fatalf("registry has group %v, want %v", g, group)
	}
	if m, p, n, snd := groupState(g); m != 2 || p != 0 || n != 0 || snd != nil {
		t.Fatalf("after SETUP: %d members, %d playing, %d senders started, sender %v; want 2, 0, 0, none", m, p, n, snd)
	}
	rtpR := mcastReceiver(t, group, o.MulticastPort)
	rtcpR := mcastReceiver(t, group, o.MulticastPort+1)

	// The first PLAY starts the sender, and RTP-Info names its first packet.
	res := c1.do("PLAY", ts.url(), "Session", id1)
	if res.StatusCode != 200 {
		t.Fatalf("PLAY 1: status %d", res.StatusCode)
	}
	var info headers.RTPInfo
	if err := info.Unmarshal(res.Header.Get("RTP-Info")); err != nil || len(info) != 1 || info[0].SeqNum == nil {
		t.Fatalf("RTP-Info %q: %v", res.Header.Get("RTP-Info"), err)
	}
	first, err := readRTPFrom(t, rtpR, 5*time.Second)
	if err != nil {
		t.Fatalf("no multicast RTP: %v", err)
	}
	if first.pkt.SSRC != ssrc || first.pkt.SequenceNumber != *info[0].SeqNum || first.pkt.Timestamp != *info[0].Timestamp {
		t.Errorf("first packet SSRC %08x seq %d ts %d; want %08x and RTP-Info's %d, %d",
			first.pkt.SSRC, first.pkt.SequenceNumber, first.pkt.Timestamp, ssrc, *info[0].SeqNum, *info[0].Timestamp)
	}
	if want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(o.MulticastPort)); first.from != want {
		t.Errorf("packets come from %v, want %v (the interface's address and the group's port)", first.from, want)
	}
	if typ := first.pkt.Payload[0] & 0x1f; typ != 24 && typ != 7 && typ != 28 {
		t.Errorf("first packet has NAL type %d, want the IDR's access unit (SPS, STAP-A)", typ)
	}
	_, _, _, snd := groupState(g)
	if snd == nil {
		t.Fatal("no sender after PLAY")
	}
	// The ttl= of the reply is the sockets' IP_MULTICAST_TTL, and they
	// send out of lo (index and address set together), from 127.0.0.1.
	for _, c := range []*net.UDPConn{snd.rtp, snd.rtcp} {
		if got := sockoptInt(t, c, unix.IP_MULTICAST_TTL); got != int(*tr1.TTL) {
			t.Errorf("IP_MULTICAST_TTL %d, reply says ttl=%d", got, *tr1.TTL)
		}
		if a := multicastIf(t, c); a != [4]byte{127, 0, 0, 1} {
			t.Errorf("IP_MULTICAST_IF %v, want lo's 127.0.0.1", a)
		}
		if got := sockoptInt(t, c, unix.IP_MULTICAST_LOOP); got != 1 {
			t.Errorf("IP_MULTICAST_LOOP %d, want 1", got)
		}
	}

	// The second PLAY joins the same sender.
	res = c2.do("PLAY", ts.url(), "Session", id2)
	if res.StatusCode != 200 {
		t.Fatalf("PLAY 2: status %d", res.StatusCode)
	}
	info = nil
	if err := info.Unmarshal(res.Header.Get("RTP-Info")); err != nil || len(info) != 1 || info[0].SeqNum == nil {
		t.Fatalf("RTP-Info %q: %v", res.Header.Get("RTP-Info"), err)
	}
	if m, p, n, snd2 := groupState(g); m != 2 || p != 2 || n != 1 || snd2 != snd {
		t.Fatalf("after two PLAYs: %d members, %d playing, %d senders started; want 2, 2, 1, and the same sender", m, p, n)
	}
	// One sender: every packet once, in order, and the joiner's RTP-Info
	// names a packet that arrives.
	seen := map[uint16]bool{first.pkt.SequenceNumber: true}
	last := first.pkt.SequenceNumber
	sawJoin := false
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		r, err := readRTPFrom(t, rtpR, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s := r.pkt.SequenceNumber
		if seen[s] || s != last+1 {
			t.Fatalf("packet seq %d after %d (seen before: %v): want one sender without gaps or copies", s, last, seen[s])
		}
		seen[s], last = true, s
		if s == *info[0].SeqNum {
			sawJoin = true
			if r.pkt.Timestamp != *info[0].Timestamp {
				t.Errorf("joiner's first packet has timestamp %d, RTP-Info says %d", r.pkt.Timestamp, *info[0].Timestamp)
			}
		}
	}
	if !sawJoin {
		t.Errorf("no packet with the joiner's RTP-Info seq %d", *info[0].SeqNum)
	}
	waitRTCP(t, rtcpR, 3*time.Second, isSR(ssrc))

	// Stats show both as playing multicast.
	for _, s := range ts.srv.Stats().Sessions {
		if s.Transport != "multicast" || !s.Playing {
			t.Errorf("session %s: transport %q, playing %v", s.ID, s.Transport, s.Playing)
		}
	}

	// The first TEARDOWN leaves the sender running for the other client.
	if res := c1.do("TEARDOWN", ts.url(), "Session", id1); res.StatusCode != 200 {
		t.Fatalf("TEARDOWN 1: status %d", res.StatusCode)
	}
	if m, p, _, snd2 := groupState(g); m != 1 || p != 1 || snd2 != snd {
		t.Fatalf("after one TEARDOWN: %d members, %d playing; want 1, 1 and the sender", m, p)
	}
	if _, err := readRTPFrom(t, rtpR, 2*time.Second); err != nil {
		t.Fatalf("sender stopped with a client left: %v", err)
	}
	// The last TEARDOWN stops it: BYE, then silence, and the group is gone.
	if res := c2.do("TEARDOWN", ts.url(), "Session", id2); res.StatusCode != 200 {
		t.Fatalf("TEARDOWN 2: status %d", res.StatusCode)
	}
	waitRTCP(t, rtcpR, 3*time.Second, isBye(ssrc))
	drainSilence(t, rtpR, 300*time.Millisecond, 3*time.Second)
	if _, err := readRTPFrom(t, rtpR, 500*time.Millisecond); err == nil {
		t.Fatal("RTP after the sender stopped")
	}
	eventually(t, "group still allocated without members", func() bool { return groupOf(ts) == nil })
}

// TestMulticastPauseRestartsSender: the last PAUSE stops the sender, the
// next PLAY starts a new one on the same group.
func TestMulticastPauseRestartsSender(t *testing.T) {
	o := mcastOptions(t)
	ts := startServer(t, o, 20*time.Millisecond)
	c := dial(t, ts.addr)
	id, tr := setupMulticast(t, ts, c, o)
	rtpR := mcastReceiver(t, *tr.Destination, o.MulticastPort)
	rtcpR := mcastReceiver(t, *tr.Destination, o.MulticastPort+1)
	for i := 1; i <= 2; i++ {
		if res := c.do("PLAY", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("PLAY %d: status %d", i, res.StatusCode)
		}
		if _, err := readRTPFrom(t, rtpR, 5*time.Second); err != nil {
			t.Fatalf("PLAY %d: no RTP: %v", i, err)
		}
		if res := c.do("PAUSE", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("PAUSE %d: status %d", i, res.StatusCode)
		}
		waitRTCP(t, rtcpR, 3*time.Second, isBye(ts.stream.SSRC()))
		g := groupOf(ts)
		if g == nil || g.addr != *tr.Destination {
			t.Fatalf("PAUSE %d released the group", i)
		}
		if m, p, n, snd := groupState(g); m != 1 || p != 0 || n != i || snd != nil {
			t.Fatalf("after PAUSE %d: %d members, %d playing, %d senders started, sender %v", i, m, p, n, snd)
		}
		drainSilence(t, rtpR, 300*time.Millisecond, 3*time.Second)
	}
}

// TestMulticastSessionEnds: a multicast session ends, and its group's
// sender with it, when it times out and when its RTSP connection closes;
// receiver reports from the client's address keep it alive.
func TestMulticastSessionEnds(t *testing.T) {
	play := func(t *testing.T, o Options) (*testServer, *client, string, *net.UDPConn) {
		ts := startServer(t, o, 20*time.Millisecond)
		c := dial(t, ts.addr)
		id, tr := setupMulticast(t, ts, c, o)
		rtcpR := mcastReceiver(t, *tr.Destination, o.MulticastPort+1)
		if res := c.do("PLAY", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("PLAY: status %d", res.StatusCode)
		}
		waitRTCP(t, rtcpR, 3*time.Second, isSR(ts.stream.SSRC()))
		return ts, c, id, rtcpR
	}
	t.Run("timeout", func(t *testing.T) {
		o := mcastOptions(t)
		o.SessionTimeout = time.Second
		ts, _, _, rtcpR := play(t, o)
		start := time.Now()
		waitRTCP(t, rtcpR, 4*time.Second, isBye(ts.stream.SSRC()))
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Errorf("session ended after %v, before its 1 s timeout", d)
		}
		eventually(t, "group still allocated", func() bool { return groupOf(ts) == nil })
	})
	t.Run("receiver reports keep it alive", func(t *testing.T) {
		o := mcastOptions(t)
		o.SessionTimeout = time.Second
		ts, c, id, _ := play(t, o)
		g := groupOf(ts)
		// A receiver report from the client's address, to the group, out of lo.
		rr, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer rr.Close()
		if err := setMulticastOptions(rr, 1, loopback(t).Index, netip.MustParseAddr("127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		b, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x1234,
			Reports: []rtcp.ReceptionReport{{SSRC: ts.stream.SSRC(), FractionLost: 64, TotalLost: 3}}}})
		for range 10 {
			if _, err := rr.WriteToUDPAddrPort(b, netip.AddrPortFrom(g.addr, uint16(g.port+1))); err != nil {
				t.Fatal(err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		// 2.5 s without an RTSP request, yet alive.
		ss := ts.srv.session(id)
		if ss == nil {
			t.Fatal("session timed out although receiver reports came")
		}
		if got := ss.fractionLost.Load(); got != 64 {
			t.Errorf("receiver report's fraction lost %d, want 64", got)
		}
		if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("TEARDOWN: status %d", res.StatusCode)
		}
	})
	t.Run("connection closed", func(t *testing.T) {
		o := mcastOptions(t)
		ts, c, id, rtcpR := play(t, o)
		c.c.Close()
		waitRTCP(t, rtcpR, 3*time.Second, isBye(ts.stream.SSRC()))
		eventually(t, "session outlived its connection", func() bool { return ts.srv.session(id) == nil })
		eventually(t, "group still allocated", func() bool { return groupOf(ts) == nil })
	})
}

// TestMulticastRefused: multicast off (the default) or a missing
// interface gets 461.
func TestMulticastRefused(t *testing.T) {
	for name, o := range map[string]Options{
		"disabled":          {},
		"missing interface": {Multicast: true, MulticastInterface: "nonexistent9"},
		"IPv6 prefix":       {Multicast: true, MulticastInterface: "lo", MulticastPrefix: netip.MustParsePrefix("ff15::/16")},
		"odd port":          {Multicast: true, MulticastInterface: "lo", MulticastPort: 5001},
	} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, o, 40*time.Millisecond)
			res := dial(t, ts.addr).do("SETUP", ts.url(), "Transport", "RTP/AVP;multicast")
			if res.StatusCode != 461 {
				t.Errorf("status %d, want 461", res.StatusCode)
			}
			if groupOf(ts) != nil {
				t.Error("a group was allocated")
			}
		})
	}
}

// TestMulticastPreference: the client's order of preference decides.
func TestMulticastPreference(t *testing.T) {
	o := mcastOptions(t)
	ts := startServer(t, o, 40*time.Millisecond)
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1,RTP/AVP;multicast")
	if got := res.Header.Get("Transport"); res.StatusCode != 200 || got[:11] != "RTP/AVP/TCP" {
		t.Errorf("TCP first: %d %q", res.StatusCode, got)
	}
	res = dial(t, ts.addr).do("SETUP", ts.url(), "Transport", "RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1")
	if got := res.Header.Get("Transport"); res.StatusCode != 200 || got[:17] != "RTP/AVP;multicast" {
		t.Errorf("multicast first: %d %q", res.StatusCode, got)
	}
}

func TestAllocGroup(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	none := func(netip.Addr) bool { return false }
	tests := []struct {
		prefix netip.Prefix
		used   func(netip.Addr) bool
		want   netip.Addr
	}{
		{p("239.0.0.0/8"), none, a("239.0.0.1")},
		{p("239.0.0.0/8"), func(x netip.Addr) bool { return x == a("239.0.0.1") }, a("239.0.0.2")},
		{p("239.255.42.0/24"), func(x netip.Addr) bool { return x.As4()[3] < 254 }, a("239.255.42.254")},
		{p("239.255.42.0/24"), func(x netip.Addr) bool { return x.As4()[3] < 255 }, netip.Addr{}}, // .255 is the last: skipped
		{p("239.1.2.3/32"), none, a("239.1.2.3")},
		{p("239.1.2.2/31"), func(x netip.Addr) bool { return x == a("239.1.2.2") }, a("239.1.2.3")},
		{p("224.0.0.0/4"), none, a("224.0.1.0")},  // 224.0.0.0/24 is local network control
		{p("239.7.7.7/24"), none, a("239.7.7.1")}, // masked
	}
	for _, tt := range tests {
		got, ok := allocGroup(tt.prefix, tt.used)
		if ok != tt.want.IsValid() || got != tt.want {
			t.Errorf("allocGroup(%v) = %v, %v; want %v", tt.prefix, got, ok, tt.want)
		}
	}
}

// TestMulticastJoinRequestsIDR: a client joining a running group asks the
// stream for an IDR, unless one went out within JoinReplayLimit.
func TestMulticastJoinRequestsIDR(t *testing.T) {
	var n int
	st := &Stream{requestIDR: func() { n++ }}
	var m mcastSink
	m.requestIDR(st) // none sent yet
	if n != 1 {
		t.Fatalf("no IDR sent yet: %d requests, want 1", n)
	}
	m.note(&frame{idr: true})
	m.requestIDR(st)
	if n != 1 {
		t.Fatalf("IDR just sent: %d requests, want still 1", n)
	}
	m.lastIDR.Store(time.Now().Add(-2 * JoinReplayLimit).UnixNano())
	m.requestIDR(st)
	if n != 2 {
		t.Fatalf("IDR sent long ago: %d requests, want 2", n)
	}
	m.requestIDR(&Stream{}) // a source that cannot make one
}

func TestMulticastGroup(t *testing.T) {
	mk := func(o Options) *Server {
		o.Logger = slog.New(slog.DiscardHandler)
		main := NewStream("/main", ring.New(1<<16, 16), StreamOptions{Logger: o.Logger})
		sub := NewStream("/sub", ring.New(1<<16, 16), StreamOptions{Logger: o.Logger})
		return NewServer(o, main, sub)
	}
	tests := []struct {
		name string
		opts Options
		path string
		want string // address:port, or "error"
	}{
		{"main", Options{Multicast: true}, "/main", "239.0.0.1:5000"},
		{"sub", Options{Multicast: true}, "/sub", "239.0.0.2:5002"},
		{"prefix and port", Options{Multicast: true, MulticastPrefix: netip.MustParsePrefix("239.255.42.0/24"), MulticastPort: 6000}, "/sub", "239.255.42.2:6002"},
		{"no room", Options{Multicast: true, MulticastPrefix: netip.MustParsePrefix("239.1.1.1/32")}, "/sub", "error"},
		{"off", Options{}, "/main", "error"},
		{"no stream", Options{Multicast: true}, "/nope", "error"},
		{"odd port", Options{Multicast: true, MulticastPort: 5001}, "/main", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mk(tt.opts).MulticastGroup(tt.path)
			s := got.String()
			if err != nil {
				s = "error"
			}
			if s != tt.want {
				t.Errorf("MulticastGroup(%s) = %v, %v; want %s", tt.path, got, err, tt.want)
			}
		})
	}
}
