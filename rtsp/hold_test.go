package rtsp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestSilentSessionsDoNotHold: one address can set up no more sessions
// than MaxConnsPerAddr, and TCP sessions that are set up but never played
// time out like UDP ones; their connection, silent, is then closed. A
// silent client whose TCP session plays keeps it.
func TestSilentSessionsDoNotHold(t *testing.T) {
	ts := startServer(t, Options{SessionTimeout: time.Second, IdleTimeout: time.Second, MaxConnsPerAddr: 6}, 40*time.Millisecond)

	// A player that never sends another request after PLAY.
	player := dial(t, ts.addr)
	res := player.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("player's SETUP %d", res.StatusCode)
	}
	if res = player.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("player's PLAY %d", res.StatusCode)
	}

	// A silent holder: SETUPs until refused, then says nothing.
	holder := dial(t, ts.addr)
	n := 0
	for ch := 0; ch < 64; ch += 2 {
		res := holder.do("SETUP", ts.url()+"/trackID=0", "Transport", fmt.Sprintf("RTP/AVP/TCP;unicast;interleaved=%d-%d", ch, ch+1))
		if res.StatusCode != 200 {
			if res.StatusCode != 503 {
				t.Errorf("SETUP beyond the cap: %d, want 503", res.StatusCode)
			}
			break
		}
		n++
	}
	if n != 5 { // 6 from one address, the player's included
		t.Errorf("one address set up %d sessions besides the player's, want 5", n)
	}

	// Within the timeout and the reaper's period, the holder's sessions
	// are gone and its connection closed; the player's remains.
	holder.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, holder.c); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept the silent holder's connection open for 5 s (timeouts 1 s)")
		}
	}
	if got := len(ts.srv.Stats().Sessions); got != 1 {
		t.Errorf("%d sessions after the holder's timed out, want the player's 1", got)
	}
	for range 20 {
		player.readRTP() // fails the test if the player's stream stopped
	}

	// The slots are free again.
	c := dial(t, ts.addr)
	if res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"); res.StatusCode != 200 {
		t.Errorf("SETUP after the holder timed out: %d", res.StatusCode)
	}
}

// TestIdleSessionTimesOutAlone: of two TCP sessions on one connection,
// the one that plays goes on when the one set up beside it and never
// played times out; the connection stays open.
func TestIdleSessionTimesOutAlone(t *testing.T) {
	ts := startServer(t, Options{SessionTimeout: time.Second, IdleTimeout: time.Second}, 40*time.Millisecond)
	c := dial(t, ts.addr)
	idle := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=2-3")
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if idle.StatusCode != 200 || res.StatusCode != 200 {
		t.Fatalf("SETUPs: %d, %d", idle.StatusCode, res.StatusCode)
	}
	if res = c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY %d", res.StatusCode)
	}
	deadline := time.Now().Add(4 * time.Second)
	for len(ts.srv.Stats().Sessions) > 1 {
		if time.Now().After(deadline) {
			t.Fatal("the idle session did not time out within 4 s (timeout 1 s)")
		}
		c.readRTP()
	}
	for range 50 { // 2 s of frames: the playing session goes on
		if ch, _ := c.readRTP(); ch != 0 {
			t.Fatalf("media on channel %d", ch)
		}
	}
}

// TestOptionsKeepsSessionAlive: a paused TCP session that the client keeps
// alive with OPTIONS naming it does not time out.
func TestOptionsKeepsSessionAlive(t *testing.T) {
	ts := startServer(t, Options{SessionTimeout: time.Second, IdleTimeout: time.Second}, 40*time.Millisecond)
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP %d", res.StatusCode)
	}
	id := sessionID(t, res)
	for range 8 { // 2.4 s, over twice the timeout
		if res := c.do("OPTIONS", ts.url(), "Session", id); res.StatusCode != 200 || res.Header.Get("Session") == "" {
			t.Fatalf("OPTIONS with Session: %d, Session %q", res.StatusCode, res.Header.Get("Session"))
		}
		time.Sleep(300 * time.Millisecond)
	}
	if res := c.do("PLAY", ts.url(), "Session", id); res.StatusCode != 200 {
		t.Fatalf("PLAY after 2.4 s of OPTIONS keepalives: %d", res.StatusCode)
	}
}
