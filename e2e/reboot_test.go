package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSystemReboot: ONVIF SystemReboot restarts the service cleanly. The
// reply comes first, then the process shuts down and starts again in
// place, and the stream plays again.
func TestSystemReboot(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffprobe")
	srv := startServer(t, serverOptions{})
	body := `<?xml version="1.0" encoding="UTF-8"?>` +
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` +
		`<SystemReboot xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`
	res, err := http.Post(srv.HTTP+"/onvif/device_service", "application/soap+xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(reply), "SystemRebootResponse") {
		t.Fatalf("SystemReboot: %s\n%s", res.Status, reply)
	}
	// Wait for the restart to show in the log, then for the stream.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(srv.log(), "restarting on request") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var r toolResult
	for time.Now().Before(deadline) {
		r = runTool(t, 10*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
			"-show_entries", "stream=codec_name", "-of", "compact", srv.URL)
		if strings.TrimSpace(r.Stdout) == "stream|codec_name=h264" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if strings.TrimSpace(r.Stdout) != "stream|codec_name=h264" {
		t.Fatalf("the stream did not come back after SystemReboot:\n%s\n--- log ---\n%s", r, tail(srv.log(), 30))
	}
	if srv.exited() {
		t.Fatal("ipcamd exited instead of restarting")
	}
	if n := strings.Count(srv.log(), "ipcamd started"); n != 2 {
		t.Errorf("ipcamd started %d times, want 2 (once more after the reboot)", n)
	}
}
