package rtsp

// RTSP over HTTP, the QuickTime tunnelling scheme that ffmpeg
// (-rtsp_transport http), GStreamer (rtsph://), VLC and most NVRs speak.
//
// The client opens two HTTP connections that carry the same session
// cookie (x-sessioncookie):
//
//   - GET, with Accept: application/x-rtsp-tunnelled. The server answers
//     200 with that Content-Type and no Content-Length, and from then on
//     writes every RTSP response and all interleaved RTP/RTCP on it, raw.
//   - POST, with Content-Type: application/x-rtsp-tunnelled and a
//     placeholder Content-Length (32767). Its body is the client's side of
//     the RTSP connection (requests and interleaved RTCP), base64-encoded;
//     clients encode each message separately, with its own padding. The
//     server never answers it and reads it until EOF whatever the
//     Content-Length says. A client may close the POST and open another
//     with the same cookie (QuickTime does); the tunnel then goes on.
//
// The two may arrive in either order; the second must come within
// Options.TunnelTimeout of the first. Once paired, they form one tunnelConn, and
// the ordinary RTSP connection code serves it.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// tunnelContentType names the tunnelled RTSP in Accept (GET) and
// Content-Type (POST).
const tunnelContentType = "application/x-rtsp-tunnelled"

const (
	// maxTunnelHead bounds the HTTP request head of a tunnel half.
	maxTunnelHead = 8 << 10
	// maxPendingTunnels bounds, per server, the tunnel halves waiting for
	// their partner, and maxPendingTunnelsPerAddr those from one client
	// address (a player opens one tunnel at a time).
	maxPendingTunnels        = 64
	maxPendingTunnelsPerAddr = 4
	// maxCookieLen bounds the x-sessioncookie value.
	maxCookieLen = 128
)

// defaultTunnelTimeout bounds the read of an HTTP request head and the wait for
// the other half of a tunnel. A variable for the tests.
const defaultTunnelTimeout = 10 * time.Second

// isHTTP reports whether a new connection on the RTSP port starts with an
// HTTP tunnel request (GET or POST) rather than RTSP. It peeks at four
// bytes without consuming them; no RTSP method starts with "GET " (GET_PARAMETER
// has an underscore) or "POST".
func isHTTP(br *bufio.Reader) bool {
	b, _ := br.Peek(4)
	return string(b) == "GET " || string(b) == "POST"
}

// serveHTTP serves a connection on the RTSP port that starts with an HTTP
// request (see isHTTP); br holds what was read of nc so far. It reads the
// request head, answers errors, and pairs the GET and POST halves of a
// tunnel; a paired tunnel runs in its own goroutine, tracked like any RTSP
// connection. serveHTTP returns once nc is refused, has timed out, or
// belongs to a tunnel; it never closes a connection it handed on.
func (s *Server) serveHTTP(ctx context.Context, nc net.Conn, br *bufio.Reader) {
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	nc.SetReadDeadline(time.Now().Add(s.opts.TunnelTimeout))
	// The head may be at most maxTunnelHead bytes. hbr reads ahead into
	// the body, so it stays the connection's reader afterwards.
	lr := &io.LimitedReader{R: br, N: maxTunnelHead}
	hbr := bufio.NewReaderSize(lr, 4096)
	req, err := http.ReadRequest(hbr)
	if err != nil {
		var ne net.Error
		switch {
		case lr.N <= 0:
			s.refuseHTTP(nc, http.StatusRequestHeaderFieldsTooLarge, "request head over 8 KiB")
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed),
			errors.As(err, &ne) && ne.Timeout():
			nc.Close()
		default:
			s.refuseHTTP(nc, http.StatusBadRequest, "malformed HTTP request")
		}
		s.log.Debug("rtsp: HTTP request on the RTSP port", "client", nc.RemoteAddr().String(), "err", err)
		return
	}
	lr.N = math.MaxInt64
	nc.SetReadDeadline(time.Time{})
	if code, msg := s.checkTunnel(req); code != 0 {
		if code == http.StatusNotFound && !isTunnelRequest(req) {
			code, msg = http.StatusBadRequest, "this port serves RTSP and RTSP-over-HTTP tunnels only"
		}
		s.log.Debug("rtsp: HTTP request refused", "client", nc.RemoteAddr().String(), "method", req.Method, "path", req.URL.Path, "status", code)
		s.refuseHTTP(nc, code, msg)
		return
	}
	s.openTunnel(ctx, ctx, nc, hbr, req)
}

