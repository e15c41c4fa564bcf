package rtsp

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/pion/rtcp"
)

const (
	rcMin = 200000
	rcMax = 2000000
)

// rateTrace runs a controller for d on a synthetic trace: each client in
// clients reports every period (offset by its index), with the loss that
// lossAt gives (0..1) for the client at that time. It returns the changes.
type traceChange struct {
	at time.Duration
	RateChange
}

func rateTrace(t *testing.T, rc *RateController, d, period time.Duration, clients int,
	lossAt func(client int, at time.Duration) float64) []traceChange {
	t.Helper()
	t0 := time.Unix(1_000_000, 0)
	var out []traceChange
	next := make([]time.Duration, clients)
	for i := range next {
		next[i] = period + time.Duration(i)*period/time.Duration(max(clients, 1))
	}
	for at := time.Duration(0); at <= d; at += 50 * time.Millisecond {
		now := t0.Add(at)
		for i := range next {
			if at < next[i] {
				continue
			}
			next[i] += period
			fl := uint8(min(255, lossAt(i, at)*256))
			if ch, ok := rc.Report(now, string(rune('a'+i)), fl, 2*time.Millisecond); ok {
				out = append(out, traceChange{at, ch})
			}
		}
		if at%rateTick == 0 {
			if ch, ok := rc.Tick(now); ok {
				out = append(out, traceChange{at, ch})
			}
		}
	}
	for _, c := range out {
		if c.Bitrate < rcMin || c.Bitrate > rcMax {
			t.Fatalf("bitrate %d out of [%d, %d]", c.Bitrate, rcMin, rcMax)
		}
		if c.Bitrate == c.From {
			t.Fatalf("a change that changes nothing: %+v", c)
		}
	}
	return out
}

// reversals counts the changes of direction.
func reversals(chs []traceChange) int {
	n, dir := 0, 0
	for _, c := range chs {
		d := 1
		if c.Bitrate < c.From {
			d = -1
		}
		if dir != 0 && d != dir {
			n++
		}
		dir = d
	}
	return n
}

func newTestController() *RateController {
	return NewRateController(RateConfig{Min: rcMin, Max: rcMax})
}

// TestRateBackoffAndRecover: 5% loss for 20 s backs off within a report
// and keeps backing off once a second towards the minimum; after the loss
// ends the rate climbs back to the maximum within 30 s, with a single
// change of direction.
func TestRateBackoffAndRecover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, period := range []time.Duration{500 * time.Millisecond, time.Second, 5 * time.Second} {
		t.Run(period.String(), func(t *testing.T) {
			rc := newTestController()
			const lossFrom, lossTo = 5 * time.Second, 25 * time.Second
			chs := rateTrace(t, rc, 70*time.Second, period, 1, func(_ int, at time.Duration) float64 {
				if at > lossFrom && at <= lossTo+period/2 {
					return 0.04 + 0.02*rng.Float64() // 4..6%
				}
				return 0
			})
			if len(chs) == 0 {
				t.Fatal("no change")
			}
			first := chs[0]
			if first.Bitrate >= first.From || first.at-lossFrom > period+50*time.Millisecond {
				t.Fatalf("first change %+v at %v, want a back-off within a report period of %v", first.RateChange, first.at, lossFrom)
			}
			var low traceChange
			var backoffs int
			for _, c := range chs {
				if c.Bitrate < c.From {
					low = c
					backoffs++
				}
			}
			if low.at > lossTo+period {
				t.Errorf("back-off at %v, after the loss ended", low.at)
			}
			last := chs[len(chs)-1]
			if last.Bitrate != rcMax {
				t.Fatalf("ended at %d, want %d; changes %+v", last.Bitrate, rcMax, chs)
			}
			recovered := last.at - lossTo
			t.Logf("report period %v: first back-off after %v, %d back-offs down to %d, back at max %v after the loss ended, %d changes",
				period, first.at-lossFrom, backoffs, low.Bitrate, recovered, len(chs))
			if recovered > 30*time.Second+period {
				t.Errorf("recovered after %v, want within ~30 s", recovered)
			}
			if r := reversals(chs); r != 1 {
				t.Errorf("%d changes of direction, want 1", r)
			}
		})
	}
}

