package auth

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

var (
	client  = netip.MustParseAddr("192.0.2.10")
	client2 = netip.MustParseAddr("198.51.100.7")
)

func TestRFC7616Example(t *testing.T) {
	// RFC 7616 §3.9.1: the same request signed with SHA-256 and with MD5.
	const (
		realm  = "http-auth@example.org"
		nonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
		opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
	)
	tests := []struct {
		alg, response string
	}{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	}
	v, _ := newTestVerifier(t, Config{
		Realm: realm,
		Users: []User{{Name: "Mufasa", Hash: testHash(t, "Mufasa", realm, "Circle of Life")}},
	})
	v.testNonce = nonce
	for _, tt := range tests {
		if got := response(tt.alg, "Mufasa", realm, "Circle of Life", "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth"); got != tt.response {
			t.Fatalf("%s: test helper computes %s, RFC says %s", tt.alg, got, tt.response)
		}
		header := `Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", ` +
			`algorithm=` + tt.alg + `, nonce="` + nonce + `", nc=00000001, cnonce="` + cnonce + `", ` +
			`qop=auth, response="` + tt.response + `", opaque="` + opaque + `"`
		u, err := v.Check("GET", "/dir/index.html", header, client, false)
		if err != nil || u == nil || u.Name != "Mufasa" {
			t.Errorf("%s: Check = %+v, %v; want Mufasa", tt.alg, u, err)
		}
		// Any change to the signed values breaks the response.
		for _, change := range [][2]string{
			{"GET", "POST"},
			{"nc=00000001", "nc=00000002"},
			{`cnonce="f2`, `cnonce="f3`},
			{"Mufasa", "mufasa"},
		} {
			method, h := "GET", header
			if change[0] == "GET" {
				method = change[1]
			} else {
				h = strings.Replace(header, change[0], change[1], 1)
			}
			if u, err := v.Check(method, "/dir/index.html", h, client, false); err == nil {
				t.Errorf("%s: Check with %s changed to %s = %+v, want error", tt.alg, change[0], change[1], u)
			}
		}
	}
}

