package e2e

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
)

// TestRedirectToRelay runs ipcamd with rtsp.max_sessions 1, publishing to
// the gortsplib relay. One gortsplib client takes the only session. Then
// ffmpeg and GStreamer open the camera's URL: the DESCRIBE is answered 302
// with the relay's URL, and each must follow it and decode frames from
// the relay. Last, ipcamd is stopped: the gortsplib client, still playing
// from the camera, must get a REDIRECT request to the relay.
func TestRedirectToRelay(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg")
	requireGstElements(t, "rtspsrc", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
	relayPort := freePort(t)
	relay := startGortsplibRelay(t, relayPort)
	viewURL := fmt.Sprintf("rtsp://127.0.0.1:%d/cam", relayPort)
	srv := startServer(t, serverOptions{
		MaxSessions: 1,
		Config:      fmt.Sprintf("push:\n  - url: rtsp://pub:secret@127.0.0.1:%d/cam\n", relayPort),
	})
	relay.waitLine(15*time.Second, `^publishing /?cam`, "ipcamd did not publish to the relay", srv)

	// The one session ipcamd allows.
	holder := startRedirectWatcher(t, srv.URL)
	holder.waitPackets(t, 30, 10*time.Second)

	if n, r := ffmpegFrames(t, srv.URL, 60); n < 60 {
		t.Fatalf("ffmpeg decoded %d frames from %s at the session cap, want 60 (from the relay)\n%s\n--- ipcamd log ---\n%s",
			n, srv.URL, r, tail(srv.log(), 20))
	}
	relay.waitLine(5*time.Second, `^playing /?cam`, "ffmpeg did not follow the 302 to the relay", srv)

	r := runTool(t, 30*time.Second, t.TempDir(), "gst-launch-1.0",
		"rtspsrc", "location="+srv.URL, "protocols=tcp", "latency=200",
		"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
		"!", "identity", "eos-after=50", "!", "fakesink")
	if !strings.Contains(r.Stdout, `Got EOS from element "pipeline0"`) {
		t.Fatalf("GStreamer did not decode 50 frames after the 302 (no EOS):\n%s\n--- ipcamd log ---\n%s", r, tail(srv.log(), 20))
	}
	if got := strings.Count(relay.output(), "playing "); got < 2 {
		t.Fatalf("the relay saw %d players, want ffmpeg's and GStreamer's:\n%s", got, tail(relay.output(), 20))
	}
	if got := strings.Count(srv.log(), "client sent to the relay"); got < 2 {
		t.Errorf("ipcamd logged %d redirects at the cap, want 2:\n%s", got, tail(srv.log(), 20))
	}

	// Shutdown: the player still on the camera is sent to the relay.
	if code, took, err := srv.terminate(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("ipcamd exit %d after %v: %v", code, took, err)
	}
	req := holder.request(t, 5*time.Second)
	if req.Method != base.Method("REDIRECT") || req.Header["Location"] == nil || req.Header["Location"][0] != viewURL ||
		req.Header["Session"] == nil {
		t.Fatalf("the playing client got %s %s %v at shutdown; want REDIRECT with Location %s and its Session", req.Method, req.URL, req.Header, viewURL)
	}
}

// redirectWatcher is a gortsplib client playing over TCP that records the
// requests the server sends it.
type redirectWatcher struct {
	c       *gortsplib.Client
	mu      sync.Mutex
	packets int
	reqs    chan *base.Request
}

func startRedirectWatcher(t *testing.T, url string) *redirectWatcher {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	w := &redirectWatcher{reqs: make(chan *base.Request, 4)}
	p := gortsplib.ProtocolTCP
	w.c = &gortsplib.Client{
		Scheme: u.Scheme, Host: u.Host, Protocol: &p, TLSConfig: &tls.Config{},
		ReadTimeout: 10 * time.Second,
		OnServerRequest: func(r *base.Request) {
			select {
			case w.reqs <- r:
			default:
			}
		},
	}
	if err := w.c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.c.Close)
	desc, _, err := w.c.Describe(u)
	if err != nil {
		t.Fatalf("DESCRIBE: %v", err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		t.Fatal("no H.264 in the SDP")
	}
	if _, err := w.c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		t.Fatalf("SETUP: %v", err)
	}
	w.c.OnPacketRTP(medi, forma, func(*rtp.Packet) {
		w.mu.Lock()
		w.packets++
		w.mu.Unlock()
	})
	if _, err := w.c.Play(nil); err != nil {
		t.Fatalf("PLAY: %v", err)
	}
	return w
}

func (w *redirectWatcher) waitPackets(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		got := w.packets
		w.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the gortsplib client got fewer than %d packets in %v", n, d)
}

func (w *redirectWatcher) request(t *testing.T, d time.Duration) *base.Request {
	t.Helper()
	select {
	case r := <-w.reqs:
		return r
	case <-time.After(d):
		t.Fatalf("the gortsplib client got no request from the server within %v", d)
		return nil
	}
}
