package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// apiClient is a browser-like client of ipcamd's JSON API: a session
// cookie and the CSRF token that goes with it.
type apiClient struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func newAPIClient(t *testing.T, base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	return &apiClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 15 * time.Second}}
}

// do sends a JSON request and returns the status and the body.
func (c *apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (c *apiClient) login(user, password string) {
	c.t.Helper()
	code, b := c.do("POST", "/api/v1/login", map[string]string{"user": user, "password": password})
	var s struct{ CSRF string }
	if code != 200 || json.Unmarshal(b, &s) != nil || s.CSRF == "" {
		c.t.Fatalf("login as %s: %d %s", user, code, b)
	}
	c.csrf = s.CSRF
}

// rtspPlays reports whether ffprobe can read the stream at url, and its
// output when it cannot.
func rtspPlays(t *testing.T, url string) (bool, string) {
	r := runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name", "-of", "csv=p=0", url)
	return strings.TrimSpace(r.Stdout) == "h264", r.String()
}

// TestWebAPIUsers manages users through the JSON API, as the web page
// does, and checks that each change holds for RTSP at once: a new user
// can play, a changed password replaces the old one, a removed user is
// refused. A user added before a restart (POST /api/v1/reboot) can still
// play after it, from state_dir/users.yaml.
func TestWebAPIUsers(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffprobe")
	srv := startServer(t, serverOptions{Source: "default", Users: []user{{"admin", "admin-secret-1", "admin"}}})
	c := newAPIClient(t, srv.HTTP)
	c.login("admin", "admin-secret-1")
	as := func(name, pw string) string { return withCreds(srv.URL, name, pw) }

	if code, b := c.do("POST", "/api/v1/users", map[string]string{"name": "nvr", "password": "nvr-pass-1", "role": "viewer"}); code != 201 {
		t.Fatalf("adding a user: %d %s", code, b)
	}
	if ok, out := rtspPlays(t, as("nvr", "nvr-pass-1")); !ok {
		t.Fatalf("the new user cannot play:\n%s", out)
	}
	if code, b := c.do("PATCH", "/api/v1/users/nvr", map[string]string{"password": "nvr-pass-2"}); code != 200 {
		t.Fatalf("changing the password: %d %s", code, b)
	}
	if ok, _ := rtspPlays(t, as("nvr", "nvr-pass-1")); ok {
		t.Fatal("the old password still plays after it was changed")
	}
	if ok, out := rtspPlays(t, as("nvr", "nvr-pass-2")); !ok {
		t.Fatalf("the new password cannot play:\n%s", out)
	}
	if code, b := c.do("DELETE", "/api/v1/users/nvr", nil); code != 204 {
		t.Fatalf("removing the user: %d %s", code, b)
	}
	if ok, _ := rtspPlays(t, as("nvr", "nvr-pass-2")); ok {
		t.Fatal("a removed user still plays")
	}
	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		msg          string
	}{
		{"DELETE", "/api/v1/users/admin", nil, 409, "at least one admin"},
		{"POST", "/api/v1/users", map[string]string{"name": "x", "password": "short", "role": "viewer"}, 400, "at least 8 characters"},
		{"PATCH", "/api/v1/settings", map[string]any{"main": map[string]int{"bitrate": 10}}, 400, "below the minimum"},
		{"PATCH", "/api/v1/settings", map[string]any{"main": map[string]int{"width": 999, "height": 999}}, 400, "not among the available ones"},
		{"PATCH", "/api/v1/settings", map[string]string{"day_night": "dusk"}, 400, "is not auto, day or night"},
		{"POST", "/api/v1/time", map[string]string{"utc": "noon"}, 400, "RFC 3339"},
	} {
		code, b := c.do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.method, tc.path, code, b, tc.code, tc.msg)
		}
	}

	// A user survives a restart.
	if code, b := c.do("POST", "/api/v1/users", map[string]string{"name": "keeper", "password": "keeper-pass", "role": "viewer"}); code != 201 {
		t.Fatalf("adding a user: %d %s", code, b)
	}
	if code, b := c.do("POST", "/api/v1/reboot", nil); code != 202 {
		t.Fatalf("reboot: %d %s", code, b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(srv.log(), "ipcamd started") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	var ok bool
	var out string
	for time.Now().Before(deadline) {
		if ok, out = rtspPlays(t, as("keeper", "keeper-pass")); ok {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("the user added on the web page cannot play after a restart:\n%s\n--- log ---\n%s", out, tail(srv.log(), 20))
	}
	if !strings.Contains(srv.log(), "users from the state directory override the configuration") {
		t.Errorf("the restart did not load users.yaml:\n%s", tail(srv.log(), 20))
	}
	// The restart ended the browser sessions.
	if code, _ := c.do("GET", "/api/v1/status", nil); code != 401 {
		t.Errorf("the session outlived the restart: %d", code)
	}

	// A factory reset empties state_dir: the users of the web page are
	// gone, the config's admin remains.
	c.login("admin", "admin-secret-1")
	if code, b := c.do("POST", "/api/v1/factory-reset", nil); code != 202 {
		t.Fatalf("factory reset: %d %s", code, b)
	}
	deadline = time.Now().Add(20 * time.Second)
	for strings.Count(srv.log(), "ipcamd started") < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	ok = false
	for time.Now().Before(deadline) {
		if ok, out = rtspPlays(t, as("admin", "admin-secret-1")); ok {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !ok {
		t.Fatalf("the config's admin cannot play after a factory reset:\n%s\n--- log ---\n%s", out, tail(srv.log(), 20))
	}
	if ok, _ := rtspPlays(t, as("keeper", "keeper-pass")); ok {
		t.Fatal("a user added on the web page still plays after a factory reset")
	}
}

// TestMetricsAuthAndSharedLoginLimit: with metrics.auth /metrics needs a
// user (curl --digest, as a scraper would); and failed logins on the web
// page count towards the same limit as RTSP's, so after ten of them RTSP
// refuses even the right password from that address (403).
func TestMetricsAuthAndSharedLoginLimit(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffprobe", "curl")
	srv := startServer(t, serverOptions{Users: []user{{"scraper", "scraper-pass", "viewer"}}, Config: "metrics:\n  auth: true\n"})
	res, err := http.Get(srv.HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("/metrics without credentials: %s, want 401", res.Status)
	}
	r := runTool(t, 10*time.Second, t.TempDir(), "curl", "-s", "--digest", "-u", "scraper:scraper-pass", srv.HTTP+"/metrics")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "ipcamd_uptime_seconds") {
		t.Fatalf("/metrics with Digest:\n%s", r)
	}

	c := newAPIClient(t, srv.HTTP)
	last := 0
	for range 11 {
		last, _ = c.do("POST", "/api/v1/login", map[string]string{"user": "scraper", "password": "guess"})
	}
	if last != 429 {
		t.Fatalf("the 11th failed login: %d, want 429", last)
	}
	if ok, out := rtspPlays(t, withCreds(srv.URL, "scraper", "scraper-pass")); ok || !strings.Contains(out, "403") {
		t.Fatalf("RTSP with the right password after 10 failed web logins: plays %v; want 403 Forbidden:\n%s", ok, out)
	}
}

// TestWebAPIUserWSSecurity adds an admin through the JSON API and drives
// ONVIF with it through zeep and a WS-Security PasswordDigest token, at
// once and without a restart: the page seals the password for
// WS-Security as `ipcamd passwd` does.
func TestWebAPIUserWSSecurity(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	wsdl := requireWSDLs(t)
	requireZeep(t)
	srv := startServer(t, serverOptions{Source: "default", Users: []user{{"admin", "admin-secret-1", "admin"}}})
	c := newAPIClient(t, srv.HTTP)
	c.login("admin", "admin-secret-1")
	if code, b := c.do("POST", "/api/v1/users", map[string]string{"name": "vms", "password": "vms pass 123", "role": "admin"}); code != 201 {
		t.Fatalf("adding a user: %d %s", code, b)
	}
	host, port := hostPort(t, srv.HTTP)
	r := runZeep(t, wsdl, host, port, "vms", "vms pass 123", "wsse")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "DONE") || !strings.Contains(r.Stdout, "resized sub 320x180") {
		t.Fatalf("zeep with WS-Security as a user added on the web page:\n%s\n--- log ---\n%s", r, tail(srv.log(), 20))
	}
	// The change ONVIF made shows in the page's settings.
	code, b := c.do("GET", "/api/v1/settings", nil)
	if code != 200 || !strings.Contains(string(b), `"sub":{"width":320,"height":180`) {
		t.Errorf("settings after ONVIF resized the sub stream: %d %s", code, b)
	}
}

// TestWebOverHTTPS: the page, its API and ONVIF are served over TLS too
// (http.tls_listen, with the rtsps:// certificate), and a login there sets
// a Secure cookie, so the password and the session never cross the
// network in clear.
func TestWebOverHTTPS(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{Users: []user{{"admin", "admin-secret-1", "admin"}}})
	c := newAPIClient(t, srv.HTTPS)
	c.hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	code, b := c.do("POST", "/api/v1/login", map[string]string{"user": "admin", "password": "admin-secret-1"})
	if code != 200 {
		t.Fatalf("login over HTTPS: %d %s", code, b)
	}
	u, _ := url.Parse(srv.HTTPS)
	var secure bool
	req, _ := http.NewRequest("POST", srv.HTTPS+"/api/v1/login", strings.NewReader(`{"user":"admin","password":"admin-secret-1"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	for _, ck := range res.Cookies() {
		if ck.Name == "ipcamd_session" {
			secure = ck.Secure && ck.HttpOnly && ck.SameSite == http.SameSiteStrictMode
		}
	}
	if !secure {
		t.Errorf("the session cookie over HTTPS lacks Secure, HttpOnly or SameSite=Strict: %v", res.Header.Values("Set-Cookie"))
	}
	if len(c.hc.Jar.Cookies(u)) == 0 {
		t.Fatal("no session cookie kept")
	}
	if code, b := c.do("GET", "/api/v1/status", nil); code != 200 || !strings.Contains(string(b), `"streams"`) {
		t.Fatalf("status over HTTPS: %d %s", code, b)
	}
	resp, err := c.hc.Post(srv.HTTPS+"/onvif/device_service", "application/soap+xml",
		strings.NewReader(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "GetSystemDateAndTimeResponse") {
		t.Fatalf("ONVIF over HTTPS: %s %s", resp.Status, body)
	}
}