func TestDigest(t *testing.T) {
	const (
		realm = "ipcamd"
		url   = "rtsp://192.168.1.10:554/main"
	)
	v, _ := newTestVerifier(t, Config{
		MaxFailures: -1,
		Users: []User{
			{Name: "admin", Hash: testHash(t, "admin", realm, "s3cret!"), Role: RoleAdmin},
			{Name: "viewer", Hash: testHash(t, "viewer", realm, "pässwörd"), Role: RoleViewer},
		},
	})
	nonce := freshNonce(t, v)
	tests := []struct {
		name   string
		method string
		uri    string // Request-URI
		header string
		user   string // "" for failure
		err    string // substring of Challenge.Err for failures
	}{
		{"ffmpeg md5 qop=auth", "DESCRIBE", url,
			`Digest username="admin", realm="ipcamd", nonce="` + nonce + `", uri="` + url + `", response="` +
				response("MD5", "admin", realm, "s3cret!", "DESCRIBE", url, nonce, "00000001", "f00dfeedf00dfeed", "auth") +
				`", algorithm="MD5", qop="auth", cnonce="f00dfeedf00dfeed", nc=00000001`,
			"admin", ""},
		{"live555 rfc 2069", "SETUP", url + "/trackID=0",
			digest("", "viewer", realm, "pässwörd", "SETUP", url+"/trackID=0", nonce, ""), "viewer", ""},
		{"gortsplib sha-256 without qop", "PLAY", url,
			digest("SHA-256", "admin", realm, "s3cret!", "PLAY", url, nonce, ""), "admin", ""},
		{"sha-256 qop=auth", "GET_PARAMETER", url,
			digest("SHA-256", "viewer", realm, "pässwörd", "GET_PARAMETER", url, nonce, "auth"), "viewer", ""},
		{"md5 qop=auth, lower-case algorithm", "TEARDOWN", url,
			digest("md5", "admin", realm, "s3cret!", "TEARDOWN", url, nonce, "auth"), "admin", ""},
		{"upper-case hex response", "PLAY", url,
			digestUpper("admin", realm, "s3cret!", "PLAY", url, nonce), "admin", ""},
		{"origin-form uri", "GET", "http://cam/snapshot.jpg?w=640",
			digest("MD5", "viewer", realm, "pässwörd", "GET", "/snapshot.jpg?w=640", nonce, "auth"), "viewer", ""},
		{"options *", "OPTIONS", "*",
			digest("MD5", "viewer", realm, "pässwörd", "OPTIONS", "*", nonce, ""), "viewer", ""},

		{"wrong password", "DESCRIBE", url,
			digest("MD5", "admin", realm, "secret", "DESCRIBE", url, nonce, "auth"), "", `wrong Digest response for user "admin"`},
		{"other user's password", "DESCRIBE", url,
			digest("SHA-256", "admin", realm, "pässwörd", "DESCRIBE", url, nonce, ""), "", "wrong Digest response"},
		{"unknown user", "DESCRIBE", url,
			digest("MD5", "root", realm, "s3cret!", "DESCRIBE", url, nonce, "auth"), "", `unknown user "root"`},
		{"user name case", "DESCRIBE", url,
			digest("MD5", "Admin", realm, "s3cret!", "DESCRIBE", url, nonce, "auth"), "", `unknown user "Admin"`},
		{"wrong uri", "DESCRIBE", url,
			digest("MD5", "admin", realm, "s3cret!", "DESCRIBE", url+"2", nonce, "auth"), "", "signed URI"},
		{"origin-form uri of another path", "DESCRIBE", url,
			digest("MD5", "admin", realm, "s3cret!", "DESCRIBE", "/main2", nonce, "auth"), "", "signed URI"},
		{"origin-form uri against origin-form request", "GET", "/a",
			digest("MD5", "admin", realm, "s3cret!", "GET", "/b", nonce, "auth"), "", "signed URI"},
		{"signed for another method", "PLAY", url,
			digest("MD5", "admin", realm, "s3cret!", "DESCRIBE", url, nonce, "auth"), "", "wrong Digest response"},
		{"wrong realm", "DESCRIBE", url,
			digest("MD5", "admin", "other", "s3cret!", "DESCRIBE", url, nonce, "auth"), "", `realm "other"`},
		{"md5-sess", "DESCRIBE", url,
			digest("MD5-sess", "admin", realm, "s3cret!", "DESCRIBE", url, nonce, "auth"), "", `unsupported Digest algorithm "MD5-sess"`},
		{"auth-int", "DESCRIBE", url,
			digest("MD5", "admin", realm, "s3cret!", "DESCRIBE", url, nonce, "auth-int"), "", `unsupported Digest qop "auth-int"`},
		{"sha-256 response labelled md5", "DESCRIBE", url,
			strings.Replace(digest("SHA-256", "admin", realm, "s3cret!", "DESCRIBE", url, nonce, ""), "SHA-256", "MD5", 1),
			"", "wrong Digest response"},
		{"not hex", "DESCRIBE", url,
			`Digest username="admin", realm="ipcamd", nonce="` + nonce + `", uri="` + url + `", response="zz"`,
			"", "wrong Digest response"},
		{"malformed header", "DESCRIBE", url, `Digest username="admin"`, "", "malformed Authorization header"},
		{"unsupported scheme", "DESCRIBE", url, `Bearer eyJhbGciOi`, "", "unsupported authentication scheme"},
	}
	for _, tt := range tests {
		u, err := v.Check(tt.method, tt.uri, tt.header, client, false)
		if tt.user != "" {
			if err != nil || u == nil || u.Name != tt.user {
				t.Errorf("%s: Check = %+v, %v; want user %s", tt.name, u, err, tt.user)
			}
			continue
		}
		if u != nil {
			t.Errorf("%s: Check = %+v, want nil user", tt.name, u)
		}
		c := asChallenge(t, err)
		if c.Stale || !strings.Contains(c.Err.Error(), tt.err) {
			t.Errorf("%s: Challenge{Err: %v, Stale: %v}, want error containing %q, not stale", tt.name, c.Err, c.Stale, tt.err)
		}
		challengeNonce(t, err)
	}
}

// digestUpper returns RFC 2069 Digest credentials with the response in
// upper-case hex.
func digestUpper(user, realm, password, method, uri, nonce string) string {
	h := digest("", user, realm, password, method, uri, nonce, "")
	r := response("", user, realm, password, method, uri, nonce, "", "", "")
	return strings.Replace(h, r, strings.ToUpper(r), 1)
}

