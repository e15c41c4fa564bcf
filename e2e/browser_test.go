package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The browser tests drive the web page (web/static) in Debian's chromium
// with npm playwright-core, through e2e/testdata/web/browser.mjs.

const (
	webTestdata  = "testdata/web"
	browserAdmin = "admin"
	browserPass  = "browser-admin-pw"
	// newBitrate is what the settings form sets the main stream to, in kbit/s.
	newBitrate = 100
)

// requireBrowser fails the test unless node, chromium and playwright-core
// are there.
func requireBrowser(t *testing.T) {
	t.Helper()
	requireTools(t, "node", "chromium")
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("Debian's chromium is not at /usr/bin/chromium: %v; %s", err, installHint)
	}
	pkg := filepath.Join(webTestdata, "node_modules", "playwright-core", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		t.Fatalf("npm playwright-core is not installed in e2e/%s (%v); %s", webTestdata, err, installHint)
	}
}

// browserResult is the JSON line browser.mjs prints.
type browserResult struct {
	OK               bool   `json:"ok"`
	Error            string `json:"error"`
	Check            string `json:"check"`
	CSP              string `json:"csp"`
	Role             string `json:"role"`
	LiveSize         string `json:"live_size"`
	LiveMode         string `json:"live_mode"`
	LiveChanges      bool   `json:"live_changes"`
	SettingsMessage  string `json:"settings_message"`
	SavedBitrate     int    `json:"saved_bitrate"`
	CSRFStatus       int    `json:"csrf_status"`
	CSRFError        string `json:"csrf_error"`
	Screenshot       string `json:"screenshot"`
	PhoneScrollWidth int    `json:"phone_scroll_width"`
	LoginError       string `json:"login_error"`
	AppVisible       bool   `json:"app_visible"`
	BitrateDisabled  bool   `json:"bitrate_disabled"`
	SaveVisible      bool   `json:"save_visible"`
	ViewerPatch      int    `json:"viewer_patch_status"`
}

// runBrowser runs browser.mjs and returns its result; it fails the test
// when the script fails.
func runBrowser(t *testing.T, srv *server, name, password, outDir string, flags ...string) browserResult {
	t.Helper()
	args := append([]string{"browser.mjs", srv.HTTP, name, password, outDir}, flags...)
	r := runTool(t, 120*time.Second, webTestdata, "node", args...)
	t.Logf("$ %s (%v)", r.Cmdline, r.Elapsed.Round(time.Millisecond))
	var res browserResult
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("browser.mjs printed no result (%v):\n%s", err, r)
	}
	t.Logf("browser.mjs: %s", lines[len(lines)-1])
	if r.ExitCode != 0 || !res.OK {
		t.Fatalf("browser.mjs --check=%s failed: %s (screenshot of the failure: %s)\n%s",
			res.Check, res.Error, filepath.Join(outDir, "failure.png"), r)
	}
	return res
}

// measuredBitrate records about 4 s of url without decoding and returns
// the data rate ffprobe finds in the recording's packets, in bit/s. (ffmpeg
// ignores the SDP's b=AS for RTSP input and reports bit_rate N/A, so the
// rate is measured.)
func measuredBitrate(t *testing.T, url string) float64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rec.mkv")
	r := runTool(t, 30*time.Second, "", "ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url,
		"-t", "4", "-c", "copy", "-an", "-y", out)
	if r.ExitCode != 0 {
		t.Fatalf("ffmpeg recording failed:\n%s", r)
	}
	p := runTool(t, 30*time.Second, "", "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=size,pts_time", "-of", "csv=p=0", out)
	if p.ExitCode != 0 {
		t.Fatalf("ffprobe of the recording failed:\n%s", p)
	}
	var bytes, first, last float64
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(p.Stdout), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		pts, err1 := strconv.ParseFloat(f[0], 64)
		size, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		if n == 0 || pts < first {
			first = pts
		}
		if pts > last {
			last = pts
		}
		bytes += size
		n++
	}
	if n < 10 || last-first < 1 {
		t.Fatalf("recording too short: %d packets over %.2f s\n%s", n, last-first, p)
	}
	// n frames span n-1 frame intervals; count the last one too.
	dur := (last - first) * float64(n) / float64(n-1)
	return bytes * 8 / dur
}

