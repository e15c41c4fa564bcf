package rtsp

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestNoLeaks opens and closes 10,000 sessions (TCP and UDP, over 1,000
// connections, each played) and checks that goroutines, file descriptors
// and heap come back to where they were.
func TestNoLeaks(t *testing.T) {
	ts := startServer(t, Options{}, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	round := func(n int) {
		for range n {
			c := dial(t, ts.addr)
			for k := range 10 {
				tr := "RTP/AVP/TCP;unicast;interleaved=0-1"
				if k%2 == 1 {
					tr = fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", 40000+2*k, 40001+2*k)
				}
				res := c.do("SETUP", ts.url(), "Transport", tr)
				if res.StatusCode != 200 {
					t.Fatalf("SETUP: %d", res.StatusCode)
				}
				id := sessionID(t, res)
				if res := c.do("PLAY", ts.url(), "Session", id); res.StatusCode != 200 {
					t.Fatalf("PLAY: %d", res.StatusCode)
				}
				if res := c.do("TEARDOWN", ts.url(), "Session", id); res.StatusCode != 200 {
					t.Fatalf("TEARDOWN: %d", res.StatusCode)
				}
			}
			c.c.Close()
		}
	}
	round(50) // warm up pools and buffers
	time.Sleep(200 * time.Millisecond)
	g0, fd0, h0 := runtime.NumGoroutine(), openFDs(t), heapInUse()
	n := 1000
	round(n)
	var g1, fd1 int
	var h1 uint64
	for range 50 { // let closing goroutines finish
		time.Sleep(100 * time.Millisecond)
		g1, fd1, h1 = runtime.NumGoroutine(), openFDs(t), heapInUse()
		if g1 <= g0 && fd1 <= fd0 {
			break
		}
	}
	t.Logf("%d sessions: goroutines %d -> %d, fds %d -> %d, heap %d -> %d KiB",
		10*n, g0, g1, fd0, fd1, h0>>10, h1>>10)
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0 {
		t.Errorf("file descriptors grew from %d to %d", fd0, fd1)
	}
	if h1 > h0+2<<20 {
		t.Errorf("heap grew from %d to %d KiB", h0>>10, h1>>10)
	}
	if n := len(ts.srv.Stats().Sessions); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}
