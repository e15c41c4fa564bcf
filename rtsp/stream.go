package rtsp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/rtph264"
)

// Stream is one H.264 media path (such as /main) fed from a ring. It reads
// each access unit once, packetizes it once into RTP, and hands the same
// packet bytes to every playing client. Create it with [NewStream] and run
// it with [Stream.Run].
type Stream struct {
	path string
	src  *ring.Ring
	log  *slog.Logger

	pk   rtph264.Packetizer
	pool framePool

	maxGOPBytes int
	requestIDR  func()
	rate        *streamRate   // nil without rate adaptation
	relay       func() string // nil without a relay
	bitrate     func() int    // nil when unknown

	// extSeq is the extended (48-bit) sequence number of the next packet:
	// its top bits are the SRTP rollover counter.
	extSeq atomic.Uint64

	// cnt totals what every client of the stream was sent and dropped,
	// and evicted counts its clients closed for falling behind; they
	// only grow, also when clients leave.
	cnt     counters
	evicted atomic.Uint64

	mu      sync.Mutex
	sps     []byte
	pps     []byte
	ready   chan struct{} // closed once the parameter sets and an IDR are known
	isReady bool
	subs    []*subscriber
	// deliverTo is the pump's copy of subs while it delivers a frame.
	deliverTo []*subscriber
	gop       []*frame // the current GOP, from its IDR on; nil while over budget
	gopSize   int
	gopOK     bool
	// SRTP: the stream's key and contexts, made by the first DESCRIBE or
	// SETUP over TLS, and the number of subscribers that take SRTP. While
	// there are any, publish encrypts every frame once for all of them.
	srtp       *streamSRTP
	secureSubs int
	// Mapping of the source's monotonic clock to RTP and wall time.
	started bool
	pts0    time.Duration
	rtp0    uint32
	wall0   time.Time
}

// StreamOptions tunes a [Stream]. The zero value gives the defaults.
type StreamOptions struct {
	// MaxPayload is the largest RTP payload in bytes; default 1400.
	MaxPayload int
	// MaxGOPBytes bounds the packets kept from the newest IDR on, which a
	// new client is sent first so that it can show a picture at once.
	// Default 4 MiB. With a longer GOP new clients wait for the next IDR.
	MaxGOPBytes int
	// RequestIDR, if set, asks the source for an IDR. A client that
	// joins when the current GOP is older than JoinReplayLimit then waits
	// for that fresh IDR instead of getting the old GOP replayed, so it
	// starts at the live edge.
	RequestIDR func()
	// SetBitrate, if set with a positive MaxBitrate, turns on rate
	// adaptation: the RTCP receiver reports of the stream's unicast UDP
	// clients steer the encoder's bitrate between MinBitrate and
	// MaxBitrate (see [RateController]). The stream starts at MaxBitrate
	// and calls SetBitrate only on a change, from any goroutine but one
	// call at a time.
	SetBitrate             func(bps int)
	MinBitrate, MaxBitrate int
	// Relay, if set, returns the rtsp:// URL at which a relay serves this
	// stream to viewers (see package rtsp/push), or "" while no relay has
	// it. Then a DESCRIBE that arrives when the server is at its session
	// cap is answered 302 Moved Temporarily with that URL as Location, and
	// when the server shuts down its players get a REDIRECT request to it.
	// It is called from any goroutine.
	Relay func() string
	// Bitrate, if set, returns the encoder's target bitrate in bits per
	// second (0 if unknown), which DESCRIBE announces as b=AS.
	Bitrate func() int
	// Logger receives the stream's log; default slog.Default().
	Logger *slog.Logger
}

// JoinReplayLimit is how old the current GOP may be for a joining client
// to get it replayed when the source can make an IDR on request.
const JoinReplayLimit = 500 * time.Millisecond

