package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFirstBootAdmin: a camera configured to make its own admin prints the
// generated password once; ffprobe plays the stream with it and gets 401
// without it.
func TestFirstBootAdmin(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffprobe")
	srv := startServer(t, serverOptions{Config: "auth:\n  generate_admin: true\n"})
	m := regexp.MustCompile(`ipcamd: first boot: user admin, password (\S+)`).FindStringSubmatch(srv.log())
	if m == nil {
		t.Fatalf("no first-boot password in the output:\n%s", tail(srv.log(), 20))
	}
	r := runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name", "-of", "compact", withCreds(srv.URL, "admin", m[1]))
	if strings.TrimSpace(r.Stdout) != "stream|codec_name=h264" {
		t.Errorf("ffprobe with the generated password: %s", r)
	}
	r = runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", "tcp", srv.URL)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "401") {
		t.Errorf("ffprobe without credentials: %s", r)
	}
}
