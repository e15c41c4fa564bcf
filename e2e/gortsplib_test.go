package e2e

import (
	"testing"
	"time"
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
			r := startGortsplibReader(t, srv.URL, tr, nil, 50)
			if r.forma.SPS == nil || r.forma.PPS == nil {
				t.Errorf("SDP sprop-parameter-sets: SPS=%x PPS=%x, want both present", r.forma.SPS, r.forma.PPS)
			}
			if r.forma.PayloadType() != 96 {
				t.Errorf("payload type %d, want 96", r.forma.PayloadType())
			}
			r.wait(t, 15*time.Second)
			r.c.Close()

			if idr, types := r.firstHasIDR(); !idr {
				t.Errorf("first access unit has NAL types %v, want an IDR (5)", types)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.decErrs) > 0 {
				t.Errorf("RTP/H.264 depacketizer errors (first packets should start an access unit): %v", r.decErrs)
			}
			if r.lost > 0 {
				t.Errorf("gortsplib reported %d lost RTP packets", r.lost)
			}
			if r.noMarker > 0 {
				t.Errorf("%d access units ended without the RTP marker bit on their last packet", r.noMarker)
			}
			if len(r.clientEr) > 0 {
				t.Errorf("gortsplib decode errors: %v", r.clientEr)
			}
			auTS := r.auTS
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
