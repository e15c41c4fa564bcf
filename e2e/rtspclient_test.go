package e2e

// A deliberately small, library-free RTSP client used by the protocol,
// slow-reader, session and shutdown tests. Its methods return errors instead
// of failing the test so that they can run in goroutines.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtp"
)

const ioTimeout = 5 * time.Second

type rtspResponse struct {
	Status int
	Reason string
	Header map[string]string // lower-case keys
	Body   string
	Raw    string // status line and headers, for messages
}

func (r *rtspResponse) get(k string) string { return r.Header[strings.ToLower(k)] }

func (r *rtspResponse) String() string {
	if r == nil {
		return "<nil response>"
	}
	return strings.TrimSpace(r.Raw + r.Body)
}

type interleavedFrame struct {
	Channel byte
	Payload []byte
}

type rtspConn struct {
	Conn    net.Conn
	br      *bufio.Reader
	cseq    int
	Session string // session id sent with every request once set
	pending []interleavedFrame
}

func dialRTSP(addr string) (*rtspConn, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, err
	}
	return &rtspConn{Conn: c, br: bufio.NewReaderSize(c, 1<<16)}, nil
}

func (c *rtspConn) Close() error { return c.Conn.Close() }

// request sends one request (adding CSeq and Session) and reads its response,
// queueing any interleaved frames that arrive before it.
func (c *rtspConn) request(method, url string, hdr []string, body string) (*rtspResponse, error) {
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: ipcamd-e2e\r\n", method, url, c.cseq)
	hasSession := false
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Session") {
			hasSession = true
		}
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	if c.Session != "" && !hasSession {
		fmt.Fprintf(&b, "Session: %s\r\n", c.Session)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if err := c.writeRaw(b.String()); err != nil {
		return nil, fmt.Errorf("%s: write: %w", method, err)
	}
	res, err := c.readResponse(time.Now().Add(ioTimeout))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if got := res.get("CSeq"); got != strconv.Itoa(c.cseq) {
		return res, fmt.Errorf("%s: response CSeq %q, want %d\n%s", method, got, c.cseq, res)
	}
	return res, nil
}

func (c *rtspConn) writeRaw(s string) error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := io.WriteString(c.Conn, s)
	return err
}

// readResponse reads the next RTSP response, skipping (and queueing)
// interleaved binary frames.
func (c *rtspConn) readResponse(deadline time.Time) (*rtspResponse, error) {
	_ = c.Conn.SetReadDeadline(deadline)
	defer c.Conn.SetReadDeadline(time.Time{})
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		if b[0] == '$' {
			f, err := c.readFrame()
			if err != nil {
				return nil, err
			}
			if len(c.pending) < 4096 {
				c.pending = append(c.pending, f)
			}
			continue
		}
		break
	}
	res := &rtspResponse{Header: map[string]string{}}
	var raw strings.Builder
	line, err := c.br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("read status line: %w (got %q)", err, line)
	}
	raw.WriteString(line)
	parts := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "RTSP/") {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	res.Status, err = strconv.Atoi(parts[1])
	if err != nil {
		return nil, fmt.Errorf("bad status line %q", line)
	}
	if len(parts) == 3 {
		res.Reason = parts[2]
	}
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("read headers: %w", err)
		}
		raw.WriteString(line)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("bad header line %q", line)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if old, dup := res.Header[k]; dup {
			v = old + ", " + v
		}
		res.Header[k] = v
	}
	res.Raw = raw.String()
	if cl := res.get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("bad Content-Length %q", cl)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(c.br, body); err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		res.Body = string(body)
	}
	return res, nil
}

func (c *rtspConn) readFrame() (interleavedFrame, error) {
	var h [4]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return interleavedFrame{}, err
	}
	if h[0] != '$' {
		return interleavedFrame{}, fmt.Errorf("expected interleaved frame, got %q", h[:])
	}
	n := int(h[2])<<8 | int(h[3])
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return interleavedFrame{}, err
	}
	return interleavedFrame{Channel: h[1], Payload: p}, nil
}