// HTTPTunnelHandler returns a handler that serves RTSP-over-HTTP tunnels
// on an HTTP server, for clients pointed at the HTTP port. A request is
// taken as a tunnel half when it carries x-sessioncookie or names
// application/x-rtsp-tunnelled in Accept or Content-Type; the handler
// answers 404 to anything else, so it can be mounted at "/" beside other
// handlers. It hijacks the connection (HTTP/1.x only) and pairs it with
// the other half, which may come to this handler or to the RTSP port. The
// tunnels are the server's connections: they count against its limits,
// and Serve's shutdown closes them.
func (s *Server) HTTPTunnelHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, msg := s.checkTunnel(r); code != 0 {
			if code == http.StatusNotImplemented {
				w.Header().Set("Allow", "GET, POST")
			}
			http.Error(w, msg, code)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "RTSP tunnelling needs HTTP/1.x", http.StatusHTTPVersionNotSupported)
			return
		}
		nc, rw, err := hj.Hijack()
		if err != nil {
			s.log.Debug("rtsp: HTTP tunnel hijack", "err", err)
			return
		}
		nc.SetDeadline(time.Time{})
		// The request's context lasts as long as this handler; the
		// tunnel outlives it.
		s.openTunnel(r.Context(), context.WithoutCancel(r.Context()), nc, rw.Reader, r)
	})
}

// isTunnelRequest reports whether an HTTP request means to open a tunnel.
func isTunnelRequest(r *http.Request) bool {
	return r.Header.Get("X-Sessioncookie") != "" ||
		strings.Contains(strings.ToLower(r.Header.Get("Accept")), tunnelContentType) ||
		strings.Contains(strings.ToLower(r.Header.Get("Content-Type")), tunnelContentType)
}

// checkTunnel validates a tunnel request. It returns 0, or the HTTP status
// and message to refuse it with.
func (s *Server) checkTunnel(r *http.Request) (int, string) {
	switch {
	case !isTunnelRequest(r):
		return http.StatusNotFound, "not found"
	case r.Method != http.MethodGet && r.Method != http.MethodPost:
		return http.StatusNotImplemented, "RTSP tunnels use GET and POST"
	case r.ProtoMajor != 1:
		return http.StatusHTTPVersionNotSupported, "RTSP tunnels need HTTP/1.x"
	case !validCookie(r.Header.Get("X-Sessioncookie")):
		return http.StatusBadRequest, "missing or malformed x-sessioncookie"
	case s.stream(r.URL.Path) == nil:
		return http.StatusNotFound, "no stream at " + r.URL.Path
	}
	if r.Method == http.MethodPost {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != tunnelContentType {
			return http.StatusBadRequest, "POST body must be " + tunnelContentType
		}
	}
	return 0, ""
}

func validCookie(c string) bool {
	if c == "" || len(c) > maxCookieLen {
		return false
	}
	for i := range len(c) {
		if c[i] <= ' ' || c[i] >= 0x7f {
			return false
		}
	}
	return true
}