// TestBrowser logs in through the page, sees the live view move, sets the
// main bitrate in the settings form and checks it with ffprobe and a
// recording, checks that a write without the CSRF token is refused and that
// the page fits a phone, and keeps a screenshot (IPCAMD_SCREENSHOT_DIR).
func TestBrowser(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireBrowser(t)
	requireTools(t, "ffprobe", "ffmpeg")
	srv := startServer(t, serverOptions{Source: "default", Users: []user{{browserAdmin, browserPass, "admin"}}})
	rtspURL := strings.Replace(srv.URL, "rtsp://", "rtsp://"+browserAdmin+":"+browserPass+"@", 1)

	// The default bitrate, measured.
	before := measuredBitrate(t, rtspURL)
	t.Logf("main stream before: %.0f bit/s measured over 4 s", before)
	if before < 1.5*newBitrate*1000 { // the test pattern runs at about 240 kbit/s
		t.Fatalf("the stream already runs at %.0f bit/s, too close to the %d kbit/s the test sets", before, newBitrate)
	}

	out := t.TempDir()
	res := runBrowser(t, srv, browserAdmin, browserPass, out, "--check=admin", fmt.Sprintf("--bitrate=%d", newBitrate))
	if !strings.Contains(res.CSP, "script-src 'self'") {
		t.Errorf("page served with Content-Security-Policy %q", res.CSP)
	}
	if res.LiveMode != "mjpeg" {
		t.Errorf("live view in %s mode, want the MJPEG stream", res.LiveMode)
	}
	if res.CSRFStatus != 403 {
		t.Errorf("PATCH without X-CSRF-Token: %d, want 403", res.CSRFStatus)
	}
	if res.PhoneScrollWidth > 390 {
		t.Errorf("phone layout %d px wide, want <= 390", res.PhoneScrollWidth)
	}

	rate := measuredBitrate(t, rtspURL)
	t.Logf("main stream after: %.0f bit/s measured over 4 s (%.0f before)", rate, before)
	if rate > 0.6*before || rate > 2*newBitrate*1000 {
		t.Errorf("measured %.0f bit/s after setting %d kbit/s; want well below the %.0f bit/s before, and near the new figure",
			rate, newBitrate, before)
	}

	if dir := os.Getenv("IPCAMD_SCREENSHOT_DIR"); dir != "" {
		b, err := os.ReadFile(res.Screenshot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "web.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved as %s", filepath.Join(dir, "web.png"))
	} else {
		t.Logf("screenshot in %s (set IPCAMD_SCREENSHOT_DIR to keep it)", res.Screenshot)
	}
}

// TestBrowserLoginErrorAndViewer: the login form shows the API's error for a
// wrong password, and a viewer sees the settings read only.
func TestBrowserLoginErrorAndViewer(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireBrowser(t)
	srv := startServer(t, serverOptions{Source: "default", Users: []user{
		{browserAdmin, browserPass, "admin"}, {"watcher", "watcher-pw-1", "viewer"},
	}})
	out := t.TempDir()
	res := runBrowser(t, srv, browserAdmin, "not-the-password", out, "--check=wrong-password")
	if !strings.Contains(res.LoginError, "wrong user name or password") {
		t.Errorf("login form shows %q for a wrong password, want the API's \"wrong user name or password\"", res.LoginError)
	}
	res = runBrowser(t, srv, "watcher", "watcher-pw-1", out, "--check=viewer")
	if res.Role != "viewer" || !res.BitrateDisabled || res.SaveVisible || res.ViewerPatch != 403 {
		t.Errorf("viewer: role %q, bitrate disabled %v, save visible %v, PATCH %d; want viewer, true, false, 403",
			res.Role, res.BitrateDisabled, res.SaveVisible, res.ViewerPatch)
	}
}

// TestWebPageFiles checks web/static without a browser: under 150 KB in
// all, and nothing the Content-Security-Policy would block or that loads
// from elsewhere.
func TestWebPageFiles(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "web", "static")
	var total int64
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`)
	inline := regexp.MustCompile(`(?i)<style|\sstyle\s*=|<script(\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		total += int64(len(b))
		if strings.HasSuffix(path, ".html") {
			if m := external.Find(b); m != nil {
				t.Errorf("%s loads from elsewhere: %s", path, m)
			}
			if m := inline.Find(b); m != nil {
				t.Errorf("%s has inline style or script, which the CSP blocks: %s", path, m)
			}
		}
		if strings.HasSuffix(path, ".css") && regexp.MustCompile(`@import|url\(\s*["']?(https?:)?//`).Match(b) {
			t.Errorf("%s loads from elsewhere", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("web/static: %d bytes", total)
	if total > 150*1024 {
		t.Errorf("web/static is %d bytes, want under 150 KB", total)
	}
}
