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

// CatchUpSpeed is how many times faster than real time a datagram client
// (UDP unicast or multicast) is sent the frames it is behind when it
// starts: the GOP replayed to it, or a backlog. Sent at once, a GOP of a
// few megabits would arrive in a few milliseconds and overflow a
// receiver's socket buffer (208 KiB by default on Linux) unless the
// receiver was reading at that very moment; UDP has no flow control to
// slow the burst down. Frame by frame on the frames' own timeline, four
// times as fast, the client reaches the live edge after a third of the
// GOP's age, and the largest burst is one frame. TCP clients need no
// pacing: the connection's flow control paces them.
const CatchUpSpeed = 4

// catchUpFresh is how recent a frame must be for a paced client to count
// as at the live edge, where pacing stops.
const catchUpFresh = 150 * time.Millisecond

// catchUpSlack is how late a paced frame may go out before the pacing
// schedule moves back by the delay: a sender held up (CPU, GC, a slow
// send) then goes on one frame at a time instead of sending every frame
// it is late for in one burst.
const catchUpSlack = 20 * time.Millisecond

// sink sends whole frames to one client over its transport. Its two
// methods are never called at the same time.
type sink interface {
	// tryWrite sends f without waiting for the socket. It reports whether
	// all of f went out; if not, the sink remembers how much did, and the
	// next writeFrames, which starts with f, sends only the rest.
	tryWrite(f *frame) (bool, error)
	// writeFrames sends the frames' packets in order, waiting as needed.
	// An error ends the client.
	writeFrames(frames []*frame) error
	// partial reports whether tryWrite left a frame half written, whose
	// rest must go out before anything else shares the connection.
	partial() bool
}

// subscriber is one playing client's bounded backlog of frames and the
// goroutine that drains it.
//
// The stream hands each frame to deliver, which never waits. While the
// client keeps up, deliver writes the frame to the socket at once with a
// non-blocking write, so steady streaming costs no goroutine switch per
// client. When the socket is full, frames queue and the client's own
// sender goroutine writes them, blocking as needed. When the backlog is
// full the client drops whole frames until the next IDR, so its decoder
// never gets a partial frame.
type subscriber struct {
	signal chan struct{} // one-slot wake-up for the sender
	out    sink
	secure bool // the client takes the frames' SRTP packets; fixed
	// roc is the SRTP rollover counter the client was told its first
	// packet has, for a secure subscriber; fixed.
	roc uint32
	// paced: frames behind the live edge go out at CatchUpSpeed on their
	// own timeline (datagram sinks); fixed. Only run's goroutine reads
	// the pacing state below it.
	paced     bool
	catchUp   bool      // pacing is on: the client has not reached the live edge
	paceStart time.Time // when the first frame went out
	paceWall  time.Time // that frame's wall clock time
	paceTimer *time.Timer

	mu       sync.Mutex
	q        []*frame // ring of queued frames, len is a power of two
	head, n  int
	bytes    int
	maxBytes int
	waitIDR  bool
	stopped  bool
	started  bool          // the reply that precedes the media has been sent
	busy     bool          // someone is writing to out
	first    chan struct{} // closed when the first frame is queued
	firstSeq uint16
	firstTS  uint32

	cnt *counters
	// total, if not nil, also counts what cnt counts: the stream's
	// totals over all its clients. Set by Stream.subscribe.
	total *counters
	one   [1]*frame // hold's batch

	// The last frame sent, for RTCP sender reports.
	lastTS   atomic.Uint32
	lastWall atomic.Int64 // unix nanoseconds; 0 before the first frame
}

// counters are a client's delivery figures, readable at any time. They
// outlive a subscriber, so that they add up over PAUSE and PLAY.
type counters struct {
	framesSent    atomic.Uint64
	packetsSent   atomic.Uint64
	bytesSent     atomic.Uint64
	framesDropped atomic.Uint64
}

