package rtsp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// transport is how a session's packets travel.
type transport int

const (
	transportUDP transport = iota + 1
	transportTCP
	transportMulticast // UDP to the stream's multicast group, shared
)

func (t transport) String() string {
	switch t {
	case transportTCP:
		return "TCP"
	case transportMulticast:
		return "multicast"
	}
	return "UDP"
}

// session is one RTSP session: a client set up to receive one stream.
type session struct {
	id  string
	srv *Server
	log *slog.Logger

	lastSeen atomic.Int64 // unix nanoseconds of the last sign of life
	// setUp is set once SETUP has filled in the fields below; until then
	// other goroutines that find the session in the server's table (the
	// reaper, Stats) leave it alone.
	setUp atomic.Bool

	// Set by SETUP, fixed afterwards.
	stream     *Stream
	transport  transport
	conn       *conn          // TCP: the connection carrying the packets
	channel    uint8          // TCP: RTP channel; RTCP uses channel+1
	clientRTP  netip.AddrPort // UDP
	clientRTCP netip.AddrPort // UDP
	trackURL   string
	url        string // the stream's URL as the client gave it

	// ctrl is the RTSP connection of the session's latest request, which
	// a REDIRECT goes on; redirected is set once one has been sent.
	ctrl       atomic.Pointer[conn]
	redirected atomic.Bool

	// secure is set for RTP/SAVP: the session gets the stream's SRTP
	// packets and SRTCP reports. srtpIn, if not nil, decrypts the
	// client's SRTCP; only the goroutine that reads the session's RTCP
	// (the server's RTCP socket, or the TCP connection) uses it.
	secure bool
	srtpIn *srtp.Context
	// roc is the rollover counter the client was told its first packet
	// has (the SETUP reply's MIKEY message); guarded by mu.
	roc uint32
	// streaming is set while the session plays (sub is not nil), for
	// readers that cannot take mu.
	streaming atomic.Bool
	// from is the client's address, for the per-address session cap.
	from netip.Addr

	cnt counters

	// Receiver report figures, from the client's RTCP.
	fractionLost atomic.Uint32 // fraction lost, in 1/256
	totalLost    atomic.Uint32
	jitter       atomic.Uint32 // interarrival jitter, in RTP timestamp units
	heardReport  atomic.Bool   // a receiver report about our stream came

	mu      sync.Mutex
	closed  bool
	sub     *subscriber
	stopSub context.CancelFunc
	subDone chan struct{}
	srBuf   []byte

	// Multicast, set by SETUP: the stream's group (which sends for the
	// session), the RTSP connection that set the session up, and the
	// client's address on it, which its receiver reports come from.
	mcast     *mcastGroup
	mcastConn *conn
	mcastFrom netip.Addr
}

func (ss *session) touch() { ss.lastSeen.Store(time.Now().UnixNano()) }

// expired reports whether a session lost its client. A playing TCP session
// lives as long as its connection, which the connection's own teardown
// handles, and whose stalled writes end it; one that is not playing (set
// up and never played, or paused) times out like a UDP one, so that a
// silent connection cannot hold sessions. A multicast session times out
// like a UDP one, and also ends with the RTSP connection that set it up.
// The caller holds ss.srv.mu.
func (ss *session) expired(now time.Time, timeout time.Duration) bool {
	switch ss.transport {
	case transportTCP:
		if ss.conn != nil && ss.streaming.Load() {
			return false
		}
	case transportMulticast:
		if mcastConnGone(ss.srv, ss.mcastConn) {
			return true
		}
	}
	return now.Sub(time.Unix(0, ss.lastSeen.Load())) > timeout
}

func (ss *session) playing() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.sub != nil
}

