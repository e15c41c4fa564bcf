package rtsp

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// tunnelListen returns the address where ts serves tunnels: its RTSP
// port, which tells HTTP from RTSP by the first bytes.
func tunnelListen(t *testing.T, ts *testServer) string {
	return ts.addr
}

// httpTunnelServer serves ts's HTTPTunnelHandler on an HTTP server.
func httpTunnelServer(t *testing.T, ts *testServer) string {
	hs := httptest.NewServer(ts.srv.HTTPTunnelHandler())
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

const tunnelGET = "GET /main HTTP/1.0\r\nx-sessioncookie: %s\r\nAccept: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\r\n"

const tunnelPOST = "POST /main HTTP/1.0\r\nx-sessioncookie: %s\r\nContent-Type: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\nCache-Control: no-cache\r\nContent-Length: 32767\r\nExpires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\n"

// openGET opens the GET half of a tunnel and checks the server's answer.
func openGET(t *testing.T, addr, cookie string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, tunnelGET, cookie)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET response: %v", err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-rtsp-tunnelled" ||
		res.Header.Get("Cache-Control") != "no-cache" || res.ContentLength != -1 {
		t.Fatalf("GET response %d %v (length %d)", res.StatusCode, res.Header, res.ContentLength)
	}
	return c, br
}

// openPOST opens the POST half of a tunnel.
func openPOST(t *testing.T, addr, cookie string) net.Conn {
	t.Helper()
	return openPOSTFrom(t, addr, cookie, "127.0.0.1")
}

// openPOSTFrom opens the POST half of a tunnel from the loopback address
// local (any of 127.0.0.0/8).
func openPOSTFrom(t *testing.T, addr, cookie, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, tunnelPOST, cookie); err != nil {
		t.Fatal(err)
	}
	return c
}

// tunnelClient is a raw RTSP-over-HTTP client: requests go base64-encoded
// on the POST connection, responses and media come on the GET connection
// (read by the embedded client).
type tunnelClient struct {
	*client
	post  net.Conn
	split int // write the base64 text in pieces of this many bytes
}

func newTunnelClient(t *testing.T, get net.Conn, br *bufio.Reader, post net.Conn) *tunnelClient {
	return &tunnelClient{client: &client{t: t, c: get, br: br}, post: post, split: 7}
}

// send writes each message base64-encoded on its own, as ffmpeg and
// GStreamer do, with CRLF after the first, in pieces that straddle the
// message boundaries.
func (c *tunnelClient) send(msgs ...[]byte) {
	c.t.Helper()
	var text []byte
	for i, m := range msgs {
		text = base64.StdEncoding.AppendEncode(text, m)
		if i == 0 {
			text = append(text, "\r\n"...)
		}
	}
	c.post.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for len(text) > 0 {
		n := min(c.split, len(text))
		if _, err := c.post.Write(text[:n]); err != nil {
			c.t.Fatal(err)
		}
		text = text[n:]
	}
}

func (c *tunnelClient) request(method, url string, hdr ...string) []byte {
	c.cseq++
	req := &message.Request{Method: method, URL: url, Header: message.Header{}}
	req.Header.Set("CSeq", strconv.Itoa(c.cseq))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req.AppendTo(nil)
}

func (c *tunnelClient) do(method, url string, hdr ...string) *message.Response {
	c.t.Helper()
	c.send(c.request(method, url, hdr...))
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c.response()
}

