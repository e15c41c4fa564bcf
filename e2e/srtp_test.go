package e2e

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/headers"
)

// TestSRTP plays rtsps:// with the gortsplib client over UDP and over TCP:
// the SDP offers RTP/SAVP with a MIKEY key, SETUP answers RTP/SAVP with a
// KeyMgmt header, and the client decrypts and decodes H.264 starting on an
// IDR, without loss or depacketizer errors. Over UDP the client's SRTCP
// receiver reports must reach the server (gortsplib sends one every 5 s).
// GStreamer's rtspsrc, which takes RTP/SAVP from the SDP too, decodes 50
// frames over both. Each client has its own server, whose log tells its
// session apart.
func TestSRTP(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	for _, proto := range transports {
		t.Run("gortsplib-"+proto, func(t *testing.T) {
			t.Parallel()
			srtpPlay(t, startServer(t, serverOptions{}), proto)
		})
		t.Run("gstreamer-"+proto, func(t *testing.T) {
			t.Parallel()
			requireGstElements(t, "rtspsrc", "srtpdec", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
			srv := startServer(t, serverOptions{})
			r := runTool(t, 30*time.Second, t.TempDir(), "gst-launch-1.0",
				"rtspsrc", "location="+srv.TLS, "protocols="+proto, "latency=200", "tls-validation-flags=0",
				"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
				"!", "identity", "eos-after=50", "!", "fakesink")
			// An error stops the pipeline before EOS, so EOS means success.
			if !strings.Contains(r.Stdout, `Got EOS from element "pipeline0"`) {
				t.Fatalf("gst-launch rtspsrc %s protocols=%s did not decode 50 frames (no EOS):\n%s", srv.TLS, proto, r)
			}
			if r.ExitCode != 0 {
				t.Logf("note: gst-launch exited %d after EOS (rtspsrc shutdown race):\n%s", r.ExitCode, r)
			}
		})
	}
}

func srtpPlay(t *testing.T, srv *server, proto string) {
	r := startGortsplibReader(t, srv.TLS, proto, &tls.Config{InsecureSkipVerify: true}, 60)
	if r.medi.Profile != headers.TransportProfileSAVP || r.medi.KeyMgmtMikey == nil {
		t.Fatalf("rtsps SDP: profile %v, MIKEY %v; want RTP/SAVP with a key", r.medi.Profile, r.medi.KeyMgmtMikey != nil)
	}
	wantTr := "RTP/SAVP;"
	if proto == "tcp" {
		wantTr = "RTP/SAVP/TCP;"
	}
	if tr := strings.Join(r.setup.Header["Transport"], ","); !strings.HasPrefix(tr, wantTr) {
		t.Errorf("SETUP reply Transport %q, want %s...", tr, wantTr)
	}
	if km := strings.Join(r.setup.Header["KeyMgmt"], ","); !strings.HasPrefix(km, "prot=mikey;") {
		t.Errorf("SETUP reply KeyMgmt %q, want a MIKEY key", km)
	}
	r.wait(t, 20*time.Second)
	if proto == "udp" {
		// The first SRTCP receiver report, decrypted with the key the
		// client sent in its SETUP, is logged once by the server.
		deadline := time.Now().Add(15 * time.Second)
		for !heardSRTCP(srv.log()) {
			if time.Now().After(deadline) {
				t.Fatalf("no SRTCP receiver report from gortsplib reached the server in 15s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	r.c.Close()

	if idr, _ := r.firstHasIDR(); !idr {
		t.Errorf("the first decrypted access unit has no IDR")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.clientEr) > 0 {
		t.Errorf("gortsplib errors (SRTP authentication failures among them): %v", r.clientEr)
	}
	switch {
	case proto == "udp" && r.lost > 0:
		// Loopback UDP drops datagrams when the client's socket buffer
		// overflows on a loaded machine (the GOP replayed at PLAY is a
		// burst); the server's own drops would show as a TCP loss too.
		t.Logf("gortsplib lost %d UDP packets; depacketizer errors after that: %v", r.lost, r.decErrs)
	case r.lost > 0:
		t.Errorf("gortsplib reported %d lost packets", r.lost)
	case len(r.decErrs) > 0:
		t.Errorf("depacketizer errors: %v", r.decErrs)
	}
}

// heardSRTCP reports whether the server logged a receiver report that a
// UDP SRTP client sent.
func heardSRTCP(log string) bool {
	for l := range strings.SplitSeq(log, "\n") {
		if strings.Contains(l, "first receiver report from client") && strings.Contains(l, "transport=UDP") && strings.Contains(l, "srtp=true") {
			return true
		}
	}
	return false
}
