package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIPv6 serves on [::1] and plays over TCP and UDP with ffprobe; the
// SDP's origin names the IPv6 address.
func TestIPv6(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffprobe")
	if buildErr != nil {
		t.Fatalf("building ipcamd: %v", buildErr)
	}
	dir := t.TempDir()
	port, tlsPort := freePort(t), freePort(t)
	cfg := filepath.Join(dir, "ipcamd.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("state_dir: %s\nhttp:\n  tls_listen: \"\"\nrtsp:\n  tls_listen: 127.0.0.1:%d\n", dir, tlsPort)), 0o644)
	cmd := exec.Command(ipcamdBin, "-config", cfg, "-source", "file:"+clipPath,
		"-rtsp", fmt.Sprintf("[::1]:%d", port), "-http", fmt.Sprintf("[::1]:%d", freePort(t)))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	addr := fmt.Sprintf("[::1]:%d", port)
	var c net.Conn
	var err error
	for range 100 {
		if c, err = net.Dial("tcp6", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ipcamd not listening on %s: %v", addr, err)
	}
	url := "rtsp://" + addr + "/main"
	fmt.Fprintf(c, "DESCRIBE %s RTSP/1.0\r\nCSeq: 1\r\n\r\n", url)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var sdp strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		sdp.WriteString(line)
		if strings.HasPrefix(line, "a=control:trackID") {
			break
		}
	}
	c.Close()
	if !strings.Contains(sdp.String(), "IN IP6 ::1") {
		t.Errorf("SDP origin does not name ::1:\n%s", sdp.String())
	}
	for _, tr := range transports {
		r := runTool(t, 20*time.Second, dir, "ffprobe", "-v", "error", "-rtsp_transport", tr,
			"-show_entries", "stream=codec_name,width,height", "-of", "compact", url)
		if got := strings.TrimSpace(r.Stdout); got != "stream|codec_name=h264|width=1280|height=720" {
			t.Errorf("ffprobe over %s on IPv6: %q\n%s", tr, got, r)
		}
	}
}