// play starts sending: it subscribes to the stream and returns the sequence
// number and timestamp of the first packet the client will get. The sender
// does not start until start is called, so that a TCP client gets the PLAY
// reply before any packet. A multicast session joins its group's sender
// instead, which may be running already: then the packet is the next one
// the group sends.
func (ss *session) play(ctx context.Context) (seq uint16, ts uint32, start func(), err error) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return 0, 0, nil, errors.New("rtsp: session closed")
	}
	if ss.transport == transportMulticast {
		ss.mu.Unlock()
		seq, ts, err = ss.mcast.play(ctx, ss)
		return seq, ts, func() {}, err
	}
	if ss.sub != nil {
		// Already playing: a repeated PLAY changes nothing.
		sub := ss.sub
		ss.mu.Unlock()
		seq, ts, err = sub.waitFirst(ctx)
		return seq, ts, func() {}, err
	}
	o := ss.srv.opts
	var out sink
	if ss.transport == transportTCP {
		// A small kernel send buffer keeps a stalled reader's backlog
		// where the server can see it, instead of megabytes hidden in an
		// auto-tuned socket buffer.
		if tc, ok := ss.conn.nc.(*net.TCPConn); ok {
			tc.SetWriteBuffer(tcpSendBuffer)
		}
		out = &tcpSink{c: ss.conn, channel: ss.channel, timeout: o.WriteTimeout, secure: ss.secure}
	} else {
		w, err := newDatagramWriter(ss.srv.rtp, ss.clientRTP)
		if err != nil {
			ss.mu.Unlock()
			return 0, 0, nil, err
		}
		w.secure = ss.secure
		out = w
	}
	if ss.secure {
		// Made by the DESCRIBE or SETUP that gave the client the key.
		if _, err := ss.stream.secureKey(); err != nil {
			ss.mu.Unlock()
			return 0, 0, nil, err
		}
	}
	sub := newSubscriber(out, 1024, o.ClientBacklog, &ss.cnt)
	sub.secure, sub.roc = ss.secure, ss.roc
	sub.paced = ss.transport != transportTCP
	ss.sub = sub
	ss.streaming.Store(true)
	ss.mu.Unlock()

	ss.stream.subscribe(sub)
	seq, ts, err = sub.waitFirst(ctx)
	if err != nil {
		ss.pause()
		return 0, 0, nil, err
	}
	start = func() {
		sctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		ss.mu.Lock()
		ss.stopSub, ss.subDone = cancel, done
		ss.mu.Unlock()
		go func() {
			defer close(done)
			err := sub.run(sctx, o.EvictAfter, o.SenderReportInterval, func() { ss.sendSR(sub, false) })
			if err != nil {
				ss.srv.evicted.Add(1)
				ss.stream.evicted.Add(1)
				ss.log.Warn("rtsp: evicting a client that cannot keep up", "session", ss.id, "err", err)
				go ss.close(err.Error())
			}
		}()
	}
	return seq, ts, start, nil
}

// pause stops sending and drops the client's backlog. It is a no-op when
// the session is not playing.
func (ss *session) pause() *subscriber {
	if ss.transport == transportMulticast {
		// The group's sender goes on for its other players.
		if ss.mcast != nil {
			ss.mcast.pause(ss)
		}
		return nil
	}
	ss.mu.Lock()
	sub, cancel, done := ss.sub, ss.stopSub, ss.subDone
	ss.sub, ss.stopSub, ss.subDone = nil, nil, nil
	ss.streaming.Store(false)
	ss.mu.Unlock()
	if sub == nil {
		return nil
	}
	ss.stream.unsubscribe(sub)
	if cancel != nil {
		cancel()
		<-done
	}
	sub.stop()
	return sub
}

// close ends the session: it stops sending, says goodbye with an RTCP BYE
// and forgets the session. A TCP session closed for a reason other than
// the client's TEARDOWN also closes its connection.
func (ss *session) close(reason string) {
	ss.end(reason, ss.transport == transportTCP && ss.conn != nil && reason != reasonTeardown && reason != reasonShutdown)
}

// timeOut ends a session that timed out. A TCP one leaves its connection
// open, for the other sessions it may carry; once it carries none, the
// connection closes when idle.
func (ss *session) timeOut(reason string) {
	if ss.transport == transportTCP && ss.conn != nil {
		ss.conn.dropChannel(ss)
		ss.end(reason, false)
		return
	}
	ss.close(reason)
}

// end is close; hangUp resets and closes a TCP session's connection.
func (ss *session) end(reason string, hangUp bool) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	ss.closed = true
	ss.mu.Unlock()
	if hangUp {
		// The connection is stalled or gone: a BYE would only wait for
		// the write timeout. Reset it first, which also unblocks the
		// sender and discards the stale video still in the kernel buffer.
		if tc, ok := ss.conn.nc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		ss.conn.nc.Close()
	}
	sub := ss.pause()
	switch {
	case ss.transport == transportMulticast:
		// The group says goodbye when its last player leaves.
		if ss.mcast != nil {
			ss.mcast.leave(ss)
		}
	case ss.stream != nil && !hangUp:
		ss.sendSR(sub, true)
	}
	ss.srv.forget(ss)
	attrs := []any{"session", ss.id, "reason", reason}
	if ss.transport != 0 {
		attrs = append(attrs, "transport", ss.transport.String())
	}
	if ss.mcast != nil {
		attrs = append(attrs, "group", ss.mcast.addr)
	}
	if ss.stream != nil {
		attrs = append(attrs,
			"frames_sent", ss.cnt.framesSent.Load(),
			"packets_sent", ss.cnt.packetsSent.Load(),
			"frames_dropped", ss.cnt.framesDropped.Load(),
			"reported_fraction_lost", float64(ss.fractionLost.Load())/256,
			"reported_lost", ss.totalLost.Load(),
			"jitter", ss.jitter.Load())
	}
	ss.log.Info("rtsp: session closed", attrs...)
	if ss.transport == transportTCP && ss.conn != nil && reason == reasonShutdown && !ss.redirected.Load() {
		ss.conn.nc.Close()
	}
}

