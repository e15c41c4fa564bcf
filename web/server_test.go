package web

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/auth"
)

// fakeCamera records what the server asks of it.
type fakeCamera struct {
	mu       sync.Mutex
	settings Settings
	applied  int
	clock    time.Time
	reboots  int
	resets   int
	noPic    bool
	pics     int
}

func newFakeCamera() *fakeCamera {
	return &fakeCamera{settings: Settings{
		Main:     StreamSettings{Width: 1280, Height: 720, FPS: 30, Bitrate: 2000000, GOP: 60},
		Sub:      &StreamSettings{Width: 640, Height: 360, FPS: 30, Bitrate: 500000, GOP: 60},
		DayNight: "auto",
		Time:     TimeSettings{NTPServers: []string{"pool.ntp.org"}},
		Options: Options{
			MainResolutions: []string{"1920x1080", "1280x720", "640x360"},
			SubResolutions:  []string{"640x360", "320x180"},
			MaxFPS:          30, MinBitrate: 64000, MaxBitrate: 16000000, MinGOP: 1, MaxGOP: 300,
			DayNightModes: []string{"auto", "day", "night"},
		},
	}}
}

func (c *fakeCamera) Status() Status { return Status{Version: "test", Source: "testsrc"} }
func (c *fakeCamera) Settings() Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.settings
	if s.Sub != nil {
		sub := *s.Sub
		s.Sub = &sub
	}
	return s
}
func (c *fakeCamera) ApplySettings(s Settings) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settings = s
	c.applied++
	return nil
}
func (c *fakeCamera) SetTime(t time.Time) error { c.mu.Lock(); c.clock = t; c.mu.Unlock(); return nil }
func (c *fakeCamera) JPEG(dst []byte, maxWidth int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noPic {
		return nil, ErrNoPicture
	}
	c.pics++
	return append(dst, 0xff, 0xd8, byte(c.pics), 0xff, 0xd9), nil
}
func (c *fakeCamera) Reboot() error       { c.mu.Lock(); c.reboots++; c.mu.Unlock(); return nil }
func (c *fakeCamera) FactoryReset() error { c.mu.Lock(); c.resets++; c.mu.Unlock(); return nil }

// fakeAccounts keeps the users, with their hashes, and hands every change
// to the verifier, as cmd/ipcamd does.
type fakeAccounts struct {
	v     *auth.Verifier
	mu    sync.Mutex
	users []auth.User
}

func (a *fakeAccounts) Users() []auth.User { return a.v.Users() }

func (a *fakeAccounts) commit(users []auth.User) error {
	if !slices.ContainsFunc(users, func(u auth.User) bool { return u.Role == auth.RoleAdmin }) {
		return ErrLastAdmin
	}
	if err := a.v.SetUsers(users); err != nil {
		return &FieldError{Field: "name", Msg: err.Error()}
	}
	a.users = users
	return nil
}

func (a *fakeAccounts) AddUser(name, password string, role auth.Role) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slices.ContainsFunc(a.users, func(u auth.User) bool { return u.Name == name }) {
		return ErrUserExists
	}
	h, err := auth.HashPassword(name, "", password)
	if err != nil {
		return &FieldError{Field: "name", Msg: err.Error()}
	}
	return a.commit(append(slices.Clone(a.users), auth.User{Name: name, Hash: h, Role: role}))
}

func (a *fakeAccounts) UpdateUser(name, password string, role *auth.Role) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	users := slices.Clone(a.users)
	i := slices.IndexFunc(users, func(u auth.User) bool { return u.Name == name })
	if i < 0 {
		return ErrNoUser
	}
	if role != nil {
		users[i].Role = *role
	}
	if password != "" {
		users[i].Hash, _ = auth.HashPassword(name, "", password)
	}
	return a.commit(users)
}

func (a *fakeAccounts) DeleteUser(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	users := slices.Clone(a.users)
	i := slices.IndexFunc(users, func(u auth.User) bool { return u.Name == name })
	if i < 0 {
		return ErrNoUser
	}
	return a.commit(slices.Delete(users, i, i+1))
}

type testEnv struct {
	t   *testing.T
	srv *Server
	cam *fakeCamera
	ts  *httptest.Server
}