// NewStream returns a stream serving path from src.
func NewStream(path string, src *ring.Ring, opts StreamOptions) *Stream {
	s := &Stream{
		path:        path,
		src:         src,
		log:         opts.Logger,
		maxGOPBytes: opts.MaxGOPBytes,
		requestIDR:  opts.RequestIDR,
		relay:       opts.Relay,
		bitrate:     opts.Bitrate,
		ready:       make(chan struct{}),
		pool:        framePool{max: 256},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if opts.SetBitrate != nil && opts.MaxBitrate > 0 {
		s.rate = &streamRate{set: opts.SetBitrate,
			rc: NewRateController(RateConfig{Min: opts.MinBitrate, Max: opts.MaxBitrate})}
	}
	if s.maxGOPBytes <= 0 {
		s.maxGOPBytes = 4 << 20
	}
	var seed [10]byte
	rand.Read(seed[:])
	s.pk = rtph264.Packetizer{
		PayloadType: 96,
		SSRC:        binary.BigEndian.Uint32(seed[0:]),
		MaxPayload:  opts.MaxPayload,
	}
	s.pk.SetSequence(binary.BigEndian.Uint16(seed[4:]))
	s.extSeq.Store(uint64(s.pk.Sequence()))
	s.rtp0 = binary.BigEndian.Uint32(seed[6:])
	return s
}

// relayURL returns the URL of a relay serving the stream, or "".
func (s *Stream) relayURL() string {
	if s.relay == nil {
		return ""
	}
	return s.relay()
}

// Path returns the URL path the stream is served on.
func (s *Stream) Path() string { return s.path }

// SSRC returns the RTP synchronization source of the stream's packets.
func (s *Stream) SSRC() uint32 { return s.pk.SSRC }

// Run reads access units from the ring and fans them out until ctx ends.
func (s *Stream) Run(ctx context.Context) error {
	rd := s.src.NewReader()
	defer rd.Close()
	defer s.dropGOP()
	if s.rate != nil {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.runRate(rctx) }()
		defer func() { cancel(); <-done }()
	}
	var nalus [][]byte
	for {
		au, err := rd.Read(ctx)
		switch {
		case errors.Is(err, ring.ErrOverrun):
			s.log.Warn("stream fell behind its source; resuming at the next IDR", "path", s.path)
			continue
		case errors.Is(err, ring.ErrClosed), ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		}
		nalus = s.withParameterSets(nalus[:0], au)
		if len(nalus) == 0 {
			continue
		}
		s.publish(au, nalus)
	}
}

// withParameterSets returns au's NAL units with the stream's SPS and PPS in
// front of every IDR that lacks them, and remembers new parameter sets.
func (s *Stream) withParameterSets(dst [][]byte, au *h264.AccessUnit) [][]byte {
	var hasSPS, hasPPS, idr bool
	for _, n := range au.NALUs {
		switch h264.Type(n) {
		case h264.NALUSPS:
			hasSPS = true
			s.setParam(&s.sps, n)
		case h264.NALUPPS:
			hasPPS = true
			s.setParam(&s.pps, n)
		case h264.NALUIDR:
			idr = true
		}
	}
	if idr && !hasSPS && s.sps != nil {
		dst = append(dst, s.sps)
	}
	if idr && !hasPPS && s.pps != nil {
		dst = append(dst, s.pps)
	}
	return append(dst, au.NALUs...)
}

func (s *Stream) setParam(p *[]byte, n []byte) {
	if bytes.Equal(*p, n) {
		return
	}
	s.mu.Lock()
	*p = append([]byte(nil), n...)
	s.mu.Unlock()
}

// publish packetizes one access unit and queues it for every subscriber.
func (s *Stream) publish(au *h264.AccessUnit, nalus [][]byte) {
	if !s.started {
		s.started, s.pts0, s.wall0 = true, au.PTS, time.Now()
	}
	d := au.PTS - s.pts0
	ts := s.rtp0 + uint32(d.Nanoseconds()*9/100000)

	f := s.pool.get()
	f.seq = s.pk.Sequence()
	// Count the wraps of the 16-bit sequence number since the start.
	ext := s.extSeq.Load()
	ext += uint64(f.seq - uint16(ext))
	f.roc = uint32(ext >> 16)
	f.ts = ts
	f.wall = s.wall0.Add(d)
	f.idr = au.IDR()
	var err error
	f.buf, f.ends, err = s.pk.AppendAccessUnit(f.buf, f.ends, nalus, ts)
	s.extSeq.Store(ext + uint64(s.pk.Sequence()-f.seq))
	if err != nil || len(f.ends) == 0 {
		f.release()
		return
	}

	s.mu.Lock()
	if s.secureSubs > 0 {
		s.encryptLocked(f)
	}
	if f.idr {
		s.releaseGOPLocked()
		s.gopOK = true
		if !s.isReady && s.sps != nil && s.pps != nil {
			s.isReady = true
			close(s.ready)
		}
	}
	if s.gopOK {
		if s.gopSize+len(f.buf) <= s.maxGOPBytes {
			f.retain()
			s.gop = append(s.gop, f)
			s.gopSize += len(f.buf)
		} else {
			s.releaseGOPLocked()
		}
	}
	// Deliver outside the lock: delivery may write to sockets. The GOP
	// and the subscriber list change together under the lock, so a new
	// subscriber gets f either from the GOP or here, never twice.
	s.deliverTo = append(s.deliverTo[:0], s.subs...)
	s.mu.Unlock()
	for i, sub := range s.deliverTo {
		sub.deliver(f)
		s.deliverTo[i] = nil
	}
	f.release()
}

func (s *Stream) releaseGOPLocked() {
	for i, g := range s.gop {
		g.release()
		s.gop[i] = nil
	}
	s.gop, s.gopSize, s.gopOK = s.gop[:0], 0, false
}

func (s *Stream) dropGOP() {
	s.mu.Lock()
	s.releaseGOPLocked()
	s.mu.Unlock()
}

// waitReady waits until the stream knows its parameter sets and has seen an
// IDR, so that a DESCRIBE can answer with a complete SDP.
func (s *Stream) waitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parameterSets returns the current SPS and PPS. The stream never
// modifies them in place, so the caller may keep them.
func (s *Stream) parameterSets() (sps, pps []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sps, s.pps
}

