package rtsp

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/message"
)

// TestReplyWaitsForHalfWrittenFrame stops a non-blocking frame write
// halfway (the client reads nothing and the socket buffer is small), then
// writes a reply and an RTCP report on the same connection. Both must
// wait until the sink has sent the rest of the frame: bytes written into
// the middle of an interleaved packet would corrupt the packet and the
// reply, and the player would lose the stream.
func TestReplyWaitsForHalfWrittenFrame(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetWriteBuffer(4096)

	srv := NewServer(Options{Logger: slog.New(slog.DiscardHandler)})
	c := newConn(srv, nc)
	sink := &tcpSink{c: c, timeout: 5 * time.Second}

	// A 400 kB frame of 1000-byte packets (fewer iovecs than IOV_MAX), each filled with its index.
	f := &frame{}
	for i := range 400 {
		for range 1000 {
			f.buf = append(f.buf, byte(i))
		}
		f.ends = append(f.ends, len(f.buf))
	}
	done, err := sink.tryWrite(f)
	if err != nil || done || !sink.partial() {
		t.Fatalf("tryWrite of 400 kB into a stalled socket: done %v, partial %v, err %v; want a half-written frame", done, sink.partial(), err)
	}

	wrote := make(chan error, 2)
	go func() {
		wrote <- c.writeResponse(&message.Response{StatusCode: 200, Header: message.Header{"Cseq": {"7"}}})
	}()
	go func() { wrote <- c.writeInterleaved(1, []byte{0x80, 0xc8, 0, 0}, 5*time.Second) }()
	select {
	case err := <-wrote:
		t.Fatalf("a write went ahead of the rest of a half-written frame (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	go func() {
		if err := sink.writeFrames([]*frame{f}); err != nil {
			wrote <- err
		}
	}()

	// The client reads: 400 whole packets, then the reply and the report
	// in either order.
	cl.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(cl)
	for i := range 400 {
		ch, p, err := message.ReadInterleaved(br, nil)
		if err != nil || ch != 0 || len(p) != 1000 || p[0] != byte(i) || p[999] != byte(i) {
			t.Fatalf("packet %d: channel %d, %d bytes, err %v: the frame was interrupted", i, ch, len(p), err)
		}
	}
	for range 2 {
		inter, err := message.IsInterleaved(br)
		if err != nil {
			t.Fatal(err)
		}
		if inter {
			if ch, p, err := message.ReadInterleaved(br, nil); err != nil || ch != 1 || len(p) != 4 {
				t.Fatalf("RTCP after the frame: channel %d, %d bytes, err %v", ch, len(p), err)
			}
			continue
		}
		res, err := message.ReadResponse(br)
		if err != nil || res.Header.Get("CSeq") != "7" {
			t.Fatalf("reply after the frame: %v, err %v", res, err)
		}
	}
	for range 2 {
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	if n, _ := io.Copy(io.Discard, br); n != 0 {
		t.Fatalf("%d stray bytes after the reply and the report", n)
	}
}