func newTestEnv(t *testing.T, open bool) *testEnv {
	t.Helper()
	cam := newFakeCamera()
	var users []auth.User
	if !open {
		for _, u := range []struct {
			name, pw string
			role     auth.Role
		}{{"admin", "admin-pass", auth.RoleAdmin}, {"viewer", "viewer-pass", auth.RoleViewer}} {
			h, err := auth.HashPassword(u.name, "", u.pw)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, auth.User{Name: u.name, Hash: h, Role: u.role})
		}
	}
	v, err := auth.New(auth.Config{Users: users, AllowBasicWithoutTLS: true, MaxFailures: 4})
	if err != nil {
		t.Fatal(err)
	}
	acc := &fakeAccounts{v: v, users: users}
	srv := New(Config{Camera: cam, Accounts: acc, Verifier: v,
		MJPEGInterval: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testEnv{t: t, srv: srv, cam: cam, ts: ts}
}

// client is a browser-like client with a cookie jar of one cookie.
type client struct {
	e      *testEnv
	cookie *http.Cookie
	csrf   string
	basic  string // user:password for Authorization: Basic
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
	err  errorBody
}

func (c *client) do(method, path, body string, hdr ...string) reply {
	c.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.e.ts.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.basic != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.basic)))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := reply{code: res.StatusCode, hdr: res.Header, body: b}
	if res.StatusCode >= 400 {
		if err := json.Unmarshal(b, &r.err); err != nil || r.err.Error == "" {
			c.e.t.Fatalf("%s %s: %d with a body that is not a JSON error: %q", method, path, res.StatusCode, b)
		}
	}
	for _, ck := range res.Cookies() {
		if ck.Name == cookieName {
			if ck.MaxAge < 0 {
				c.cookie = nil
			} else {
				c.cookie = ck
			}
		}
	}
	return r
}

func (e *testEnv) login(user, pw string) *client {
	e.t.Helper()
	c := &client{e: e}
	r := c.do("POST", "/api/v1/login", `{"user":"`+user+`","password":"`+pw+`"}`)
	if r.code != 200 {
		e.t.Fatalf("login %s: %d %s", user, r.code, r.err.Error)
	}
	var s sessionBody
	json.Unmarshal(r.body, &s)
	c.csrf = s.CSRF
	return c
}

func TestLogin(t *testing.T) {
	e := newTestEnv(t, false)
	c := &client{e: e}
	r := c.do("POST", "/api/v1/login", `{"user":"admin","password":"admin-pass"}`)
	if r.code != 200 {
		t.Fatalf("login: %d %s", r.code, r.err.Error)
	}
	var s sessionBody
	if err := json.Unmarshal(r.body, &s); err != nil || s.User != "admin" || s.Role != "admin" || len(s.CSRF) < 32 || s.Open {
		t.Fatalf("session %s (%v)", r.body, err)
	}
	c.csrf = s.CSRF
	ck := c.cookie
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) < 32 {
		t.Fatalf("cookie %+v; want HttpOnly, SameSite=Strict, Path=/", ck)
	}
	if r := c.do("GET", "/api/v1/status", ""); r.code != 200 {
		t.Fatalf("status with the cookie: %d", r.code)
	}
	if r := c.do("POST", "/api/v1/logout", ""); r.code != 204 || c.cookie != nil {
		t.Fatalf("logout: %d, cookie %v", r.code, c.cookie)
	}
	c.cookie, c.csrf = ck, ""
	if r := c.do("GET", "/api/v1/status", ""); r.code != 401 {
		t.Fatalf("status with the cookie after logout: %d, want 401", r.code)
	}

	for _, tc := range []struct {
		name, body string
		code       int
		msg        string
	}{
		{"wrong password", `{"user":"admin","password":"nope"}`, 401, "wrong user name or password"},
		{"unknown user", `{"user":"root","password":"admin-pass"}`, 401, "wrong user name or password"},
		{"not JSON", `user=admin`, 400, "bad JSON body"},
		{"unknown field", `{"user":"admin","pass":"x"}`, 400, `unknown field "pass"`},
	} {
		r := (&client{e: e}).do("POST", "/api/v1/login", tc.body)
		if r.code != tc.code || !strings.Contains(r.err.Error, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.code, r.err.Error, tc.code, tc.msg)
		}
	}
	// The two wrong attempts above and two more reach the limit of 4.
	(&client{e: e}).do("POST", "/api/v1/login", `{"user":"admin","password":"nope"}`)
	(&client{e: e}).do("POST", "/api/v1/login", `{"user":"admin","password":"nope"}`)
	r = (&client{e: e}).do("POST", "/api/v1/login", `{"user":"admin","password":"admin-pass"}`)
	if r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("right password after 4 failures: %d (Retry-After %q), want 429", r.code, r.hdr.Get("Retry-After"))
	}
	if r := (&client{e: e, basic: "admin:admin-pass"}).do("GET", "/api/v1/status", ""); r.code != 429 {
		t.Fatalf("Basic after 4 login failures: %d, want 429: the limit is shared", r.code)
	}
}

