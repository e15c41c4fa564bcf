package lab

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/lab/internal/image"
)

// agentPath is where the test variant of the image runs the lab's init in
// agent mode (HTTP on 8081 with /exec), from its inittab. The image that
// `make image-qemu` builds has no agent.
const agentPath = "/usr/libexec/lab-agent"

// firstBootRE is the line ipcamd prints once, when it creates the admin
// user on first boot (config auth.generate_admin with no users).
var firstBootRE = regexp.MustCompile(`ipcamd: first boot: user admin, password (\S+)`)

// buildrootDir is the Buildroot external tree whose S99ipcamd and overlays
// the image takes; IPCAMD_LAB_BUILDROOT overrides it (e.g. another
// checkout's).
func buildrootDir() string {
	if d := os.Getenv("IPCAMD_LAB_BUILDROOT"); d != "" {
		return d
	}
	return filepath.Join(rootDir, "buildroot")
}

// buildImage builds the image-qemu test variant into dir.
func buildImage(t *testing.T, dir string) *image.Result {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("lab setup failed: %v", setupErr)
	}
	start := time.Now()
	res, err := image.Build(image.Options{
		Kernel:        filepath.Join(cacheDir, "kroot", "boot", "vmlinuz-"+kernelVersion),
		ModulesDir:    filepath.Join(cacheDir, "kroot", "lib", "modules", kernelVersion),
		KernelVersion: kernelVersion,
		Busybox:       filepath.Join(cacheDir, "busybox", "root", "bin", "busybox"),
		Ipcamd:        ipcamd,
		Buildroot:     buildrootDir(),
		Board:         "qemu_aarch64_virt",
		Extra:         map[string]string{agentPath: initBin},
		ExtraInittab:  []string{"::respawn:" + agentPath + " agent"},
	}, dir)
	if err != nil {
		t.Fatalf("building the image: %v", err)
	}
	t.Logf("image built in %v: %d files, overlays %v", time.Since(start).Round(time.Millisecond), res.Files, res.Overlays)
	return res
}

// bootImage boots the image with the persistent disk dataImg and waits for
// the agent.
func bootImage(t *testing.T, res *image.Result, dataImg string) *Board {
	t.Helper()
	for attempt := 1; ; attempt++ {
		b := startBoard(t, image.QEMUArgs(res.Kernel, res.Rootfs, dataImg))
		line, err := b.waitLine("LAB-AGENT READY", 90*time.Second)
		if err != nil {
			if strings.Contains(b.Console(), "host forwarding rule") && attempt < 3 {
				continue
			}
			t.Fatalf("%v (the image's init did not get to its inittab's respawn lines)", err)
		}
		b.Ready = time.Now()
		t.Logf("QEMU start → agent ready: %v (guest %s)", b.Ready.Sub(b.Start).Round(time.Millisecond), line)
		return b
	}
}