// subscribe starts queueing frames for sub, beginning with the current GOP
// so that the client can decode a picture at once. An SRTP subscriber
// needs the stream's key to exist (see secureKey).
func (s *Stream) subscribe(sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub.total = &s.cnt
	if sub.secure {
		s.secureSubs++
	}
	fresh := s.freshJoinLocked()
	if sub.secure && len(s.gop) > 0 && s.joinROCLocked(fresh) != sub.roc {
		// The client was told another rollover counter than its first
		// packet would now have (the sequence number wrapped, and the
		// GOP aged past JoinReplayLimit, since the key went out). Start
		// it where the counter it knows holds, if either start does.
		switch next := uint32(s.extSeq.Load() >> 16); {
		case s.gop[0].roc == sub.roc:
			fresh = false
		case next == sub.roc && s.requestIDR != nil:
			fresh = true
		}
	}
	if fresh {
		// Fresher to make a new IDR than to replay an old GOP.
		s.requestIDR()
	} else {
		for _, f := range s.gop {
			if sub.secure && !f.encrypted {
				// Published while no client took SRTP.
				s.encryptLocked(f)
			}
			sub.enqueue(f)
		}
	}
	s.subs = append(s.subs, sub)
}

// encryptLocked makes the SRTP twin of f's packets. The caller holds s.mu.
func (s *Stream) encryptLocked(f *frame) {
	if s.srtp == nil || f.encrypted {
		return
	}
	if err := s.srtp.encrypt(f); err != nil {
		s.log.Warn("rtsp: SRTP clients skip a frame", "path", s.path, "err", err)
	}
}

// secureKey returns the stream's SRTP sender, making its key on first use.
func (s *Stream) secureKey() (*streamSRTP, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srtp == nil {
		sp, err := newStreamSRTP(s.SSRC())
		if err != nil {
			return nil, err
		}
		s.srtp = sp
	}
	return s.srtp, nil
}

// keyMgmt returns the MIKEY message that gives a client the stream's SRTP
// key, and the rollover counter it announces: that of the first packet
// the client would get if it started now (see joinROCLocked). Its
// timestamp is ntp, the client's, or the camera's clock when ntp is 0.
func (s *Stream) keyMgmt(ntp uint64) ([]byte, uint32, error) {
	sp, err := s.secureKey()
	if err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	roc := s.joinROCLocked(s.freshJoinLocked())
	s.mu.Unlock()
	data, err := sp.mikey(roc, ntp)
	return data, roc, err
}

// freshJoinLocked reports whether a client starting now would be started
// on a fresh IDR requested from the source rather than on the current
// GOP, replayed. The caller holds s.mu.
func (s *Stream) freshJoinLocked() bool {
	return s.requestIDR != nil && (len(s.gop) == 0 || time.Since(s.gop[0].wall) > JoinReplayLimit)
}

// joinROCLocked is the rollover counter of the first packet a client
// starting now would get: that of the current GOP's IDR when the GOP is
// replayed, else (fresh, a fresh IDR) that of the next packet. The caller
// holds s.mu.
func (s *Stream) joinROCLocked(fresh bool) uint32 {
	if len(s.gop) > 0 && !fresh {
		return s.gop[0].roc
	}
	return uint32(s.extSeq.Load() >> 16)
}

// unsubscribe stops queueing frames for sub.
func (s *Stream) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.subs {
		if x == sub {
			if sub.secure {
				s.secureSubs--
			}
			last := len(s.subs) - 1
			s.subs[i] = s.subs[last]
			s.subs[last] = nil
			s.subs = s.subs[:last]
			return
		}
	}
}

// StreamStats is a snapshot of a stream's counters, totalled over all the
// clients it has had. The counters never go down.
type StreamStats struct {
	Path string
	// Clients is the number of clients playing now; a multicast group
	// counts as one.
	Clients int
	// Sent counts what reached the clients' sockets. A multicast packet
	// counts once, however many clients receive it.
	FramesSent, PacketsSent, BytesSent uint64
	// FramesDropped counts frames skipped because a client's backlog was
	// full, up to the next IDR.
	FramesDropped uint64
	// Evicted counts clients closed because they fell too far behind or
	// their TCP writes stalled.
	Evicted uint64
}

// Stats returns a snapshot of the stream's counters. It is safe to call
// from any goroutine and does not allocate.
func (s *Stream) Stats() StreamStats {
	return StreamStats{
		Path:          s.path,
		Clients:       s.clients(),
		FramesSent:    s.cnt.framesSent.Load(),
		PacketsSent:   s.cnt.packetsSent.Load(),
		BytesSent:     s.cnt.bytesSent.Load(),
		FramesDropped: s.cnt.framesDropped.Load(),
		Evicted:       s.evicted.Load(),
	}
}

// clients returns the number of subscribers.
func (s *Stream) clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}