func TestAuthentication(t *testing.T) {
	e := newTestEnv(t, false)
	r := (&client{e: e}).do("GET", "/api/v1/status", "")
	if r.code != 401 || len(r.hdr.Values("WWW-Authenticate")) == 0 {
		t.Fatalf("no credentials: %d, WWW-Authenticate %q", r.code, r.hdr.Values("WWW-Authenticate"))
	}
	r = (&client{e: e}).do("GET", "/api/v1/status", "", "Sec-Fetch-Mode", "cors")
	if r.code != 401 || len(r.hdr.Values("WWW-Authenticate")) != 0 {
		t.Fatalf("a browser's fetch: %d, WWW-Authenticate %q; want 401 without a challenge (no login pop-up)", r.code, r.hdr.Values("WWW-Authenticate"))
	}
	if r := (&client{e: e, basic: "viewer:viewer-pass"}).do("GET", "/api/v1/status", ""); r.code != 200 {
		t.Fatalf("Basic: %d", r.code)
	}
	if r := (&client{e: e, cookie: &http.Cookie{Name: cookieName, Value: "forged"}}).do("GET", "/api/v1/settings", ""); r.code != 401 {
		t.Fatalf("forged cookie: %d", r.code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t, false)
	for _, p := range []string{"/", "/api/v1/status", "/api/v1/nothing"} {
		r := (&client{e: e}).do("GET", p, "")
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "no-referrer",
		} {
			if got := r.hdr.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", p, k, got, want)
			}
		}
		if csp := r.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
	if r := (&client{e: e}).do("GET", "/api/v1/nothing", ""); r.code != 404 || !strings.Contains(r.err.Error, "no such endpoint") {
		t.Errorf("unknown endpoint: %d %q", r.code, r.err.Error)
	}
	if r := (&client{e: e}).do("DELETE", "/api/v1/settings", ""); r.code != 405 || r.hdr.Get("Allow") != "GET, PATCH" {
		t.Errorf("DELETE settings: %d, Allow %q; want 405 with GET, PATCH", r.code, r.hdr.Get("Allow"))
	}
}

func TestCSRF(t *testing.T) {
	e := newTestEnv(t, false)
	admin := e.login("admin", "admin-pass")
	patch := `{"main":{"bitrate":1000000}}`
	for _, tc := range []struct {
		name string
		c    *client
		hdr  []string
		code int
	}{
		{"cookie without token", &client{e: e, cookie: admin.cookie}, nil, 403},
		{"cookie with a wrong token", &client{e: e, cookie: admin.cookie, csrf: "x" + admin.csrf}, nil, 403},
		{"cookie with the token", admin, nil, 200},
		{"cookie, token, foreign Origin", admin, []string{"Origin", "http://evil.example"}, 403},
		{"Basic with JSON", &client{e: e, basic: "admin:admin-pass"}, nil, 200},
		{"Basic with a form body", &client{e: e, basic: "admin:admin-pass"}, []string{"Content-Type", "application/x-www-form-urlencoded"}, 403},
	} {
		r := tc.c.do("PATCH", "/api/v1/settings", patch, tc.hdr...)
		if r.code != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, r.code, r.err.Error, tc.code)
		}
		if tc.code == 403 && r.err.Error != "missing or wrong CSRF token" {
			t.Errorf("%s: error %q", tc.name, r.err.Error)
		}
	}
	if r := (&client{e: e, cookie: admin.cookie}).do("POST", "/api/v1/reboot", ""); r.code != 403 || e.cam.reboots != 0 {
		t.Fatalf("reboot without the token: %d, %d reboots", r.code, e.cam.reboots)
	}
}

