package rtsp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// testAU returns access unit i of a synthetic 25 fps stream with an IDR
// every gop frames (SPS and PPS only on the first, to exercise in-band
// insertion), and a payload large enough to need FU-A now and then.
func testAU(i, gop int) *h264.AccessUnit {
	au := &h264.AccessUnit{PTS: time.Duration(i) * 40 * time.Millisecond}
	size := 300 + (i%7)*400
	if i%gop == 0 {
		if i == 0 {
			au.NALUs = append(au.NALUs, testSPS, testPPS)
		}
		size = 5000
	}
	n := make([]byte, size)
	n[0] = 0x41
	if i%gop == 0 {
		n[0] = 0x65
	}
	binary.BigEndian.PutUint32(n[1:], uint32(i))
	au.NALUs = append(au.NALUs, n)
	return au
}

type testServer struct {
	srv    *Server
	stream *Stream
	ring   *ring.Ring
	addr   string
	cancel context.CancelFunc
	done   chan struct{}
}

// startServer runs a server whose source writes the synthetic stream at
// the given interval until the test ends.
func startServer(t *testing.T, opts Options, interval time.Duration) *testServer {
	t.Helper()
	return startServerStream(t, opts, StreamOptions{}, interval)
}

// startServerStream is startServer with the stream's options, and more
// listeners to serve besides the plain one of ts.addr.
func startServerStream(t *testing.T, opts Options, sopts StreamOptions, interval time.Duration, more ...net.Listener) *testServer {
	t.Helper()
	return startServerSource(t, opts, sopts, interval, func(i int) *h264.AccessUnit { return testAU(i, 10) }, more...)
}

// startServerSource is startServerStream with access unit i made by au.
func startServerSource(t *testing.T, opts Options, sopts StreamOptions, interval time.Duration, au func(i int) *h264.AccessUnit, more ...net.Listener) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rb := ring.New(1<<20, 256)
	sopts.Logger = opts.Logger
	st := NewStream("/main", rb, sopts)
	srv := NewServer(opts, st)
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, stream: st, ring: rb, addr: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			rb.WriteAccessUnit(au(i))
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	wg.Go(func() { st.Run(ctx) })
	wg.Go(func() { srv.Serve(ctx, append([]net.Listener{ln}, more...)...) })
	go func() { wg.Wait(); close(ts.done) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	ts.cancel()
	<-ts.done
}

func (ts *testServer) url() string { return "rtsp://" + ts.addr + "/main" }

