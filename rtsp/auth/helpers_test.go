package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

// testIterations keeps PBKDF2 cheap in tests.
const testIterations = 16

// testHash returns an encoded hash of password, like HashPassword.
func testHash(t testing.TB, user, realm, password string) string {
	t.Helper()
	h, err := newHash(user, realm, password, testIterations)
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// clock is a settable time source for Verifier.now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestVerifier returns a Verifier for cfg whose clock the test controls.
func newTestVerifier(t testing.TB, cfg Config) (*Verifier, *clock) {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	v.now = c.now
	return v, c
}

// response computes a Digest response as RFC 7616 §3.4.1 defines it,
// independently of the code under test.
func response(alg, user, realm, password, method, uri, nonce, nc, cnonce, qop string) string {
	h := func(s string) string {
		if alg == "SHA-256" {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		}
		sum := md5.Sum([]byte(s))
		return hex.EncodeToString(sum[:])
	}
	ha1 := h(user + ":" + realm + ":" + password)
	ha2 := h(method + ":" + uri)
	if qop == "" {
		return h(ha1 + ":" + nonce + ":" + ha2)
	}
	return h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

// challengeNonce returns the nonce of the challenge err carries, checking
// that all its Digest challenges share it.
func challengeNonce(t testing.TB, err error) string {
	t.Helper()
	var c *Challenge
	if !errors.As(err, &c) {
		t.Fatalf("error %v is not a *Challenge", err)
	}
	nonce := ""
	for _, h := range c.WWWAuthenticate {
		var w headers.WWWAuthenticate
		if err := w.Unmarshal(h); err != nil {
			t.Fatalf("challenge %q: %v", h, err)
		}
		if w.Scheme != headers.SchemeDigest {
			continue
		}
		if nonce != "" && w.Nonce != nonce {
			t.Fatalf("challenges with different nonces: %q", c.WWWAuthenticate)
		}
		nonce = w.Nonce
		if w.Stale != c.Stale {
			t.Fatalf("challenge %q with Challenge.Stale %v", h, c.Stale)
		}
	}
	if nonce == "" {
		t.Fatalf("no Digest challenge in %q", c.WWWAuthenticate)
	}
	return nonce
}

// freshNonce asks v for a challenge and returns its nonce.
func freshNonce(t testing.TB, v *Verifier) string {
	t.Helper()
	_, err := v.Check("OPTIONS", "*", "", netip.MustParseAddr("192.0.2.250"), false)
	return challengeNonce(t, err)
}

// digest returns Digest credentials for the user and password with a
// correct response.
func digest(alg, user, realm, password, method, uri, nonce, qop string) string {
	d := headers.DigestParams{
		Username: user, Realm: realm, Nonce: nonce, URI: uri, Algorithm: alg, QOP: qop,
	}
	if qop != "" {
		d.NC, d.CNonce = "00000001", "0a4f113b0a4f113b"
	}
	d.Response = response(alg, user, realm, password, method, uri, nonce, d.NC, d.CNonce, qop)
	return headers.Authorization{Scheme: headers.SchemeDigest, Digest: d}.Marshal()
}

func basic(user, password string) string {
	return headers.Authorization{Scheme: headers.SchemeBasic, User: user, Password: password}.Marshal()
}

// asChallenge returns err as a *Challenge, failing the test if it is not.
func asChallenge(t testing.TB, err error) *Challenge {
	t.Helper()
	var c *Challenge
	if !errors.As(err, &c) {
		t.Fatalf("error %v is not a *Challenge", err)
	}
	return c
}
