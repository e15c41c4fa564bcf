package lab

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// watchdogTimeout is the hardware watchdog timeout the test configures.
const watchdogTimeout = 5 * time.Second

// watchdogQEMUArgs give the board QEMU's i6300esb PCI watchdog; its reset
// ends QEMU because the lab runs it with -no-reboot.
var watchdogQEMUArgs = []string{"-device", "i6300esb", "-action", "watchdog=reset"}

// ExecArgv runs argv in the guest through /init's /exec (no shell) and
// returns the output and exit status.
func (b *Board) ExecArgv(timeout time.Duration, argv ...string) (string, int) {
	b.t.Helper()
	q := url.Values{"argv": argv, "timeout": {timeout.String()}}
	c := &http.Client{Timeout: timeout + 10*time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/exec?%s", b.InitPort, q.Encode()))
	if err != nil {
		b.t.Fatalf("guest exec %q: %v", argv, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	code, err := strconv.Atoi(resp.Header.Get("X-Exit-Code"))
	if resp.StatusCode != http.StatusOK || err != nil {
		b.t.Fatalf("guest exec %q: %s %s", argv, resp.Status, out)
	}
	return string(out), code
}

// TestWatchdogReboot: ipcamd on vivid with `watchdog: {device:
// /dev/watchdog, timeout: 5s}` arms the board's i6300esb and feeds it while
// access units reach its ring. The board must keep running for well over
// two timeouts while streaming, and be reset by the watchdog within the
// timeout plus a few seconds once the camera is unplugged for good (vivid
// disconnected and unloaded, so capture only retries and no frame arrives).
func TestWatchdogReboot(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ipcamd.yaml")
	yaml := fmt.Sprintf("source: v4l2:/dev/video0\nwatchdog:\n  device: /dev/watchdog\n  timeout: %v\n", watchdogTimeout)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	bb := filepath.Join(cacheDir, "busybox", "root", "bin", "busybox")
	b := Boot(t, BoardConfig{
		Modules:  append(append([]string{}, baseModules...), "i6300esb"),
		Cmds:     []string{fmt.Sprintf("run /bin/ipcamd -config /etc/ipcamd.yaml -rtsp :%d -http :%d", guestRTSP, guestHTTP)},
		Files:    map[string]string{"/bin/ipcamd": ipcamd, "/etc/ipcamd.yaml": cfg, "/bin/busybox": bb},
		QEMUArgs: watchdogQEMUArgs,
	})
	rtspURL := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	waitRTSP(t, b, rtspURL, 60*time.Second)
	decode(t, rtspURL, 15)

	// ipcamd has armed the watchdog with our timeout.
	sysfs := func(attr string) string {
		out, code := b.ExecArgv(5*time.Second, "/bin/busybox", "cat", "/sys/class/watchdog/watchdog0/"+attr)
		if code != 0 {
			t.Fatalf("reading watchdog0/%s in the guest (is i6300esb loaded?): exit %d: %s", attr, code, out)
		}
		return strings.TrimSpace(out)
	}
	if id := sysfs("identity"); !strings.Contains(id, "ESB") {
		t.Fatalf("watchdog0 is %q, want QEMU's i6300esb", id)
	}
	if st := sysfs("state"); st != "active" {
		t.Fatalf("watchdog0 state %q after ipcamd started, want active: ipcamd did not open /dev/watchdog (config watchdog.device)", st)
	}
	if to := sysfs("timeout"); to != strconv.Itoa(int(watchdogTimeout.Seconds())) {
		t.Errorf("watchdog0 timeout %s s, want %v (WDIOC_SETTIMEOUT from config watchdog.timeout)", to, watchdogTimeout)
	}
	armed := time.Now()

	// Healthy: no reset for well over two timeouts.
	healthy := 2*watchdogTimeout + 3*time.Second
	select {
	case <-b.exited:
		t.Fatalf("the board reset %v after the watchdog was armed, while ipcamd was streaming (it must keep feeding it)",
			time.Since(armed).Round(time.Millisecond))
	case <-time.After(healthy):
	}
	decode(t, rtspURL, 15)
	if st := sysfs("state"); st != "active" {
		t.Fatalf("watchdog0 state %q while streaming, want active", st)
	}
	if con := b.Console(); strings.Contains(con, "run ipcamd: exited") {
		t.Fatalf("ipcamd exited before the stall:\n%s", lastLines(con, 5))
	}

	// Stall: unplug the camera for good.
	stall := time.Now()
	line := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/unplug?dev=/dev/video0&module=vivid&timeout=5s", b.InitPort))
	t.Logf("healthy for %v; stall: %s", stall.Sub(armed).Round(time.Millisecond), strings.TrimSpace(line))
	limit := watchdogTimeout + 8*time.Second
	select {
	case <-b.exited:
	case <-time.After(limit + 10*time.Second):
		t.Fatalf("no watchdog reset %v after the camera was unplugged (timeout %v): ipcamd keeps feeding the watchdog without frames",
			time.Since(stall).Round(time.Millisecond), watchdogTimeout)
	}
	reset := time.Since(stall)
	con := b.Console()
	after := con
	if i := strings.LastIndex(con, "unplug"); i >= 0 {
		after = con[i:]
	}
	if strings.Contains(after, "run ipcamd: exited") {
		t.Errorf("ipcamd exited after the unplug instead of retrying; the reset came from its unclean close:\n%s", lastLines(con, 8))
	}
	for _, bad := range []string{"Kernel panic", "LAB-POWEROFF"} {
		if strings.Contains(con, bad) {
			t.Fatalf("QEMU exited by %q, not by a watchdog reset:\n%s", bad, lastLines(con, 8))
		}
	}
	if reset > limit {
		t.Errorf("watchdog reset %v after the stall, want ≤ %v (timeout %v + the pipeline's health window)", reset.Round(time.Millisecond), limit, watchdogTimeout)
	}
	t.Logf("watchdog reset %v after the stall (timeout %v)", reset.Round(time.Millisecond), watchdogTimeout)
	addTiming("%s: healthy %v with no reset, stall → watchdog reset %v (timeout %v)", t.Name(),
		stall.Sub(armed).Round(time.Millisecond), reset.Round(time.Millisecond), watchdogTimeout)
}
