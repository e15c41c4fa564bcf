package rtsp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/pion/srtp/v3"
)

// publicMethods is the Public header: every method the server handles.
const publicMethods = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

// readyTimeout bounds how long DESCRIBE and PLAY wait for a stream that has
// not produced its first IDR yet.
const readyTimeout = 5 * time.Second

// conn is one RTSP control connection. It reads requests (and interleaved
// RTCP) in its own goroutine; responses and interleaved media share the
// write side under wmu.
type conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader

	wmu  sync.Mutex
	wbuf []byte
	// midFrame is a sink whose frame tryWrite left half written. Until
	// it writes the rest, nothing else may go on the wire, or it would
	// land inside an interleaved packet; other writers wait on wcond.
	midFrame *tcpSink
	wcond    sync.Cond

	// Sessions whose packets travel on this connection, by RTP channel.
	smu      sync.Mutex
	channels map[uint8]*session

	cseq atomic.Uint32 // of the requests the server sends (REDIRECT)
	done chan struct{} // closed when serve returns
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, br: bufio.NewReaderSize(nc, 4096), channels: make(map[uint8]*session), done: make(chan struct{})}
	c.wcond.L = &c.wmu
	return c
}

// lockWrite takes the write side for owner (nil for anything but a
// sink's media), waiting while another sink's frame is half written.
func (c *conn) lockWrite(owner *tcpSink) {
	c.wmu.Lock()
	for c.midFrame != nil && c.midFrame != owner {
		c.wcond.Wait()
	}
}

// unlockWrite releases the write side. A sink that has written the rest
// of its frame (done) lets the waiting writers go.
func (c *conn) unlockWrite(owner *tcpSink, done bool) {
	if done && owner != nil && c.midFrame == owner {
		c.midFrame = nil
		c.wcond.Broadcast()
	}
	c.wmu.Unlock()
}

// serve reads and answers requests until the client hangs up, sends
// something unparseable, or ctx ends.
func (c *conn) serve(ctx context.Context) {
	defer close(c.done)
	defer c.srv.forgetConn(c)
	defer c.nc.Close()
	defer c.closeSessions()
	log := c.srv.log.With("client", c.nc.RemoteAddr().String())
	log.Debug("rtsp: connection opened")
	var ibuf []byte
	for {
		// A connection that carries no TCP session must not sit idle;
		// one whose TCP sessions are set up but none plays may be
		// silent for a session timeout (the reaper then ends them);
		// one that plays may be silent for as long as it plays.
		idle := time.Time{}
		switch carries, plays := c.sessionStates(); {
		case !carries:
			idle = time.Now().Add(c.srv.opts.IdleTimeout)
		case !plays:
			idle = time.Now().Add(max(c.srv.opts.IdleTimeout, c.srv.opts.SessionTimeout+time.Second))
		}
		c.nc.SetReadDeadline(idle)
		inter, err := message.IsInterleaved(c.br)
		if err == nil {
			// The rest of the message must follow promptly.
			c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.HeadTimeout))
		}
		if err != nil {
			if !isClosed(err) {
				log.Debug("rtsp: read", "err", err)
			}
			return
		}
		if inter {
			var ch uint8
			var payload []byte
			ch, payload, err = message.ReadInterleaved(c.br, ibuf)
			if err != nil {
				log.Debug("rtsp: read interleaved data", "err", err)
				return
			}
			ibuf = payload[:0]
			c.handleInterleaved(ch, payload)
			continue
		}
		if b, _ := c.br.Peek(5); string(b) == "RTSP/" {
			// The client answers a request of ours (REDIRECT).
			res, err := message.ReadResponse(c.br)
			if err != nil {
				log.Info("rtsp: malformed response from the client", "err", err)
				return
			}
			log.Debug("rtsp: client replied", "cseq", res.Header.Get("CSeq"), "status", res.StatusCode)
			continue
		}
		req, err := message.ReadRequest(c.br)
		if err != nil {
			var pe *message.ProtocolError
			if errors.As(err, &pe) {
				log.Info("rtsp: malformed request", "err", err)
				code := 400
				if pe.Version {
					code = 505 // e.g. RTSP/1.1: well formed, but not a version we speak
				}
				res := &message.Response{StatusCode: code, Header: message.Header{}}
				if pe.CSeq != "" {
					res.Header.Set("CSeq", pe.CSeq)
				}
				if c.writeResponse(res) == nil && pe.Complete {
					continue
				}
			} else if !isClosed(err) {
				log.Debug("rtsp: read request", "err", err)
			}
			return
		}
		res, after := c.handle(ctx, req)
		log.Debug("rtsp: request", "method", req.Method, "url", req.URL, "status", res.StatusCode)
		if err := c.writeResponse(res); err != nil {
			return
		}
		if after != nil {
			after()
		}
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

