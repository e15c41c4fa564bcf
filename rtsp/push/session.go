package push

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/ipcamd/ipcamd/rtsp/rtph264"
	"github.com/pion/rtcp"
)

// trackControl is the media's control attribute in the SDP; SETUP goes to
// the URL with it appended.
const trackControl = "trackID=0"

// errParamsChanged ends a session whose SPS or PPS changed, so that the
// next one announces the new ones.
var errParamsChanged = errors.New("push: stream parameter sets changed; announcing them again")

// teardownTimeout bounds the wait for TEARDOWN's answer.
const teardownTimeout = 2 * time.Second

// session runs one relay session: it waits for the stream's parameter
// sets, negotiates, and publishes until a failure or the end of ctx. It
// returns how long it published.
func (c *Client) session(ctx context.Context) (time.Duration, error) {
	if err := c.probe(ctx); err != nil {
		return 0, err
	}
	sdp, err := buildSDP(c.sps, c.pps, c.u.Hostname())
	if err != nil {
		return 0, err
	}

	dctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	nc, err := c.opts.Dial(dctx, "tcp", c.host)
	if err == nil && c.tls != nil {
		tc := tls.Client(nc, c.tls)
		if err = tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			err = handshakeError(err, time.Now())
		}
		nc = tc
	}
	cancel()
	if err != nil {
		return 0, fmt.Errorf("push: connecting: %w", err)
	}
	cn := newConn(nc, newAuthorizer(c.creds.user, c.creds.pass, c.creds.ok), c.opts.UserAgent, c.opts.Timeout, c.opts.WriteTimeout)
	defer cn.close()

	base := c.u.String()
	resp, err := cn.do(ctx, "OPTIONS", base, nil, nil)
	if err != nil {
		return 0, err
	}
	keepMethod := "OPTIONS"
	if hasToken(resp.Header.Get("Public"), "GET_PARAMETER") {
		keepMethod = "GET_PARAMETER"
	}
	h := message.Header{}
	h.Set("Content-Type", "application/sdp")
	if _, err := cn.do(ctx, "ANNOUNCE", base, h, sdp); err != nil {
		return 0, err
	}
	delivery := headers.DeliveryUnicast
	tr := headers.Transport{
		Protocol:    headers.ProtocolTCP,
		Delivery:    &delivery,
		Interleaved: &[2]int{0, 1},
		Mode:        "record",
	}
	var udp *udpMedia
	if c.opts.UDP {
		if udp, err = listenUDPPair(nc); err != nil {
			return 0, err
		}
		defer udp.close()
		tr = headers.Transport{
			Protocol:    headers.ProtocolUDP,
			Delivery:    &delivery,
			ClientPorts: &[2]int{udp.port, udp.port + 1},
			Mode:        "record",
		}
	}
	h = message.Header{}
	h.Set("Transport", tr.Marshal())
	resp, err = cn.do(ctx, "SETUP", strings.TrimSuffix(base, "/")+"/"+trackControl, h, nil)
	if err != nil {
		return 0, err
	}
	var sess headers.Session
	if err := sess.Unmarshal(resp.Header.Get("Session")); err != nil {
		return 0, fmt.Errorf("push: SETUP: %w", err)
	}
	var got headers.Transport
	if v := resp.Header.Get("Transport"); v != "" {
		if err := got.Unmarshal(v); err != nil {
			return 0, fmt.Errorf("push: SETUP: relay's Transport %q: %w", v, err)
		}
	}
	if udp == nil && got.Interleaved != nil && *got.Interleaved != [2]int{0, 1} {
		return 0, fmt.Errorf("push: SETUP: relay wants interleaved channels %v, not 0-1", *got.Interleaved)
	}
	var out mediaWriter = &interleavedWriter{cn: cn}
	if udp != nil {
		if got.ServerPorts == nil {
			return 0, fmt.Errorf("push: SETUP: relay's Transport %q has no server_port for UDP", resp.Header.Get("Transport"))
		}
		if err := udp.connect(nc, got.ServerPorts); err != nil {
			return 0, err
		}
		out = udp
	}
	cn.session = sess.ID
	sessTimeout := DefaultSessionTimeout
	if sess.Timeout != nil && *sess.Timeout > 0 {
		sessTimeout = time.Duration(*sess.Timeout) * time.Second
	}
	h = message.Header{}
	h.Set("Range", "npt=0.000-")
	if _, err := cn.do(ctx, "RECORD", base, h, nil); err != nil {
		return 0, err
	}

	// Publishing. The pump reads the ring from its newest IDR.
	start := time.Now()
	c.setState(StatePublishing)
	c.log.Info("push: publishing", "transport", out.String(), "session_timeout", sessTimeout, "keepalive", keepMethod)
	pctx, stop := context.WithCancel(ctx)
	p := c.newPump()
	go p.run(pctx)
	defer func() {
		stop()
		for f := range p.q { // wait for the pump to end
			_ = f
		}
	}()

	err = c.publish(ctx, cn, out, p, base, keepMethod, sessTimeout)
	if ctx.Err() != nil {
		tctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
		defer cancel()
		if cseq, err := cn.send("TEARDOWN", base, nil, nil); err == nil {
			if _, err := cn.await(tctx, cseq); err != nil {
				c.log.Debug("push: TEARDOWN unanswered", "err", err)
			}
		}
		c.log.Info("push: stopped")
		return time.Since(start), nil
	}
	return time.Since(start), err
}