// playTunnel runs a whole session over a paired tunnel: OPTIONS and
// DESCRIBE pipelined in one stream of base64, SETUP, PLAY with RTP-Info
// checked against the first packet, 30 frames without a gap, RTCP from the
// client, TEARDOWN.
func playTunnel(t *testing.T, ts *testServer, c *tunnelClient) {
	t.Helper()
	// Two requests in one write, one base64 text each.
	opts := c.request("OPTIONS", ts.url())
	desc := c.request("DESCRIBE", ts.url(), "Accept", "application/sdp")
	c.send(opts, desc)
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	c.cseq--
	if res := c.response(); res.StatusCode != 200 || !strings.Contains(res.Header.Get("Public"), "PLAY") {
		t.Fatalf("OPTIONS: %d, Public %q", res.StatusCode, res.Header.Get("Public"))
	}
	c.cseq++
	res := c.response()
	if res.StatusCode != 200 || !strings.Contains(string(res.Body), "a=control:trackID=0") {
		t.Fatalf("DESCRIBE: %d\n%s", res.StatusCode, res.Body)
	}
	if got, want := res.Header.Get("Content-Base"), ts.url()+"/"; got != want {
		t.Errorf("Content-Base %q, want %q", got, want)
	}

	res = c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Transport"), "interleaved=0-1") {
		t.Fatalf("SETUP: %d, Transport %q", res.StatusCode, res.Header.Get("Transport"))
	}
	id := sessionID(t, res)
	res = c.do("PLAY", ts.url()+"/", "Session", id)
	if res.StatusCode != 200 {
		t.Fatalf("PLAY: %d", res.StatusCode)
	}
	var info headers.RTPInfo
	if err := info.Unmarshal(res.Header.Get("RTP-Info")); err != nil || len(info) != 1 || info[0].SeqNum == nil || info[0].Timestamp == nil {
		t.Fatalf("RTP-Info %q: %v", res.Header.Get("RTP-Info"), err)
	}
	var prev *rtp.Packet
	var nalTypes []int
	for frames := 0; frames < 30; {
		ch, p := c.readRTP()
		if ch != 0 {
			t.Fatalf("RTP on channel %d", ch)
		}
		if prev == nil {
			if p.SequenceNumber != *info[0].SeqNum || p.Timestamp != *info[0].Timestamp {
				t.Fatalf("first packet seq %d ts %d, RTP-Info seq %d ts %d", p.SequenceNumber, p.Timestamp, *info[0].SeqNum, *info[0].Timestamp)
			}
		} else if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("sequence jumps from %d to %d", prev.SequenceNumber, p.SequenceNumber)
		}
		if len(nalTypes) < 3 {
			nalTypes = append(nalTypes, nalTypesOf(p.Payload)...)
		}
		if p.Marker {
			frames++
		}
		prev = p
	}
	if len(nalTypes) < 3 || nalTypes[0] != 7 || nalTypes[1] != 8 || nalTypes[2] != 5 {
		t.Errorf("first NAL types %v, want SPS(7) PPS(8) IDR(5)", nalTypes)
	}

	// A receiver report on the RTCP channel, base64 like the requests.
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: ts.stream.SSRC(), FractionLost: 64}}}).Marshal()
	frame, _ := message.AppendInterleaved(nil, 1, rr)
	c.send(frame)
	if res := c.do("GET_PARAMETER", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("GET_PARAMETER: %d", res.StatusCode)
	}
	if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("TEARDOWN: %d", res.StatusCode)
	}
}