func TestUserRoleReturned(t *testing.T) {
	v, _ := newTestVerifier(t, Config{Users: []User{
		{Name: "admin", Hash: testHash(t, "admin", "", "pw"), Role: RoleAdmin},
		{Name: "guest", Hash: testHash(t, "guest", "", "pw")},
	}})
	nonce := freshNonce(t, v)
	for _, tt := range []struct {
		name string
		role Role
	}{{"admin", RoleAdmin}, {"guest", RoleViewer}} {
		u, err := v.Check("PLAY", "rtsp://h/s", digest("MD5", tt.name, "ipcamd", "pw", "PLAY", "rtsp://h/s", nonce, "auth"), client, false)
		if err != nil || u.Name != tt.name || u.Role != tt.role || u.Hash != "" {
			t.Errorf("Check(%s) = %+v, %v; want role %v and no hash", tt.name, u, err, tt.role)
			continue
		}
		u.Role = RoleAdmin // a copy: must not change the Verifier
	}
	u, err := v.Check("PLAY", "rtsp://h/s", digest("MD5", "guest", "ipcamd", "pw", "PLAY", "rtsp://h/s", nonce, "auth"), client, false)
	if err != nil || u.Role != RoleViewer {
		t.Errorf("after modifying a returned user: %+v, %v", u, err)
	}
}

func TestChallengeHeaders(t *testing.T) {
	for _, tt := range []struct {
		tls, allowBasic, basic bool
	}{
		{false, false, false},
		{true, false, true},
		{false, true, true},
		{true, true, true},
	} {
		v, _ := newTestVerifier(t, Config{
			AllowBasicWithoutTLS: tt.allowBasic,
			Users:                []User{{Name: "u", Hash: testHash(t, "u", "", "p")}},
		})
		v.testNonce = "N0nce"
		_, err := v.Check("DESCRIBE", "rtsp://h/s", "", client, tt.tls)
		c := asChallenge(t, err)
		if !errors.Is(err, ErrNoCredentials) || c.Stale {
			t.Errorf("Check without credentials: %v, stale %v; want ErrNoCredentials", err, c.Stale)
		}
		want := []string{
			`Digest realm="ipcamd", nonce="N0nce", algorithm=SHA-256, qop="auth"`,
			`Digest realm="ipcamd", nonce="N0nce", algorithm=MD5, qop="auth"`,
		}
		if tt.basic {
			want = append(want, `Basic realm="ipcamd"`)
		}
		if fmt.Sprint(c.WWWAuthenticate) != fmt.Sprint(want) {
			t.Errorf("tls %v, allow Basic %v: WWW-Authenticate\n%q, want\n%q", tt.tls, tt.allowBasic, c.WWWAuthenticate, want)
		}
		if c.Error() != "auth: no credentials" {
			t.Errorf("Error() = %q", c.Error())
		}
	}
	// Real nonces differ from challenge to challenge.
	v, _ := newTestVerifier(t, Config{Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	if a, b := freshNonce(t, v), freshNonce(t, v); a == b || len(a) != 48 {
		t.Errorf("nonces %q and %q", a, b)
	}
}

func TestStaleNonce(t *testing.T) {
	const url = "rtsp://cam/main"
	v, clk := newTestVerifier(t, Config{
		NonceLifetime: 30 * time.Second,
		MaxFailures:   1, // a stale nonce must not count as a failure
		Users:         []User{{Name: "u", Hash: testHash(t, "u", "", "p")}},
	})
	nonce := freshNonce(t, v)
	clk.advance(30 * time.Second)
	for _, alg := range []string{"MD5", "SHA-256"} {
		if _, err := v.Check("PLAY", url, digest(alg, "u", "ipcamd", "p", "PLAY", url, nonce, "auth"), client, false); err != nil {
			t.Fatalf("%s at the end of the lifetime: %v", alg, err)
		}
	}
	clk.advance(time.Millisecond)
	for range 3 {
		_, err := v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "p", "PLAY", url, nonce, "auth"), client, false)
		c := asChallenge(t, err)
		if !c.Stale || !strings.Contains(c.WWWAuthenticate[0], "stale=true") || !strings.Contains(c.WWWAuthenticate[1], "stale=true") {
			t.Fatalf("expired nonce: %v, stale %v, %q; want stale challenge", err, c.Stale, c.WWWAuthenticate)
		}
		if fresh := challengeNonce(t, err); fresh == nonce {
			t.Fatalf("stale challenge repeats the nonce")
		}
	}
	// The client retries with the new nonce.
	_, err := v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "p", "PLAY", url, nonce, "auth"), client, false)
	fresh := challengeNonce(t, err)
	if u, err := v.Check("PLAY", url, digest("SHA-256", "u", "ipcamd", "p", "PLAY", url, fresh, ""), client, false); err != nil || u.Name != "u" {
		t.Fatalf("retry with the new nonce: %+v, %v", u, err)
	}
	// A wrong password with an expired nonce is a plain failure.
	_, err = v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "wrong", "PLAY", url, nonce, "auth"), client, false)
	if c := asChallenge(t, err); c.Stale {
		t.Errorf("wrong password with an expired nonce got a stale challenge")
	}
	if _, err := v.Check("PLAY", url, "", client, false); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("after the failure: %v, want ErrTooManyFailures", err)
	}
}