// probe waits for the stream's SPS, PPS and an IDR, reading the ring from
// its newest IDR, and keeps the parameter sets in c.sps and c.pps.
func (c *Client) probe(ctx context.Context) error {
	rd := c.opts.Source.NewReader()
	defer rd.Close()
	for {
		au, err := rd.Read(ctx)
		switch {
		case errors.Is(err, ring.ErrOverrun):
			continue
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("push: reading the stream: %w", err)
		}
		sps, pps := paramSets(au)
		if sps != nil {
			c.sps = bytes.Clone(sps)
		}
		if pps != nil {
			c.pps = bytes.Clone(pps)
		}
		if au.IDR() && len(c.sps) >= 4 && len(c.pps) > 0 {
			return nil
		}
	}
}

// paramSets returns the SPS and PPS in au, or nil.
func paramSets(au *h264.AccessUnit) (sps, pps []byte) {
	for _, n := range au.NALUs {
		switch h264.Type(n) {
		case h264.NALUSPS:
			sps = n
		case h264.NALUPPS:
			pps = n
		}
	}
	return sps, pps
}

// frame is one access unit packetized into RTP packets, back to back in
// buf; ends holds the end offset of each packet.
type frame struct {
	buf  []byte
	ends []int
	ts   uint32    // RTP timestamp
	wall time.Time // capture time on the wall clock, for sender reports
	idr  bool
}

// pump reads the ring and queues packetized frames for the session's
// writer without ever waiting for it.
type pump struct {
	c        *Client
	sps, pps []byte // as announced
	pk       rtph264.Packetizer
	q        chan *frame
	queued   atomic.Int64 // bytes in q
	err      error        // why the pump stopped; read after q is closed
	rtp0     uint32
}

func (c *Client) newPump() *pump {
	var seed [10]byte
	rand.Read(seed[:])
	p := &pump{
		c:    c,
		sps:  c.sps,
		pps:  c.pps,
		q:    make(chan *frame, c.opts.QueueFrames),
		rtp0: binary.BigEndian.Uint32(seed[6:]),
	}
	p.pk = rtph264.Packetizer{
		PayloadType: 96,
		SSRC:        binary.BigEndian.Uint32(seed[0:]),
		MaxPayload:  c.opts.MaxPayload,
	}
	p.pk.SetSequence(binary.BigEndian.Uint16(seed[4:]))
	return p
}

