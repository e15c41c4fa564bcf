package rtsp

import (
	"bufio"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/message"
)

const testRelay = "rtsp://relay.example:8554/cam1"

// TestDescribeAtCapGoesToRelay fills the server's one session, then
// checks that a new client's DESCRIBE is sent to the relay with 302 and
// Location, while without a relay it is answered as before (its SETUP
// then gets 503).
func TestDescribeAtCapGoesToRelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		relay    string
		want     int
		location string
	}{
		{"relay", testRelay, 302, testRelay},
		{"relay not publishing", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServerStream(t, Options{MaxSessions: 1}, StreamOptions{Relay: func() string { return tc.relay }}, 40*time.Millisecond)
			first := dial(t, ts.addr)
			if res := first.do("DESCRIBE", ts.url()); res.StatusCode != 200 {
				t.Fatalf("DESCRIBE below the cap: %d, want 200", res.StatusCode)
			}
			if res := first.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"); res.StatusCode != 200 {
				t.Fatalf("SETUP: %d", res.StatusCode)
			}
			second := dial(t, ts.addr)
			res := second.do("DESCRIBE", ts.url())
			if res.StatusCode != tc.want || res.Header.Get("Location") != tc.location {
				t.Fatalf("DESCRIBE at the cap: %d Location %q, want %d %q", res.StatusCode, res.Header.Get("Location"), tc.want, tc.location)
			}
			if tc.relay == "" {
				if res := second.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"); res.StatusCode != 503 {
					t.Fatalf("SETUP at the cap: %d, want 503", res.StatusCode)
				}
			} else if got := ts.srv.Stats().Redirected; got != 1 {
				t.Fatalf("Stats().Redirected = %d, want 1", got)
			}
		})
	}
}

// TestShutdownRedirectsPlayers plays over TCP and over UDP (whose RTSP
// connection stays open), then stops the server: each client must get a
// REDIRECT request naming its session and the relay before the
// connection closes, and the server must not wait past its grace period.
func TestShutdownRedirectsPlayers(t *testing.T) {
	ts := startServerStream(t, Options{}, StreamOptions{Relay: func() string { return testRelay }}, 40*time.Millisecond)

	tcp := dial(t, ts.addr)
	res := tcp.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	tcpID := sessionID(t, res)
	if res := tcp.do("PLAY", ts.url(), "Session", tcpID); res.StatusCode != 200 {
		t.Fatalf("PLAY over TCP: %d", res.StatusCode)
	}
	tcp.readRTP()

	_, _, port := udpPair(t)
	udp := dial(t, ts.addr)
	res = udp.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP;unicast;client_port="+strconv.Itoa(port)+"-"+strconv.Itoa(port+1))
	udpID := sessionID(t, res)
	if res := udp.do("PLAY", ts.url(), "Session", udpID); res.StatusCode != 200 {
		t.Fatalf("PLAY over UDP: %d", res.StatusCode)
	}

	start := time.Now()
	ts.cancel()
	for _, c := range []struct {
		name string
		cl   *client
		id   string
	}{{"TCP", tcp, tcpID}, {"UDP", udp, udpID}} {
		req := readServerRequest(t, c.cl.c, c.cl.br)
		if req.Method != "REDIRECT" || req.Header.Get("Location") != testRelay || req.Header.Get("Session") != c.id ||
			req.URL != ts.url() || req.Header.Get("CSeq") == "" {
			t.Fatalf("%s player got %s %s Location %q Session %q CSeq %q; want REDIRECT %s Location %q Session %q",
				c.name, req.Method, req.URL, req.Header.Get("Location"), req.Header.Get("Session"), req.Header.Get("CSeq"), ts.url(), testRelay, c.id)
		}
		// Answer as gortsplib and rtspsrc do, then hang up.
		(&message.Response{StatusCode: 200, Header: message.Header{"Cseq": {req.Header.Get("CSeq")}}}).Write(c.cl.c)
		c.cl.c.Close()
	}
	<-ts.done
	if d := time.Since(start); d > redirectGrace+500*time.Millisecond {
		t.Fatalf("shutdown took %v after the clients hung up", d)
	}
}

// readServerRequest reads past interleaved data (and a TCP client's RTCP
// BYE) to the next request from the server.
func readServerRequest(t *testing.T, nc net.Conn, br *bufio.Reader) *message.Request {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		inter, err := message.IsInterleaved(br)
		if err != nil {
			t.Fatalf("waiting for a request from the server: %v", err)
		}
		if !inter {
			break
		}
		if _, _, err := message.ReadInterleaved(br, nil); err != nil {
			t.Fatal(err)
		}
	}
	req, err := message.ReadRequest(br)
	if err != nil {
		t.Fatalf("reading the server's request: %v", err)
	}
	return req
}
