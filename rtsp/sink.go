package rtsp

import (
	"net"
	"time"
)

// tcpSink writes frames as interleaved binary data on the RTSP connection:
// one vectored write per batch, each packet behind its 4-byte header, with
// no copy of the packet bytes.
type tcpSink struct {
	c       *conn
	channel uint8
	secure  bool // send the frames' SRTP packets
	timeout time.Duration
	hdrs    []byte
	bufs    net.Buffers // backing array, reused
	v       net.Buffers // the write in progress; a field so it does not escape per call
	pending int         // bytes of the head frame already written by tryWrite
	raw     *rawWriter  // non-blocking writev, where the platform has one
	noRaw   bool        // the connection has no descriptor for raw writes
	one     [1]*frame
	flat    []byte // the batch in one piece, for connections without writev
}

// wire returns the interleaved wire form of frames as buffers, without the
// first skip bytes.
func (t *tcpSink) wire(frames []*frame, skip int) net.Buffers {
	n := 0
	for _, f := range frames {
		n += f.packets()
	}
	if cap(t.hdrs) < 4*n {
		t.hdrs = make([]byte, 4*n)
	}
	hdrs := t.hdrs[:4*n]
	v := t.bufs[:0]
	k := 0
	for _, f := range frames {
		for i := range f.packets() {
			p := f.wirePacket(t.secure, i)
			h := hdrs[k : k+4 : k+4]
			h[0], h[1], h[2], h[3] = '$', t.channel, byte(len(p)>>8), byte(len(p))
			v = append(v, h, p)
			k += 4
		}
	}
	t.bufs = v
	for skip > 0 && len(v) > 0 {
		if len(v[0]) <= skip {
			skip -= len(v[0])
			v = v[1:]
		} else {
			v[0] = v[0][skip:]
			skip = 0
		}
	}
	return v
}

func (t *tcpSink) partial() bool { return t.pending > 0 }

func (t *tcpSink) writeFrames(frames []*frame) error {
	t.v = t.wire(frames, t.pending)
	t.pending = 0
	var err error
	if _, ok := t.c.nc.(*net.TCPConn); ok {
		err = t.c.writeBuffers(t, &t.v, t.timeout)
	} else {
		// TLS or a tunnel: Write per buffer would make a TLS record of
		// every 4-byte header, so gather the batch into one Write.
		t.flat = t.flat[:0]
		for _, b := range t.v {
			t.flat = append(t.flat, b...)
		}
		err = t.c.write(t, t.flat, t.timeout)
	}
	clear(t.bufs) // do not pin recycled frames
	return err
}

func (t *tcpSink) tryWrite(f *frame) (bool, error) {
	// An RTSP reply or RTCP being written: let the sender queue behind it.
	// Another session's frame half written on this connection: the same.
	if !t.c.wmu.TryLock() {
		return false, nil
	}
	defer t.c.wmu.Unlock()
	if t.c.midFrame != nil && t.c.midFrame != t {
		return false, nil
	}
	if t.raw == nil {
		if t.noRaw {
			return false, nil
		}
		var err error
		if t.raw, err = newRawWriter(t.c.nc); err != nil {
			t.noRaw = true // TLS or a tunnel: the sender goroutine writes
			return false, nil
		}
	}
	t.one[0] = f
	v := t.wire(t.one[:], 0)
	t.one[0] = nil
	total := 0
	for _, b := range v {
		total += len(b)
	}
	n, err := t.raw.writev(v)
	clear(t.bufs)
	if err != nil {
		return false, err
	}
	if n == total {
		return true, nil
	}
	t.pending = n
	if n > 0 {
		t.c.midFrame = t
	}
	return false, nil
}