// run pumps until ctx ends, the ring closes or the parameter sets change,
// then closes q.
func (p *pump) run(ctx context.Context) {
	defer close(p.q)
	rd := p.c.opts.Source.NewReader()
	defer rd.Close()
	var (
		waitIDR = true // at the start, and after a drop
		started bool
		pts0    time.Duration
		wall0   time.Time
		nalus   [][]byte
	)
	for {
		au, err := rd.Read(ctx)
		switch {
		case errors.Is(err, ring.ErrOverrun):
			p.c.log.Warn("push: fell behind the camera; resuming at the next IDR")
			waitIDR = true
			continue
		case err != nil:
			if ctx.Err() == nil {
				p.err = fmt.Errorf("push: reading the stream: %w", err)
			}
			return
		}
		sps, pps := paramSets(au)
		if (sps != nil && !bytes.Equal(sps, p.sps)) || (pps != nil && !bytes.Equal(pps, p.pps)) {
			if sps != nil {
				p.c.sps = bytes.Clone(sps)
			}
			if pps != nil {
				p.c.pps = bytes.Clone(pps)
			}
			p.err = errParamsChanged
			return
		}
		idr := au.IDR()
		if waitIDR && !idr {
			if started {
				p.c.count(func(s *Status) { s.FramesDropped++ })
			}
			continue
		}
		if !started {
			started, pts0, wall0 = true, au.PTS, time.Now()
		}
		nalus = nalus[:0]
		if idr && sps == nil {
			nalus = append(nalus, p.sps)
		}
		if idr && pps == nil {
			nalus = append(nalus, p.pps)
		}
		nalus = append(nalus, au.NALUs...)
		d := au.PTS - pts0
		f := &frame{ts: p.rtp0 + uint32(d.Nanoseconds()*9/100000), wall: wall0.Add(d), idr: idr}
		f.buf, f.ends, err = p.pk.AppendAccessUnit(nil, nil, nalus, f.ts)
		if err != nil || len(f.ends) == 0 {
			continue
		}
		if len(p.q) == cap(p.q) || p.queued.Load()+int64(len(f.buf)) > int64(p.c.opts.QueueBytes) {
			if !waitIDR {
				p.c.log.Warn("push: relay too slow; dropping frames up to the next IDR")
			}
			waitIDR = true
			p.c.count(func(s *Status) { s.FramesDropped++ })
			continue
		}
		waitIDR = false
		p.queued.Add(int64(len(f.buf)))
		p.q <- f // never blocks: only this goroutine sends
	}
}

// publish writes queued frames to the relay, with sender reports and
// keepalives, until a failure or the end of ctx.
func (c *Client) publish(ctx context.Context, cn *conn, out mediaWriter, p *pump, base, keepMethod string, sessTimeout time.Duration) error {
	keepEvery := max(sessTimeout/2, 500*time.Millisecond)
	keep := time.NewTicker(keepEvery)
	defer keep.Stop()
	sr := time.NewTicker(SenderReportInterval)
	defer sr.Stop()
	var (
		pending   int // CSeq of the unanswered keepalive, or 0
		pendingAt time.Time
		packets   uint32
		octets    uint32
		last      *frame
	)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-p.q:
			if !ok {
				if p.err != nil {
					return p.err
				}
				return ctx.Err()
			}
			p.queued.Add(-int64(len(f.buf)))
			octets += uint32(len(f.buf) - 12*len(f.ends))
			if err := out.writeFrame(f); err != nil {
				return fmt.Errorf("push: sending media: %w", err)
			}
			packets += uint32(len(f.ends))
			last = f
			c.count(func(s *Status) {
				s.FramesSent++
				s.BytesSent += uint64(len(f.buf))
			})
		case <-sr.C:
			if last == nil {
				continue
			}
			b, err := (&rtcp.SenderReport{
				SSRC:        p.pk.SSRC,
				NTPTime:     ntpTime(last.wall),
				RTPTime:     last.ts,
				PacketCount: packets,
				OctetCount:  octets,
			}).Marshal()
			if err != nil {
				continue
			}
			if err := out.writeRTCP(b); err != nil {
				return fmt.Errorf("push: sending RTCP: %w", err)
			}
		case <-keep.C:
			if pending != 0 {
				if time.Since(pendingAt) > c.opts.Timeout {
					return fmt.Errorf("push: %s keepalive unanswered for %v", keepMethod, c.opts.Timeout)
				}
				continue
			}
			cseq, err := cn.send(keepMethod, base, nil, nil)
			if err != nil {
				return fmt.Errorf("push: %s: %w", keepMethod, err)
			}
			pending, pendingAt = cseq, time.Now()
		case resp := <-cn.resps:
			n, _ := strconv.Atoi(resp.Header.Get("CSeq"))
			if n == pending && pending != 0 {
				pending = 0
				if resp.StatusCode == 454 { // Session Not Found
					return &StatusError{Method: keepMethod, Code: resp.StatusCode, Reason: resp.Reason}
				}
				if resp.StatusCode/100 != 2 {
					// Some relays refuse one keepalive method but keep
					// the session alive on any request; carry on.
					c.log.Debug("push: keepalive refused", "method", keepMethod, "status", resp.StatusCode)
				}
			}
		case err, ok := <-cn.readErr:
			if !ok || err == nil {
				err = errors.New("connection closed")
			}
			return fmt.Errorf("push: relay closed the connection: %w", err)
		}
	}
}

// ntpTime returns t as a 64-bit NTP timestamp (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800
	ns := t.UnixNano()
	secs := uint64(ns/1e9) + unixToNTP
	frac := (uint64(ns%1e9) << 32) / 1e9
	return secs<<32 | frac
}