func TestForgedNonce(t *testing.T) {
	const url = "rtsp://cam/main"
	cfg := Config{MaxFailures: 2, Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}}
	v, clk := newTestVerifier(t, cfg)
	other, _ := newTestVerifier(t, cfg)

	nonce := freshNonce(t, v)
	b, err := nonceEncoding.DecodeString(nonce)
	if err != nil {
		t.Fatal(err)
	}
	b[7] += 1 // issued 1ns later: the MAC no longer matches
	tampered := nonceEncoding.EncodeToString(b)

	for _, tt := range []struct {
		name, nonce string
	}{
		{"nonce of another Verifier", freshNonce(t, other)},
		{"tampered nonce", tampered},
		{"made-up nonce", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"},
		{"empty nonce", ""},
	} {
		// Even with the right password, a nonce this Verifier did not
		// issue never authenticates. The client knows the password, so
		// it gets a stale challenge and no failure is counted.
		u, err := v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "p", "PLAY", url, tt.nonce, "auth"), client, false)
		if u != nil {
			t.Fatalf("%s: authenticated %+v", tt.name, u)
		}
		if c := asChallenge(t, err); !c.Stale {
			t.Errorf("%s with a correct response: %v, want a stale challenge", tt.name, err)
		}
	}
	// A forged nonce with a wrong password is a failure.
	for range 2 {
		_, err := v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "guess", "PLAY", url, tampered, "auth"), client, false)
		if c := asChallenge(t, err); c.Stale {
			t.Errorf("forged nonce and wrong password got a stale challenge")
		}
	}
	if _, err := v.Check("PLAY", url, "", client, false); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("after 2 failures: %v, want ErrTooManyFailures", err)
	}
	// Rewriting the issue time cannot extend a nonce's life.
	clk.advance(2 * DefaultNonceLifetime)
	b, _ = nonceEncoding.DecodeString(freshNonce(t, v))
	b[0] = 0x7f
	if _, err := v.Check("PLAY", url, digest("MD5", "u", "ipcamd", "p", "PLAY", url, nonceEncoding.EncodeToString(b), ""), client2, false); err == nil {
		t.Errorf("nonce with a forged issue time accepted")
	}
}

func TestBasic(t *testing.T) {
	users := []User{
		{Name: "admin", Hash: testHash(t, "admin", "", "pa:ss"), Role: RoleAdmin},
		{Name: "viewer", Hash: testHash(t, "viewer", "", "x")},
	}
	v, _ := newTestVerifier(t, Config{MaxFailures: -1, Users: users})
	tests := []struct {
		name   string
		header string
		tls    bool
		user   string
		err    string
	}{
		{"tls", basic("admin", "pa:ss"), true, "admin", ""},
		{"tls again, cached", basic("admin", "pa:ss"), true, "admin", ""},
		{"other user", basic("viewer", "x"), true, "viewer", ""},
		{"lower-case scheme", "basic dmlld2VyOng=", true, "viewer", ""},
		{"without tls", basic("admin", "pa:ss"), false, "", "without TLS"},
		{"wrong password", basic("admin", "pa:sS"), true, "", `wrong password for user "admin"`},
		{"wrong password after a cached success", basic("admin", "pa"), true, "", "wrong password"},
		{"unknown user", basic("root", "pa:ss"), true, "", `unknown user "root"`},
		{"empty password", basic("admin", ""), true, "", "wrong password"},
		{"no colon", "Basic YWRtaW4=", true, "", "lack a colon"},
	}
	for _, tt := range tests {
		u, err := v.Check("DESCRIBE", "rtsp://h/s", tt.header, client, tt.tls)
		if tt.user != "" {
			if err != nil || u == nil || u.Name != tt.user {
				t.Errorf("%s: Check = %+v, %v; want %s", tt.name, u, err, tt.user)
			}
			continue
		}
		c := asChallenge(t, err)
		if u != nil || !strings.Contains(c.Err.Error(), tt.err) {
			t.Errorf("%s: Check = %+v, %v; want challenge for %q", tt.name, u, err, tt.err)
		}
		if basicOffered := strings.HasPrefix(c.WWWAuthenticate[len(c.WWWAuthenticate)-1], "Basic "); basicOffered != tt.tls {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, c.WWWAuthenticate)
		}
	}

	allow, _ := newTestVerifier(t, Config{AllowBasicWithoutTLS: true, Users: users})
	if u, err := allow.Check("DESCRIBE", "rtsp://h/s", basic("admin", "pa:ss"), client, false); err != nil || u.Name != "admin" {
		t.Errorf("allowed without TLS: %+v, %v", u, err)
	}
}

