package rtsp

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/pion/rtp"
)

// TestUDPCatchUpIsPaced: a UDP client that joins 1.8 s into a 2 s GOP of
// 3.2 Mbit/s is replayed about 700 KB. It reads with a 256 KiB socket
// buffer at about 5 MB/s (a pause of 1 ms every 4 packets), well above
// the stream's rate but far below loopback's. Sent at once, the replay
// would overflow its buffer; paced at CatchUpSpeed it loses nothing,
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
	if res = c.do("PLAY", ts.url(), "Session", sessionID(t, res)); res.StatusCode != 200 {
		t.Fatalf("PLAY status %d", res.StatusCode)
	}

	var (
		buf             = make([]byte, 2048)
		p               rtp.Packet
		first           = true
		next            uint16
		packets, lost   int
		firstTS, lastTS uint32
		firstNAL        int
	)
	end := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(end) {
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
		if packets%4 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	span := time.Duration(lastTS-firstTS) * time.Second / 90000
	t.Logf("%d packets, %d lost; %v of media in 2.5 s from the replayed IDR", packets, lost, span)
	if firstNAL != int(h264.NALUSPS) && firstNAL != int(h264.NALUIDR) {
		t.Errorf("the first packet carries NAL type %d, not the IDR's SPS or the IDR", firstNAL)
	}
	if lost > 0 {
		t.Errorf("the client lost %d of %d packets while catching up", lost, packets)
	}
	// 45 replayed frames plus 2.5 s of live ones: the client got past the
	// replay to the live edge.
	if span < 3500*time.Millisecond {
		t.Errorf("the client got %v of media in 2.5 s; a paced replay of 1.8 s reaches the live edge in 0.45 s", span)
	}
}