// Exec runs a shell command in the guest through the image's agent and
// returns its output and exit status.
func (b *Board) Exec(cmd string, timeout time.Duration) (string, int) {
	b.t.Helper()
	q := url.Values{"cmd": {cmd}, "timeout": {timeout.String()}}
	c := &http.Client{Timeout: timeout + 10*time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/exec?%s", b.InitPort, q.Encode()))
	if err != nil {
		b.t.Fatalf("guest exec %q: %v", cmd, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	code, err := strconv.Atoi(resp.Header.Get("X-Exit-Code"))
	if resp.StatusCode != http.StatusOK || err != nil {
		b.t.Fatalf("guest exec %q: %s %s", cmd, resp.Status, out)
	}
	return string(out), code
}

// mustExec is Exec that fails the test unless the command exits 0.
func (b *Board) mustExec(cmd string, timeout time.Duration) string {
	b.t.Helper()
	out, code := b.Exec(cmd, timeout)
	if code != 0 {
		b.t.Fatalf("guest: %q exited %d:\n%s", cmd, code, out)
	}
	return out
}

// TestImageQemu builds the image-qemu firmware image (plus the lab agent),
// boots it, reads the admin password that first boot prints, and checks
// RTSP with and without credentials, ONVIF GetDeviceInformation with HTTP
// Digest, and S99ipcamd stop, start and restart. A second boot on the same
// data disk must not print a new password and must take the old one.
func TestImageQemu(t *testing.T) {
	for _, tool := range []string{"ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required on the host: %v", tool, err)
		}
	}
	dir := t.TempDir()
	res := buildImage(t, dir)
	dataImg := filepath.Join(dir, "data.img")
	if err := os.WriteFile(dataImg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(dataImg, image.DataImageSize); err != nil {
		t.Fatal(err)
	}
	var password string
	ok := t.Run("first_boot", func(t *testing.T) {
		start := time.Now()
		b := bootImage(t, res, dataImg)
		password = waitPassword(t, b)
		rtspURL := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
		authURL := rtspURLWith(b, password)
		waitRTSPUp(t, b, 30*time.Second)
		up := time.Since(start)

		if st := rtspDescribeStatus(t, b, rtspURL); st != 401 {
			t.Errorf("RTSP DESCRIBE without credentials: status %d, want 401", st)
		}
		decode(t, authURL, 30)
		firstFrames := time.Since(start)
		onvifDeviceInfo(t, b, password)
		t.Logf("QEMU start → RTSP up %v, → 30 frames decoded with the password %v", up.Round(time.Millisecond), firstFrames.Round(time.Millisecond))
		addTiming("%s: QEMU start → RTSP up %v, → 30 frames with credentials %v", t.Name(), up.Round(time.Millisecond), firstFrames.Round(time.Millisecond))

		// The init script. ipcamd arms the board's watchdog (config
		// watchdog.device) and disarms it when it stops cleanly.
		wdState := func() string {
			return strings.TrimSpace(b.mustExec("cat /sys/class/watchdog/watchdog0/state", 5*time.Second))
		}
		if st := wdState(); st != "active" {
			t.Errorf("watchdog0 is %q while ipcamd runs, want active (config watchdog.device /dev/watchdog)", st)
		}
		t0 := time.Now()
		b.mustExec("/etc/init.d/S99ipcamd stop", 20*time.Second)
		if out, code := b.Exec("pidof ipcamd", 5*time.Second); code == 0 {
			t.Fatalf("ipcamd still runs after S99ipcamd stop: pid %s", strings.TrimSpace(out))
		}
		waitRTSPDown(t, b, 10*time.Second)
		t.Logf("S99ipcamd stop: RTSP closed after %v", time.Since(t0).Round(time.Millisecond))
		if st := wdState(); st != "inactive" {
			t.Errorf("watchdog0 is %q after S99ipcamd stop, want inactive: a clean stop must disarm it (magic 'V')", st)
		}

		t0 = time.Now()
		b.mustExec("/etc/init.d/S99ipcamd start", 20*time.Second)
		waitRTSPUp(t, b, 30*time.Second)
		t.Logf("S99ipcamd start: RTSP up after %v", time.Since(t0).Round(time.Millisecond))
		decode(t, authURL, 15)
		pid1 := strings.TrimSpace(b.mustExec("pidof ipcamd", 5*time.Second))

		t0 = time.Now()
		b.mustExec("/etc/init.d/S99ipcamd restart", 30*time.Second)
		waitRTSPUp(t, b, 30*time.Second)
		pid2 := strings.TrimSpace(b.mustExec("pidof ipcamd", 5*time.Second))
		if pid1 == pid2 || strings.Contains(pid2, " ") {
			t.Errorf("S99ipcamd restart: ipcamd pid %q before, %q after; want one new process", pid1, pid2)
		}
		t.Logf("S99ipcamd restart: RTSP up after %v", time.Since(t0).Round(time.Millisecond))
		decode(t, authURL, 15)
		if n := len(firstBootRE.FindAllString(b.Console(), -1)); n != 1 {
			t.Errorf("the first-boot password line appeared %d times on the console after stop/start/restart, want once", n)
		}
		// Every file that holds the password is 0600.
		quoted := "'" + strings.ReplaceAll(password, "'", `'\''`) + "'"
		out, _ := b.Exec("for f in $(grep -rlF -- "+quoted+" /var/lib/ipcamd); do stat -c '%a %n' \"$f\"; done", 5*time.Second)
		if lines := strings.Fields(out); len(lines) == 0 {
			t.Errorf("no file under /var/lib/ipcamd holds the first-boot password")
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l != "" && !strings.HasPrefix(l, "600 ") {
				t.Errorf("a file with the password is not 0600: %s", l)
			}
		}
		if out, code := b.Exec("grep -F 'first boot: user admin' /var/log/messages", 5*time.Second); code != 0 {
			t.Errorf("the first-boot line is not in /var/log/messages (syslogd, S99ipcamd's logger): exit %d: %s", code, strings.TrimSpace(out))
		}

		// A clean power-off (rcK stops ipcamd, the data disk is unmounted).
		// The agent may be killed before it answers: ignore the reply.
		c := &http.Client{Timeout: 10 * time.Second}
		if resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/exec?cmd=poweroff", b.InitPort)); err == nil {
			resp.Body.Close()
		}
		select {
		case <-b.exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("QEMU still running 30 s after poweroff in the guest")
		}
		if !strings.Contains(b.Console(), "Stopping ipcamd") {
			t.Errorf("poweroff did not run S99ipcamd stop (no \"Stopping ipcamd\" on the console)")
		}
	})
	if !ok {
		t.FailNow()
	}
	t.Run("second_boot", func(t *testing.T) {
		start := time.Now()
		b := bootImage(t, res, dataImg)
		waitRTSPUp(t, b, 30*time.Second)
		authURL := rtspURLWith(b, password)
		decode(t, authURL, 15)
		if con := b.Console(); !strings.Contains(con, "Mounting data: OK") {
			t.Errorf("second boot did not mount the data disk as it was (want \"Mounting data: OK\" on the console)")
		}
		if firstBootRE.MatchString(b.Console()) {
			t.Errorf("second boot on the same data disk printed a first-boot password again: %s", firstBootRE.FindString(b.Console()))
		}
		onvifDeviceInfo(t, b, password)
		addTiming("%s: QEMU start → 15 frames with the first boot's password %v", t.Name(), time.Since(start).Round(time.Millisecond))
	})
}

// rtspURLWith is the board's main stream URL with admin's credentials.
func rtspURLWith(b *Board, password string) string {
	u := url.URL{Scheme: "rtsp", User: url.UserPassword("admin", password), Host: fmt.Sprintf("127.0.0.1:%d", b.RTSPPort), Path: "/main"}
	return u.String()
}

// waitPassword waits for ipcamd's first-boot line on the console.
func waitPassword(t *testing.T, b *Board) string {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if m := firstBootRE.FindStringSubmatch(b.Console()); m != nil {
			return m[1]
		}
		select {
		case <-b.exited:
			t.Fatalf("QEMU exited before ipcamd printed its first-boot password")
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Say where it went instead, if anywhere.
	syslog, _ := b.Exec("grep -i 'first boot' /var/log/messages; ps; cat /etc/ipcamd/ipcamd.yaml", 5*time.Second)
	t.Fatalf("no %q line on the console within 45 s: ipcamd must print it on stdout at first boot (config "+
		"auth.generate_admin, no users) and S99ipcamd must let it reach the console.\nguest syslog/ps/config:\n%s",
		"ipcamd: first boot: user admin, password …", syslog)
	return ""
}

// rtspResponse sends one RTSP request and returns the status line ("" if
// the connection closed without an answer).
func rtspResponse(addr, req string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// waitRTSPUp waits until ipcamd answers RTSP OPTIONS (which needs no
// credentials) on the board's forwarded port.
func waitRTSPUp(t *testing.T, b *Board, timeout time.Duration) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", b.RTSPPort)
	req := fmt.Sprintf("OPTIONS rtsp://%s/main RTSP/1.0\r\nCSeq: 1\r\n\r\n", addr)
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			t.Fatalf("QEMU exited while waiting for RTSP")
		default:
		}
		line, err := rtspResponse(addr, req)
		if strings.HasPrefix(line, "RTSP/1.0 200") {
			return
		}
		last = fmt.Sprintf("%q %v", line, err)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ipcamd did not answer RTSP OPTIONS on %s within %v (last: %s)", addr, timeout, last)
}

// waitRTSPDown waits until RTSP OPTIONS gets no answer. QEMU's hostfwd
// accepts the connection anyway and closes it when the guest refuses it.
func waitRTSPDown(t *testing.T, b *Board, timeout time.Duration) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", b.RTSPPort)
	req := fmt.Sprintf("OPTIONS rtsp://%s/main RTSP/1.0\r\nCSeq: 1\r\n\r\n", addr)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if line, _ := rtspResponse(addr, req); !strings.HasPrefix(line, "RTSP/") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("RTSP on %s still answers %v after ipcamd was stopped", addr, timeout)
}

