package e2e

import (
	"crypto/tls"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRTSPS plays rtsps:// (TLS, interleaved TCP inside) with ffmpeg and
// with the gortsplib client, against ipcamd's self-signed certificate.
func TestRTSPS(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{})
	t.Run("ffmpeg", func(t *testing.T) {
		t.Parallel()
		requireTools(t, "ffmpeg")
		dir := t.TempDir()
		out := filepath.Join(dir, "out.h264")
		r := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", srv.TLS,
			"-frames:v", "60", "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stderr) != "" {
			t.Fatalf("ffmpeg over rtsps:\n%s", r)
		}
		dec := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out)
		if n, err := strconv.Atoi(strings.TrimSpace(dec.Stdout)); err != nil || n < 60 {
			t.Fatalf("recorded %q frames over rtsps, want 60:\n%s", dec.Stdout, dec)
		}
	})
	t.Run("gortsplib", func(t *testing.T) {
		t.Parallel()
		gortsplibPlay(t, srv.TLS, &tls.Config{InsecureSkipVerify: true}, 50, 15*time.Second)
	})
}

// gortsplibPlay plays url over TCP with the gortsplib client (tlsConf for
// rtsps://) and waits for n decoded access units, failing the test if they
// do not come within timeout.
func gortsplibPlay(t *testing.T, url string, tlsConf *tls.Config, n int, timeout time.Duration) {
	t.Helper()
	startGortsplibReader(t, url, "tcp", tlsConf, n).wait(t, timeout)
}
