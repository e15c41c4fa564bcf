package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var transports = []string{"tcp", "udp"}

// TestFFprobe: ffprobe sees a 1280x720 Constrained Baseline H.264 stream.
func TestFFprobe(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			requireTools(t, "ffprobe")
			srv := startServer(t, serverOptions{})
			r := runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", tr,
				"-show_entries", "stream=codec_name,profile,width,height", "-of", "compact", srv.URL)
			if r.ExitCode != 0 {
				t.Fatalf("ffprobe failed:\n%s", r)
			}
			got := strings.TrimSpace(r.Stdout)
			want := "stream|codec_name=h264|profile=Constrained Baseline|width=1280|height=720"
			if got != want {
				t.Fatalf("ffprobe over %s:\n got %q\nwant %q\n%s", tr, got, want, r)
			}
		})
	}
}

// rtpErrorPattern matches what ffmpeg prints at -v error when the RTP stream
// or the H.264 bitstream is damaged.
var rtpErrorPattern = regexp.MustCompile(`(?i)RTP: missed|error while decoding|non-existing PPS|` +
	`no frame!|decode_slice_header error|concealing|Invalid NAL|missing picture|RTP: PT=|corrupt|` +
	`max delay reached|packet too large|error`)

// TestFFmpegRecord: ffmpeg records 60 frames with -c copy; the recording
// decodes cleanly, has >= 60 frames and starts with an I keyframe.
func TestFFmpegRecord(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			requireTools(t, "ffmpeg", "ffprobe")
			srv := startServer(t, serverOptions{})
			dir := t.TempDir()
			out := filepath.Join(dir, "out.h264")
			// -copyinkf keeps frames before the first keyframe, which ffmpeg's
			// stream copy would otherwise drop: a mid-GOP join then shows
			// up as a non-I first frame and as decode errors below.
			r := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-rtsp_transport", tr,
				"-i", srv.URL, "-frames:v", "60", "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
			if r.ExitCode != 0 {
				t.Fatalf("ffmpeg recording over %s failed:\n%s", tr, r)
			}
			// At -v error a clean read prints nothing at all.
			if strings.TrimSpace(r.Stderr) != "" {
				t.Errorf("ffmpeg printed errors while reading RTSP over %s (first known pattern: %q):\n%s",
					tr, rtpErrorPattern.FindString(r.Stderr), r)
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
				t.Fatalf("recording %s missing or empty (%v)", out, err)
			}

			// 1. Decodes without errors.
			dec := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
			if dec.ExitCode != 0 || strings.TrimSpace(dec.Stderr) != "" {
				t.Errorf("decoding the recording printed errors:\n%s", dec)
			}

			// 2. At least 60 frames.
			cnt := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out)
			n, err := strconv.Atoi(strings.TrimSpace(cnt.Stdout))
			if cnt.ExitCode != 0 || err != nil {
				t.Errorf("counting frames failed (%v):\n%s", err, cnt)
			} else if n < 60 {
				t.Errorf("recording has %d frames, want >= 60", n)
			}

			// 3. The first frame is an I keyframe.
			first := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
				"-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pict_type",
				"-of", "default=nw=1", out)
			fo := first.Stdout
			if first.ExitCode != 0 || !strings.Contains(fo, "key_frame=1") || !strings.Contains(fo, "pict_type=I") {
				t.Errorf("first recorded frame is not an I keyframe (want key_frame=1 and pict_type=I):\n%s", first)
			}
		})
	}
}
