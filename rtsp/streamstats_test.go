package rtsp

import (
	"testing"
	"time"
)

// TestStreamStatsMonotonic plays the stream with two clients one after the
// other and checks that the stream's totals add up the sessions' figures
// and never go down when a client leaves.
func TestStreamStatsMonotonic(t *testing.T) {
	ts := startServer(t, Options{}, 10*time.Millisecond)
	if st := ts.stream.Stats(); st != (StreamStats{Path: "/main"}) {
		t.Fatalf("stats before any client: %+v, want zero counters", st)
	}
	var prev StreamStats
	for round := range 2 {
		c := dial(t, ts.addr)
		res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
		if res.StatusCode != 200 {
			t.Fatalf("round %d: SETUP status %d", round, res.StatusCode)
		}
		id := sessionID(t, res)
		if res := c.do("PLAY", ts.url()+"/", "Session", id); res.StatusCode != 200 {
			t.Fatalf("round %d: PLAY status %d", round, res.StatusCode)
		}
		packets := 0
		for frames := 0; frames < 20; {
			_, p := c.readRTP()
			packets++
			if p.Marker {
				frames++
			}
		}
		// A packet is counted once its write returns, which may be after
		// the client has read it: give the sender a moment to count.
		for deadline := time.Now().Add(2 * time.Second); ts.stream.Stats().PacketsSent-prev.PacketsSent < uint64(packets) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		// The session's own counters are part of the totals, which are
		// read after them.
		sess := ts.srv.Stats().Sessions
		if len(sess) != 1 {
			t.Fatalf("round %d: %d sessions, want 1", round, len(sess))
		}
		st := ts.stream.Stats()
		if st.Clients != 1 {
			t.Errorf("round %d: %d clients while one plays", round, st.Clients)
		}
		if got, min := st.PacketsSent-prev.PacketsSent, uint64(packets); got < min {
			t.Errorf("round %d: stream counted %d more packets, the client read %d", round, got, min)
		}
		if st.PacketsSent < prev.PacketsSent+sess[0].PacketsSent || st.BytesSent < prev.BytesSent+sess[0].BytesSent {
			t.Errorf("round %d: stream totals %+v below the previous %+v plus the session's %+v", round, st, prev, sess[0])
		}
		if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
			t.Fatalf("round %d: TEARDOWN status %d", round, res.StatusCode)
		}
		after := ts.stream.Stats()
		if after.Clients != 0 {
			t.Errorf("round %d: %d clients after TEARDOWN", round, after.Clients)
		}
		if after.PacketsSent < st.PacketsSent || after.BytesSent < st.BytesSent || after.FramesSent < st.FramesSent {
			t.Errorf("round %d: totals went down when the client left: %+v, then %+v", round, st, after)
		}
		if after.FramesSent <= prev.FramesSent || after.BytesSent <= prev.BytesSent {
			t.Errorf("round %d: totals did not grow: %+v, then %+v", round, prev, after)
		}
		prev = after
	}
}

// TestStreamStatsEvicted checks that a client evicted for falling behind
// is counted on its stream, with the frames it was not sent.
func TestStreamStatsEvicted(t *testing.T) {
	ts := startServer(t, Options{WriteTimeout: time.Second, EvictAfter: 500 * time.Millisecond, ClientBacklog: 64 << 10}, 5*time.Millisecond)
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url(), "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d", res.StatusCode)
	}
	if res := c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	// The client reads nothing more.
	deadline := time.Now().Add(10 * time.Second)
	for ts.stream.Stats().Evicted == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := ts.stream.Stats()
	if st.Evicted != 1 || ts.srv.Stats().Evicted != 1 {
		t.Fatalf("stream evicted %d, server %d; want 1 each", st.Evicted, ts.srv.Stats().Evicted)
	}
	if st.FramesDropped == 0 {
		t.Errorf("a stalled client dropped no frames: %+v", st)
	}
	if st.PacketsSent == 0 {
		t.Errorf("nothing counted as sent before the client stalled: %+v", st)
	}
}