// TestRateNoiseHolds: 1% loss noise (0..2% per report) neither backs off
// nor, from below the maximum, probes up.
func TestRateNoiseHolds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	noise := func(int, time.Duration) float64 { return 0.02 * rng.Float64() * 0.99 }
	rc := newTestController()
	if chs := rateTrace(t, rc, 60*time.Second, 500*time.Millisecond, 2, noise); len(chs) != 0 {
		t.Errorf("1%% noise at the maximum changed the rate: %+v", chs)
	}
	// From below the maximum, noise holds it there: the reports in the
	// hysteresis band are never clean enough to probe for long.
	rc = newTestController()
	rc.Report(time.Unix(1_000_000, 0), "x", 26, 0) // 10%: back off once
	start := rc.Bitrate()
	for _, c := range rateTrace(t, rc, 60*time.Second, 500*time.Millisecond, 2, func(int, time.Duration) float64 {
		return 0.011 + 0.015*rng.Float64() // 1.1..2.6%: in the band
	}) {
		t.Errorf("loss in the hysteresis band changed the rate from %d: %+v", start, c)
	}
}

// TestRateAlternatingNoOscillation: loss that comes and goes (a few
// seconds on, a few off) lowers the rate and keeps it low; it does not
// saw up and down. Only a long quiet spell lets it climb, once.
func TestRateAlternatingNoOscillation(t *testing.T) {
	for _, tc := range []struct {
		on, off time.Duration
	}{
		{2 * time.Second, 2 * time.Second},
		{3 * time.Second, 7 * time.Second},
		{1 * time.Second, 9 * time.Second},
	} {
		rc := newTestController()
		chs := rateTrace(t, rc, 120*time.Second, time.Second, 1, func(_ int, at time.Duration) float64 {
			if at%(tc.on+tc.off) < tc.on {
				return 0.05
			}
			return 0
		})
		t.Logf("%v on, %v off: %d changes, %d reversals, final %d", tc.on, tc.off, len(chs), reversals(chs), rc.Bitrate())
		if r := reversals(chs); r != 0 {
			t.Errorf("%v on, %v off: %d changes of direction, want none: %+v", tc.on, tc.off, r, chs)
		}
		// Down to the minimum from 2 Mbit/s at ×0.85 per back-off.
		if len(chs) > 15 {
			t.Errorf("%v on, %v off: %d changes", tc.on, tc.off, len(chs))
		}
	}
}