func TestTunnelPlay(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	rtspPort := tunnelListen(t, ts)
	httpPort := httpTunnelServer(t, ts)
	time.Sleep(100 * time.Millisecond) // a GOP to replay
	for _, tc := range []struct {
		name, get, post string
		postFirst       bool
	}{
		{"GET first", rtspPort, rtspPort, false},
		{"POST first", rtspPort, rtspPort, true},
		{"HTTP port", httpPort, httpPort, false},
		{"HTTP port, POST first", httpPort, httpPort, true},
		{"GET on HTTP port, POST on RTSP port", httpPort, rtspPort, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cookie := "c" + strconv.FormatInt(time.Now().UnixNano(), 36)
			var post net.Conn
			if tc.postFirst {
				post = openPOST(t, tc.post, cookie)
				time.Sleep(50 * time.Millisecond) // let it wait for its GET
			}
			get, br := openGET(t, tc.get, cookie)
			if !tc.postFirst {
				post = openPOST(t, tc.post, cookie)
			}
			playTunnel(t, ts, newTunnelClient(t, get, br, post))
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.pendingTunnels() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ts.srv.pendingTunnels(); n != 0 {
		t.Errorf("%d tunnel halves still pending", n)
	}
}

// TestTunnelRequestsBeforeGET: a POST that sends requests before its GET
// arrives gets them answered once the GET does.
func TestTunnelRequestsBeforeGET(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	addr := tunnelListen(t, ts)
	post := openPOST(t, addr, "early")
	c := newTunnelClient(t, nil, nil, post)
	c.send(c.request("OPTIONS", ts.url()))
	time.Sleep(50 * time.Millisecond)
	c.c, c.br = openGET(t, addr, "early")
	c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if res := c.response(); res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
}

// TestTunnelPostReopened: the client may end its POST and go on with a new
// one carrying the same cookie, opened after the old one closed or while
// it is still open.
func TestTunnelPostReopened(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	addr := tunnelListen(t, ts)
	get, br := openGET(t, addr, "again")
	c := newTunnelClient(t, get, br, openPOST(t, addr, "again"))
	if res := c.do("OPTIONS", ts.url()); res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
	c.post.Close()
	time.Sleep(50 * time.Millisecond)
	c.post = openPOST(t, addr, "again")
	if res := c.do("DESCRIBE", ts.url()); res.StatusCode != 200 {
		t.Fatalf("DESCRIBE on a second POST: %d", res.StatusCode)
	}
	next := openPOST(t, addr, "again")
	time.Sleep(50 * time.Millisecond)
	c.post.Close()
	c.post = next
	if res := c.do("GET_PARAMETER", ts.url()); res.StatusCode != 200 {
		t.Fatalf("GET_PARAMETER on a third POST: %d", res.StatusCode)
	}
}

// expectClosed reads c until EOF and returns what came, failing when the
// server does not close it within limit.
func expectClosed(t *testing.T, c net.Conn, r io.Reader, limit time.Duration) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("connection not closed within %v: %v (read %q)", limit, err, b)
	}
	return b
}

func TestTunnelUnpairedTimesOut(t *testing.T) {
	ts := startServer(t, Options{TunnelTimeout: 300 * time.Millisecond}, 40*time.Millisecond)
	addr := tunnelListen(t, ts)

	start := time.Now()
	get, br := openGET(t, addr, "lonely-get")
	if rest := expectClosed(t, get, br, 3*time.Second); len(rest) != 0 {
		t.Errorf("unpaired GET got %q after its 200", rest)
	}
	post := openPOST(t, addr, "lonely-post")
	if b := expectClosed(t, post, post, 3*time.Second); len(b) != 0 {
		t.Errorf("unpaired POST got an answer: %q", b)
	}
	if el := time.Since(start); el < 600*time.Millisecond {
		t.Errorf("halves closed after %v, before their timeout", el)
	}
	// A head that never ends.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /main HTTP/1.0\r\nx-sessioncookie: slow\r\n")
	if b := expectClosed(t, c, c, 3*time.Second); len(b) != 0 {
		t.Errorf("incomplete head got an answer: %q", b)
	}
	if n := ts.srv.pendingTunnels(); n != 0 {
		t.Errorf("%d tunnel halves still pending", n)
	}
}

// httpStatus reads an HTTP response from c and checks that the server
// closes the connection after it.
func httpStatus(t *testing.T, c net.Conn) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no HTTP response: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	expectClosed(t, c, br, 5*time.Second)
	return res.StatusCode
}

