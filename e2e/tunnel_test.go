package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFFmpegTunnel: ffmpeg -rtsp_transport http tunnels RTSP through an
// HTTP GET and POST to the RTSP port (QuickTime's scheme) and records 60
// frames with -c copy; the recording decodes cleanly, has >= 60 frames and
// starts with an I keyframe.
func TestFFmpegTunnel(t *testing.T) {
	t.Parallel()
	requireTools(t, "ffmpeg", "ffprobe")
	srv := startServer(t, serverOptions{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.h264")
	r := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", "http",
		"-i", srv.URL, "-frames:v", "60", "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
	if r.ExitCode != 0 {
		t.Fatalf("ffmpeg recording over an HTTP tunnel failed:\n%s", r)
	}
	// At -v error a clean read prints nothing at all.
	if strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("ffmpeg printed errors while reading RTSP over an HTTP tunnel (first known pattern: %q):\n%s",
			rtpErrorPattern.FindString(r.Stderr), r)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("recording %s missing or empty (%v)", out, err)
	}

	dec := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
	if dec.ExitCode != 0 || strings.TrimSpace(dec.Stderr) != "" {
		t.Errorf("decoding the recording printed errors:\n%s", dec)
	}
	cnt := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out)
	if n, err := strconv.Atoi(strings.TrimSpace(cnt.Stdout)); cnt.ExitCode != 0 || err != nil {
		t.Errorf("counting frames failed (%v):\n%s", err, cnt)
	} else if n < 60 {
		t.Errorf("recording has %d frames, want >= 60", n)
	}
	first := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pict_type",
		"-of", "default=nw=1", out)
	if fo := first.Stdout; first.ExitCode != 0 || !strings.Contains(fo, "key_frame=1") || !strings.Contains(fo, "pict_type=I") {
		t.Errorf("first recorded frame is not an I keyframe (want key_frame=1 and pict_type=I):\n%s", first)
	}
}

// TestGStreamerTunnel: rtspsrc with an rtsph:// URL tunnels RTSP through
// HTTP to the RTSP port, and avdec_h264 decodes 50 frames of 1280x720
// video (see TestGStreamer for why EOS is the criterion and the exit code
// only a note).
func TestGStreamerTunnel(t *testing.T) {
	t.Parallel()
	requireGstElements(t, "rtspsrc", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
	srv := startServer(t, serverOptions{})
	url := "rtsph://" + srv.Addr + "/main"
	r := runTool(t, 30*time.Second, t.TempDir(), "gst-launch-1.0",
		"rtspsrc", "location="+url, "latency=200",
		"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
		"!", "video/x-raw,width=1280,height=720",
		"!", "identity", "eos-after=50", "!", "fakesink")
	if !strings.Contains(r.Stdout, `Got EOS from element "pipeline0"`) {
		t.Fatalf("gst-launch rtspsrc %s did not decode 50 frames (no EOS):\n%s", url, r)
	}
	if r.ExitCode != 0 {
		t.Logf("note: gst-launch exited %d after EOS (rtspsrc shutdown race):\n%s", r.ExitCode, r)
	}
}