func TestRoles(t *testing.T) {
	e := newTestEnv(t, false)
	v := e.login("viewer", "viewer-pass")
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/api/v1/settings", `{"day_night":"night"}`},
		{"POST", "/api/v1/reboot", ""},
		{"POST", "/api/v1/factory-reset", ""},
		{"GET", "/api/v1/users", ""},
		{"POST", "/api/v1/time", `{"utc":"2026-01-01T00:00:00Z"}`},
	} {
		r := v.do(tc.method, tc.path, tc.body)
		if r.code != 403 || !strings.Contains(r.err.Error, "admin role") {
			t.Errorf("viewer %s %s: %d %q, want 403", tc.method, tc.path, r.code, r.err.Error)
		}
	}
	for _, p := range []string{"/api/v1/status", "/api/v1/settings", "/api/v1/snapshot", "/api/v1/session"} {
		if r := v.do("GET", p, ""); r.code != 200 {
			t.Errorf("viewer GET %s: %d", p, r.code)
		}
	}
	if e.cam.reboots+e.cam.resets+e.cam.applied != 0 {
		t.Fatal("a viewer changed the camera")
	}
}

func TestSettingsValidation(t *testing.T) {
	e := newTestEnv(t, false)
	a := e.login("admin", "admin-pass")
	for _, tc := range []struct {
		name, body string
		code       int
		field, msg string
	}{
		{"bitrate too low", `{"main":{"bitrate":5000}}`, 400, "main.bitrate", "5000 is below the minimum of 64000 bit/s"},
		{"bitrate too high", `{"sub":{"bitrate":99000000}}`, 400, "sub.bitrate", "above the maximum"},
		{"resolution", `{"main":{"width":1000,"height":700}}`, 400, "main.width", "1000x700 is not among the available ones"},
		{"fps", `{"main":{"fps":0}}`, 400, "main.fps", "not between 1 and 30"},
		{"gop", `{"main":{"gop":301}}`, 400, "main.gop", "not between 1 and 300"},
		{"sub not smaller", `{"main":{"width":640,"height":360}}`, 400, "sub.width", "must be smaller than the main stream"},
		{"day/night", `{"day_night":"dusk"}`, 400, "day_night", `"dusk" is not auto, day or night`},
		{"ntp", `{"time":{"ntp_servers":["bad host!"]}}`, 400, "time.ntp_servers", "is not a host name or address"},
		{"unknown field", `{"main":{"bitrat":1}}`, 400, "", `unknown field "bitrat"`},
		{"wrong type", `{"main":{"bitrate":"fast"}}`, 400, "main.bitrate", "must be a int"},
		{"two values", `{} {}`, 400, "", "more than one JSON value"},
		{"not JSON", `{`, 400, "", "bad JSON body"},
		{"too large", `{"time":{"ntp_servers":["` + strings.Repeat("a", 70000) + `"]}}`, 413, "", "larger than 64 KB"},
	} {
		r := a.do("PATCH", "/api/v1/settings", tc.body)
		if r.code != tc.code || r.err.Field != tc.field || !strings.Contains(r.err.Error, tc.msg) {
			t.Errorf("%s: %d %q field %q; want %d %q field %q", tc.name, r.code, r.err.Error, r.err.Field, tc.code, tc.msg, tc.field)
		}
	}
	if e.cam.applied != 0 {
		t.Fatalf("invalid settings were applied %d times", e.cam.applied)
	}
	r := a.do("PATCH", "/api/v1/settings", `{"main":{"bitrate":800000,"width":1920,"height":1080},"day_night":"night","time":{"ntp_servers":["192.168.1.1","ntp.example.org"]}}`)
	var s Settings
	if r.code != 200 || json.Unmarshal(r.body, &s) != nil || s.Main.Bitrate != 800000 || s.Main.Width != 1920 || s.DayNight != "night" ||
		len(s.Time.NTPServers) != 2 || s.Sub.Bitrate != 500000 {
		t.Fatalf("valid patch: %d %s", r.code, r.body)
	}
	if r := a.do("PATCH", "/api/v1/settings", `{"main":{"bitrate":800000}}`, "Content-Type", "text/plain"); r.code != 415 {
		t.Fatalf("text/plain body: %d, want 415", r.code)
	}
	e.cam.settings.Options.Fixed = true
	if r := a.do("PATCH", "/api/v1/settings", `{"main":{"bitrate":900000}}`); r.code != 400 || !strings.Contains(r.err.Error, "fixed") {
		t.Fatalf("fixed encoder: %d %q", r.code, r.err.Error)
	}
	e.cam.settings.Sub = nil
	if r := a.do("PATCH", "/api/v1/settings", `{"sub":{"bitrate":900000}}`); r.code != 400 || r.err.Field != "sub" {
		t.Fatalf("no sub stream: %d %q", r.code, r.err.Error)
	}
}

