package rtsp

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errTooSlow ends a client that has fallen too far behind the live edge.
var errTooSlow = errors.New("rtsp: client fell more than the eviction limit behind")

// sink sends whole frames to one client over its transport.
type sink interface {
	// writeFrames sends the frames' packets in order. An error ends the
	// client.
	writeFrames(frames []*frame) error
}

// subscriber is one playing client's bounded backlog of frames and the
// goroutine that drains it. The stream fills the backlog without ever
// waiting; when it is full the client drops whole frames until the next
// IDR, so its decoder never sees a frame with packets missing.
type subscriber struct {
	signal chan struct{} // one-slot wake-up for the sender

	mu       sync.Mutex
	q        []*frame // ring of queued frames, len is a power of two
	head, n  int
	bytes    int
	maxBytes int
	waitIDR  bool
	stopped  bool
	first    chan struct{} // closed when the first frame is queued
	firstSeq uint16
	firstTS  uint32

	cnt *counters

	// Sender-only state.
	lastTS   uint32
	lastWall time.Time
}

// counters are a client's delivery figures, readable at any time. They
// outlive a subscriber, so that they add up over PAUSE and PLAY.
type counters struct {
	framesSent    atomic.Uint64
	packetsSent   atomic.Uint64
	bytesSent     atomic.Uint64
	framesDropped atomic.Uint64
}

// newSubscriber returns a subscriber whose backlog holds at most maxFrames
// frames and maxBytes bytes of packets, counting into cnt.
func newSubscriber(maxFrames, maxBytes int, cnt *counters) *subscriber {
	size := 16
	for size < maxFrames {
		size *= 2
	}
	return &subscriber{
		signal:   make(chan struct{}, 1),
		q:        make([]*frame, size),
		maxBytes: maxBytes,
		waitIDR:  true,
		first:    make(chan struct{}),
		cnt:      cnt,
	}
}

// enqueue adds f to the backlog, or drops it. It never blocks.
func (s *subscriber) enqueue(f *frame) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if s.waitIDR && !f.idr {
		s.mu.Unlock()
		s.cnt.framesDropped.Add(1)
		return
	}
	if s.n == len(s.q) || (s.n > 0 && s.bytes+len(f.buf) > s.maxBytes) {
		// Full: drop this frame and everything up to the next IDR. The
		// frames already queued are a complete prefix and still go out.
		s.waitIDR = true
		s.mu.Unlock()
		s.cnt.framesDropped.Add(1)
		return
	}
	s.waitIDR = false
	f.retain()
	s.q[(s.head+s.n)&(len(s.q)-1)] = f
	s.n++
	s.bytes += len(f.buf)
	if s.first != nil {
		s.firstSeq, s.firstTS = f.seq, f.ts
		close(s.first)
		s.first = nil
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// waitFirst waits until the first frame is queued and returns the sequence
// number and timestamp of its first packet: the values for RTP-Info.
func (s *subscriber) waitFirst(ctx context.Context) (seq uint16, ts uint32, err error) {
	s.mu.Lock()
	ch := s.first
	s.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstSeq, s.firstTS, nil
}

// take moves up to cap(dst) queued frames into dst.
func (s *subscriber) take(dst []*frame) []*frame {
	s.mu.Lock()
	for s.n > 0 && len(dst) < cap(dst) {
		i := s.head & (len(s.q) - 1)
		f := s.q[i]
		s.q[i] = nil
		s.head++
		s.n--
		s.bytes -= len(f.buf)
		dst = append(dst, f)
	}
	s.mu.Unlock()
	return dst
}

// stop drops the backlog; later frames are ignored.
func (s *subscriber) stop() {
	s.mu.Lock()
	s.stopped = true
	for s.n > 0 {
		i := s.head & (len(s.q) - 1)
		s.q[i].release()
		s.q[i] = nil
		s.head++
		s.n--
	}
	s.bytes = 0
	s.mu.Unlock()
}

// run sends queued frames through out until ctx ends or out fails. A client
// whose oldest unsent frame was captured more than evictAfter ago is ended
// with errTooSlow. tick, if not nil, is called on every timer period (for
// RTCP sender reports).
func (s *subscriber) run(ctx context.Context, out sink, evictAfter time.Duration, period time.Duration, tick func()) error {
	batch := make([]*frame, 0, 64)
	var timer <-chan time.Time
	if tick != nil && period > 0 {
		t := time.NewTicker(period)
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer:
			tick()
			continue
		case <-s.signal:
		}
		for {
			batch = s.take(batch[:0])
			if len(batch) == 0 {
				break
			}
			if evictAfter > 0 && time.Since(batch[0].wall) > evictAfter {
				releaseAll(batch)
				return errTooSlow
			}
			err := out.writeFrames(batch)
			if err == nil {
				var pk, by uint64
				for _, f := range batch {
					pk += uint64(f.packets())
					by += uint64(len(f.buf))
				}
				last := batch[len(batch)-1]
				s.lastTS, s.lastWall = last.ts, last.wall
				s.cnt.framesSent.Add(uint64(len(batch)))
				s.cnt.packetsSent.Add(pk)
				s.cnt.bytesSent.Add(by)
			}
			releaseAll(batch)
			if err != nil {
				return err
			}
		}
	}
}

func releaseAll(frames []*frame) {
	for i, f := range frames {
		f.release()
		frames[i] = nil
	}
}
