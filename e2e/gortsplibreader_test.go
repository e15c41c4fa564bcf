package e2e

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// gortsplibReader is the gortsplib v5 client reading H.264 access units
// from a stream, with everything a test checks afterwards. Read it under
// mu once wait has returned.
type gortsplibReader struct {
	c    *gortsplib.Client
	want int
	done chan struct{}

	// From DESCRIBE and SETUP.
	medi  *description.Media
	forma *format.H264
	setup *base.Response

	mu       sync.Mutex
	aus      [][][]byte // NAL units of each access unit
	auTS     []uint32   // and its RTP timestamp
	decErrs  []string   // depacketizer errors
	clientEr []string   // the client's decode errors (SRTP failures among them)
	lost     uint64
	noMarker int // access units that ended without the marker bit
}

// startGortsplibReader plays url with the gortsplib client over proto
// ("tcp" or "udp"; tlsConf for rtsps://) until it has want access units.
func startGortsplibReader(t *testing.T, url, proto string, tlsConf *tls.Config, want int) *gortsplibReader {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	p := gortsplib.ProtocolTCP
	if proto == "udp" {
		p = gortsplib.ProtocolUDP
	}
	r := &gortsplibReader{want: want, done: make(chan struct{})}
	r.c = &gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Protocol:    &p,
		TLSConfig:   tlsConf,
		ReadTimeout: 5 * time.Second,
		OnPacketsLost: func(n uint64) {
			r.mu.Lock()
			r.lost += n
			r.mu.Unlock()
		},
		OnDecodeError: func(err error) {
			r.mu.Lock()
			r.clientEr = append(r.clientEr, err.Error())
			r.mu.Unlock()
		},
	}
	if err := r.c.Start(); err != nil {
		t.Fatalf("gortsplib start: %v", err)
	}
	t.Cleanup(r.c.Close)
	desc, _, err := r.c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}
	r.medi = desc.FindFormat(&r.forma)
	if r.medi == nil {
		t.Fatalf("no H.264 format in the SDP: %+v", desc)
	}
	dec, err := r.forma.CreateDecoder()
	if err != nil {
		t.Fatalf("create decoder: %v", err)
	}
	if r.setup, err = r.c.Setup(desc.BaseURL, r.medi, 0, 0); err != nil {
		t.Fatalf("SETUP over %s: %v", proto, err)
	}
	var lastTS uint32
	havePkt, lastMarker := false, false
	r.c.OnPacketRTP(r.medi, r.forma, func(pkt *rtp.Packet) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.aus) >= want {
			return
		}
		// The decoder also ends an access unit when the timestamp
		// changes; then the AU returned belongs to the previous one.
		prevTS, hadPrev, prevMarker := lastTS, havePkt, lastMarker
		lastTS, havePkt, lastMarker = pkt.Timestamp, true, pkt.Marker
		nalus, err := dec.Decode(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
				r.decErrs = append(r.decErrs, fmt.Sprintf("seq %d: %v", pkt.SequenceNumber, err))
			}
			return
		}
		ts := pkt.Timestamp
		if hadPrev && prevTS != pkt.Timestamp && !prevMarker {
			ts = prevTS // the previous AU ended without a marker bit
			r.noMarker++
		}
		r.aus = append(r.aus, nalus)
		r.auTS = append(r.auTS, ts)
		if len(r.aus) == want {
			close(r.done)
		}
	})
	if _, err := r.c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	return r
}

// wait waits up to d for the access units, failing the test without them.
func (r *gortsplibReader) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("got %d/%d access units within %v (depacketizer errors %v, client errors %v)", len(r.aus), r.want, d, r.decErrs, r.clientEr)
	}
}

// firstHasIDR reports whether the first access unit holds an IDR, and
// its NAL unit types.
func (r *gortsplibReader) firstHasIDR() (bool, []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var types []int
	idr := false
	for _, n := range r.aus[0] {
		if len(n) == 0 {
			continue
		}
		types = append(types, int(n[0]&0x1f))
		idr = idr || n[0]&0x1f == 5
	}
	return idr, types
}