func TestTime(t *testing.T) {
	e := newTestEnv(t, false)
	a := e.login("admin", "admin-pass")
	for _, tc := range []struct{ body, msg string }{
		{`{"utc":"yesterday"}`, "is not an RFC 3339 time"},
		{`{"utc":"1999-12-31T23:59:59Z"}`, "before 2020"},
	} {
		if r := a.do("POST", "/api/v1/time", tc.body); r.code != 400 || !strings.Contains(r.err.Error, tc.msg) || r.err.Field != "utc" {
			t.Errorf("%s: %d %q", tc.body, r.code, r.err.Error)
		}
	}
	if r := a.do("POST", "/api/v1/time", `{"utc":"2026-11-25T21:00:00+01:00"}`); r.code != 204 || !e.cam.clock.Equal(time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)) {
		t.Fatalf("set time: %d, clock %v", r.code, e.cam.clock)
	}
}

func TestUsers(t *testing.T) {
	e := newTestEnv(t, false)
	a := e.login("admin", "admin-pass")
	v := e.login("viewer", "viewer-pass")
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		msg                      string
	}{
		{"short password", "POST", "/api/v1/users", `{"name":"bob","password":"short","role":"viewer"}`, 400, "at least 8 characters"},
		{"bad role", "POST", "/api/v1/users", `{"name":"bob","password":"long enough","role":"root"}`, 400, `"root" is not viewer or admin`},
		{"bad name", "POST", "/api/v1/users", `{"name":"a:b","password":"long enough","role":"viewer"}`, 400, "name"},
		{"exists", "POST", "/api/v1/users", `{"name":"viewer","password":"long enough","role":"viewer"}`, 409, "exists"},
		{"add", "POST", "/api/v1/users", `{"name":"bob","password":"long enough","role":"viewer"}`, 201, ""},
		{"update nobody", "PATCH", "/api/v1/users/nobody", `{"password":"long enough"}`, 404, "no user"},
		{"update nothing", "PATCH", "/api/v1/users/bob", `{}`, 400, "a new password, a new role or both"},
		{"demote the last admin", "PATCH", "/api/v1/users/admin", `{"role":"viewer"}`, 409, "at least one admin"},
		{"delete the last admin", "DELETE", "/api/v1/users/admin", "", 409, "at least one admin"},
		{"delete nobody", "DELETE", "/api/v1/users/nobody", "", 404, "no user"},
		{"change a password", "PATCH", "/api/v1/users/viewer", `{"password":"new viewer pass"}`, 200, ""},
		{"delete", "DELETE", "/api/v1/users/bob", "", 204, ""},
	} {
		r := a.do(tc.method, tc.path, tc.body)
		if r.code != tc.code || !strings.Contains(r.err.Error, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.code, r.err.Error, tc.code, tc.msg)
		}
	}
	// The viewer's session ended with its password change; the new
	// password works, the old one does not.
	if r := v.do("GET", "/api/v1/status", ""); r.code != 401 {
		t.Errorf("viewer's session after its password changed: %d, want 401", r.code)
	}
	e.login("viewer", "new viewer pass")
	if r := (&client{e: e}).do("POST", "/api/v1/login", `{"user":"viewer","password":"viewer-pass"}`); r.code != 401 {
		t.Errorf("old password: %d", r.code)
	}
	r := a.do("GET", "/api/v1/users", "")
	var list []userBody
	if json.Unmarshal(r.body, &list) != nil || len(list) != 2 || list[0] != (userBody{"admin", "admin"}) || list[1] != (userBody{"viewer", "viewer"}) {
		t.Fatalf("users: %s", r.body)
	}
}