// newSubscriber returns a subscriber sending to out, whose backlog holds
// at most maxFrames frames and maxBytes bytes of packets, counting into cnt.
func newSubscriber(out sink, maxFrames, maxBytes int, cnt *counters) *subscriber {
	size := 16
	for size < maxFrames {
		size *= 2
	}
	return &subscriber{
		signal:   make(chan struct{}, 1),
		out:      out,
		q:        make([]*frame, size),
		maxBytes: maxBytes,
		waitIDR:  true,
		first:    make(chan struct{}),
		cnt:      cnt,
	}
}

// deliver sends f at once if the client is idle and its socket has room,
// and queues it otherwise. It never blocks on the network.
func (s *subscriber) deliver(f *frame) {
	if s.secure && !f.encrypted {
		s.skip()
		return
	}
	s.mu.Lock()
	if !s.started || s.busy || s.n > 0 || s.stopped || (s.waitIDR && !f.idr) {
		s.mu.Unlock()
		s.enqueue(f)
		return
	}
	s.busy = true
	s.waitIDR = false
	s.mu.Unlock()

	done, err := s.out.tryWrite(f)
	if done && err == nil {
		s.sent(f, 1, f.packets(), len(f.buf))
	}
	s.mu.Lock()
	s.busy = false
	if !done || err != nil {
		// The rest of f waits at the head of the queue for the sender,
		// which also reports the error, if any.
		f.retain()
		s.q[(s.head+s.n)&(len(s.q)-1)] = f
		s.n++
		s.bytes += len(f.buf)
	}
	s.mu.Unlock()
	if !done || err != nil {
		s.wake()
	}
}

// sent counts frames that reached the socket; last is the last of them.
func (s *subscriber) sent(last *frame, frames, packets, bytes int) {
	s.lastTS.Store(last.ts)
	s.lastWall.Store(last.wall.UnixNano())
	s.cnt.framesSent.Add(uint64(frames))
	s.cnt.packetsSent.Add(uint64(packets))
	s.cnt.bytesSent.Add(uint64(bytes))
	if t := s.total; t != nil {
		t.framesSent.Add(uint64(frames))
		t.packetsSent.Add(uint64(packets))
		t.bytesSent.Add(uint64(bytes))
	}
}

// dropped counts one frame skipped for the client.
func (s *subscriber) dropped() {
	s.cnt.framesDropped.Add(1)
	if t := s.total; t != nil {
		t.framesDropped.Add(1)
	}
}

func (s *subscriber) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// skip drops a frame the client cannot be sent, and the rest of its GOP.
func (s *subscriber) skip() {
	s.mu.Lock()
	s.waitIDR = true
	s.mu.Unlock()
	s.dropped()
}