func TestBasicWithoutTLSNotCounted(t *testing.T) {
	v, _ := newTestVerifier(t, Config{MaxFailures: 1, Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	for range 3 {
		if _, err := v.Check("DESCRIBE", "rtsp://h/s", basic("u", "p"), client, false); !errors.Is(err, errBasicWithoutTLS) {
			t.Fatalf("Check: %v", err)
		}
	}
	if u, err := v.Check("DESCRIBE", "rtsp://h/s", basic("u", "p"), client, true); err != nil || u.Name != "u" {
		t.Fatalf("Check over TLS: %+v, %v", u, err)
	}
}

func TestRateLimit(t *testing.T) {
	const url = "rtsp://cam/main"
	v, clk := newTestVerifier(t, Config{
		MaxFailures:   3,
		FailureWindow: time.Minute,
		Users:         []User{{Name: "u", Hash: testHash(t, "u", "", "p")}},
	})
	good := func(addr netip.Addr) error {
		_, err := v.Check("PLAY", url, basic("u", "p"), addr, true)
		return err
	}
	bad := func(addr netip.Addr) error {
		_, err := v.Check("PLAY", url, basic("u", "guess"), addr, true)
		return err
	}

	// Requests without credentials are not failures.
	for range 10 {
		if _, err := v.Check("PLAY", url, "", client, false); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("Check without credentials: %v", err)
		}
	}
	for i := range 3 {
		if c := asChallenge(t, bad(client)); c.Stale {
			t.Fatalf("failure %d: stale challenge", i+1)
		}
		clk.advance(10 * time.Second)
	}
	// Blocked now, even with the right password and even without
	// credentials.
	for _, err := range []error{good(client), bad(client), func() error {
		_, err := v.Check("PLAY", url, "", client, false)
		return err
	}()} {
		if !errors.Is(err, ErrTooManyFailures) {
			t.Fatalf("after 3 failures: %v, want ErrTooManyFailures", err)
		}
	}
	// The same client as an IPv4-mapped IPv6 address.
	if err := good(netip.MustParseAddr("::ffff:192.0.2.10")); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("mapped address: %v", err)
	}
	// Other clients are not affected.
	if err := good(client2); err != nil {
		t.Errorf("other client: %v", err)
	}
	// The window started at the first failure, 30 s ago.
	clk.advance(29 * time.Second)
	if err := good(client); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("before the end of the window: %v", err)
	}
	clk.advance(time.Second)
	if err := good(client); err != nil {
		t.Errorf("after the window: %v", err)
	}
	// A new window.
	for range 3 {
		_ = bad(client)
	}
	if err := good(client); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("in the second window: %v", err)
	}

	// IPv6 clients are counted per /64.
	a := netip.MustParseAddr("2001:db8:1:2::1")
	for range 3 {
		_ = bad(a)
	}
	if err := good(netip.MustParseAddr("2001:db8:1:2:ffff::9")); !errors.Is(err, ErrTooManyFailures) {
		t.Errorf("same /64: %v", err)
	}
	if err := good(netip.MustParseAddr("2001:db8:1:3::1")); err != nil {
		t.Errorf("other /64: %v", err)
	}
}