// TestRateWorstClientAndStale: the worst fresh client sets the rate; a
// client that stops reporting stops counting after StaleAfter, and
// without reports the rate goes back to the maximum.
func TestRateWorstClientAndStale(t *testing.T) {
	rc := newTestController()
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	rc.Tick(at(0))
	if _, ok := rc.Report(at(time.Second), "good", 0, 0); ok {
		t.Fatal("a clean report changed the rate")
	}
	ch, ok := rc.Report(at(time.Second), "bad", 51, 0) // 20%
	if !ok || ch.Bitrate < rcMax*59/100 || ch.Bitrate > rcMax*61/100 {
		t.Fatalf("20%% loss: %+v %v, want ×0.6", ch, ok)
	}
	// Within the back-off interval, no second cut.
	if _, ok := rc.Report(at(1500*time.Millisecond), "bad", 51, 0); ok {
		t.Fatal("two back-offs within a second")
	}
	// "bad" goes silent. "good" keeps reporting clean; its reports do
	// not let the rate rise while bad's last report counts.
	var ups []time.Duration
	for d := 2 * time.Second; d < 40*time.Second; d += rateTick {
		if d%time.Second == 0 {
			rc.Report(at(d), "good", 0, 0)
		}
		if _, ok := rc.Tick(at(d)); ok {
			ups = append(ups, d)
		}
	}
	if len(ups) == 0 || ups[0] < 1500*time.Millisecond+15*time.Second {
		t.Fatalf("probing started at %v, before the silent client's report went stale", ups)
	}
	if rc.Bitrate() != rcMax {
		t.Fatalf("rate %d after 40 s, want %d", rc.Bitrate(), rcMax)
	}
	// Min is a floor, jitter holds.
	rc = NewRateController(RateConfig{Min: rcMin, Max: rcMin * 3 / 2})
	for i := range 10 {
		rc.Report(at(time.Duration(i)*time.Second), "x", 128, 0)
	}
	if rc.Bitrate() != rcMin {
		t.Fatalf("rate %d, want the floor %d", rc.Bitrate(), rcMin)
	}
	rc.Report(at(10*time.Second), "x", 0, 100*time.Millisecond)
	for d := 10 * time.Second; d < 30*time.Second; d += rateTick {
		if d%time.Second == 0 {
			rc.Report(at(d), "x", 0, 100*time.Millisecond) // jitter 100 ms above its lowest, 0
		}
		if _, ok := rc.Tick(at(d)); ok {
			t.Fatalf("probed up at %v while jitter stayed high", d)
		}
	}
}

// TestStreamRateHook: a UDP client's receiver report with loss reaches the
// stream's controller through the server and lowers the bitrate through
// SetBitrate; a TCP client's report does not count.
func TestStreamRateHook(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rb := ring.New(1<<20, 256)
	set := make(chan int, 10)
	st := NewStream("/main", rb, StreamOptions{Logger: log, MinBitrate: rcMin, MaxBitrate: rcMax,
		SetBitrate: func(bps int) { set <- bps }})
	srv := NewServer(Options{Logger: log}, st)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			rb.WriteAccessUnit(testAU(i, 10))
			time.Sleep(20 * time.Millisecond)
		}
	})
	wg.Go(func() { st.Run(ctx) })
	wg.Go(func() { srv.Serve(ctx, ln) })
	url := "rtsp://" + ln.Addr().String() + "/main"
	rr := func(lost uint8) []byte {
		b, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1,
			Reports: []rtcp.ReceptionReport{{SSRC: st.SSRC(), FractionLost: lost}}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	// TCP: RTCP on the interleaved channel 1 does not count.
	tc := dial(t, ln.Addr().String())
	res := tc.do("SETUP", url+"/trackID=0", "Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")
	if res := tc.do("PLAY", url, "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	b := rr(128)
	tc.c.Write(append([]byte{'$', 1, byte(len(b) >> 8), byte(len(b))}, b...))

	// UDP: it does.
	_, rtcpConn, port := udpPair(t)
	c := dial(t, ln.Addr().String())
	res = c.do("SETUP", url+"/trackID=0", "Transport", fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", port, port+1))
	var tr headers.Transport
	if err := tr.Unmarshal(res.Header.Get("Transport")); err != nil || tr.ServerPorts == nil {
		t.Fatalf("Transport %q: %v", res.Header.Get("Transport"), err)
	}
	if res := c.do("PLAY", url, "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}
	select {
	case bps := <-set:
		t.Fatalf("SetBitrate(%d) before any UDP report", bps)
	case <-time.After(300 * time.Millisecond):
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tr.ServerPorts[1]}
	if _, err := rtcpConn.WriteToUDP(rr(26), to); err != nil { // 10%
		t.Fatal(err)
	}
	select {
	case bps := <-set:
		if want := int(rcMax * (1 - 2*26.0/256)); bps != want {
			t.Errorf("SetBitrate(%d), want %d", bps, want)
		}
		if st.Bitrate() != bps {
			t.Errorf("Bitrate() %d, want %d", st.Bitrate(), bps)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no SetBitrate after a report of 10% loss")
	}
}
