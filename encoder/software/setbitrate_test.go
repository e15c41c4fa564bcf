package software

import (
	"sync"
	"testing"
)

// TestSetBitrateLive: a bitrate set from another goroutine while the
// encoder runs takes effect within a second of frames, in both directions.
func TestSetBitrateLive(t *testing.T) {
	const w, h, fps = 320, 240, 30
	frames := rawClip(t, "testsrc2", w, h, 60)
	e, err := New(Options{Width: w, Height: h, FPS: fps, Bitrate: 1200000, IDRInterval: 60})
	if err != nil {
		t.Fatal(err)
	}
	// rate encodes n seconds of frames and returns the bits of the last.
	i := 0
	rate := func(n int) float64 {
		var bits int
		for range n {
			bits = 0
			for range fps {
				nalus, _, err := e.Encode(i420(frames[i%len(frames)], w, h))
				if err != nil {
					t.Fatal(err)
				}
				i++
				for _, n := range nalus {
					bits += 8 * len(n)
				}
			}
		}
		return float64(bits)
	}
	high := rate(3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.SetBitrate(200000) }()
	wg.Wait()
	rate(1) // the bucket drains
	low := rate(2)
	e.SetBitrate(1200000)
	rate(1)
	back := rate(2)
	t.Logf("bit/s: %.0f at 1.2M, %.0f at 200k, %.0f back at 1.2M", high, low, back)
	if low > 0.5*high || low > 300000 {
		t.Errorf("at 200 kbit/s the encoder made %.0f bit/s (%.0f before)", low, high)
	}
	if back < 2*low {
		t.Errorf("back at 1.2 Mbit/s the encoder made %.0f bit/s (%.0f at 200k)", back, low)
	}
}