// client is a minimal RTSP client over one TCP connection.
type client struct {
	t    *testing.T
	c    net.Conn
	br   *bufio.Reader
	cseq int
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) do(method, url string, hdr ...string) *message.Response {
	c.t.Helper()
	c.cseq++
	req := &message.Request{Method: method, URL: url, Header: message.Header{}}
	req.Header.Set("CSeq", strconv.Itoa(c.cseq))
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "body" {
			req.Body = []byte(hdr[i+1])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := req.Write(c.c); err != nil {
		c.t.Fatal(err)
	}
	return c.response()
}

// response reads the next response, skipping interleaved data before it.
func (c *client) response() *message.Response {
	c.t.Helper()
	for {
		inter, err := message.IsInterleaved(c.br)
		if err != nil {
			c.t.Fatal(err)
		}
		if !inter {
			break
		}
		if _, _, err := message.ReadInterleaved(c.br, nil); err != nil {
			c.t.Fatal(err)
		}
	}
	res, err := message.ReadResponse(c.br)
	if err != nil {
		c.t.Fatal(err)
	}
	if got, want := res.Header.Get("CSeq"), strconv.Itoa(c.cseq); got != want {
		c.t.Fatalf("CSeq %q, want %q", got, want)
	}
	return res
}

func (c *client) readRTP() (uint8, *rtp.Packet) {
	c.t.Helper()
	for {
		c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		ch, payload, err := message.ReadInterleaved(c.br, nil)
		if err != nil {
			c.t.Fatal(err)
		}
		if ch%2 == 1 {
			continue
		}
		var p rtp.Packet
		if err := p.Unmarshal(payload); err != nil {
			c.t.Fatal(err)
		}
		return ch, &p
	}
}

func sessionID(t *testing.T, res *message.Response) string {
	t.Helper()
	var s headers.Session
	if err := s.Unmarshal(res.Header.Get("Session")); err != nil {
		t.Fatalf("Session header %q: %v", res.Header.Get("Session"), err)
	}
	return s.ID
}

func TestOptionsListsEveryMethod(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	res := dial(t, ts.addr).do("OPTIONS", ts.url())
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	pub := res.Header.Get("Public")
	for _, m := range []string{"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER"} {
		if !strings.Contains(pub, m) {
			t.Errorf("Public %q lacks %s", pub, m)
		}
	}
}

func TestDescribe(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	res := dial(t, ts.addr).do("DESCRIBE", ts.url(), "Accept", "application/sdp")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got, want := res.Header.Get("Content-Base"), ts.url()+"/"; got != want {
		t.Errorf("Content-Base %q, want %q", got, want)
	}
	sdp := string(res.Body)
	for _, want := range []string{
		"m=video 0 RTP/AVP 96",
		"a=rtpmap:96 H264/90000",
		"a=fmtp:96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH9oBQBbsBEA=,aM48gA==",
		"a=control:trackID=0",
		"a=range:npt=now-",
	} {
		if !strings.Contains(sdp, want+"\r\n") {
			t.Errorf("SDP lacks %q:\n%s", want, sdp)
		}
	}
	if res := dial(t, ts.addr).do("DESCRIBE", "rtsp://"+ts.addr+"/nope"); res.StatusCode != 404 {
		t.Errorf("DESCRIBE of an unknown path: %d, want 404", res.StatusCode)
	}
}

// TestPlayTCP checks RTP-Info against the first packet, that the client
// starts on SPS, PPS and an IDR, that the marker bit closes each access
// unit, and that sequence numbers have no gap.
func TestPlayTCP(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // let a GOP build up, so PLAY replays it
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d", res.StatusCode)
	}
	if tr := res.Header.Get("Transport"); !strings.Contains(tr, "interleaved=0-1") || !strings.Contains(tr, "ssrc=") {
		t.Errorf("Transport %q", tr)
	}
	if s := res.Header.Get("Session"); !strings.HasSuffix(s, ";timeout=60") {
		t.Errorf("Session %q lacks ;timeout=60", s)
	}
	id := sessionID(t, res)
	res = c.do("PLAY", ts.url()+"/", "Session", id)
	if res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	var info headers.RTPInfo
	if err := info.Unmarshal(res.Header.Get("RTP-Info")); err != nil || len(info) != 1 || info[0].SeqNum == nil || info[0].Timestamp == nil {
		t.Fatalf("RTP-Info %q: %v", res.Header.Get("RTP-Info"), err)
	}
	if got, want := info[0].URL, ts.url()+"/trackID=0"; got != want {
		t.Errorf("RTP-Info url %q, want %q", got, want)
	}
	var nalTypes []int
	var prev *rtp.Packet
	frames := 0
	for frames < 30 {
		ch, p := c.readRTP()
		if ch != 0 {
			t.Fatalf("RTP on channel %d", ch)
		}
		if prev == nil {
			if p.SequenceNumber != *info[0].SeqNum || p.Timestamp != *info[0].Timestamp {
				t.Fatalf("first packet seq %d ts %d, RTP-Info seq %d ts %d", p.SequenceNumber, p.Timestamp, *info[0].SeqNum, *info[0].Timestamp)
			}
		} else {
			if p.SequenceNumber != prev.SequenceNumber+1 {
				t.Fatalf("sequence jumps from %d to %d", prev.SequenceNumber, p.SequenceNumber)
			}
			if !prev.Marker && p.Timestamp != prev.Timestamp {
				t.Fatalf("timestamp changed inside an access unit")
			}
		}
		if len(nalTypes) < 4 {
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
	if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Errorf("TEARDOWN status %d", res.StatusCode)
	}
	if res := c.do("GET_PARAMETER", ts.url(), "Session", id); res.StatusCode != 454 {
		t.Errorf("GET_PARAMETER after TEARDOWN: %d, want 454", res.StatusCode)
	}
}

// nalTypesOf returns the NAL unit types an RTP H.264 payload carries
// (the first one, for a fragment).
func nalTypesOf(p []byte) []int {
	if len(p) < 2 {
		return nil
	}
	switch t := int(p[0] & 0x1f); t {
	case 24:
		var out []int
		for b := p[1:]; len(b) > 2; {
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || 2+n > len(b) {
				break
			}
			out = append(out, int(b[2]&0x1f))
			b = b[2+n:]
		}
		return out
	case 28:
		if p[1]&0x80 != 0 {
			return []int{int(p[1] & 0x1f)}
		}
		return nil
	default:
		return []int{t}
	}
}

func TestPlayUDPWithSenderReportAndBye(t *testing.T) {
	ts := startServer(t, Options{SenderReportInterval: 200 * time.Millisecond}, 20*time.Millisecond)
	rtpConn, rtcpConn, port := udpPair(t)

	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", port, port+1))
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d", res.StatusCode)
	}
	var tr headers.Transport
	if err := tr.Unmarshal(res.Header.Get("Transport")); err != nil || tr.ServerPorts == nil || tr.ClientPorts == nil {
		t.Fatalf("Transport %q: %v", res.Header.Get("Transport"), err)
	}
	if tr.ClientPorts[0] != port || tr.ServerPorts[0]%2 != 0 || tr.ServerPorts[1] != tr.ServerPorts[0]+1 {
		t.Errorf("Transport %q: bad ports", res.Header.Get("Transport"))
	}
	id := sessionID(t, res)
	res = c.do("PLAY", ts.url(), "Session", id)
	if res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	buf := make([]byte, 2048)
	rtpConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := rtpConn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	if err := p.Unmarshal(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if p.SSRC != ts.stream.SSRC() {
		t.Errorf("SSRC %08x, want %08x", p.SSRC, ts.stream.SSRC())
	}
	// A sender report within a few intervals.
	rtcpConn.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err = rtcpConn.Read(buf)
	if err != nil {
		t.Fatalf("no RTCP sender report: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || sr.SSRC != ts.stream.SSRC() || sr.PacketCount == 0 || sr.NTPTime == 0 {
		t.Fatalf("first RTCP packet %#v, want a sender report", pkts[0])
	}
	ntpSec := int64(sr.NTPTime>>32) - 2208988800
	if d := time.Since(time.Unix(ntpSec, 0)); d < -2*time.Second || d > 3*time.Second {
		t.Errorf("SR NTP time is %v away from now", d)
	}
	if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("TEARDOWN status %d", res.StatusCode)
	}
	for {
		rtcpConn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err = rtcpConn.Read(buf)
		if err != nil {
			t.Fatalf("no RTCP BYE after TEARDOWN: %v", err)
		}
		pkts, _ := rtcp.Unmarshal(buf[:n])
		if len(pkts) > 0 {
			if _, ok := pkts[len(pkts)-1].(*rtcp.Goodbye); ok {
				break
			}
		}
	}
}

func TestErrorsEchoCSeq(t *testing.T) {
	ts := startServer(t, Options{}, 40*time.Millisecond)
	c := dial(t, ts.addr)
	if res := c.do("FROBNICATE", ts.url()); res.StatusCode != 501 {
		t.Errorf("unknown method: %d, want 501", res.StatusCode)
	}
	if res := c.do("SET_PARAMETER", ts.url(), "Content-Type", "text/parameters", "body", "foo: bar\r\n"); res.StatusCode != 451 {
		t.Errorf("SET_PARAMETER foo: %d, want 451", res.StatusCode)
	}
	if res := c.do("SET_PARAMETER", ts.url()); res.StatusCode != 200 {
		t.Errorf("empty SET_PARAMETER: %d, want 200", res.StatusCode)
	}
	if res := c.do("GET_PARAMETER", ts.url()); res.StatusCode != 200 {
		t.Errorf("empty GET_PARAMETER: %d, want 200", res.StatusCode)
	}
	if res := c.do("PLAY", ts.url(), "Session", "deadbeef"); res.StatusCode != 454 {
		t.Errorf("PLAY of an unknown session: %d, want 454", res.StatusCode)
	}
	if res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP;multicast"); res.StatusCode != 461 {
		t.Errorf("SETUP multicast: %d, want 461", res.StatusCode)
	}
	// A malformed request gets 400 with its CSeq.
	io.WriteString(c.c, "GARBAGE\r\nCSeq: 77\r\n\r\n")
	res, err := message.ReadResponse(c.br)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 400 || res.Header.Get("CSeq") != "77" {
		t.Errorf("garbage: %d with CSeq %q, want 400 with CSeq 77", res.StatusCode, res.Header.Get("CSeq"))
	}
	// The connection is still usable.
	if res := c.do("OPTIONS", ts.url()); res.StatusCode != 200 {
		t.Errorf("OPTIONS after a malformed request: %d", res.StatusCode)
	}
}

