package e2e

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// TestGortsplib: the gortsplib v5 client (the RTSP engine of mediamtx and
// many NVR bridges) reads 50 access units: SPS/PPS are in the SDP, the first
// access unit holds an IDR, and timestamps advance 3600 (90 kHz / 25 fps)
// per frame.
func TestGortsplib(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, serverOptions{})
			const want = 50

			u, err := base.ParseURL(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			p := gortsplib.ProtocolTCP
			if tr == "udp" {
				p = gortsplib.ProtocolUDP
			}

			var (
				mu       sync.Mutex
				aus      [][][]byte
				auTS     []uint32
				decErrs  []string
				lost     uint64
				clientEr []string
				done     = make(chan struct{})
			)
			c := gortsplib.Client{
				Scheme:      u.Scheme,
				Host:        u.Host,
				Protocol:    &p,
				ReadTimeout: 5 * time.Second,
				OnPacketsLost: func(n uint64) {
					mu.Lock()
					lost += n
					mu.Unlock()
				},
				OnDecodeError: func(err error) {
					mu.Lock()
					clientEr = append(clientEr, err.Error())
					mu.Unlock()
				},
			}
			if err := c.Start(); err != nil {
				t.Fatalf("gortsplib start: %v", err)
			}
			defer c.Close()

			desc, _, err := c.Describe(u)
			if err != nil {
				t.Fatalf("DESCRIBE: %v", err)
			}
			var forma *format.H264
			medi := desc.FindFormat(&forma)
			if medi == nil {
				t.Fatalf("no H.264 format in the SDP: %+v", desc)
			}
			if forma.SPS == nil || forma.PPS == nil {
				t.Errorf("SDP sprop-parameter-sets: SPS=%x PPS=%x, want both present", forma.SPS, forma.PPS)
			}
			if forma.PayloadType() != 96 {
				t.Errorf("payload type %d, want 96", forma.PayloadType())
			}
			dec, err := forma.CreateDecoder()
			if err != nil {
				t.Fatalf("create decoder: %v", err)
			}
			if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
				t.Fatalf("SETUP over %s: %v", tr, err)
			}

			var lastTS uint32
			havePkt, lastMarker := false, false
			noMarker := 0
			c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
				mu.Lock()
				defer mu.Unlock()
				if len(aus) >= want {
					return
				}
				// The decoder also ends an access unit when the timestamp
				// changes; then the AU returned belongs to the previous one.
				prevTS, hadPrev, prevMarker := lastTS, havePkt, lastMarker
				lastTS, havePkt, lastMarker = pkt.Timestamp, true, pkt.Marker
				nalus, err := dec.Decode(pkt)
				if err != nil {
					if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
						decErrs = append(decErrs, fmt.Sprintf("seq %d: %v", pkt.SequenceNumber, err))
					}
					return
				}
				ts := pkt.Timestamp
				if hadPrev && prevTS != pkt.Timestamp && !prevMarker {
					ts = prevTS // the previous AU ended without a marker bit
					noMarker++
				}
				aus = append(aus, nalus)
				auTS = append(auTS, ts)
				if len(aus) == want {
					close(done)
				}
			})
			if _, err := c.Play(nil); err != nil {
				t.Fatalf("PLAY: %v", err)
			}

			select {
			case <-done:
			case <-time.After(15 * time.Second):
				mu.Lock()
				n := len(aus)
				mu.Unlock()
				t.Fatalf("got %d/%d access units over %s within 15s (decode errors: %v)", n, want, tr, decErrs)
			}
			c.Close()

			mu.Lock()
			defer mu.Unlock()
			if len(decErrs) > 0 {
				t.Errorf("RTP/H.264 depacketizer errors (first packets should start an access unit): %v", decErrs)
			}
			if lost > 0 {
				t.Errorf("gortsplib reported %d lost RTP packets", lost)
			}
			if noMarker > 0 {
				t.Errorf("%d access units ended without the RTP marker bit on their last packet", noMarker)
			}
			if len(clientEr) > 0 {
				t.Errorf("gortsplib decode errors: %v", clientEr)
			}
			var firstTypes []int
			hasIDR := false
			for _, n := range aus[0] {
				if len(n) == 0 {
					continue
				}
				typ := int(n[0] & 0x1f)
				firstTypes = append(firstTypes, typ)
				if typ == 5 {
					hasIDR = true
				}
			}
			if !hasIDR {
				t.Errorf("first access unit has NAL types %v, want an IDR (5)", firstTypes)
			}
			for i := 1; i < len(auTS); i++ {
				if d := auTS[i] - auTS[i-1]; d != 3600 {
					t.Errorf("RTP timestamp step between access units %d and %d is %d (ts %d -> %d), want 3600",
						i-1, i, int32(d), auTS[i-1], auTS[i])
					break
				}
			}
		})
	}
}