// dropChannel forgets ss as a TCP session of this connection.
func (c *conn) dropChannel(ss *session) {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.channels[ss.channel] == ss {
		delete(c.channels, ss.channel)
	}
}

// sessionStates reports whether the connection carries TCP sessions, and
// whether one of them is playing.
func (c *conn) sessionStates() (carries, plays bool) {
	c.smu.Lock()
	defer c.smu.Unlock()
	for _, ss := range c.channels {
		if ss.streaming.Load() {
			return true, true
		}
	}
	return len(c.channels) > 0, false
}

// closeSessions ends the sessions that depend on this connection.
func (c *conn) closeSessions() {
	c.smu.Lock()
	var ss []*session
	for _, s := range c.channels {
		ss = append(ss, s)
	}
	c.smu.Unlock()
	for _, s := range ss {
		s.close("connection closed")
	}
}

// handleInterleaved takes RTCP that a TCP client sends on an odd channel.
func (c *conn) handleInterleaved(ch uint8, payload []byte) {
	c.smu.Lock()
	ss := c.channels[ch&^1]
	c.smu.Unlock()
	if ss == nil {
		return
	}
	ss.touch()
	if ch&1 == 1 {
		ss.handleRTCP(payload)
	}
}

func (c *conn) writeResponse(res *message.Response) error {
	res.Header.Set("Server", c.srv.opts.ServerName)
	c.lockWrite(nil)
	defer c.unlockWrite(nil, false)
	c.wbuf = res.AppendTo(c.wbuf[:0])
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
	_, err := c.nc.Write(c.wbuf)
	return err
}

// writeRequest sends a request of the server's own, such as REDIRECT.
func (c *conn) writeRequest(req *message.Request, timeout time.Duration) error {
	req.Header.Set("CSeq", strconv.FormatUint(uint64(c.cseq.Add(1)), 10))
	b := req.AppendTo(nil)
	return c.write(nil, b, timeout)
}

// writeBuffers writes owner's interleaved media with one vectored write.
// Whether or not it succeeds, owner's half-written frame, if any, is over:
// on failure the connection is done for anyway.
func (c *conn) writeBuffers(owner *tcpSink, v *net.Buffers, timeout time.Duration) error {
	c.lockWrite(owner)
	defer c.unlockWrite(owner, true)
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := v.WriteTo(c.nc)
	return err
}

// write writes b under the write lock with a deadline, for owner (nil
// for anything but a sink's media).
func (c *conn) write(owner *tcpSink, b []byte, timeout time.Duration) error {
	c.lockWrite(owner)
	defer c.unlockWrite(owner, true)
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write(b)
	return err
}

// writeInterleaved writes one interleaved packet, such as RTCP.
func (c *conn) writeInterleaved(ch uint8, b []byte, timeout time.Duration) error {
	frame, err := message.AppendInterleaved(nil, ch, b)
	if err != nil {
		return err
	}
	c.lockWrite(nil)
	defer c.unlockWrite(nil, false)
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err = c.nc.Write(frame)
	return err
}