// readInterleaved returns the next interleaved frame (queued ones first).
// An RTSP message from the server in between (e.g. a request) is skipped.
func (c *rtspConn) readInterleaved(deadline time.Time) (interleavedFrame, error) {
	if len(c.pending) > 0 {
		f := c.pending[0]
		c.pending = c.pending[1:]
		return f, nil
	}
	_ = c.Conn.SetReadDeadline(deadline)
	for {
		b, err := c.br.Peek(1)
		if err != nil {
			return interleavedFrame{}, err
		}
		if b[0] == '$' {
			return c.readFrame()
		}
		// Not a frame: a server-to-client RTSP message; read and drop it.
		if _, err := c.readResponseOrRequest(); err != nil {
			return interleavedFrame{}, err
		}
	}
}

func (c *rtspConn) readResponseOrRequest() (string, error) {
	var b strings.Builder
	n := 0
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		b.WriteString(line)
		t := strings.TrimRight(line, "\r\n")
		if t == "" {
			break
		}
		if k, v, ok := strings.Cut(t, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n > 0 {
		if _, err := io.CopyN(io.Discard, c.br, int64(n)); err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// ---------------------------------------------------------------------------
// Header helpers

// parseSession splits "ID;timeout=60".
func parseSession(v string) (id string, timeout int, hasTimeout bool) {
	parts := strings.Split(v, ";")
	id = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "timeout") {
			n, err := strconv.Atoi(val)
			if err == nil {
				return id, n, true
			}
		}
	}
	return id, 0, false
}

// parseParams splits "a;b=c;d=e" into a map (flags map to "").
func parseParams(v string) map[string]string {
	m := map[string]string{}
	for i, p := range strings.Split(v, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, _ := strings.Cut(p, "=")
		if i == 0 && !strings.Contains(p, "=") {
			m["_proto"] = p
		}
		m[strings.ToLower(k)] = val
	}
	return m
}

// parseRange parses "a-b" (or "a").
func parseRange(v string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(v, "-")
	lo, err = strconv.Atoi(a)
	if err != nil {
		return 0, 0, fmt.Errorf("bad range %q", v)
	}
	hi = lo
	if ok {
		hi, err = strconv.Atoi(b)
		if err != nil {
			return 0, 0, fmt.Errorf("bad range %q", v)
		}
	}
	return lo, hi, nil
}

type rtpInfo struct {
	URL     string
	Seq     uint16
	RTPTime uint32
	HasSeq  bool
	HasTime bool
}

// parseRTPInfo parses the first entry of an RTP-Info header.
func parseRTPInfo(v string) (rtpInfo, error) {
	var ri rtpInfo
	if v == "" {
		return ri, errors.New("no RTP-Info header")
	}
	first, _, _ := strings.Cut(v, ",")
	for _, p := range strings.Split(first, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "url":
			ri.URL = val
		case "seq":
			n, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return ri, fmt.Errorf("RTP-Info seq %q: %v", val, err)
			}
			ri.Seq, ri.HasSeq = uint16(n), true
		case "rtptime":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return ri, fmt.Errorf("RTP-Info rtptime %q: %v", val, err)
			}
			ri.RTPTime, ri.HasTime = uint32(n), true
		}
	}
	return ri, nil
}

// controlURL finds the media control URL in an SDP and resolves it against
// the base URL (Content-Base, or the request URL).
func controlURL(sdp, base string) (string, error) {
	inMedia := false
	ctl := ""
	for _, l := range strings.Split(sdp, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasPrefix(l, "m=") {
			if inMedia {
				break // first media only
			}
			inMedia = true
		}
		if inMedia && strings.HasPrefix(l, "a=control:") {
			ctl = strings.TrimPrefix(l, "a=control:")
		}
	}
	if !inMedia {
		return "", errors.New("SDP has no m= line")
	}
	switch {
	case ctl == "" || ctl == "*":
		return base, nil
	case strings.HasPrefix(strings.ToLower(ctl), "rtsp://"):
		return ctl, nil
	case strings.HasSuffix(base, "/"):
		return base + ctl, nil
	default:
		return base + "/" + ctl, nil
	}
}

// ---------------------------------------------------------------------------
// Playing sessions

type playSession struct {
	C          *rtspConn
	URL        string
	ControlURL string
	SessionID  string
	Timeout    int
	HasTimeout bool
	Describe   *rtspResponse
	Setup      *rtspResponse
	Play       *rtspResponse
	Transport  map[string]string
	RTPChan    byte // TCP: interleaved RTP channel
	UDP        *udpPair
	ServerRTP  *net.UDPAddr // UDP: server_port pair from the SETUP reply
	ServerRTCP *net.UDPAddr
}

