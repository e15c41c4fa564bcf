package rtsp

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
)

// fanout is the whole per-packet path driven synchronously: the source
// writes the ring, the stream reads and packetizes once, and every client's
// backlog is drained into its real socket.
type fanout struct {
	ring    *ring.Ring
	rd      *ring.Reader
	stream  *Stream
	subs    []*subscriber
	sinks   []sink
	batch   []*frame
	nalus   [][]byte
	i       int
	packets int
	gop     []*h264.AccessUnit
}

func newFanout(tb testing.TB, tcpClients, udpClients int) *fanout {
	tb.Helper()
	return newFanoutOpts(tb, tcpClients, udpClients, false)
}

// newFanoutOpts is newFanout with SRTP clients when secure is set.
func newFanoutOpts(tb testing.TB, tcpClients, udpClients int, secure bool) *fanout {
	tb.Helper()
	rb := ring.New(4<<20, 1024)
	f := &fanout{
		ring:   rb,
		stream: NewStream("/main", rb, StreamOptions{Logger: slog.New(slog.DiscardHandler)}),
		batch:  make([]*frame, 0, 64),
	}
	for i := range 25 {
		f.gop = append(f.gop, testAU(i, 25))
	}
	f.rd = rb.NewReader()
	tb.Cleanup(f.rd.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	for range tcpClients {
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		srvSide, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		go io.Copy(io.Discard, cli)
		tb.Cleanup(func() { cli.Close(); srvSide.Close() })
		f.sinks = append(f.sinks, &tcpSink{c: &conn{nc: srvSide}, timeout: 10e9, secure: secure})
	}
	if udpClients > 0 {
		out, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { out.Close() })
		for range udpClients {
			in, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				tb.Fatal(err)
			}
			in.SetReadBuffer(4 << 20)
			go io.Copy(io.Discard, in)
			tb.Cleanup(func() { in.Close() })
			w, err := newDatagramWriter(out, in.LocalAddr().(*net.UDPAddr).AddrPort())
			if err != nil {
				tb.Fatal(err)
			}
			w.secure = secure
			f.sinks = append(f.sinks, w)
		}
	}
	if secure {
		if _, err := f.stream.secureKey(); err != nil {
			tb.Fatal(err)
		}
	}
	for range f.sinks {
		sub := newSubscriber(f.sinks[len(f.subs)], 1024, 4<<20, new(counters))
		sub.secure = secure
		sub.started = true // as after the PLAY reply
		f.subs = append(f.subs, sub)
		f.stream.subscribe(sub)
	}
	return f
}

// step moves one access unit from the source through to every client.
func (f *fanout) step(tb testing.TB) {
	au := f.gop[f.i%len(f.gop)]
	au.PTS = time.Duration(f.i) * 40 * time.Millisecond
	if err := f.ring.WriteAccessUnit(au); err != nil {
		tb.Fatal(err)
	}
	f.i++
	au, err := f.rd.Read(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	f.nalus = f.stream.withParameterSets(f.nalus[:0], au)
	f.stream.publish(au, f.nalus)
	f.packets = 0
	for _, sub := range f.subs {
		// Whatever the socket did not take at once, as the sender would.
		for {
			f.batch = sub.take(f.batch[:0])
			if len(f.batch) == 0 {
				break
			}
			if err := sub.out.writeFrames(f.batch); err != nil {
				tb.Fatal(err)
			}
			releaseAll(f.batch)
		}
		f.packets += int(sub.cnt.packetsSent.Load())
	}
}

// TestFanoutAllocatesNothing checks that, once warm, moving access units
// from the ring to TCP and UDP clients allocates nothing at all.
func TestFanoutAllocatesNothing(t *testing.T) {
	f := newFanout(t, 3, 3)
	for range 100 {
		f.step(t)
	}
	allocs := testing.AllocsPerRun(200, func() { f.step(t) })
	if allocs != 0 {
		t.Fatalf("%.2f allocations per access unit, want 0", allocs)
	}
}

// TestFanoutSRTPAllocatesNothing is TestFanoutAllocatesNothing for SRTP
// clients: encrypting each packet once for all of them allocates nothing
// either.
func TestFanoutSRTPAllocatesNothing(t *testing.T) {
	f := newFanoutOpts(t, 3, 3, true)
	for range 100 {
		f.step(t)
	}
	allocs := testing.AllocsPerRun(200, func() { f.step(t) })
	if allocs != 0 {
		t.Fatalf("%.2f allocations per access unit, want 0", allocs)
	}
	for i, sub := range f.subs {
		if sub.cnt.packetsSent.Load() == 0 || sub.cnt.framesDropped.Load() != 0 {
			t.Errorf("client %d: %d packets sent, %d frames dropped", i, sub.cnt.packetsSent.Load(), sub.cnt.framesDropped.Load())
		}
	}
}

// BenchmarkFanout reports the cost per delivered packet of the path from
// the ring to the sockets, for 10 TCP clients.
func BenchmarkFanoutTCP10(b *testing.B) { benchFanout(b, 10, 0) }

// BenchmarkFanoutUDP10 is BenchmarkFanoutTCP10 for 10 UDP clients.
func BenchmarkFanoutUDP10(b *testing.B) { benchFanout(b, 0, 10) }

// BenchmarkFanoutTCP10SRTP is BenchmarkFanoutTCP10 with SRTP clients: the
// stream encrypts every packet once for all of them.
func BenchmarkFanoutTCP10SRTP(b *testing.B) { benchFanoutOpts(b, 10, 0, true) }

// BenchmarkFanoutUDP10SRTP is BenchmarkFanoutUDP10 with SRTP clients.
func BenchmarkFanoutUDP10SRTP(b *testing.B) { benchFanoutOpts(b, 0, 10, true) }

// BenchmarkPublishPlain is the stream's publish path alone (packetize and
// queue) for one client, and BenchmarkPublishSRTP the same for an SRTP
// client: the difference is the cost of encryption per access unit.
func BenchmarkPublishPlain(b *testing.B) { benchPublish(b, false) }

// BenchmarkPublishSRTP: see BenchmarkPublishPlain.
func BenchmarkPublishSRTP(b *testing.B) { benchPublish(b, true) }

func benchPublish(b *testing.B, secure bool) {
	f := newFanoutOpts(b, 0, 0, secure)
	if secure {
		f.stream.secureKey()
	}
	sub := newSubscriber(nil, 1024, 64<<20, new(counters))
	sub.secure = secure
	f.stream.subscribe(sub)
	var nalus [][]byte
	aus := make([]*h264.AccessUnit, len(f.gop))
	for i, au := range f.gop {
		c := *au
		aus[i] = &c
	}
	bytes, packets := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		au := aus[i%len(aus)]
		au.PTS = time.Duration(i) * 40 * time.Millisecond
		i++
		nalus = f.stream.withParameterSets(nalus[:0], au)
		f.stream.publish(au, nalus)
		// Drop what was queued, as a sender would after writing it.
		for _, fr := range sub.take(f.batch[:0]) {
			bytes += len(fr.buf)
			packets += fr.packets()
			fr.release()
		}
	}
	b.SetBytes(int64(bytes / max(b.N, 1)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(packets, 1)), "ns/packet")
}

