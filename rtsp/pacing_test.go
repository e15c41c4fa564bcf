package rtsp

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/pion/rtp"
)

// TestUDPCatchUpIsPaced: a UDP client that joins 1.8 s into a 2 s GOP of
// 3.2 Mbit/s is replayed about 700 KB. It reads with a 256 KiB socket
// buffer at about 5 MB/s (a pause of 1 ms every 4 packets), well above
// the stream's rate but far below loopback's. Sent at once, the replay
// overflows its buffer (a third to a half of the packets lost); paced at
// CatchUpSpeed it loses nothing, or next to nothing on a loaded machine,
// starts on the IDR and reaches the live edge.
func TestUDPCatchUpIsPaced(t *testing.T) {
	const gop, frameSize, idrSize = 50, 16000, 40000
	au := func(i int) *h264.AccessUnit {
		a := &h264.AccessUnit{PTS: time.Duration(i) * 40 * time.Millisecond}
		size, typ := frameSize, byte(0x41)
		if i%gop == 0 {
			a.NALUs = append(a.NALUs, testSPS, testPPS)
			size, typ = idrSize, 0x65
		}
		n := make([]byte, size)
		n[0] = typ
		binary.BigEndian.PutUint32(n[1:], uint32(i))
		a.NALUs = append(a.NALUs, n)
		return a
	}
	ts := startServerSource(t, Options{}, StreamOptions{}, 40*time.Millisecond, au)
	time.Sleep(1800 * time.Millisecond) // 45 frames into the first GOP

	rtpConn, _, port := udpPair(t)
	if err := rtpConn.SetReadBuffer(128 << 10); err != nil { // the kernel doubles it
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	res := c.do("SETUP", ts.url()+"/trackID=0", "Transport", fmt.Sprintf("RTP/AVP;unicast;client_port=%d-%d", port, port+1))
	if res.StatusCode != 200 {
		t.Fatalf("SETUP status %d", res.StatusCode)
	}
	played := time.Now()
	if res = c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}

	// Read until the client has more media than time has passed since
	// PLAY by most of the replay's 1.8 s: it has reached the live edge.
	var (
		buf             = make([]byte, 2048)
		p               rtp.Packet
		first           = true
		next            uint16
		packets, lost   int
		firstTS, lastTS uint32
		firstNAL        int
		span            time.Duration
		live            bool
	)
	end := played.Add(8 * time.Second)
	for !live && time.Now().Before(end) {
		rtpConn.SetReadDeadline(end)
		n, err := rtpConn.Read(buf)
		if err != nil {
			break
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if first {
			first, firstTS = false, p.Timestamp
			firstNAL = nalTypesOf(p.Payload)[0]
		} else if p.SequenceNumber != next {
			lost += int(p.SequenceNumber - next)
		}
		next = p.SequenceNumber + 1
		lastTS = p.Timestamp
		packets++
		span = time.Duration(lastTS-firstTS) * time.Second / 90000
		live = span > time.Since(played)+1500*time.Millisecond
		if packets%4 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	t.Logf("%d packets, %d lost; %v of media %v after PLAY, from the replayed IDR", packets, lost, span, time.Since(played).Round(time.Millisecond))
	if firstNAL != int(h264.NALUSPS) && firstNAL != int(h264.NALUIDR) {
		t.Errorf("the first packet carries NAL type %d, not the IDR's SPS or the IDR", firstNAL)
	}
	// Unpaced, a third to a half of the packets are lost; 2 % is a loaded
	// machine's descheduled reader, not a burst.
	if lost > packets/50 {
		t.Errorf("the client lost %d of %d packets while catching up", lost, packets)
	}
	if !live {
		t.Errorf("the client did not reach the live edge: %v of media %v after PLAY", span, time.Since(played).Round(time.Millisecond))
	}
}

// stallSink records how many frames each write carries, and stalls the
// write of frame number stallAt for stall.
type stallSink struct {
	mu      sync.Mutex
	batches []int
	written int
	stallAt int
	stall   time.Duration
}

func (s *stallSink) tryWrite(*frame) (bool, error) { return false, nil }
func (s *stallSink) partial() bool                 { return false }
func (s *stallSink) writeFrames(frames []*frame) error {
	s.mu.Lock()
	s.batches = append(s.batches, len(frames))
	before := s.written
	s.written += len(frames)
	s.mu.Unlock()
	if before <= s.stallAt && s.stallAt < before+len(frames) {
		time.Sleep(s.stall)
	}
	return nil
}

// TestCatchUpAfterStall: a paced sender held up for 200 ms in the middle
// of a 2 s replay goes on one frame at a time; it does not send the 20
// frames it is late for in one burst.
func TestCatchUpAfterStall(t *testing.T) {
	out := &stallSink{stallAt: 5, stall: 200 * time.Millisecond}
	sub := newSubscriber(out, 128, 64<<20, &counters{})
	sub.paced = true
	pool := &framePool{max: 64}
	start := time.Now().Add(-2 * time.Second)
	for i := range 50 {
		f := pool.get()
		f.wall = start.Add(time.Duration(i) * 40 * time.Millisecond)
		f.idr = i == 0
		f.buf = append(f.buf, make([]byte, 1000)...)
		f.ends = append(f.ends, len(f.buf))
		sub.enqueue(f)
		f.release()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sub.run(ctx, 0, 0, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.mu.Lock()
		n := out.written
		out.mu.Unlock()
		if n == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 50 frames written in 10 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	out.mu.Lock()
	defer out.mu.Unlock()
	t.Logf("writes: %v", out.batches)
	for i, n := range out.batches {
		if n > 2 {
			t.Errorf("write %d carried %d frames at once (all writes: %v)", i, n, out.batches)
		}
	}
}