// refuseHTTP answers an HTTP request with an error and closes nc.
func (s *Server) refuseHTTP(nc net.Conn, code int, msg string) {
	body := msg + "\n"
	nc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	_, err := fmt.Fprintf(nc, "HTTP/1.0 %d %s\r\nServer: %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), s.opts.ServerName, len(body), body)
	// Closing with unread input would send a reset, which can destroy
	// the answer before the client reads it: half-close and drain a
	// little first, as net/http does.
	if cw, ok := nc.(interface{ CloseWrite() error }); ok && err == nil && cw.CloseWrite() == nil {
		nc.SetReadDeadline(time.Now().Add(refuseLinger))
		io.CopyN(io.Discard, nc, 256<<10)
	}
	nc.Close()
}

// refuseLinger bounds the wait for the client to close after an error
// answer.
const refuseLinger = 500 * time.Millisecond

// openTunnel pairs a validated tunnel half, whose connection the caller
// hands over; rd continues nc's bytes after the request head. wait bounds
// the wait for the other half, and run is the context of the tunnel's
// RTSP connection.
func (s *Server) openTunnel(wait, run context.Context, nc net.Conn, rd io.Reader, req *http.Request) {
	cookie := req.Header.Get("X-Sessioncookie")
	client := nc.RemoteAddr().String()
	if req.Method == http.MethodPost {
		if len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked" {
			rd = httputil.NewChunkedReader(rd)
		}
		w, err := s.offerPost(cookie, &tunnelPost{nc: nc, rd: rd}, remoteAddr(nc))
		if err != nil {
			s.log.Info("rtsp: HTTP tunnel refused", "client", client, "err", err)
			s.refuseHTTP(nc, tunnelErrStatus(err), err.Error())
			return
		}
		if w == nil {
			return // a waiting GET took it
		}
		t := time.NewTimer(s.opts.TunnelTimeout)
		defer t.Stop()
		select {
		case <-w.taken:
			return
		case <-t.C:
		case <-wait.Done():
		}
		if s.giveUp(cookie, w) {
			s.log.Debug("rtsp: HTTP tunnel POST without a GET", "client", client)
			nc.Close()
		}
		return
	}

	p, w, err := s.wantPost(cookie, remoteAddr(nc))
	if err != nil {
		s.log.Info("rtsp: HTTP tunnel refused", "client", client, "err", err)
		s.refuseHTTP(nc, tunnelErrStatus(err), err.Error())
		return
	}
	nc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	_, err = fmt.Fprintf(nc, "HTTP/1.0 200 OK\r\nServer: %s\r\nContent-Type: %s\r\nCache-Control: no-cache\r\nPragma: no-cache\r\nConnection: close\r\n\r\n",
		s.opts.ServerName, tunnelContentType)
	if err == nil && p == nil {
		p = s.awaitPost(wait, cookie, w, nil)
		if p == nil {
			s.log.Debug("rtsp: HTTP tunnel GET without a POST", "client", client)
		}
	} else if err != nil && p == nil && !s.giveUp(cookie, w) {
		p = <-w.got
	}
	if err != nil || p == nil {
		nc.Close()
		if p != nil {
			p.nc.Close()
		}
		return
	}
	s.startTunnel(run, cookie, nc, rd, p)
}

// startTunnel runs the RTSP connection of a paired tunnel in a new
// goroutine.
func (s *Server) startTunnel(ctx context.Context, cookie string, get net.Conn, getRd io.Reader, p *tunnelPost) {
	get.SetWriteDeadline(time.Time{})
	if tc, ok := get.(interface{ SetWriteBuffer(int) error }); ok {
		// As session.play does for plain TCP: keep a stalled reader's
		// backlog where the server sees it. (Not only *net.TCPConn: an
		// HTTP server may hand over a wrapped connection.)
		tc.SetWriteBuffer(tcpSendBuffer)
	}
	t := &tunnelConn{srv: s, cookie: cookie, get: get, post: p.nc, done: make(chan struct{})}
	t.dec.reset(p.rd)
	c := newConn(s, t)
	if !s.track(c) {
		t.Close()
		return
	}
	s.log.Debug("rtsp: HTTP tunnel opened", "client", get.RemoteAddr().String(), "post", p.nc.RemoteAddr().String())
	go func() {
		defer s.wg.Done()
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			t.watchGet(getRd)
		}()
		c.serve(ctx) // closes t, which ends watchGet
		<-watched
	}()
}