// handle answers one request. The returned function, if any, runs after
// the response is written.
func (c *conn) handle(ctx context.Context, req *message.Request) (*message.Response, func()) {
	res := &message.Response{StatusCode: 200, Header: message.Header{}}
	if cseq := req.Header.Get("CSeq"); cseq != "" {
		res.Header.Set("CSeq", cseq)
	}
	if req.Proto != message.Proto10 {
		return status(res, 505), nil
	}
	if req.Method != "OPTIONS" && !c.authorized(req, res) {
		return res, nil
	}
	var after func()
	switch req.Method {
	case "OPTIONS":
		res.Header.Set("Public", publicMethods)
		// Some clients keep a session alive with OPTIONS naming it
		// (RFC 2326 §10.1). OPTIONS needs no credentials, so it only
		// keeps the session alive; without Session it is a plain OPTIONS.
		var h headers.Session
		if v := req.Header.Get("Session"); v != "" && h.Unmarshal(v) == nil {
			if ss := c.srv.session(h.ID); ss != nil {
				ss.touch()
				c.setSessionHeader(res, ss)
			}
		}
	case "DESCRIBE":
		c.describe(ctx, req, res)
	case "SETUP":
		c.setup(req, res)
	case "PLAY":
		after = c.play(ctx, req, res)
	case "PAUSE":
		if ss := c.sessionFor(req, res); ss != nil {
			ss.pause()
		}
	case "TEARDOWN":
		if ss := c.sessionFor(req, res); ss != nil {
			c.dropChannel(ss)
			ss.close(reasonTeardown)
			res.Header.Del("Session")
		}
	case "GET_PARAMETER", "SET_PARAMETER":
		// Both serve as keepalives. No parameters are defined, so a body
		// naming any is answered 451.
		if req.Header.Get("Session") != "" && c.sessionFor(req, res) == nil {
			break
		}
		if len(strings.TrimSpace(string(req.Body))) > 0 {
			status(res, 451)
		}
	default:
		status(res, 501)
		res.Header.Set("Public", publicMethods)
	}
	return res, after
}

// authorized checks a request's credentials when the server has users. On
// failure it sets the 401 (with its challenges) or 403 and returns false.
// OPTIONS needs none, as clients probe with it before they authenticate.
func (c *conn) authorized(req *message.Request, res *message.Response) bool {
	a := c.srv.opts.Auth
	if a == nil {
		return true
	}
	_, err := a.Check(req.Method, req.URL, req.Header.Get("Authorization"), remoteAddr(c.nc), c.isTLS())
	var ch *auth.Challenge
	switch {
	case err == nil:
		return true
	case errors.As(err, &ch):
		status(res, 401)
		for _, v := range ch.WWWAuthenticate {
			res.Header.Add("WWW-Authenticate", v)
		}
		if !errors.Is(err, auth.ErrNoCredentials) {
			c.srv.log.Info("rtsp: authentication failed", "client", c.nc.RemoteAddr().String(), "method", req.Method, "err", err)
		}
	case errors.Is(err, auth.ErrTooManyFailures):
		c.srv.log.Warn("rtsp: client blocked after repeated authentication failures", "client", c.nc.RemoteAddr().String())
		status(res, 403)
	default:
		c.srv.log.Info("rtsp: authentication", "client", c.nc.RemoteAddr().String(), "err", err)
		status(res, 401)
	}
	return false
}

func status(res *message.Response, code int) *message.Response {
	res.StatusCode = code
	return res
}

