package e2e

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestShutdown: SIGTERM stops the server within 2 s with exit code 0, and a
// playing UDP client gets an RTCP BYE first.
func TestShutdown(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{})
	ps, _ := playUDP(t, srv)

	var (
		mu    sync.Mutex
		kinds []string
		bye   bool
	)
	rtcpDone := make(chan struct{})
	go func() {
		defer close(rtcpDone)
		buf := make([]byte, 1<<16)
		for {
			n, _, err := ps.UDP.RTCP.ReadFromUDP(buf)
			if err != nil {
				return // deadline or closed
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			mu.Lock()
			if err != nil {
				kinds = append(kinds, fmt.Sprintf("invalid(%v)", err))
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.Goodbye); ok {
					bye = true
				}
				kinds = append(kinds, fmt.Sprintf("%T", p))
			}
			mu.Unlock()
		}
	}()

	time.Sleep(500 * time.Millisecond) // let the session run
	code, elapsed, err := srv.terminate(5 * time.Second)
	if err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code != 0 || elapsed >= 2*time.Second {
		t.Errorf("after SIGTERM: exit code %d after %v; want exit code 0 within 2s", code, elapsed.Round(time.Millisecond))
	} else {
		t.Logf("exit code 0 after %v", elapsed.Round(time.Millisecond))
	}

	// Whatever is queued on the RTCP socket now was sent before the exit.
	_ = ps.UDP.RTCP.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	<-rtcpDone
	mu.Lock()
	defer mu.Unlock()
	if !bye {
		t.Errorf("no RTCP BYE (PT 203) reached the UDP client's RTCP port %s before the server exited; RTCP seen: %v",
			ps.UDP.RTCP.LocalAddr().(*net.UDPAddr), kinds)
	} else {
		t.Logf("RTCP seen: %v", kinds)
	}
}