func TestRateLimitDisabled(t *testing.T) {
	v, _ := newTestVerifier(t, Config{MaxFailures: -1, Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	for range 3 * DefaultMaxFailures {
		_, err := v.Check("PLAY", "rtsp://h/s", basic("u", "guess"), client, true)
		asChallenge(t, err)
	}
	if v.limiter != nil {
		t.Errorf("limiter with MaxFailures -1")
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	l := newLimiter(1, time.Minute)
	l.capacity = 3
	now := time.Now()
	addrs := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.4"),
	}
	for i, a := range addrs {
		l.fail(a, now.Add(time.Duration(i)*time.Second))
	}
	now = now.Add(4 * time.Second)
	if n := l.len(); n != 3 {
		t.Fatalf("%d clients tracked, want 3", n)
	}
	if l.blocked(addrs[0], now) {
		t.Errorf("the oldest client was not evicted")
	}
	for _, a := range addrs[1:] {
		if !l.blocked(a, now) {
			t.Errorf("%v not blocked", a)
		}
	}
	// Expired entries go first, however full the table.
	now = now.Add(time.Minute)
	l.fail(addrs[0], now)
	if n := l.len(); n != 1 {
		t.Errorf("%d clients tracked after expiry, want 1", n)
	}
	if !l.blocked(addrs[0], now) || l.blocked(addrs[3], now) {
		t.Errorf("wrong clients blocked after expiry")
	}

	// Many clients never grow the table past its capacity.
	l = newLimiter(DefaultMaxFailures, time.Minute)
	for i := range 3 * maxTrackedClients {
		l.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	if n := l.len(); n != maxTrackedClients {
		t.Errorf("%d clients tracked, want %d", n, maxTrackedClients)
	}
}

func TestOpen(t *testing.T) {
	v, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Open() {
		t.Fatal("Verifier without users is not open")
	}
	for _, h := range []string{"", "Basic Og==", "garbage"} {
		if u, err := v.Check("PLAY", "rtsp://h/s", h, client, false); u != nil || err != nil {
			t.Errorf("open Check(%q) = %+v, %v; want nil, nil", h, u, err)
		}
	}
	v, _ = newTestVerifier(t, Config{Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	if v.Open() {
		t.Error("Verifier with a user is open")
	}
}

func TestNew(t *testing.T) {
	good := testHash(t, "u", "", "p")
	tests := []struct {
		name string
		cfg  Config
		err  string // "" for success
	}{
		{"defaults", Config{Users: []User{{Name: "u", Hash: good}}}, ""},
		{"realm with quote", Config{Realm: `a"b`}, "realm"},
		{"realm with newline", Config{Realm: "a\nb"}, "realm"},
		{"negative lifetime", Config{NonceLifetime: -time.Second}, "negative nonce lifetime"},
		{"negative window", Config{FailureWindow: -time.Second}, "negative failure window"},
		{"empty name", Config{Users: []User{{Hash: good}}}, "user 1: empty user name"},
		{"colon in name", Config{Users: []User{{Name: "a:b", Hash: good}}}, "colon"},
		{"duplicate", Config{Users: []User{{Name: "u", Hash: good}, {Name: "u", Hash: good}}}, `duplicate user "u"`},
		{"bad role", Config{Users: []User{{Name: "u", Hash: good, Role: 7}}}, "unknown role 7"},
		{"plain password", Config{Users: []User{{Name: "u", Hash: "hunter2"}}}, `user "u": malformed password hash: not an "ipcamd1$" hash`},
		{"empty hash", Config{Users: []User{{Name: "u"}}}, "malformed password hash"},
	}
	for _, tt := range tests {
		v, err := New(tt.cfg)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: New: %v", tt.name, err)
		case tt.err == "":
			if v.realm != DefaultRealm || v.nonceLifetime != DefaultNonceLifetime ||
				v.limiter.max != DefaultMaxFailures || v.limiter.window != DefaultFailureWindow {
				t.Errorf("%s: defaults not applied: %+v", tt.name, v)
			}
		case err == nil:
			t.Errorf("%s: New succeeded, want error containing %q", tt.name, tt.err)
		case !strings.HasPrefix(err.Error(), "auth: ") || !strings.Contains(err.Error(), tt.err):
			t.Errorf("%s: New: %v, want error containing %q", tt.name, err, tt.err)
		}
	}
	// The plain-text password must not appear in the error.
	if _, err := New(Config{Users: []User{{Name: "u", Hash: "hunter2"}}}); strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q quotes the password", err)
	}
}

func TestRealmBindsHash(t *testing.T) {
	// A hash made for another realm fails Digest (and keeps working for
	// Basic, which does not depend on the realm).
	v, _ := newTestVerifier(t, Config{Realm: "cam2", Users: []User{{Name: "u", Hash: testHash(t, "u", "cam1", "p")}}})
	nonce := freshNonce(t, v)
	if _, err := v.Check("PLAY", "rtsp://h/s", digest("MD5", "u", "cam2", "p", "PLAY", "rtsp://h/s", nonce, ""), client, false); err == nil {
		t.Error("Digest with a hash of another realm succeeded")
	}
	if _, err := v.Check("PLAY", "rtsp://h/s", basic("u", "p"), client, true); err != nil {
		t.Errorf("Basic: %v", err)
	}
}

func TestRole(t *testing.T) {
	for _, tt := range []struct {
		s    string
		role Role
	}{{"viewer", RoleViewer}, {"admin", RoleAdmin}, {"Admin", RoleAdmin}} {
		r, err := ParseRole(tt.s)
		if err != nil || r != tt.role {
			t.Errorf("ParseRole(%q) = %v, %v", tt.s, r, err)
		}
		var u Role
		if err := u.UnmarshalText([]byte(tt.s)); err != nil || u != tt.role {
			t.Errorf("UnmarshalText(%q) = %v, %v", tt.s, u, err)
		}
		if b, err := tt.role.MarshalText(); err != nil || string(b) != strings.ToLower(tt.s) {
			t.Errorf("MarshalText(%v) = %q, %v", tt.role, b, err)
		}
	}
	if _, err := ParseRole("root"); err == nil || err.Error() != `auth: unknown role "root" (want viewer or admin)` {
		t.Errorf("ParseRole(root): %v", err)
	}
	if _, err := Role(5).MarshalText(); err == nil {
		t.Error("MarshalText(5) succeeded")
	}
	if s := Role(5).String(); s != "Role(5)" {
		t.Errorf("String = %q", s)
	}
	for _, tt := range []struct {
		r, want Role
		ok      bool
	}{
		{RoleAdmin, RoleViewer, true},
		{RoleAdmin, RoleAdmin, true},
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleAdmin, false},
		{Role(5), RoleViewer, false},
		{RoleAdmin, Role(-1), false},
	} {
		if got := tt.r.Includes(tt.want); got != tt.ok {
			t.Errorf("%v.Includes(%v) = %v", tt.r, tt.want, got)
		}
	}
}

func TestConcurrentCheck(t *testing.T) {
	v, _ := newTestVerifier(t, Config{MaxFailures: 1000, Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	nonce := freshNonce(t, v)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			addr := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
			for range 50 {
				if _, err := v.Check("PLAY", "rtsp://h/s", basic("u", "p"), addr, true); err != nil {
					t.Error(err)
				}
				if _, err := v.Check("PLAY", "rtsp://h/s", digest("SHA-256", "u", "ipcamd", "p", "PLAY", "rtsp://h/s", nonce, "auth"), addr, false); err != nil {
					t.Error(err)
				}
				_, _ = v.Check("PLAY", "rtsp://h/s", basic("u", "x"), addr, true)
			}
		})
	}
	wg.Wait()
}

func TestURIMatches(t *testing.T) {
	for _, tt := range []struct {
		param, request string
		ok             bool
	}{
		{"rtsp://h/s", "rtsp://h/s", true},
		{"*", "*", true},
		{"/s", "rtsp://h:554/s", true},
		{"/s?x=1", "rtsp://h/s?x=1", true},
		{"/s", "rtsp://h/s?x=1", false},
		{"/s", "rtsp://h/t", false},
		{"/x", "rtsp://h?q=/x", false},
		{"/", "rtsp://h", false},
		{"s", "rtsp://h/s", false},
		{"rtsp://h/s", "/s", false},
		{"rtsp://h/s", "rtsp://H/s", false},
		{"", "", true},
	} {
		if got := uriMatches(tt.param, tt.request); got != tt.ok {
			t.Errorf("uriMatches(%q, %q) = %v", tt.param, tt.request, got)
		}
	}
}

// The Challenge headers parse with the headers package.
func TestChallengeParses(t *testing.T) {
	v, _ := newTestVerifier(t, Config{AllowBasicWithoutTLS: true, Users: []User{{Name: "u", Hash: testHash(t, "u", "", "p")}}})
	_, err := v.Check("PLAY", "rtsp://h/s", "", client, false)
	c := asChallenge(t, err)
	var got []headers.WWWAuthenticate
	for _, h := range c.WWWAuthenticate {
		var w headers.WWWAuthenticate
		if err := w.Unmarshal(h); err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	if len(got) != 3 || got[0].Algorithm != "SHA-256" || got[1].Algorithm != "MD5" || got[2].Scheme != "Basic" ||
		got[0].QOP != "auth" || got[0].Realm != "ipcamd" {
		t.Errorf("challenges %+v", got)
	}
}

// TestCheckPasswordSharesTheLimit logs in with a password form: the right
// password passes, wrong ones fail without saying which part was wrong,
// and they count towards the same limit as RTSP's: once it is reached, the
// right password and RTSP Digest are refused too.
func TestCheckPasswordSharesTheLimit(t *testing.T) {
	users := []User{{Name: "admin", Hash: testHash(t, "admin", "", "secret"), Role: RoleAdmin}}
	v, _ := newTestVerifier(t, Config{MaxFailures: 3, Users: users})
	if u, err := v.CheckPassword("admin", "secret", client); err != nil || u == nil || u.Name != "admin" || u.Role != RoleAdmin || u.Hash != "" {
		t.Fatalf("right password: %+v, %v", u, err)
	}
	for _, tc := range []struct{ name, pw string }{{"admin", "wrong"}, {"nobody", "secret"}, {"admin", ""}} {
		if u, err := v.CheckPassword(tc.name, tc.pw, client); !errors.Is(err, ErrWrongPassword) || u != nil {
			t.Fatalf("%s/%q: %+v, %v; want ErrWrongPassword", tc.name, tc.pw, u, err)
		}
	}
	if _, err := v.CheckPassword("admin", "secret", client); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("after 3 failures: %v, want ErrTooManyFailures", err)
	}
	if _, err := v.Check("DESCRIBE", "rtsp://h/s", "", client, true); !errors.Is(err, ErrTooManyFailures) {
		t.Fatalf("RTSP after 3 login failures: %v, want ErrTooManyFailures", err)
	}
	other := netip.MustParseAddr("192.0.2.99")
	if _, err := v.CheckPassword("admin", "secret", other); err != nil {
		t.Fatalf("another client: %v", err)
	}
}

// TestSetUsers replaces the accounts: a new user and a new password work
// at once, the old password (even cached from Basic) does not, a bad list
// changes nothing, and an empty one opens the verifier.
func TestSetUsers(t *testing.T) {
	v, _ := newTestVerifier(t, Config{MaxFailures: -1, Users: []User{{Name: "admin", Hash: testHash(t, "admin", "", "old"), Role: RoleAdmin}}})
	if _, err := v.Check("DESCRIBE", "rtsp://h/s", basic("admin", "old"), client, true); err != nil {
		t.Fatal(err)
	}
	err := v.SetUsers([]User{
		{Name: "admin", Hash: testHash(t, "admin", "", "new"), Role: RoleAdmin},
		{Name: "eve", Hash: testHash(t, "eve", "", "pw"), Role: RoleViewer},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Check("DESCRIBE", "rtsp://h/s", basic("admin", "old"), client, true); err == nil {
		t.Fatal("the old password still passes after SetUsers")
	}
	for _, c := range []struct{ user, pw string }{{"admin", "new"}, {"eve", "pw"}} {
		if u, err := v.CheckPassword(c.user, c.pw, client); err != nil || u.Name != c.user {
			t.Fatalf("%s: %+v, %v", c.user, u, err)
		}
	}
	if got := v.Users(); len(got) != 2 || got[0].Name != "admin" || got[1].Name != "eve" || got[1].Role != RoleViewer || got[0].Hash != "" {
		t.Fatalf("Users() = %+v", got)
	}
	if err := v.SetUsers([]User{{Name: "a:b", Hash: testHash(t, "x", "", "y")}}); err == nil {
		t.Fatal("SetUsers accepted a name with a colon")
	}
	if len(v.Users()) != 2 {
		t.Fatal("a refused SetUsers changed the users")
	}
	if err := v.SetUsers(nil); err != nil || !v.Open() {
		t.Fatalf("SetUsers(nil): %v, Open %v", err, v.Open())
	}
}