func TestTunnelTooManyPending(t *testing.T) {
	// Above the pending limit, but within the connections per address.
	ts := startServer(t, Options{MaxConnsPerAddr: 2 * maxPendingTunnels}, 40*time.Millisecond)
	addr := tunnelListen(t, ts)
	for i := range maxPendingTunnels {
		// From as many addresses as the per-address limit needs.
		openPOSTFrom(t, addr, fmt.Sprint("pending-", i), fmt.Sprintf("127.0.0.%d", 1+i/maxPendingTunnelsPerAddr))
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.pendingTunnels() < maxPendingTunnels && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ts.srv.pendingTunnels(); n != maxPendingTunnels {
		t.Fatalf("%d halves pending, want %d", n, maxPendingTunnels)
	}
	if code := httpStatus(t, openPOSTFrom(t, addr, "one-too-many", "127.0.0.200")); code != 503 {
		t.Errorf("POST over the limit: %d, want 503", code)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, tunnelGET, "one-too-many")
	if code := httpStatus(t, c); code != 503 {
		t.Errorf("GET over the limit: %d, want 503", code)
	}
	// A GET whose POST is waiting still pairs.
	openGET(t, addr, "pending-3")
	if n := ts.srv.pendingTunnels(); n != maxPendingTunnels-1 {
		t.Errorf("%d halves pending after a pairing, want %d", n, maxPendingTunnels-1)
	}
}

// TestTunnelPendingPerAddress: one address can keep no more than
// maxPendingTunnelsPerAddr halves waiting for their partner, so that it
// cannot take every slot; another address still can open a tunnel.
func TestTunnelPendingPerAddress(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	addr := tunnelListen(t, ts)
	for i := range maxPendingTunnelsPerAddr {
		openPOST(t, addr, fmt.Sprint("mine-", i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.pendingTunnels() < maxPendingTunnelsPerAddr && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code := httpStatus(t, openPOST(t, addr, "one-more")); code != 503 {
		t.Errorf("a POST beyond the per-address limit: %d, want 503", code)
	}
	openPOSTFrom(t, addr, "theirs", "127.0.0.2")
	for ts.srv.pendingTunnels() < maxPendingTunnelsPerAddr+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ts.srv.pendingTunnels(); n != maxPendingTunnelsPerAddr+1 {
		t.Errorf("%d halves pending, want %d: another address's POST must wait too", n, maxPendingTunnelsPerAddr+1)
	}
	// Pairing frees the slot.
	openGET(t, addr, "mine-0")
	openPOST(t, addr, "after-pairing")
}

func TestTunnelBadRequests(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	addr := tunnelListen(t, ts)
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"no cookie", "GET /main HTTP/1.0\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n", 400},
		{"empty cookie", "GET /main HTTP/1.0\r\nx-sessioncookie: \r\nAccept: application/x-rtsp-tunnelled\r\n\r\n", 400},
		{"cookie with a space", "GET /main HTTP/1.0\r\nx-sessioncookie: a b\r\n\r\n", 400},
		{"long cookie", "GET /main HTTP/1.0\r\nx-sessioncookie: " + strings.Repeat("x", maxCookieLen+1) + "\r\n\r\n", 400},
		{"not a tunnel", "GET /index.html HTTP/1.1\r\nHost: camera\r\n\r\n", 400},
		{"unknown path", "GET /nope HTTP/1.0\r\nx-sessioncookie: abc\r\n\r\n", 404},
		{"POST of text", "POST /main HTTP/1.0\r\nx-sessioncookie: abc\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"other method", "POSTAL /main HTTP/1.0\r\nx-sessioncookie: abc\r\n\r\n", 501},
		{"HTTP/2", "GET /main HTTP/2.0\r\nx-sessioncookie: abc\r\n\r\n", 505},
		{"garbage", "GET \x01\x02\x03\r\n\r\n", 400},
		{"no version", "GET /main\r\n\r\n", 400},
		{"head over 8 KiB", "GET /main HTTP/1.0\r\nx-sessioncookie: abc\r\nX-Pad: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431},
		{"many headers", "GET /main HTTP/1.0\r\nx-sessioncookie: abc\r\n" + strings.Repeat("X: y\r\n", 3000) + "\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go io.WriteString(c, tc.req) // the server may close before reading it all
			if code := httpStatus(t, c); code != tc.status {
				t.Errorf("%q: %d, want %d", tc.req, code, tc.status)
			}
		})
	}

	t.Run("cookie in use", func(t *testing.T) {
		openGET(t, addr, "twice")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, tunnelGET, "twice")
		if code := httpStatus(t, c); code != 409 {
			t.Errorf("second GET with a waiting cookie: %d, want 409", code)
		}
		openPOST(t, addr, "twice-post")
		time.Sleep(50 * time.Millisecond)
		if code := httpStatus(t, openPOST(t, addr, "twice-post")); code != 409 {
			t.Errorf("second POST with a waiting cookie: %d, want 409", code)
		}
	})

	t.Run("malformed RTSP inside", func(t *testing.T) {
		get, br := openGET(t, addr, "garbled")
		c := newTunnelClient(t, get, br, openPOST(t, addr, "garbled"))
		c.send([]byte("GARBAGE\r\nCSeq: 77\r\n\r\n"))
		get.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := message.ReadResponse(br)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 400 || res.Header.Get("CSeq") != "77" {
			t.Errorf("garbage: %d with CSeq %q, want 400 with CSeq 77", res.StatusCode, res.Header.Get("CSeq"))
		}
	})

	t.Run("not base64", func(t *testing.T) {
		get, br := openGET(t, addr, "not-base64")
		c := newTunnelClient(t, get, br, openPOST(t, addr, "not-base64"))
		if res := c.do("OPTIONS", ts.url()); res.StatusCode != 200 {
			t.Fatalf("OPTIONS: %d", res.StatusCode)
		}
		io.WriteString(c.post, "OPTIONS * RTSP/1.0\r\n")
		if rest := expectClosed(t, get, br, 5*time.Second); len(rest) != 0 {
			t.Errorf("got %q after plain text in the POST", rest)
		}
	})
}

func TestTunnelHandlerOtherRequests(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	base := "http://" + httpTunnelServer(t, ts)
	for _, tc := range []struct {
		method, path string
		hdr          []string
		status       int
	}{
		{"GET", "/main", nil, 404},
		{"GET", "/healthz", nil, 404},
		{"PUT", "/main", []string{"X-Sessioncookie", "abc"}, 501},
		{"GET", "/main", []string{"Accept", "application/x-rtsp-tunnelled"}, 400},
		{"GET", "/nope", []string{"X-Sessioncookie", "abc"}, 404},
		{"POST", "/main", []string{"X-Sessioncookie", "abc", "Content-Type", "text/plain"}, 400},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s %v: %d, want %d", tc.method, tc.path, tc.hdr, res.StatusCode, tc.status)
		}
	}
}

// TestTunnelShutdown: stopping the server closes paired and waiting
// tunnels.
func TestTunnelShutdown(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	addr := tunnelListen(t, ts)
	get, br := openGET(t, addr, "live")
	c := newTunnelClient(t, get, br, openPOST(t, addr, "live"))
	res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP: %d", res.StatusCode)
	}
	if res := c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY: %d", res.StatusCode)
	}
	waiting := openPOST(t, addr, "waiting")
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { ts.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop")
	}
	expectClosed(t, get, br, 5*time.Second)
	expectClosed(t, waiting, waiting, 5*time.Second)
}