// rtspDescribeStatus sends DESCRIBE without credentials and returns the
// status code.
func rtspDescribeStatus(t *testing.T, b *Board, u string) int {
	t.Helper()
	line, err := rtspResponse(fmt.Sprintf("127.0.0.1:%d", b.RTSPPort),
		fmt.Sprintf("DESCRIBE %s RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n", u))
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("RTSP DESCRIBE %s: no status line (%q, %v)", u, line, err)
	}
	code, _ := strconv.Atoi(f[1])
	return code
}

// decode has ffmpeg decode n frames from u over RTSP/TCP, with no error.
func decode(t *testing.T, u string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror",
		"-rtsp_transport", "tcp", "-i", u, "-map", "0:v:0", "-frames:v", strconv.Itoa(n), "-f", "null", "-").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg decoding %d frames from %s: %v\n%s", n, u, err, out)
	}
}

// onvifDeviceInfo calls GetDeviceInformation with HTTP Digest and checks
// the manufacturer; the first, unauthenticated attempt must get 401.
func onvifDeviceInfo(t *testing.T, b *Board, password string) {
	t.Helper()
	const body = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>` +
		`<GetDeviceInformation xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`
	u := fmt.Sprintf("http://127.0.0.1:%d/onvif/device_service", b.HTTPPort)
	c := &http.Client{Timeout: 15 * time.Second}
	post := func(authz string) (*http.Response, string) {
		req, err := http.NewRequest("POST", u, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/soap+xml; charset=utf-8")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("ONVIF POST %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, text := post("")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ONVIF GetDeviceInformation without credentials: %s, want 401:\n%s", resp.Status, text)
	}
	authz, err := digestAuthorization(resp.Header.Values("WWW-Authenticate"), "POST", "/onvif/device_service", "admin", password)
	if err != nil {
		t.Fatalf("ONVIF 401: %v", err)
	}
	resp, text = post(authz)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, "Manufacturer>ipcamd</") {
		t.Fatalf("ONVIF GetDeviceInformation with Digest admin:<password>: %s, want 200 with Manufacturer ipcamd:\n%s", resp.Status, text)
	}
}

// digestAuthorization answers an RFC 7616 Digest challenge (MD5 or
// SHA-256, qop=auth) from the WWW-Authenticate headers.
func digestAuthorization(challenges []string, method, uri, user, password string) (string, error) {
	for _, ch := range challenges {
		scheme, rest, _ := strings.Cut(ch, " ")
		if !strings.EqualFold(scheme, "Digest") {
			continue
		}
		p := map[string]string{}
		for _, kv := range splitParams(rest) {
			k, v, _ := strings.Cut(kv, "=")
			p[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
		}
		var h func(string) string
		switch alg := strings.ToUpper(p["algorithm"]); alg {
		case "", "MD5":
			h = func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
		case "SHA-256":
			h = func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
		default:
			continue
		}
		ha1 := h(user + ":" + p["realm"] + ":" + password)
		ha2 := h(method + ":" + uri)
		cnonce, nc := "0a4f113b", "00000001"
		var resp, qop string
		if strings.Contains(p["qop"], "auth") {
			qop = "auth"
			resp = h(ha1 + ":" + p["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
		} else {
			resp = h(ha1 + ":" + p["nonce"] + ":" + ha2)
		}
		a := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s"`, user, p["realm"], p["nonce"], uri, resp)
		if p["algorithm"] != "" {
			a += ", algorithm=" + p["algorithm"]
		}
		if p["opaque"] != "" {
			a += fmt.Sprintf(`, opaque="%s"`, p["opaque"])
		}
		if qop != "" {
			a += fmt.Sprintf(", qop=%s, nc=%s, cnonce=\"%s\"", qop, nc, cnonce)
		}
		return a, nil
	}
	return "", fmt.Errorf("no usable Digest challenge in %q", challenges)
}

// splitParams splits auth-params on commas outside quotes.
func splitParams(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}
