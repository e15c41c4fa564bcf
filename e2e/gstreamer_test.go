package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestGStreamer: GStreamer's rtspsrc plays the stream and avdec_h264 decodes
// 50 frames of 1280x720 video. identity eos-after=50 sits after the decoder
// and the raw-video caps filter, so reaching EOS proves that 50 frames were
// decoded at the right size.
//
// gst-launch runs without -q so that it prints `Got EOS from element
// "pipeline0"`: with -q, rtspsrc 1.22 sometimes races its own PAUSE against
// its TEARDOWN while shutting down after EOS and exits 1 ("Could not send
// message. (Received end-of-file)" from gst_rtspsrc_pause), against
// gst-rtsp-server as well as ipcamd; that is client noise after the
// assertion, so it is logged, not failed.
func TestGStreamer(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			requireGstElements(t, "rtspsrc", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
			srv := startServer(t, serverOptions{})
			r := runTool(t, 30*time.Second, t.TempDir(), "gst-launch-1.0",
				"rtspsrc", "location="+srv.URL, "protocols="+tr, "latency=200",
				"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
				"!", "video/x-raw,width=1280,height=720",
				"!", "identity", "eos-after=50", "!", "fakesink")
			// An error stops the pipeline before EOS, so EOS means success.
			if !strings.Contains(r.Stdout, `Got EOS from element "pipeline0"`) {
				t.Fatalf("gst-launch rtspsrc protocols=%s did not decode 50 frames (no EOS):\n%s", tr, r)
			}
			if r.ExitCode != 0 {
				t.Logf("note: gst-launch exited %d after EOS (rtspsrc shutdown race):\n%s", r.ExitCode, r)
			}
		})
	}
}
