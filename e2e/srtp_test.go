package e2e

import (
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/pion/rtp"
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
	const want = 60
	u, err := base.ParseURL(srv.TLS)
	if err != nil {
		t.Fatal(err)
	}
	p := gortsplib.ProtocolTCP
	if proto == "udp" {
		p = gortsplib.ProtocolUDP
	}
	var (
		mu       sync.Mutex
		aus      [][][]byte
		decErrs  []string
		lost     uint64
		clientEr []string
		done     = make(chan struct{})
	)
	c := gortsplib.Client{
		Scheme:      u.Scheme,
		Host:        u.Host,
		Protocol:    &p,
		TLSConfig:   &tls.Config{InsecureSkipVerify: true},
		ReadTimeout: 5 * time.Second,
		OnPacketsLost: func(n uint64) {
			mu.Lock()
			lost += n
			mu.Unlock()
		},
		OnDecodeError: func(err error) {
			// Includes SRTP packets that fail authentication.
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
		t.Fatalf("no H.264 in the SDP: %+v", desc)
	}
	if medi.Profile != headers.TransportProfileSAVP || medi.KeyMgmtMikey == nil {
		t.Fatalf("rtsps SDP: profile %v, MIKEY %v; want RTP/SAVP with a key", medi.Profile, medi.KeyMgmtMikey != nil)
	}
	res, err := c.Setup(desc.BaseURL, medi, 0, 0)
	if err != nil {
		t.Fatalf("SETUP RTP/SAVP over %s: %v", proto, err)
	}
	wantTr := "RTP/SAVP;"
	if proto == "tcp" {
		wantTr = "RTP/SAVP/TCP;"
	}
	if tr := strings.Join(res.Header["Transport"], ","); !strings.HasPrefix(tr, wantTr) {
		t.Errorf("SETUP reply Transport %q, want %s...", tr, wantTr)
	}
	if km := strings.Join(res.Header["KeyMgmt"], ","); !strings.HasPrefix(km, "prot=mikey;") {
		t.Errorf("SETUP reply KeyMgmt %q, want a MIKEY key", km)
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		mu.Lock()
		defer mu.Unlock()
		if len(aus) >= want {
			return
		}
		nalus, err := dec.Decode(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) {
				decErrs = append(decErrs, err.Error())
			}
			return
		}
		aus = append(aus, nalus)
		if len(aus) == want {
			close(done)
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		n := len(aus)
		mu.Unlock()
		t.Fatalf("got %d/%d access units over SRTP/%s within 20s (depacketizer errors %v, client errors %v)", n, want, proto, decErrs, clientEr)
	}
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
	c.Close()

	mu.Lock()
	defer mu.Unlock()
	if len(clientEr) > 0 {
		t.Errorf("gortsplib errors (SRTP authentication failures among them): %v", clientEr)
	}
	switch {
	case proto == "udp" && lost > 0:
		// Loopback UDP drops datagrams when the client's socket buffer
		// overflows on a loaded machine (the GOP replayed at PLAY is a
		// burst); the server's own drops would show as a TCP loss too.
		t.Logf("gortsplib lost %d UDP packets; depacketizer errors after that: %v", lost, decErrs)
	case lost > 0:
		t.Errorf("gortsplib reported %d lost packets", lost)
	case len(decErrs) > 0:
		t.Errorf("depacketizer errors: %v", decErrs)
	}
	hasIDR := false
	for _, n := range aus[0] {
		if len(n) > 0 && n[0]&0x1f == 5 {
			hasIDR = true
		}
	}
	if !hasIDR {
		t.Errorf("the first decrypted access unit has no IDR")
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