// ---------------------------------------------------------------------------
// Pairing

type tunnelKey struct {
	srv    *Server
	cookie string
}

// tunnelPost is the POST half of a tunnel: its connection and the rest of
// its bytes after the request head.
type tunnelPost struct {
	nc net.Conn
	rd io.Reader
}

// tunnelWait is a half waiting for its partner: a POST waiting for a GET,
// or a GET (or a tunnel whose POST ended) waiting for a POST. Whoever
// arrives second removes it from the registry under its lock, so exactly
// one side owns every connection.
type tunnelWait struct {
	post  *tunnelPost      // the waiting POST; nil when a GET waits
	got   chan *tunnelPost // a waiting GET's POST (buffered)
	taken chan struct{}    // closed when a GET takes the waiting POST
	from  netip.Addr       // the waiting half's client address
}

// tunnelRegistry holds a server's tunnel halves waiting for their partner.
type tunnelRegistry struct {
	mu     sync.Mutex
	wait   map[tunnelKey]*tunnelWait
	n      int
	byAddr map[netip.Addr]int // waiting halves per client address
}

var (
	errTunnelBusy = errors.New("x-sessioncookie already in use by a waiting tunnel")
	errTunnelFull = errors.New("too many RTSP tunnels waiting for their other half")
	errTunnelAddr = errors.New("too many RTSP tunnels from this address waiting for their other half")
)