func benchFanout(b *testing.B, tcp, udp int) { benchFanoutOpts(b, tcp, udp, false) }

func benchFanoutOpts(b *testing.B, tcp, udp int, secure bool) {
	f := newFanoutOpts(b, tcp, udp, secure)
	for range 50 {
		f.step(b)
	}
	f.step(b)
	before := f.packets
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f.step(b)
	}
	sent := f.packets - before
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/packet")
	b.ReportMetric(float64(sent)/float64(b.N), "packets/op")
}

// BenchmarkFloorTCP10 is the floor for BenchmarkFanoutTCP10: the same
// packets, already built, written to 10 TCP sockets with one writev per
// client per access unit and nothing else.
func BenchmarkFloorTCP10(b *testing.B) {
	f := newFanout(b, 10, 0)
	// Capture one GOP of ready packets.
	var frames [][][]byte
	for range 25 {
		f.step(b)
	}
	for range 25 {
		if err := f.ring.WriteAccessUnit(f.gop[f.i%len(f.gop)]); err != nil {
			b.Fatal(err)
		}
		f.i++
		au, _ := f.rd.Read(context.Background())
		nalus := f.stream.withParameterSets(nil, au)
		var pk [][]byte
		buf, ends, _ := f.stream.pk.AppendAccessUnit(nil, nil, nalus, 0)
		start := 0
		for _, e := range ends {
			hdr := []byte{'$', 0, byte((e - start) >> 8), byte(e - start)}
			pk = append(pk, hdr, buf[start:e])
			start = e
		}
		frames = append(frames, pk)
	}
	conns := make([]net.Conn, len(f.sinks))
	for k, s := range f.sinks {
		conns[k] = s.(*tcpSink).c.nc
	}
	var v net.Buffers
	packets := 0
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		fr := frames[i%len(frames)]
		i++
		for _, c := range conns {
			v = append(v[:0], fr...)
			if _, err := v.WriteTo(c); err != nil {
				b.Fatal(err)
			}
			packets += len(fr) / 2
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
}

// BenchmarkFloorAESCTRHMAC is the floor for the encryption in
// BenchmarkPublishSRTP: AES-128 in counter mode over each packet's
// payload and an HMAC-SHA1 over the packet, with the standard library
// directly, for the same packets, without SRTP's key derivation per
// packet, replay bookkeeping or header parsing.
func BenchmarkFloorAESCTRHMAC(b *testing.B) {
	f := newFanoutOpts(b, 0, 0, false)
	sub := newSubscriber(nil, 1024, 64<<20, new(counters))
	f.stream.subscribe(sub)
	var nalus [][]byte
	var pkts [][]byte
	for i, au := range f.gop {
		c := *au
		c.PTS = time.Duration(i) * 40 * time.Millisecond
		nalus = f.stream.withParameterSets(nalus[:0], &c)
		f.stream.publish(&c, nalus)
		for _, fr := range sub.take(f.batch[:0]) {
			for j := range fr.packets() {
				pkts = append(pkts, bytes.Clone(fr.packet(j)))
			}
			fr.release()
		}
	}
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	mac := hmac.New(sha1.New, make([]byte, 20))
	iv := make([]byte, 16)
	out := make([]byte, 2048)
	sum := make([]byte, 0, sha1.Size)
	total := 0
	for _, p := range pkts {
		total += len(p)
	}
	b.SetBytes(int64(total / len(pkts)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pkts[i%len(pkts)]
		i++
		binary.BigEndian.PutUint32(iv[4:], uint32(i))
		cipher.NewCTR(block, iv).XORKeyStream(out[12:len(p)], p[12:])
		mac.Reset()
		mac.Write(out[:len(p)])
		sum = mac.Sum(sum[:0])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}