// startPlay runs DESCRIBE, SETUP (TCP interleaved when udp is nil, else UDP
// unicast to udp's ports) and PLAY on a new connection.
func startPlay(addr, url string, udp *udpPair) (*playSession, error) {
	c, err := dialRTSP(addr)
	if err != nil {
		return nil, err
	}
	ps, err := startPlayOn(c, url, udp)
	if err != nil {
		c.Close()
		return nil, err
	}
	return ps, nil
}

func startPlayOn(c *rtspConn, url string, udp *udpPair) (*playSession, error) {
	ps := &playSession{C: c, URL: url, UDP: udp}
	res, err := c.request("DESCRIBE", url, []string{"Accept", "application/sdp"}, "")
	if err != nil {
		return nil, err
	}
	if res.Status != 200 {
		return nil, fmt.Errorf("DESCRIBE: status %d\n%s", res.Status, res)
	}
	ps.Describe = res
	base := res.get("Content-Base")
	if base == "" {
		base = url
	}
	ps.ControlURL, err = controlURL(res.Body, base)
	if err != nil {
		return nil, err
	}
	transport := "RTP/AVP/TCP;unicast;interleaved=0-1"
	if udp != nil {
		transport = fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", udp.rtpPort(), udp.rtcpPort())
	}
	res, err = c.request("SETUP", ps.ControlURL, []string{"Transport", transport}, "")
	if err != nil {
		return nil, err
	}
	if res.Status != 200 {
		return nil, fmt.Errorf("SETUP %s (Transport: %s): status %d\n%s", ps.ControlURL, transport, res.Status, res)
	}
	ps.Setup = res
	ps.SessionID, ps.Timeout, ps.HasTimeout = parseSession(res.get("Session"))
	if ps.SessionID == "" {
		return nil, fmt.Errorf("SETUP reply has no Session header\n%s", res)
	}
	c.Session = ps.SessionID
	ps.Transport = parseParams(res.get("Transport"))
	if udp == nil {
		lo, _, err := parseRange(ps.Transport["interleaved"])
		if err != nil {
			return nil, fmt.Errorf("SETUP reply Transport %q: interleaved: %v", res.get("Transport"), err)
		}
		ps.RTPChan = byte(lo)
	} else {
		lo, hi, err := parseRange(ps.Transport["server_port"])
		if err != nil {
			return nil, fmt.Errorf("SETUP reply Transport %q: server_port: %v", res.get("Transport"), err)
		}
		if hi == lo {
			hi = lo + 1
		}
		ps.ServerRTP = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lo}
		ps.ServerRTCP = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: hi}
	}
	// The control URL for aggregate PLAY is the session URL (the request URL).
	res, err = c.request("PLAY", url, []string{"Range", "npt=0.000-"}, "")
	if err != nil {
		return nil, err
	}
	if res.Status != 200 {
		return nil, fmt.Errorf("PLAY: status %d\n%s", res.Status, res)
	}
	ps.Play = res
	return ps, nil
}

// readRTP returns the next RTP packet of a TCP interleaved session.
func (ps *playSession) readRTP(deadline time.Time) (*rtp.Packet, error) {
	for {
		f, err := ps.C.readInterleaved(deadline)
		if err != nil {
			return nil, err
		}
		if f.Channel != ps.RTPChan {
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(f.Payload); err != nil {
			return nil, fmt.Errorf("bad RTP packet on channel %d: %v", f.Channel, err)
		}
		return &p, nil
	}
}

// ---------------------------------------------------------------------------
// H.264 payload helpers (RFC 6184)

// nalTypes lists the NAL unit types an RTP payload starts or carries:
// single NAL, every NAL of a STAP-A (24), or the NAL of a starting FU-A (28).
// A continuation FU-A fragment yields nothing.
func nalTypes(payload []byte) []int {
	if len(payload) < 1 {
		return nil
	}
	t := int(payload[0] & 0x1f)
	switch t {
	case 24: // STAP-A
		var out []int
		p := payload[1:]
		for len(p) >= 2 {
			n := int(p[0])<<8 | int(p[1])
			p = p[2:]
			if n == 0 || n > len(p) {
				break
			}
			out = append(out, int(p[0]&0x1f))
			p = p[n:]
		}
		return out
	case 28: // FU-A
		if len(payload) < 2 || payload[1]&0x80 == 0 {
			return nil
		}
		return []int{int(payload[1] & 0x1f)}
	default:
		return []int{t}
	}
}
