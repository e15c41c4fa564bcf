package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// mpvFramePattern matches a line of libavfilter's showinfo filter, which mpv
// logs for every decoded frame that reaches the filter chain.
var mpvFramePattern = regexp.MustCompile(`Parsed_showinfo_\d+: n: *(\d+) .*`)

// mpvErrorPattern matches what mpv (and the libavcodec/libavformat inside
// it) prints when the RTSP session, the RTP stream or the H.264 bitstream
// is broken.
var mpvErrorPattern = regexp.MustCompile(`(?i)error|failed|missed|corrupt|concealing|non-existing PPS|` +
	`decode_slice_header|no frame!|Invalid NAL|Nonmatching transport|unsupported|not allowed`)

// TestMPV: Debian's mpv 0.35 (libavformat's RTSP client) plays the stream
// headless over TCP and UDP and decodes at least 60 frames, the first an I
// frame, 1280x720, without errors.
//
// --frames=60 stops after 60 frames with "Exiting... (End of file)"; the
// showinfo filter (--vf=lavfi=[showinfo]) makes the decoded frames countable
// (mpv logs libav* info messages at its level v, hence ffmpeg=v).
// mpv warns "No video PTS! Making something up." and "Invalid video
// timestamp: 0.000000 -> 0.000000" on the first frame with gst-rtsp-server
// too (libavformat's RTSP demuxer gives the first packet no PTS): those two
// warnings are not counted as errors.
func TestMPV(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			requireTools(t, "mpv")
			srv := startServer(t, serverOptions{})
			r := runTool(t, 25*time.Second, t.TempDir(), "mpv", "--no-config", "--vo=null", "--ao=null",
				"--frames=60", "--untimed", "--framedrop=no", "--rtsp-transport="+tr,
				"--vf=lavfi=[showinfo]", "--msg-level=all=warn,ffmpeg=v,cplayer=info", srv.URL)
			out := r.Stdout + r.Stderr
			if r.ExitCode != 0 || r.TimedOut {
				t.Fatalf("mpv over %s did not play the stream:\n%s", tr, r)
			}
			if !strings.Contains(out, "Exiting... (End of file)") {
				t.Errorf("mpv did not stop at --frames=60 (no \"Exiting... (End of file)\"):\n%s", r)
			}
			frames := mpvFramePattern.FindAllString(out, -1)
			if len(frames) < 60 {
				t.Fatalf("mpv decoded %d frames over %s, want >= 60\n%s", len(frames), tr, r)
			}
			if f := frames[0]; !strings.Contains(f, "type:I") || !strings.Contains(f, "s:1280x720") {
				t.Errorf("first decoded frame is not a 1280x720 I frame:\n%s", f)
			}
			for _, l := range strings.Split(out, "\n") {
				if mpvFramePattern.MatchString(l) {
					continue
				}
				if m := mpvErrorPattern.FindString(l); m != "" {
					t.Errorf("mpv over %s printed %q: %s", tr, m, l)
				}
			}
			// The transport that mpv asked for is the one ipcamd served.
			if srv.Kind == kindIpcamd {
				want := map[string]string{"tcp": "transport=TCP", "udp": "transport=UDP"}[tr]
				deadline := time.Now().Add(3 * time.Second)
				for !strings.Contains(srv.log(), "session closed") && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				if log := srv.log(); !strings.Contains(log, want) {
					t.Errorf("ipcamd log has no %q: mpv did not use %s", want, tr)
				} else if !strings.Contains(log, `reason="client teardown"`) {
					t.Errorf("mpv's session did not end with a TEARDOWN")
				}
			}
			t.Logf("mpv over %s: %d frames decoded in %v", tr, len(frames), r.Elapsed.Round(time.Millisecond))
		})
	}
}
