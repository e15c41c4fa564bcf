package auth

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

// FuzzCheck checks that Check never panics, always returns a user or a
// Challenge with well-formed headers, and authenticates exactly the
// requests whose credentials an independent computation accepts.
func FuzzCheck(f *testing.F) {
	const nonce = "dGVzdG5vbmNl"
	v, err := New(Config{
		MaxFailures: -1,
		Users:       []User{{Name: "alice", Hash: testHash(f, "alice", "", "secret"), Role: RoleAdmin}},
	})
	if err != nil {
		f.Fatal(err)
	}
	v.testNonce = nonce

	const url = "rtsp://cam/main"
	f.Add("PLAY", url, digest("MD5", "alice", "ipcamd", "secret", "PLAY", url, nonce, "auth"), false)
	f.Add("PLAY", url, digest("SHA-256", "alice", "ipcamd", "secret", "PLAY", url, nonce, ""), false)
	f.Add("DESCRIBE", url, basic("alice", "secret"), true)
	f.Fuzz(func(t *testing.T, method, uri, header string, tls bool) {
		u, err := v.Check(method, uri, header, netip.MustParseAddr("192.0.2.1"), tls)
		if err != nil {
			var c *Challenge
			if u != nil || !errors.As(err, &c) || c.Err == nil || len(c.WWWAuthenticate) < 2 {
				t.Fatalf("Check = %+v, %#v", u, err)
			}
			for _, h := range c.WWWAuthenticate {
				var w headers.WWWAuthenticate
				if err := w.Unmarshal(h); err != nil {
					t.Fatalf("challenge %q: %v", h, err)
				}
			}
			return
		}
		if u == nil || u.Name != "alice" || u.Role != RoleAdmin {
			t.Fatalf("Check = %+v", u)
		}
		var a headers.Authorization
		if err := a.Unmarshal(header); err != nil {
			t.Fatalf("authenticated with malformed header %q: %v", header, err)
		}
		if a.Scheme == headers.SchemeBasic {
			if !tls || a.User != "alice" || a.Password != "secret" {
				t.Fatalf("authenticated Basic %+v, tls %v", a, tls)
			}
			return
		}
		d := a.Digest
		alg := "MD5"
		if strings.EqualFold(d.Algorithm, "SHA-256") {
			alg = "SHA-256"
		} else if d.Algorithm != "" && !strings.EqualFold(d.Algorithm, "MD5") {
			t.Fatalf("authenticated algorithm %q", d.Algorithm)
		}
		if d.QOP != "" && !strings.EqualFold(d.QOP, "auth") {
			t.Fatalf("authenticated qop %q", d.QOP)
		}
		want := response(alg, "alice", "ipcamd", "secret", method, d.URI, nonce, d.NC, d.CNonce, d.QOP)
		if d.Username != "alice" || d.Realm != "ipcamd" || d.Nonce != nonce || !uriMatches(d.URI, uri) ||
			!strings.EqualFold(d.Response, want) {
			t.Fatalf("authenticated Digest %+v for %s %s", d, method, uri)
		}
	})
}