// redirect sends the client a REDIRECT to the relay serving its stream
// (RFC 2326 §10.15), on the connection of its latest request, and returns
// that connection; nil if there is no relay or no connection to send on.
func (ss *session) redirect() *conn {
	if !ss.setUp.Load() || ss.stream == nil {
		return nil
	}
	loc, c := ss.stream.relayURL(), ss.ctrl.Load()
	if loc == "" || c == nil {
		return nil
	}
	req := &message.Request{Method: "REDIRECT", URL: ss.url, Header: message.Header{}}
	req.Header.Set("Session", ss.id)
	req.Header.Set("Location", loc)
	if err := c.writeRequest(req, byeTimeout); err != nil {
		ss.log.Debug("rtsp: REDIRECT not sent", "session", ss.id, "err", err)
		return nil
	}
	ss.redirected.Store(true)
	ss.srv.redirected.Add(1)
	ss.log.Info("rtsp: client redirected to the relay", "session", ss.id, "location", loc)
	return c
}

const (
	reasonTeardown = "client teardown"
	reasonShutdown = "server shutting down"
	// byeTimeout bounds the write of the final RTCP BYE to a TCP client.
	byeTimeout = 500 * time.Millisecond
)

// tcpSendBuffer is the socket send buffer of a TCP client that plays
// (Linux doubles it). It is enough for 20 Mbit/s at 100 ms round trip.
const tcpSendBuffer = 128 << 10

// sendSR sends an RTCP sender report, followed by a BYE when bye is set.
// Without a subscriber, or before the first packet, only the BYE is sent.
func (ss *session) sendSR(sub *subscriber, bye bool) {
	b := rtcpReport(ss.stream.SSRC(), sub, &ss.cnt, bye)
	if b == nil {
		return
	}
	if ss.secure {
		sp, err := ss.stream.secureKey()
		if err == nil {
			b, err = sp.encryptRTCP(b)
		}
		if err != nil {
			ss.log.Warn("rtsp: no SRTCP report", "session", ss.id, "err", err)
			return
		}
	}
	switch ss.transport {
	case transportTCP:
		timeout := ss.srv.opts.WriteTimeout
		if bye {
			timeout = min(timeout, byeTimeout)
		}
		ss.conn.writeInterleaved(ss.channel+1, b, timeout)
	case transportUDP:
		ss.srv.rtcp.WriteToUDPAddrPort(b, ss.clientRTCP)
	}
}

// handleRTCP records the figures of a client's receiver reports. An SRTP
// client's reports are decrypted in place first.
func (ss *session) handleRTCP(b []byte) {
	if ss.secure {
		if ss.srtpIn == nil {
			return // the client sent no key
		}
		var err error
		if b, err = ss.srtpIn.DecryptRTCP(b, b, nil); err != nil {
			ss.log.Debug("rtsp: SRTCP from client does not decrypt", "session", ss.id, "err", err)
			return
		}
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		ss.log.Debug("rtsp: malformed RTCP from client", "session", ss.id, "err", err)
		return
	}
	ssrc := ss.stream.SSRC()
	for _, p := range pkts {
		rr, ok := p.(*rtcp.ReceiverReport)
		if !ok {
			continue
		}
		for _, r := range rr.Reports {
			if r.SSRC != ssrc {
				continue
			}
			if !ss.heardReport.Swap(true) {
				ss.log.Debug("rtsp: first receiver report from client", "session", ss.id, "transport", ss.transport.String(), "srtp", ss.secure,
					"fraction_lost", float64(r.FractionLost)/256, "jitter", r.Jitter)
			}
			ss.fractionLost.Store(uint32(r.FractionLost))
			ss.totalLost.Store(r.TotalLost)
			ss.jitter.Store(r.Jitter)
			if ss.transport == transportUDP {
				ss.stream.receiverReport(ss.id, r.FractionLost, r.Jitter)
			}
		}
	}
}

// rtcpReport marshals an RTCP sender report of what sub sent (counted in
// cnt), followed by a BYE when bye is set. Without a subscriber, or before
// its first packet, only the BYE goes out (behind an empty receiver
// report, as a compound packet must start with a report). It returns nil
// when there is nothing to send.
func rtcpReport(ssrc uint32, sub *subscriber, cnt *counters, bye bool) []byte {
	var pkts []rtcp.Packet
	if sub != nil && sub.lastWall.Load() != 0 {
		packets := cnt.packetsSent.Load()
		pkts = append(pkts, &rtcp.SenderReport{
			SSRC:        ssrc,
			NTPTime:     ntpTime(time.Unix(0, sub.lastWall.Load())),
			RTPTime:     sub.lastTS.Load(),
			PacketCount: uint32(packets),
			OctetCount:  uint32(cnt.bytesSent.Load() - 12*packets),
		})
	} else if bye {
		pkts = append(pkts, &rtcp.ReceiverReport{SSRC: ssrc})
	}
	if bye {
		pkts = append(pkts, &rtcp.Goodbye{Sources: []uint32{ssrc}, Reason: "teardown"})
	}
	if len(pkts) == 0 {
		return nil
	}
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		return nil
	}
	return b
}

// ntpTime converts t to a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	const unixToNTP = 2208988800
	ns := t.UnixNano()
	sec := uint64(ns/1e9) + unixToNTP
	frac := uint64(ns%1e9) << 32 / 1e9
	return sec<<32 | frac
}