func TestUDPSessionTimeout(t *testing.T) {
	ts := startServer(t, Options{SessionTimeout: time.Second}, 40*time.Millisecond)
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP;unicast;client_port=40000-40001")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d", res.StatusCode)
	}
	if s := res.Header.Get("Session"); !strings.HasSuffix(s, ";timeout=1") {
		t.Errorf("Session %q lacks ;timeout=1", s)
	}
	id := sessionID(t, res)
	// Keepalives hold it for three timeouts...
	for range 6 {
		time.Sleep(500 * time.Millisecond)
		if res := c.do("GET_PARAMETER", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("keepalive: %d", res.StatusCode)
		}
	}
	// ...and silence ends it.
	time.Sleep(2 * time.Second)
	if res := c.do("GET_PARAMETER", ts.url(), "Session", id); res.StatusCode != 454 {
		t.Fatalf("after the timeout: %d, want 454", res.StatusCode)
	}
}

// TestSlowClientIsolated stalls one TCP client while others play: the
// others see every packet, the stalled one drops frames and is evicted.
func TestSlowClientIsolated(t *testing.T) {
	ts := startServer(t, Options{WriteTimeout: time.Second, EvictAfter: time.Second, ClientBacklog: 64 << 10}, 5*time.Millisecond)
	play := func(c *client) {
		res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
		if res.StatusCode != 200 {
			t.Fatalf("SETUP status %d", res.StatusCode)
		}
		if res := c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
			t.Fatalf("PLAY status %d", res.StatusCode)
		}
	}
	stalled := dial(t, ts.addr)
	play(stalled)

	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		c := dial(t, ts.addr)
		play(c)
		wg.Go(func() {
			var last uint16
			for i := range 1500 {
				c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
				ch, payload, err := message.ReadInterleaved(c.br, nil)
				if err != nil {
					errs <- err
					return
				}
				if ch != 0 {
					continue
				}
				seq := binary.BigEndian.Uint16(payload[2:])
				if i > 0 && seq != last+1 {
					errs <- fmt.Errorf("healthy client lost packets: seq %d after %d", seq, last)
					return
				}
				last = seq
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The stalled client is evicted: its connection ends.
	deadline := time.Now().Add(10 * time.Second)
	for ts.srv.Stats().Evicted == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := ts.srv.Stats().Evicted; n != 1 {
		t.Fatalf("evicted %d sessions, want 1", n)
	}
	stalled.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, stalled.c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("stalled connection was not reset or closed: %v", err)
	}
}

// udpPair binds two consecutive UDP ports on 127.0.0.1, as a client's RTP
// and RTCP ports.
func udpPair(t *testing.T) (rtpConn, rtcpConn *net.UDPConn, port int) {
	t.Helper()
	for range 50 {
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port = a.LocalAddr().(*net.UDPAddr).Port
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err != nil {
			a.Close()
			continue
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b, port
	}
	t.Fatal("no free pair of consecutive UDP ports")
	return nil, nil, 0
}

// TestPauseAndResume checks that PAUSE stops the packets and a second PLAY
// resumes on an IDR whose first packet RTP-Info names.
func TestPauseAndResume(t *testing.T) {
	ts := startServer(t, Options{}, 20*time.Millisecond)
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP/TCP;unicast;interleaved=2-3")
	id := sessionID(t, res)
	if res := c.do("PLAY", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	for range 10 {
		if ch, _ := c.readRTP(); ch != 2 {
			t.Fatalf("RTP on channel %d, want 2", ch)
		}
	}
	if res := c.do("PAUSE", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("PAUSE status %d", res.StatusCode)
	}
	// Nothing arrives while paused.
	c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, _, err := message.ReadInterleaved(c.br, nil); err == nil {
		t.Fatal("RTP arrived after the PAUSE reply")
	}
	c.br.Reset(c.c)
	res = c.do("PLAY", ts.url(), "Session", id)
	if res.StatusCode != 200 {
		t.Fatalf("second PLAY status %d", res.StatusCode)
	}
	var info headers.RTPInfo
	if err := info.Unmarshal(res.Header.Get("RTP-Info")); err != nil {
		t.Fatal(err)
	}
	_, p := c.readRTP()
	if p.SequenceNumber != *info[0].SeqNum || p.Timestamp != *info[0].Timestamp {
		t.Fatalf("first packet after resume seq %d ts %d, RTP-Info seq %d ts %d", p.SequenceNumber, p.Timestamp, *info[0].SeqNum, *info[0].Timestamp)
	}
	if types := nalTypesOf(p.Payload); len(types) == 0 || types[0] != 7 {
		t.Fatalf("resumed on NAL types %v, want SPS first", types)
	}
}