func TestOpenCamera(t *testing.T) {
	e := newTestEnv(t, true)
	c := &client{e: e}
	r := c.do("GET", "/api/v1/session", "")
	var s sessionBody
	if r.code != 200 || json.Unmarshal(r.body, &s) != nil || !s.Open || s.Role != "admin" || s.CSRF == "" || c.cookie == nil {
		t.Fatalf("open camera session: %d %s", r.code, r.body)
	}
	if r := c.do("POST", "/api/v1/reboot", ""); r.code != 403 {
		t.Fatalf("open camera, cookie without token: %d, want 403", r.code)
	}
	c.csrf = s.CSRF
	if r := c.do("POST", "/api/v1/reboot", ""); r.code != 202 || e.cam.reboots != 1 {
		t.Fatalf("open camera reboot: %d", r.code)
	}
	if r := (&client{e: e}).do("POST", "/api/v1/factory-reset", "", "Content-Type", "text/plain"); r.code != 403 || e.cam.resets != 0 {
		t.Fatalf("open camera, a form-like write: %d, want 403", r.code)
	}
}

func TestSnapshotAndLive(t *testing.T) {
	e := newTestEnv(t, false)
	v := e.login("viewer", "viewer-pass")
	r := v.do("GET", "/api/v1/snapshot", "")
	if r.code != 200 || r.hdr.Get("Content-Type") != "image/jpeg" || len(r.body) < 4 || r.body[0] != 0xff || r.body[1] != 0xd8 {
		t.Fatalf("snapshot: %d %q", r.code, r.hdr.Get("Content-Type"))
	}

	if r := v.do("GET", "/snapshot.jpg", ""); r.code != 200 || r.hdr.Get("Content-Type") != "image/jpeg" || r.body[0] != 0xff {
		t.Fatalf("/snapshot.jpg (ONVIF's snapshot URI): %d %q", r.code, r.hdr.Get("Content-Type"))
	}
	if r := (&client{e: e}).do("GET", "/snapshot.jpg", ""); r.code != 401 || len(r.hdr.Values("WWW-Authenticate")) == 0 {
		t.Fatalf("/snapshot.jpg without credentials: %d, want 401 with a challenge", r.code)
	}

	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/live.mjpeg", nil)
	req.AddCookie(v.cookie)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] == "" {
		t.Fatalf("live view Content-Type %q", res.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bufio.NewReader(res.Body), params["boundary"])
	var last []byte
	for i := range 3 {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Type") != "image/jpeg" || len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
			t.Fatalf("part %d: %q, %x", i, p.Header.Get("Content-Type"), b)
		}
		if last != nil && string(b) == string(last) {
			t.Fatalf("part %d repeats the previous picture", i)
		}
		last = b
	}
	// The limit of live views: this one and 3 more fill it.
	var more []*http.Response
	for range maxLiveViews - 1 {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/live.mjpeg", nil)
		req.AddCookie(v.cookie)
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("live view: %v %v", r, err)
		}
		more = append(more, r)
	}
	if r := v.do("GET", "/api/v1/live.mjpeg", ""); r.code != 503 || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("a 5th live view: %d, want 503", r.code)
	}
	res.Body.Close()
	for _, r := range more {
		r.Body.Close()
	}

	e.cam.noPic = true
	if r := v.do("GET", "/api/v1/snapshot", ""); r.code != 503 || r.hdr.Get("Retry-After") != "1" || !strings.Contains(r.err.Error, "no picture") {
		t.Fatalf("snapshot without a picture: %d %q", r.code, r.err.Error)
	}
}

// TestPageIsSmallAndSelfContained checks the embedded page: under 150 KB in
// all, and nothing in it loads from another site.
func TestPageIsSmallAndSelfContained(t *testing.T) {
	total := 0
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(staticFiles, p)
		if err != nil {
			return err
		}
		total += len(b)
		for _, bad := range []string{"http://", "https://", "//cdn", "@import url("} {
			if strings.Contains(string(b), bad) && !strings.HasSuffix(p, ".svg") {
				return errors.New(p + " refers to " + bad + "…: the page must load nothing from elsewhere")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 150<<10 {
		t.Fatalf("the page is %d bytes, over 150 KB", total)
	}
	if total == 0 {
		t.Fatal("no page embedded")
	}
	t.Logf("page: %d bytes", total)
	e := newTestEnv(t, false)
	r := (&client{e: e}).do("GET", "/", "")
	if r.code != 200 || !strings.Contains(string(r.body), "<html") {
		t.Fatalf("GET /: %d", r.code)
	}
}
