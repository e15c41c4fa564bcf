package rtsp

import (
	"sync"
	"sync/atomic"
	"time"
)

// frame is one access unit packetized into RTP: the packets are marshalled
// once, back to back in buf, and shared read-only by every client that
// sends them. It is reference counted and returns to its pool when the
// last holder releases it.
type frame struct {
	refs atomic.Int32
	pool *framePool

	buf  []byte // RTP packets back to back
	ends []int  // end offset in buf of each packet

	// The SRTP twin of the packets, made once by the stream for all its
	// SRTP clients while it has any (see Stream.encryptLocked). Set under
	// the stream's lock before any SRTP client can see the frame, then
	// read-only like buf.
	encrypted bool
	enc       []byte
	encEnds   []int
	roc       uint32 // SRTP rollover counter of the first packet

	idr  bool
	seq  uint16    // sequence number of the first packet
	ts   uint32    // RTP timestamp of every packet
	wall time.Time // capture time on the wall clock, for RTCP SR
}

// packets returns the number of RTP packets in the frame.
func (f *frame) packets() int { return len(f.ends) }

// packet returns the i-th RTP packet.
func (f *frame) packet(i int) []byte {
	start := 0
	if i > 0 {
		start = f.ends[i-1]
	}
	return f.buf[start:f.ends[i]]
}

// wirePacket returns the i-th packet as a client gets it: SRTP when
// secure, RTP otherwise.
func (f *frame) wirePacket(secure bool, i int) []byte {
	if !secure {
		return f.packet(i)
	}
	start := 0
	if i > 0 {
		start = f.encEnds[i-1]
	}
	return f.enc[start:f.encEnds[i]]
}

func (f *frame) retain() { f.refs.Add(1) }

func (f *frame) release() {
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.pool.put(f)
	case n < 0:
		panic("rtsp: frame released too often")
	}
}

// framePool recycles frames, so that steady-state streaming allocates
// nothing. It keeps at most max idle frames; more are left to the garbage
// collector, which bounds idle memory after a burst of slow clients.
type framePool struct {
	mu   sync.Mutex
	free []*frame
	max  int
}

func (p *framePool) get() *frame {
	p.mu.Lock()
	var f *frame
	if n := len(p.free); n > 0 {
		f = p.free[n-1]
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if f == nil {
		f = &frame{pool: p}
	}
	f.refs.Store(1)
	f.buf, f.ends = f.buf[:0], f.ends[:0]
	f.encrypted, f.enc, f.encEnds = false, f.enc[:0], f.encEnds[:0]
	return f
}

func (p *framePool) put(f *frame) {
	if cap(f.buf) > 1<<20 {
		f.buf = nil // do not pin a rare huge frame forever
	}
	if cap(f.enc) > 1<<20 {
		f.enc = nil
	}
	p.mu.Lock()
	if len(p.free) < p.max {
		p.free = append(p.free, f)
	}
	p.mu.Unlock()
}