func TestIsHTTP(t *testing.T) {
	for in, want := range map[string]bool{
		"GET /main HTTP/1.0\r\n":        true,
		"POST /main HTTP/1.0\r\n":       true,
		"GET_PARAMETER rtsp://x RTSP/1": false,
		"OPTIONS * RTSP/1.0\r\n":        false,
		"$\x00\x00\x04abcd":             false,
		"GET":                           false,
		"":                              false,
	} {
		if got := isHTTP(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("isHTTP(%q) = %v, want %v", in, got, want)
		}
	}
}

// decodeAll decodes everything r yields.
func decodeAll(r io.Reader) ([]byte, error) {
	var d tunnelDecoder
	d.reset(r)
	return io.ReadAll(&d)
}

func TestTunnelDecoder(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name, in, want string
		fails          bool
	}{
		{"one message", b64([]byte("OPTIONS * RTSP/1.0\r\n\r\n")), "OPTIONS * RTSP/1.0\r\n\r\n", false},
		{"padding inside", b64([]byte("a")) + b64([]byte("bc")) + b64([]byte("def")) + b64([]byte("g")), "abcdefg", false},
		{"whitespace", "T1BU\r\nSU9O\tUw=\n=\r\n  ", "OPTIONS", false},
		{"URL-safe alphabet", "-_-_", "\xfb\xff\xbf", false},
		{"stray padding", "==AAAA==AA==", "\x00\x00\x00\x00", false},
		{"one pad of two", "YQ=YWI=", "aab", false},
		{"unfinished quantum", "YWJjZA", "abc", false},
		{"empty", "", "", false},
		{"pad after one", "YWJjZ===", "abc", true},
		{"invalid byte", "YWJj!YWJj", "abc", true},
		{"NUL", "YWJj\x00", "abc", true},
	} {
		for _, r := range []struct {
			name string
			r    io.Reader
		}{
			{"whole", strings.NewReader(tc.in)},
			{"bytewise", iotest.OneByteReader(strings.NewReader(tc.in))},
			{"halves", iotest.HalfReader(strings.NewReader(tc.in))},
		} {
			got, err := decodeAll(r.r)
			if string(got) != tc.want || (err != nil) != tc.fails {
				t.Errorf("%s, %s: %q, %v; want %q, failure %v", tc.name, r.name, got, err, tc.want, tc.fails)
			}
		}
	}
}