func tunnelErrStatus(err error) int {
	if err == errTunnelBusy {
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

// register adds w under k; the caller holds tunnels' lock.
func (s *Server) register(k tunnelKey, w *tunnelWait) error {
	if s.tunnels.n >= maxPendingTunnels {
		return errTunnelFull
	}
	if s.tunnels.byAddr[w.from] >= maxPendingTunnelsPerAddr {
		return errTunnelAddr
	}
	if s.tunnels.wait == nil {
		s.tunnels.wait = make(map[tunnelKey]*tunnelWait)
		s.tunnels.byAddr = make(map[netip.Addr]int)
	}
	s.tunnels.wait[k] = w
	s.tunnels.n++
	s.tunnels.byAddr[w.from]++
	return nil
}

// unregister removes k; the caller holds tunnels' lock.
func (s *Server) unregister(k tunnelKey) {
	w := s.tunnels.wait[k]
	if w == nil {
		return
	}
	delete(s.tunnels.wait, k)
	s.tunnels.n--
	uncount(s.tunnels.byAddr, w.from)
}

// wantPost asks for the POST of cookie: it returns a waiting POST, which
// the caller now owns, or registers the caller to wait for one on w.
func (s *Server) wantPost(cookie string, from netip.Addr) (p *tunnelPost, w *tunnelWait, err error) {
	k := tunnelKey{s, cookie}
	s.tunnels.mu.Lock()
	defer s.tunnels.mu.Unlock()
	if o := s.tunnels.wait[k]; o != nil {
		if o.post == nil {
			return nil, nil, errTunnelBusy
		}
		s.unregister(k)
		close(o.taken)
		return o.post, nil, nil
	}
	w = &tunnelWait{got: make(chan *tunnelPost, 1), from: from}
	if err := s.register(k, w); err != nil {
		return nil, nil, err
	}
	return nil, w, nil
}

// offerPost hands a POST to the GET waiting for it and returns nil, or
// registers it to wait for its GET on the returned wait.
func (s *Server) offerPost(cookie string, p *tunnelPost, from netip.Addr) (*tunnelWait, error) {
	k := tunnelKey{s, cookie}
	s.tunnels.mu.Lock()
	defer s.tunnels.mu.Unlock()
	if o := s.tunnels.wait[k]; o != nil {
		if o.post != nil {
			return nil, errTunnelBusy
		}
		s.unregister(k)
		o.got <- p
		return nil, nil
	}
	w := &tunnelWait{post: p, taken: make(chan struct{}), from: from}
	if err := s.register(k, w); err != nil {
		return nil, err
	}
	return w, nil
}

// giveUp withdraws w. It reports false when the partner took it first: a
// waiting GET then finds its POST in w.got, and a waiting POST is no
// longer the caller's.
func (s *Server) giveUp(cookie string, w *tunnelWait) bool {
	k := tunnelKey{s, cookie}
	s.tunnels.mu.Lock()
	defer s.tunnels.mu.Unlock()
	if s.tunnels.wait[k] != w {
		return false
	}
	s.unregister(k)
	return true
}

// awaitPost waits on w for the POST of cookie, up to Options.TunnelTimeout, until
// ctx ends or done is closed; it returns nil if none came.
func (s *Server) awaitPost(ctx context.Context, cookie string, w *tunnelWait, done <-chan struct{}) *tunnelPost {
	t := time.NewTimer(s.opts.TunnelTimeout)
	defer t.Stop()
	select {
	case p := <-w.got:
		return p
	case <-t.C:
	case <-ctx.Done():
	case <-done:
	}
	if s.giveUp(cookie, w) {
		return nil
	}
	return <-w.got
}

// pendingTunnels is the number of tunnel halves of s waiting for a partner.
func (s *Server) pendingTunnels() int {
	s.tunnels.mu.Lock()
	defer s.tunnels.mu.Unlock()
	return s.tunnels.n
}

// ---------------------------------------------------------------------------
// The tunnel as a connection

// tunnelConn is a paired tunnel as a net.Conn: Read returns the decoded
// POST body, Write writes to the GET connection. It is not a syscall.Conn,
// so the sender's non-blocking writev path stays off and media goes
// through the blocking Write path.
type tunnelConn struct {
	srv    *Server
	cookie string
	get    net.Conn
	dec    tunnelDecoder // over the current POST; used by Read only

	mu     sync.Mutex
	post   net.Conn
	rdl    time.Time // read deadline, for the next POST too
	closed bool
	done   chan struct{} // closed by Close
}

// Read returns the client's RTSP bytes. When a POST ends, it waits for the
// client to open another with the same cookie and goes on with it.
func (t *tunnelConn) Read(b []byte) (int, error) {
	for {
		n, err := t.dec.Read(b)
		if n > 0 || err == nil {
			return n, err
		}
		if err != io.EOF || !t.nextPost() {
			return 0, err
		}
	}
}

// nextPost waits for a new POST after the current one ended.
func (t *tunnelConn) nextPost() bool {
	p, w, err := t.srv.wantPost(t.cookie, remoteAddr(t.get))
	if err != nil {
		return false
	}
	if p == nil {
		if p = t.srv.awaitPost(context.Background(), t.cookie, w, t.done); p == nil {
			return false
		}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		p.nc.Close()
		return false
	}
	old := t.post
	t.post = p.nc
	p.nc.SetReadDeadline(t.rdl)
	t.mu.Unlock()
	old.Close()
	t.dec.reset(p.rd)
	t.srv.log.Debug("rtsp: HTTP tunnel POST reopened", "client", t.get.RemoteAddr().String())
	return true
}

// watchGet reads the GET connection, on which the client sends nothing,
// to close the tunnel as soon as the client hangs up.
func (t *tunnelConn) watchGet(rd io.Reader) {
	io.Copy(io.Discard, rd)
	t.Close()
}

func (t *tunnelConn) Write(b []byte) (int, error) { return t.get.Write(b) }

// Close closes both connections.
func (t *tunnelConn) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.done)
	post := t.post
	t.mu.Unlock()
	err := t.get.Close()
	post.Close()
	return err
}

