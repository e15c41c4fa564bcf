package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/h264"
)

// ErrOverrun is returned by [Reader.Read] when the writer overwrote access
// units the reader had not read yet. The reader has already skipped ahead:
// the next Read returns an IDR access unit.
var ErrOverrun = errors.New("ring: reader overrun, resuming at the next IDR")

// ErrTooLarge is returned by [Ring.WriteAccessUnit] for an access unit that
// does not fit in half of the ring.
var ErrTooLarge = errors.New("ring: access unit larger than half the ring")

// ErrClosed is returned by [Reader.Read] after [Ring.Close].
var ErrClosed = errors.New("ring: closed")

// Ring is a fixed-size buffer of H.264 access units with one writer and any
// number of readers. The zero value is not usable; create one with [New].
type Ring struct {
	data     []atomic.Uint64 // payload, 8 bytes a word, accessed atomically
	dataMask uint64          // len(data)*8 - 1
	slots    []slot
	slotMask uint64

	// published is the number of entries published so far; entry n is
	// readable once published > n.
	published atomic.Uint64
	// reserved is the absolute byte position up to which the writer has
	// started overwriting data. Bytes at absolute position p are intact as
	// long as reserved <= p + size.
	reserved atomic.Uint64
	// lastKey is 1 + the number of the newest IDR entry, or 0 for none.
	lastKey atomic.Uint64
	closed  atomic.Bool

	// waiters holds one wake-up channel per reader. The writer only loads
	// it; readers replace it under mu when they come and go.
	waiters atomic.Pointer[[]chan struct{}]
	mu      sync.Mutex

	// Writer-only state.
	wpos    uint64 // absolute byte position of the next entry
	scratch []byte // the entry being written, padded to 8 bytes
}

// slot describes one published entry. seq is 1 + the entry number once the
// entry is complete, and 0 while the writer is replacing it.
type slot struct {
	seq   atomic.Uint64
	off   atomic.Uint64 // absolute byte position of the payload
	size  atomic.Uint64 // payload bytes, unpadded
	pts   atomic.Int64
	flags atomic.Uint64
}

const flagIDR = 1

// New returns a ring holding up to size bytes of payload in up to entries
// access units. Both are rounded up to powers of two; size is at least 4 KiB
// and entries at least 16. Every NAL unit costs 4 bytes of framing and every
// access unit up to 7 bytes of padding on top of its payload.
func New(size, entries int) *Ring {
	size = max(size, 4096)
	entries = max(entries, 16)
	size = 1 << bits.Len(uint(size-1))
	entries = 1 << bits.Len(uint(entries-1))
	r := &Ring{
		data:     make([]atomic.Uint64, size/8),
		dataMask: uint64(size - 1),
		slots:    make([]slot, entries),
		slotMask: uint64(entries - 1),
	}
	r.waiters.Store(new([]chan struct{}))
	return r
}

// Size returns the payload capacity in bytes.
func (r *Ring) Size() int { return len(r.data) * 8 }

// WriteAccessUnit appends au to the ring, overwriting the oldest entries as
// needed. It never waits for readers. Only one goroutine may write. The ring
// copies au; the caller may reuse it when WriteAccessUnit returns.
func (r *Ring) WriteAccessUnit(au *h264.AccessUnit) error {
	if r.closed.Load() {
		return ErrClosed
	}
	n := 0
	for _, nalu := range au.NALUs {
		n += 4 + len(nalu)
	}
	padded := (n + 7) &^ 7
	if padded > r.Size()/2 {
		return fmt.Errorf("%w: %d bytes in a %d-byte ring", ErrTooLarge, n, r.Size())
	}
	if cap(r.scratch) < padded {
		r.scratch = make([]byte, padded, max(padded, 2*cap(r.scratch)))
	}
	b := r.scratch[:0]
	for _, nalu := range au.NALUs {
		b = binary.BigEndian.AppendUint32(b, uint32(len(nalu)))
		b = append(b, nalu...)
	}
	b = b[:padded]
	clear(b[n:])

	seq := r.published.Load()
	s := &r.slots[seq&r.slotMask]
	off := r.wpos
	// Invalidate the slot's old entry first, then announce which bytes are
	// about to change, then change them. A reader checks in the opposite
	// order, so it can never accept a torn slot or torn payload.
	s.seq.Store(0)
	r.reserved.Store(off + uint64(padded))
	word := (off & r.dataMask) / 8
	for i := 0; i < padded; i += 8 {
		r.data[word].Store(binary.LittleEndian.Uint64(b[i:]))
		word = (word + 1) & (r.dataMask / 8)
	}
	var flags uint64
	if au.IDR() {
		flags |= flagIDR
	}
	s.off.Store(off)
	s.size.Store(uint64(n))
	s.pts.Store(int64(au.PTS))
	s.flags.Store(flags)
	s.seq.Store(seq + 1)
	if flags&flagIDR != 0 {
		r.lastKey.Store(seq + 1)
	}
	r.published.Store(seq + 1)
	r.wpos = off + uint64(padded)
	r.wake()
	return nil
}

