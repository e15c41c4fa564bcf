package push

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

// TestDigestResponse checks the digest computation against the examples
// of RFC 2617 §3.5 (with qop) and RFC 2069 §2.4 (without).
func TestDigestResponse(t *testing.T) {
	tests := []struct {
		name      string
		chal      string
		pass      string
		cnonce    string
		wantResp  string
		wantParts []string
	}{
		{
			name:      "RFC 2617 qop=auth",
			chal:      `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			pass:      "Circle Of Life",
			cnonce:    "0a4f113b",
			wantResp:  "6629fae49393a05397450978507c4ef1",
			wantParts: []string{`qop=auth`, `nc=00000001`, `cnonce="0a4f113b"`, `opaque="5ccc069c403ebaf9f0171e9517f40e41"`},
		},
		{
			name:     "RFC 2069 without qop",
			chal:     `Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"`,
			pass:     "CircleOfLife",
			wantResp: "1949323746fe6a43ef61f9606e7febea",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthorizer("Mufasa", tt.pass, true)
			a.cnonce = func() string { return tt.cnonce }
			if err := a.challenge([]string{tt.chal}); err != nil {
				t.Fatal(err)
			}
			v := a.header("GET", "/dir/index.html")
			var got headers.Authorization
			if err := got.Unmarshal(v); err != nil {
				t.Fatalf("own header does not parse: %v\n%s", err, v)
			}
			if got.Digest.Response != tt.wantResp {
				t.Errorf("response = %s, want %s", got.Digest.Response, tt.wantResp)
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(v, p) {
					t.Errorf("header %q lacks %q", v, p)
				}
			}
			if tt.cnonce == "" && strings.Contains(v, "nc=") {
				t.Errorf("RFC 2069 header carries nc: %s", v)
			}
		})
	}
}

// TestChallengeChoice checks which challenge the authorizer answers, and
// when it gives up.
func TestChallengeChoice(t *testing.T) {
	const (
		basic   = `Basic realm="r"`
		md5     = `Digest realm="r", nonce="n1"`
		md5qop  = `Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"`
		sha     = `Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth"`
		authInt = `Digest realm="r", nonce="n1", qop="auth-int"`
		bearer  = `Bearer realm="r"`
	)
	tests := []struct {
		name      string
		values    []string
		wantStart string // prefix of the Authorization value; "" for an error
	}{
		{"basic only", []string{basic}, "Basic "},
		{"digest beats basic", []string{basic, md5}, "Digest "},
		{"sha-256 beats md5", []string{md5qop, sha, basic}, "Digest "},
		{"auth-int only falls back to basic", []string{authInt, basic}, "Basic "},
		{"nothing usable", []string{bearer, authInt}, ""},
		{"malformed", []string{"Digest realm=", ""}, ""},
		{"none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthorizer("u", "p", true)
			err := a.challenge(tt.values)
			if tt.wantStart == "" {
				if err == nil {
					t.Fatalf("challenge(%q) succeeded, want an error", tt.values)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h := a.header("ANNOUNCE", "rtsp://h/p"); !strings.HasPrefix(h, tt.wantStart) {
				t.Fatalf("header = %q, want prefix %q", h, tt.wantStart)
			}
		})
	}

	t.Run("sha-256 algorithm used", func(t *testing.T) {
		a := newAuthorizer("u", "p", true)
		if err := a.challenge([]string{md5qop, sha}); err != nil {
			t.Fatal(err)
		}
		if h := a.header("SETUP", "rtsp://h/p"); !strings.Contains(h, "algorithm=SHA-256") || len(strings.Split(h, `response="`)[1]) < 64 {
			t.Fatalf("not a SHA-256 digest: %s", h)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		a := newAuthorizer("", "", false)
		if err := a.challenge([]string{basic}); err == nil {
			t.Fatal("challenge without credentials succeeded")
		}
	})
	t.Run("refused twice", func(t *testing.T) {
		a := newAuthorizer("u", "p", true)
		if err := a.challenge([]string{md5}); err != nil {
			t.Fatal(err)
		}
		if err := a.challenge([]string{md5}); !errors.Is(err, errAuthFailed) {
			t.Fatalf("second challenge: %v, want errAuthFailed", err)
		}
	})
	t.Run("stale nonce renewed", func(t *testing.T) {
		a := newAuthorizer("u", "p", true)
		if err := a.challenge([]string{md5qop}); err != nil {
			t.Fatal(err)
		}
		a.header("OPTIONS", "*")
		if err := a.challenge([]string{`Digest realm="r", nonce="n2", stale=true, qop="auth"`}); err != nil {
			t.Fatalf("stale challenge: %v", err)
		}
		if h := a.header("OPTIONS", "*"); !strings.Contains(h, `nonce="n2"`) || !strings.Contains(h, "nc=00000001") {
			t.Fatalf("after stale: %s", h)
		}
	})
	t.Run("nonce count increases", func(t *testing.T) {
		a := newAuthorizer("u", "p", true)
		if err := a.challenge([]string{md5qop}); err != nil {
			t.Fatal(err)
		}
		a.header("OPTIONS", "*")
		if h := a.header("OPTIONS", "*"); !strings.Contains(h, "nc=00000002") {
			t.Fatalf("second request: %s", h)
		}
	})
}

// FuzzAuthorizer feeds arbitrary challenges to the authorizer: it must not
// panic, and whatever it answers must parse as an Authorization header.
func FuzzAuthorizer(f *testing.F) {
	f.Add(`Digest realm="r", nonce="n", qop="auth", algorithm=SHA-256`, `Basic realm="x"`, "u", "p")
	f.Add(`Digest realm="r", nonce="n", stale=TRUE`, `Digest nonce=""`, "", "")
	f.Add(`Basic realm=r`, `Bearer x`, "a:b", "c\"d")
	f.Fuzz(func(t *testing.T, v1, v2, user, pass string) {
		a := newAuthorizer(user, pass, true)
		if a.challenge([]string{v1, v2}) != nil {
			return
		}
		h := a.header("ANNOUNCE", "rtsp://h/p")
		if h == "" {
			t.Fatal("accepted a challenge but sends no credentials")
		}
		if strings.Contains(user, ":") || checkCredentials(user, pass) != nil {
			return // New refuses these
		}
		var got headers.Authorization
		if err := got.Unmarshal(h); err != nil {
			t.Fatalf("own header %q does not parse: %v", h, err)
		}
	})
}