func (t *tunnelConn) LocalAddr() net.Addr  { return t.get.LocalAddr() }
func (t *tunnelConn) RemoteAddr() net.Addr { return t.get.RemoteAddr() }

func (t *tunnelConn) SetDeadline(d time.Time) error {
	err := t.SetReadDeadline(d)
	if werr := t.SetWriteDeadline(d); err == nil {
		err = werr
	}
	return err
}

// SetReadDeadline applies to the POST connection. It does not bound the
// wait for a new POST after one ended, which Options.TunnelTimeout does.
func (t *tunnelConn) SetReadDeadline(d time.Time) error {
	t.mu.Lock()
	t.rdl = d
	post := t.post
	t.mu.Unlock()
	return post.SetReadDeadline(d)
}

func (t *tunnelConn) SetWriteDeadline(d time.Time) error { return t.get.SetWriteDeadline(d) }

// ---------------------------------------------------------------------------
// Streaming base64

// tunnelDecoder decodes base64 text as it arrives, in pieces split
// anywhere. It skips ASCII whitespace, takes padding at the end of any
// quantum (clients encode each message on its own, so padding turns up in
// the middle of the stream), ignores stray padding between quanta, and
// accepts the URL-safe alphabet too. Any other byte is an error, after the
// bytes decoded before it.
type tunnelDecoder struct {
	r   io.Reader
	in  []byte
	out []byte // decoded, from off on not yet returned
	off int
	q   uint32 // the sextets of the quantum in progress
	nq  int    // how many
	err error  // a decoding error, returned once out is drained
}

func (d *tunnelDecoder) reset(r io.Reader) {
	d.r, d.out, d.off, d.q, d.nq, d.err = r, d.out[:0], 0, 0, 0, nil
}

func (d *tunnelDecoder) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for d.off == len(d.out) {
		if d.err != nil {
			return 0, d.err
		}
		if d.in == nil {
			d.in = make([]byte, 2048)
		}
		n, err := d.r.Read(d.in)
		d.out, d.err = d.decode(d.out[:0], d.in[:n])
		d.off = 0
		if len(d.out) == 0 && d.err == nil && err != nil {
			// Read errors (EOF, deadlines) are not kept: they come
			// again from d.r if they persist.
			return 0, err
		}
	}
	n := copy(b, d.out[d.off:])
	d.off += n
	return n, nil
}

// Classes of bytes in b64Map besides sextet values.
const (
	b64Pad     = 0xfd
	b64Space   = 0xfe
	b64Invalid = 0xff
)

var b64Map = func() (m [256]byte) {
	for i := range m {
		m[i] = b64Invalid
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range len(std) {
		m[std[i]] = byte(i)
	}
	m['-'], m['_'] = 62, 63
	m['='] = b64Pad
	for _, c := range " \t\r\n\v\f" {
		m[c] = b64Space
	}
	return m
}()

// decode appends the bytes that src completes to dst.
func (d *tunnelDecoder) decode(dst, src []byte) ([]byte, error) {
	for _, c := range src {
		switch v := b64Map[c]; v {
		case b64Space:
		case b64Pad:
			switch d.nq {
			case 1:
				return dst, errors.New("rtsp: tunnel: base64 padding after a single character")
			case 2:
				dst = append(dst, byte(d.q>>4))
			case 3:
				dst = append(dst, byte(d.q>>10), byte(d.q>>2))
			}
			d.q, d.nq = 0, 0
		case b64Invalid:
			return dst, fmt.Errorf("rtsp: tunnel: byte %#02x in base64 body", c)
		default:
			d.q = d.q<<6 | uint32(v)
			if d.nq++; d.nq == 4 {
				dst = append(dst, byte(d.q>>16), byte(d.q>>8), byte(d.q))
				d.q, d.nq = 0, 0
			}
		}
	}
	return dst, nil
}