// enqueue adds f to the backlog, or drops it. It never blocks.
func (s *subscriber) enqueue(f *frame) {
	if s.secure && !f.encrypted {
		s.skip()
		return
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if s.waitIDR && !f.idr {
		s.mu.Unlock()
		s.dropped()
		return
	}
	if s.n == len(s.q) || (s.n > 0 && s.bytes+len(f.buf) > s.maxBytes) {
		// Full: drop this frame and everything up to the next IDR. The
		// frames already queued are a complete prefix and still go out.
		s.waitIDR = true
		s.mu.Unlock()
		s.dropped()
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
	s.wake()
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

// take moves up to cap(dst) queued frames into dst. While it returns
// frames the subscriber is busy, so deliver does not write beside it.
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
	s.busy = len(dst) > 0
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

// run sends queued frames until ctx ends or the sink fails. It first lets
// deliver write directly. A client whose oldest unsent frame was captured
// more than evictAfter ago is ended with errTooSlow. tick, if not nil, is
// called every period (for RTCP sender reports).
func (s *subscriber) run(ctx context.Context, evictAfter time.Duration, period time.Duration, tick func()) error {
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	s.catchUp = s.paced
	s.wake()
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
			s.finish()
			return nil
		case <-timer:
			// The report goes on the same connection as the media: not
			// inside a half-written frame, nor beside a deliver.
			resume := s.hold(false)
			tick()
			resume()
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
			err := s.write(ctx, batch)
			releaseAll(batch)
			if ctx.Err() != nil {
				s.mu.Lock()
				s.busy = false // taken by take; finish waits for it
				s.mu.Unlock()
				s.finish()
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
}

// write sends frames, paced while the client catches up, and counts them.
// While pacing it returns early if ctx ends.
func (s *subscriber) write(ctx context.Context, frames []*frame) error {
	for len(frames) > 0 {
		n := len(frames)
		if s.catchUp {
			n = s.due(frames)
			if n == 0 {
				if err := s.waitDue(ctx, frames[0]); err != nil {
					return nil // ctx ended; the caller finishes
				}
				continue
			}
		}
		batch := frames[:n]
		frames = frames[n:]
		if err := s.out.writeFrames(batch); err != nil {
			return err
		}
		pk, by := 0, 0
		for _, f := range batch {
			pk += f.packets()
			by += len(f.buf)
		}
		s.sent(batch[len(batch)-1], len(batch), pk, by)
	}
	return nil
}

// dueAt is when a paced client may be sent f.
func (s *subscriber) dueAt(f *frame) time.Time {
	if s.paceStart.IsZero() {
		s.paceStart, s.paceWall = time.Now(), f.wall
	}
	return s.paceStart.Add(f.wall.Sub(s.paceWall) / CatchUpSpeed)
}

// due returns how many of frames may go out now, and stops pacing once a
// frame at the live edge is due.
func (s *subscriber) due(frames []*frame) int {
	now := time.Now()
	for i, f := range frames {
		at := s.dueAt(f)
		if late := now.Sub(at); i == 0 && late > catchUpSlack {
			s.paceStart = s.paceStart.Add(late)
			at = now
		}
		if at.After(now) {
			return i
		}
		if now.Sub(f.wall) < catchUpFresh {
			s.catchUp = false
			return len(frames)
		}
	}
	return len(frames)
}

// waitDue waits until f is due, or ctx ends.
func (s *subscriber) waitDue(ctx context.Context, f *frame) error {
	d := time.Until(s.dueAt(f))
	if s.paceTimer == nil {
		s.paceTimer = time.NewTimer(d)
	} else {
		s.paceTimer.Reset(d)
	}
	select {
	case <-ctx.Done():
		s.paceTimer.Stop()
		return ctx.Err()
	case <-s.paceTimer.C:
		return nil
	}
}

// finish ends sending: deliver writes no more, and a frame that tryWrite
// left half written is completed, so that what follows on a shared
// connection (the RTCP BYE, the TEARDOWN reply, other sessions' packets)
// starts on a packet boundary.
func (s *subscriber) finish() {
	s.hold(true)
}

// hold stops deliver from writing, completes a frame that tryWrite left
// half written, and, unless stop is set, lets deliver write again when
// the returned function is called.
func (s *subscriber) hold(stop bool) (resume func()) {
	s.mu.Lock()
	for s.busy { // a deliver in its non-blocking write
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	if stop {
		s.started = false
	} else {
		s.busy = true
	}
	var head *frame
	if s.n > 0 && s.out.partial() {
		i := s.head & (len(s.q) - 1)
		head = s.q[i]
		s.q[i] = nil
		s.head++
		s.n--
		s.bytes -= len(head.buf)
	}
	s.mu.Unlock()
	if head != nil {
		s.one[0] = head
		if s.out.writeFrames(s.one[:]) == nil {
			s.sent(head, 1, head.packets(), len(head.buf))
		}
		s.one[0] = nil
		head.release()
	}
	return s.unhold
}

func (s *subscriber) unhold() {
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
	s.wake()
}

func releaseAll(frames []*frame) {
	for i, f := range frames {
		f.release()
		frames[i] = nil
	}
}