func (r *Ring) wake() {
	for _, c := range *r.waiters.Load() {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// Close wakes every reader; their Read calls then return [ErrClosed] once
// they have read everything published. Writes after Close fail.
func (r *Ring) Close() {
	r.closed.Store(true)
	r.wake()
}

// NewReader returns a reader positioned on the newest IDR access unit in the
// ring, so that its first Read returns a picture a decoder can start on
// without waiting for the next IDR. With no IDR in the ring it waits for the
// next one. Call [Reader.Close] when done.
func (r *Ring) NewReader() *Reader {
	rd := &Reader{r: r, wake: make(chan struct{}, 1), needIDR: true}
	if k := r.lastKey.Load(); k > 0 {
		rd.next = k - 1
	} else {
		rd.next = r.published.Load()
	}
	r.mu.Lock()
	old := *r.waiters.Load()
	ws := make([]chan struct{}, len(old), len(old)+1)
	copy(ws, old)
	ws = append(ws, rd.wake)
	r.waiters.Store(&ws)
	r.mu.Unlock()
	return rd
}

// Reader reads access units from a [Ring] in order. A Reader is not safe for
// concurrent use.
type Reader struct {
	r       *Ring
	next    uint64
	wake    chan struct{}
	needIDR bool
	buf     []byte
	au      h264.AccessUnit
	overrun uint64
}

// Overruns returns how many times the writer overran this reader.
func (rd *Reader) Overruns() uint64 { return rd.overrun }

// Read waits for the next access unit and returns it. The access unit and
// its NAL units stay valid until the next call to Read. After an overrun
// Read returns [ErrOverrun]; the following Read returns the next IDR access
// unit that is still intact.
func (rd *Reader) Read(ctx context.Context) (*h264.AccessUnit, error) {
	r := rd.r
	for {
		n := rd.next
		if n >= r.published.Load() {
			if r.closed.Load() {
				return nil, ErrClosed
			}
			select {
			case <-rd.wake:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		s := &r.slots[n&r.slotMask]
		seq := s.seq.Load()
		off, size := s.off.Load(), s.size.Load()
		pts, flags := s.pts.Load(), s.flags.Load()
		if seq != n+1 || s.seq.Load() != seq {
			return nil, rd.overran()
		}
		if rd.needIDR && flags&flagIDR == 0 {
			rd.next++
			continue
		}
		size8 := (size + 7) &^ 7
		limit := off + uint64(r.Size())
		if r.reserved.Load() > limit {
			return nil, rd.overran()
		}
		if uint64(cap(rd.buf)) < size8 {
			rd.buf = make([]byte, size8)
		}
		b := rd.buf[:size8]
		word := (off & r.dataMask) / 8
		for i := uint64(0); i < size8; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.data[word].Load())
			word = (word + 1) & (r.dataMask / 8)
		}
		if r.reserved.Load() > limit {
			return nil, rd.overran()
		}
		if err := rd.parse(b[:size]); err != nil {
			return nil, err
		}
		rd.au.PTS = time.Duration(pts)
		rd.needIDR = false
		rd.next++
		return &rd.au, nil
	}
}

// overran moves the reader to the newest IDR still ahead of it, or makes it
// wait for the next one.
func (rd *Reader) overran() error {
	rd.overrun++
	rd.needIDR = true
	if k := rd.r.lastKey.Load(); k > 0 && k-1 > rd.next {
		rd.next = k - 1
	} else {
		// No newer IDR yet: wait at the live edge for the next one.
		rd.next = rd.r.published.Load()
	}
	return ErrOverrun
}

func (rd *Reader) parse(b []byte) error {
	nalus := rd.au.NALUs[:0]
	for len(b) > 0 {
		if len(b) < 4 {
			return errors.New("ring: corrupt entry framing")
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return errors.New("ring: corrupt entry framing")
		}
		nalus = append(nalus, b[:n:n])
		b = b[n:]
	}
	rd.au.NALUs = nalus
	return nil
}

// Close detaches the reader from the ring.
func (rd *Reader) Close() {
	r := rd.r
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.waiters.Load()
	ws := make([]chan struct{}, 0, len(old))
	for _, c := range old {
		if c != rd.wake {
			ws = append(ws, c)
		}
	}
	r.waiters.Store(&ws)
}
