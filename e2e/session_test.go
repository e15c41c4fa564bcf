package e2e

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtpWatch counts RTP packets arriving on a UDP socket.
type rtpWatch struct {
	mu      sync.Mutex
	packets int
	first   time.Time
	last    time.Time
	ssrc    uint32
	lastSeq uint16
	done    chan struct{}
}

func watchRTP(conn *net.UDPConn) *rtpWatch {
	w := &rtpWatch{done: make(chan struct{})}
	go func() {
		defer close(w.done)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return // socket closed
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil {
				continue
			}
			now := time.Now()
			w.mu.Lock()
			if w.packets == 0 {
				w.first = now
			}
			w.packets++
			w.last = now
			w.ssrc = p.SSRC
			w.lastSeq = p.SequenceNumber
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *rtpWatch) snapshot() (packets int, last time.Time, ssrc uint32, lastSeq uint16) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets, w.last, w.ssrc, w.lastSeq
}

// waitFirst waits until at least one RTP packet has arrived.
func (w *rtpWatch) waitFirst(timeout time.Duration) error {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if n, _, _, _ := w.snapshot(); n > 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no RTP packet on UDP within %v of PLAY", timeout)
}

// playUDP starts a UDP unicast session and watches its RTP port.
func playUDP(t *testing.T, srv *server) (*playSession, *rtpWatch) {
	t.Helper()
	pair := newUDPPair(t)
	ps, err := startPlay(srv.Addr, srv.URL, pair)
	if err != nil {
		t.Fatalf("UDP play: %v", err)
	}
	t.Cleanup(func() { ps.C.Close() })
	w := watchRTP(pair.RTP)
	if err := w.waitFirst(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	return ps, w
}

// keepaliveStatus sends GET_PARAMETER with the session ID and returns the
// status. If the server has closed the control connection, the request is
// sent again on a new connection (the session ID is what matters).
func keepaliveStatus(srv *server, ps *playSession) (int, string, error) {
	res, err := ps.C.request("GET_PARAMETER", ps.URL, nil, "")
	note := ""
	if err != nil {
		c, derr := dialRTSP(srv.Addr)
		if derr != nil {
			return 0, "", fmt.Errorf("%v; redial: %v", err, derr)
		}
		defer c.Close()
		c.Session = ps.SessionID
		note = fmt.Sprintf(" (original connection failed: %v; sent on a new connection)", err)
		res, err = c.request("GET_PARAMETER", ps.URL, nil, "")
		if err != nil {
			return 0, note, err
		}
	}
	return res.Status, note, nil
}

// TestSessionTimeout runs with rtsp.session_timeout: 3s: UDP sessions live
// on with GET_PARAMETER or RTCP receiver reports as keepalive, and expire
// (RTP stops, 454) without any.
func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{SessionTimeout: 3 * time.Second})
	const alive = 7 * time.Second

	checkTimeout := func(t *testing.T, ps *playSession) {
		t.Helper()
		if !ps.HasTimeout || ps.Timeout != 3 {
			t.Errorf("SETUP Session header %q: want timeout=3 with session_timeout: 3s", ps.Setup.get("Session"))
		}
	}
	checkAlive := func(t *testing.T, ps *playSession, w *rtpWatch) {
		t.Helper()
		if n, last, _, _ := w.snapshot(); time.Since(last) > time.Second {
			t.Errorf("RTP stopped after %v (%d packets, last %v ago); want the session alive",
				alive, n, time.Since(last).Round(time.Millisecond))
		}
		st, note, err := keepaliveStatus(srv, ps)
		if err != nil || st != 200 {
			t.Errorf("GET_PARAMETER with Session after %v: status %d, err %v%s; want 200", alive, st, err, note)
		}
	}

	t.Run("get_parameter_keepalive", func(t *testing.T) {
		t.Parallel()
		ps, w := playUDP(t, srv)
		checkTimeout(t, ps)
		start := time.Now()
		for time.Since(start) < alive {
			time.Sleep(time.Second)
			res, err := ps.C.request("GET_PARAMETER", ps.URL, nil, "")
			if err != nil {
				t.Fatalf("keepalive GET_PARAMETER at %v: %v", time.Since(start).Round(time.Millisecond), err)
			}
			if res.Status != 200 {
				t.Fatalf("keepalive GET_PARAMETER at %v: status %d, want 200\n%s",
					time.Since(start).Round(time.Millisecond), res.Status, res)
			}
		}
		checkAlive(t, ps, w)
	})

	t.Run("no_keepalive_expires", func(t *testing.T) {
		t.Parallel()
		ps, w := playUDP(t, srv)
		checkTimeout(t, ps)
		start := time.Now()
		time.Sleep(6 * time.Second) // 3 s timeout, plus slack
		n, last, _, _ := w.snapshot()
		if since := time.Since(last); since < time.Second {
			t.Errorf("RTP still arriving %v after PLAY with no keepalive (%d packets, last %v ago); "+
				"want the session expired after ~3-5 s", time.Since(start).Round(time.Millisecond), n,
				since.Round(time.Millisecond))
		} else {
			t.Logf("RTP stopped %v after PLAY (%d packets)", last.Sub(start).Round(time.Millisecond), n)
		}
		st, note, err := keepaliveStatus(srv, ps)
		if err != nil || st != 454 {
			t.Errorf("GET_PARAMETER with the expired Session: status %d, err %v%s; want 454 Session Not Found",
				st, err, note)
		} else {
			t.Logf("GET_PARAMETER with the expired Session: 454%s", note)
		}
	})

	t.Run("rtcp_rr_keepalive", func(t *testing.T) {
		t.Parallel()
		ps, w := playUDP(t, srv)
		checkTimeout(t, ps)
		ourSSRC := uint32(0x1e2e0001)
		start := time.Now()
		for time.Since(start) < alive {
			time.Sleep(time.Second)
			_, _, ssrc, seq := w.snapshot()
			pkt, err := rtcp.Marshal([]rtcp.Packet{
				&rtcp.ReceiverReport{SSRC: ourSSRC, Reports: []rtcp.ReceptionReport{{
					SSRC: ssrc, LastSequenceNumber: uint32(seq),
				}}},
				&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
					Source: ourSSRC,
					Items:  []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "e2e@127.0.0.1"}},
				}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ps.UDP.RTCP.WriteToUDP(pkt, ps.ServerRTCP); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("send RTCP RR to %v: %v", ps.ServerRTCP, err)
			}
		}
		checkAlive(t, ps, w)
	})
}
