package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSlowReader: one TCP client stops reading right after PLAY while ten
// healthy TCP clients play for 6 s. The healthy clients must see every
// packet (contiguous sequence numbers) at the full frame rate, and the
// server must close the stalled client's connection (eviction after 10 s
// behind) within about 15 s of it stalling.
func TestSlowReader(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{FanOut: true})
	const (
		healthy   = 10
		readFor   = 6 * time.Second
		minFrames = 125 // 25 fps x 6 s = 150; a loaded test machine may lose the last half second to a stall
		evictBy   = 15 * time.Second
		drainFor  = 2 * time.Second // time allowed to drain what was buffered
	)

	stalled, err := dialRTSP(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if err := stalled.Conn.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatalf("SO_RCVBUF: %v", err)
	}
	if _, err := startPlayOn(stalled, srv.URL, nil); err != nil {
		t.Fatalf("stalled client: %v", err)
	}
	stallStart := time.Now() // from here on it never reads

	results := make([]healthyResult, healthy)
	var wg sync.WaitGroup
	for i := range healthy {
		wg.Go(func() { results[i] = readHealthy(srv, readFor) })
	}
	wg.Wait()
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("healthy client %d: %v (after %d packets, %d frames)", i, r.err, r.packets, r.frames)
		case r.gaps > 0 || r.frames < minFrames:
			t.Errorf("healthy client %d: %d packets, %d frames (marker bits) in %v, %d sequence gaps (first: %s); "+
				"want >= %d frames and no gaps while another client is stalled",
				i, r.packets, r.frames, readFor, r.gaps, r.firstGap, minFrames)
		default:
			t.Logf("healthy client %d: %d packets, %d frames, no gaps", i, r.packets, r.frames)
		}
	}

	// Give the server until evictBy to evict the stalled client, then read:
	// the buffered data drains quickly and must end in EOF (or a reset).
	time.Sleep(time.Until(stallStart.Add(evictBy)))
	hard := stallStart.Add(evictBy + drainFor)
	_ = stalled.Conn.SetReadDeadline(hard)
	buf := make([]byte, 1<<16)
	var drained int64
	var lastData time.Time
	for {
		n, err := stalled.Conn.Read(buf)
		if n > 0 {
			drained += int64(n)
			lastData = time.Now()
		}
		if err == nil {
			continue
		}
		at := time.Since(stallStart).Round(100 * time.Millisecond)
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
			t.Logf("stalled client closed by the server (%v at %v after stalling, %d bytes drained)", err, at, drained)
		case errors.Is(err, os.ErrDeadlineExceeded):
			what := "no data arrived after it started reading again: the server stopped sending but did not close the connection"
			if !lastData.IsZero() && time.Since(lastData) < time.Second {
				what = "the server was still sending"
			} else if !lastData.IsZero() {
				what = fmt.Sprintf("the last data came %v after stalling, then the server stopped sending "+
					"but did not close the connection", lastData.Sub(stallStart).Round(100*time.Millisecond))
			}
			t.Errorf("stalled client still connected %v after it stopped reading (drained %d bytes; %s); "+
				"want the connection closed within ~%v", at, drained, what, evictBy)
		default:
			t.Errorf("stalled client: unexpected read error at %v: %v", at, err)
		}
		break
	}
	if srv.exited() {
		t.Errorf("server exited during the slow-reader test")
	}
}

type healthyResult struct {
	packets, frames, gaps int
	firstGap              string
	err                   error
}

// readHealthy plays over TCP and reads for d, starting at the first packet.
func readHealthy(srv *server, d time.Duration) (r healthyResult) {
	ps, err := startPlay(srv.Addr, srv.URL, nil)
	if err != nil {
		r.err = err
		return r
	}
	defer ps.C.Close()
	p, err := ps.readRTP(time.Now().Add(5 * time.Second))
	if err != nil {
		r.err = fmt.Errorf("first RTP packet: %w", err)
		return r
	}
	end := time.Now().Add(d)
	prev := p.SequenceNumber
	r.packets = 1
	if p.Marker {
		r.frames++
	}
	for {
		p, err := ps.readRTP(end)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return r
			}
			r.err = err
			return r
		}
		r.packets++
		if p.Marker {
			r.frames++
		}
		if p.SequenceNumber != prev+1 {
			if r.gaps == 0 {
				r.firstGap = fmt.Sprintf("%d -> %d", prev, p.SequenceNumber)
			}
			r.gaps++
		}
		prev = p.SequenceNumber
	}
}