// requestPath returns the path of a request URL.
func requestPath(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return nil, fmt.Errorf("not an rtsp URL: %q", raw)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// requestStream returns the URL of a request and the stream it names, or
// sets 400 or 404 and returns a nil stream.
func (c *conn) requestStream(req *message.Request, res *message.Response) (*url.URL, *Stream) {
	u, err := requestPath(req.URL)
	if err != nil {
		status(res, 400)
		return nil, nil
	}
	st := c.srv.stream(u.Path)
	if st == nil {
		status(res, 404)
	}
	return u, st
}

func (c *conn) describe(ctx context.Context, req *message.Request, res *message.Response) {
	u, st := c.requestStream(req, res)
	if st == nil {
		return
	}
	if loc := st.relayURL(); loc != "" && c.srv.full() {
		// No room for another session here, but the relay has the
		// stream: send the client there (RFC 2326 §11.3.3).
		status(res, 302)
		res.Header.Set("Location", loc)
		c.srv.redirected.Add(1)
		c.srv.log.Info("rtsp: session cap reached: client sent to the relay", "client", c.nc.RemoteAddr().String(), "location", loc)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := st.waitReady(ctx); err != nil {
		status(res, 503)
		res.Reason = "Stream Not Ready"
		return
	}
	base := *u
	base.RawQuery, base.Fragment, base.User = "", "", nil
	base.Path = st.Path() + "/"
	local := netip.Addr{}
	if ap, err := netip.ParseAddrPort(c.nc.LocalAddr().String()); err == nil {
		local = ap.Addr().Unmap()
	}
	// Over TLS the media is offered as SRTP too (RTP/SAVP with the
	// stream's key), which UDP needs; the key never crosses plain RTSP.
	var keyMgmt []byte
	if c.isTLS() {
		var err error
		if keyMgmt, _, err = st.keyMgmt(0); err != nil {
			c.srv.log.Error("rtsp: DESCRIBE without SRTP", "path", st.Path(), "err", err)
		}
	}
	sdp, err := st.sdp(local, keyMgmt)
	if err != nil {
		status(res, 500)
		return
	}
	res.Header.Set("Content-Base", base.String())
	res.Header.Set("Content-Type", "application/sdp")
	res.Body = sdp
}

// sessionFor returns the session a request names, or sets an error status.
func (c *conn) sessionFor(req *message.Request, res *message.Response) *session {
	v := req.Header.Get("Session")
	if v == "" {
		status(res, 454)
		return nil
	}
	var h headers.Session
	if err := h.Unmarshal(v); err != nil {
		status(res, 400)
		return nil
	}
	ss := c.srv.session(h.ID)
	if ss == nil {
		status(res, 454)
		return nil
	}
	ss.touch()
	ss.ctrl.Store(c)
	c.setSessionHeader(res, ss)
	return ss
}

func (c *conn) setSessionHeader(res *message.Response, ss *session) {
	t := uint(c.srv.opts.SessionTimeout / time.Second)
	res.Header.Set("Session", (&headers.Session{ID: ss.id, Timeout: &t}).Marshal())
}

func (c *conn) setup(req *message.Request, res *message.Response) {
	u, st := c.requestStream(req, res)
	if st == nil {
		return
	}
	ts, err := headers.ParseTransports(req.Header.Get("Transport"))
	if err != nil {
		status(res, 400)
		res.Reason = "Bad Transport Header"
		return
	}
	var tr *headers.Transport
	refused := "" // why an SRTP transport was passed over
	for i := range ts {
		t := &ts[i]
		if t.Mode != "" && t.Mode != "PLAY" {
			continue
		}
		if t.Profile == headers.ProfileSAVP {
			// The key travels in the KeyMgmt headers, so only inside TLS.
			if !c.isTLS() {
				refused = "RTP/SAVP needs RTSP over TLS (rtsps://)"
				continue
			}
			if t.Delivery != nil && *t.Delivery == headers.DeliveryMulticast {
				refused = "no RTP/SAVP over multicast"
				continue
			}
		} else if c.isTLS() && t.Protocol == headers.ProtocolUDP {
			// A client of rtsps:// expects the video encrypted: plain
			// RTP beside the TLS connection would not be. It may fall
			// back to TCP inside TLS or to RTP/SAVP.
			refused = "plain RTP over UDP under rtsps://; use RTP/SAVP or TCP"
			continue
		}
		if t.Delivery != nil && *t.Delivery == headers.DeliveryMulticast {
			// The client's destination, port and ttl, if any, are
			// ignored: the reply names the stream's group.
			if c.srv.opts.Multicast && t.Protocol == headers.ProtocolUDP {
				tr = t
				break
			}
			continue
		}
		if t.Protocol == headers.ProtocolTCP || t.ClientPorts != nil {
			tr = t
			break
		}
	}
	if tr == nil {
		if refused != "" {
			c.srv.log.Info("rtsp: SETUP refused", "client", c.nc.RemoteAddr().String(), "reason", refused)
		}
		status(res, 461)
		return
	}
	// An SRTP client sends its own key, which decrypts its SRTCP, and
	// the timestamp our reply's key carries back.
	var srtpIn *srtp.Context
	var clientTime uint64
	if tr.Profile == headers.ProfileSAVP {
		if srtpIn, clientTime, err = c.clientKey(req); err != nil {
			c.srv.log.Info("rtsp: SETUP with a bad KeyMgmt header", "client", c.nc.RemoteAddr().String(), "err", err)
			status(res, 400)
			res.Reason = "Bad KeyMgmt Header"
			return
		}
	}

	var ss *session
	if req.Header.Get("Session") != "" {
		// A second SETUP on an existing session: we serve one track, so
		// only a repeat of the same track is acceptable.
		if ss = c.sessionFor(req, res); ss == nil {
			return
		}
		if ss.stream != st {
			status(res, 459)
			return
		}
		c.setSessionHeader(res, ss)
		res.Header.Set("Transport", ss.transportHeader())
		if ss.secure {
			c.setKeyMgmt(res, ss, clientTime)
		}
		return
	}
	ss, err = c.srv.newSession(c)
	if err != nil {
		status(res, 503)
		return
	}
	ss.stream = st
	ss.trackURL = trackURL(u, st)
	ss.url = streamURL(u, st)
	ss.ctrl.Store(c)
	if tr.Profile == headers.ProfileSAVP {
		if !c.setKeyMgmt(res, ss, clientTime) {
			ss.close("no SRTP key")
			return
		}
		ss.secure, ss.srtpIn = true, srtpIn
	}
	remote, _ := netip.ParseAddrPort(c.nc.RemoteAddr().String())
	if tr.Delivery != nil && *tr.Delivery == headers.DeliveryMulticast {
		ss.transport, ss.mcastConn, ss.mcastFrom = transportMulticast, c, remote.Addr().Unmap()
		if _, err := joinMulticast(ss, st); err != nil {
			c.srv.log.Warn("rtsp: multicast SETUP refused", "client", remote.String(), "err", err)
			ss.close("multicast unavailable")
			status(res, 461)
			return
		}
	} else if tr.Protocol == headers.ProtocolTCP {
		ch := uint8(0)
		if tr.Interleaved != nil {
			ch = uint8(tr.Interleaved[0])
		}
		c.smu.Lock()
		if c.channels[ch&^1] != nil {
			c.smu.Unlock()
			ss.close("interleaved channel in use")
			status(res, 461)
			return
		}
		c.channels[ch&^1] = ss
		c.smu.Unlock()
		ss.transport, ss.conn, ss.channel = transportTCP, c, ch&^1
	} else {
		ip := remote.Addr().Unmap()
		if tr.Destination != nil && *tr.Destination != ip {
			// Sending media to a third party would make us a reflector.
			ss.close("destination refused")
			status(res, 403)
			return
		}
		ss.transport = transportUDP
		ss.clientRTP = netip.AddrPortFrom(ip, uint16(tr.ClientPorts[0]))
		ss.clientRTCP = netip.AddrPortFrom(ip, uint16(tr.ClientPorts[1]))
		c.srv.registerUDP(ss)
	}
	c.setSessionHeader(res, ss)
	res.Header.Set("Transport", ss.transportHeader())
	ss.setUp.Store(true)
	c.srv.log.Debug("rtsp: session set up", "session", ss.id, "transport", ss.transport.String(), "srtp", ss.secure, "client", remote.String())
}

// isTLS reports whether the connection is RTSP over TLS (rtsps://).
func (c *conn) isTLS() bool {
	_, ok := c.nc.(*tls.Conn)
	return ok
}

// clientKey returns the context that decrypts the SRTCP of a client that
// sets up RTP/SAVP, from its KeyMgmt header (RFC 4567), and the header's
// MIKEY timestamp; nil and 0 when the client sent none: its reports are
// then ignored.
func (c *conn) clientKey(req *message.Request) (*srtp.Context, uint64, error) {
	v := req.Header.Get("KeyMgmt")
	if v == "" {
		return nil, 0, nil
	}
	var km headers.KeyMgmt
	if err := km.Unmarshal(v); err != nil {
		return nil, 0, err
	}
	return clientSRTCP(km.Data)
}

// setKeyMgmt puts the SRTP key of ss's stream for its track in the SETUP
// reply's KeyMgmt header, stamped with the client's MIKEY time (clientTime,
// 0 for the camera's clock), and records the rollover counter it
// announced; or it sets 500 and returns false.
func (c *conn) setKeyMgmt(res *message.Response, ss *session, clientTime uint64) bool {
	data, roc, err := ss.stream.keyMgmt(clientTime)
	if err != nil {
		c.srv.log.Error("rtsp: no SRTP key", "path", ss.stream.Path(), "err", err)
		status(res, 500)
		return false
	}
	ss.mu.Lock()
	ss.roc = roc
	ss.mu.Unlock()
	// trackURL comes from url.URL.String, which escapes quotes and line
	// breaks.
	res.Header.Set("KeyMgmt", headers.KeyMgmt{URL: ss.trackURL, Data: data}.Marshal())
	return true
}

// streamURL is the URL of the stream as the client addresses it.
func streamURL(u *url.URL, st *Stream) string {
	t := *u
	t.RawQuery, t.Fragment, t.User = "", "", nil
	t.Path = st.Path()
	return t.String()
}

// trackURL is the URL of the stream's track as the client addresses it.
func trackURL(u *url.URL, st *Stream) string {
	t := *u
	t.RawQuery, t.Fragment, t.User = "", "", nil
	t.Path = st.Path() + "/" + trackControl
	return t.String()
}

// transportHeader is the Transport header of the SETUP reply.
func (ss *session) transportHeader() string {
	ssrc := ss.stream.SSRC()
	t := headers.Transport{SSRC: &ssrc}
	uni := headers.DeliveryUnicast
	t.Delivery = &uni
	if ss.secure {
		t.Profile = headers.ProfileSAVP
	}
	switch ss.transport {
	case transportTCP:
		t.Protocol = headers.ProtocolTCP
		t.Interleaved = &[2]int{int(ss.channel), int(ss.channel) + 1}
	case transportMulticast:
		// RTP/AVP;multicast;destination=G;port=P-P+1;ttl=T;ssrc=S, with
		// source= when the packets do not come from the address the
		// client connected to.
		g := ss.mcast
		multi := headers.DeliveryMulticast
		t.Delivery = &multi
		t.Protocol = headers.ProtocolUDP
		dst, ttl := g.addr, uint8(g.ttl)
		t.Destination, t.TTL = &dst, &ttl
		t.Ports = &[2]int{g.port, g.port + 1}
		if local, err := netip.ParseAddrPort(ss.mcastConn.nc.LocalAddr().String()); err == nil && local.Addr().Unmap() != g.src {
			src := g.src
			t.Source = &src
		}
	default:
		t.Protocol = headers.ProtocolUDP
		t.ClientPorts = &[2]int{int(ss.clientRTP.Port()), int(ss.clientRTCP.Port())}
		rtp, rtcp := ss.srv.UDPPorts()
		t.ServerPorts = &[2]int{rtp, rtcp}
	}
	return t.Marshal()
}

func (c *conn) play(ctx context.Context, req *message.Request, res *message.Response) func() {
	ss := c.sessionFor(req, res)
	if ss == nil {
		return nil
	}
	if ss.transport == transportTCP && ss.conn != c {
		status(res, 455)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	seq, ts, start, err := ss.play(ctx)
	if err != nil {
		status(res, 503)
		res.Reason = "Stream Not Ready"
		return nil
	}
	info := headers.RTPInfo{{URL: ss.trackURL, SeqNum: &seq, Timestamp: &ts}}
	res.Header.Set("RTP-Info", info.Marshal())
	zero := time.Duration(0)
	res.Header.Set("Range", (&headers.Range{Start: &zero}).Marshal())
	return start
}