// TestTunnelDecoderErrors: read errors such as deadlines pass through and
// are not kept; decoding errors are.
func TestTunnelDecoderErrors(t *testing.T) {
	var d tunnelDecoder
	d.reset(iotest.TimeoutReader(strings.NewReader("YWJj")))
	b := make([]byte, 16)
	if n, err := d.Read(b); n != 3 || err != nil {
		t.Fatalf("first read: %d, %v", n, err)
	}
	if _, err := d.Read(b); err != iotest.ErrTimeout {
		t.Fatalf("second read: %v, want the timeout", err)
	}
	d.reset(strings.NewReader("YWJj*"))
	if n, err := d.Read(b); n != 3 || err != nil {
		t.Fatalf("read before the bad byte: %d, %v", n, err)
	}
	for range 2 {
		if _, err := d.Read(b); err == nil || err == io.EOF {
			t.Fatalf("read at the bad byte: %v, want a decoding error", err)
		}
	}
}

// pieceReader returns its data n bytes at a time.
type pieceReader struct {
	b []byte
	n int
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

func FuzzTunnelDecode(f *testing.F) {
	b64 := base64.StdEncoding.EncodeToString
	f.Add([]byte(b64([]byte("OPTIONS rtsp://127.0.0.1/main RTSP/1.0\r\nCSeq: 1\r\n\r\n"))), uint8(3))
	f.Add([]byte(b64([]byte("a"))+"\r\n"+b64([]byte("bc"))), uint8(1))
	f.Add([]byte("T1BU SU9O\tUw==\n\n"), uint8(200))
	f.Add([]byte("==AAAA=A=="), uint8(5))
	f.Add([]byte("-_+/=*"), uint8(2))
	f.Add([]byte{'$', 1, 0, 4, 0x81, 0xc9, 0, 1}, uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		// Any text decodes the same however it is split.
		whole, werr := decodeAll(bytes.NewReader(data))
		pieces, perr := decodeAll(&pieceReader{data, int(cut)%7 + 1})
		if !bytes.Equal(whole, pieces) || (werr == nil) != (perr == nil) {
			t.Fatalf("whole: %q, %v; in pieces of %d: %q, %v", whole, werr, int(cut)%7+1, pieces, perr)
		}
		// Standard base64, whitespace aside, decodes as encoding/base64
		// does.
		stripped := bytes.Map(func(r rune) rune {
			if strings.ContainsRune(" \t\r\n\v\f", r) {
				return -1
			}
			return r
		}, data)
		if want, err := base64.StdEncoding.DecodeString(string(stripped)); err == nil && (werr != nil || !bytes.Equal(whole, want)) {
			t.Fatalf("%q: %q, %v; encoding/base64 says %q", data, whole, werr, want)
		}
		// data as messages, each encoded with its own padding and some
		// followed by CRLF, round-trips whatever the split.
		var text []byte
		for i, k := 0, 0; i < len(data); k++ {
			n := min(len(data)-i, (int(cut)+k)%11+1)
			text = base64.StdEncoding.AppendEncode(text, data[i:i+n])
			if k%3 == 0 {
				text = append(text, "\r\n"...)
			}
			i += n
		}
		got, err := decodeAll(&pieceReader{text, int(cut)%5 + 1})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip of %q via %q: %q, %v", data, text, got, err)
		}
	})
}
