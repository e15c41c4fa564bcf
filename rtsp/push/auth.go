package push

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/ipcamd/ipcamd/rtsp/headers"
)

// errAuthFailed is returned when the relay refuses the credentials.
var errAuthFailed = errors.New("push: relay refused the credentials")

// authorizer answers a relay's 401 challenges with the credentials from
// the URL. It remembers the chosen challenge, so that every later request
// of the session carries credentials without another round trip.
type authorizer struct {
	user, pass string
	hasCreds   bool

	chal   *headers.WWWAuthenticate // the challenge in use, nil before a 401
	qop    string                   // "auth" or "" (RFC 2069)
	nc     uint32                   // nonce count of the last request
	cnonce func() string            // client nonce source; random by default
}

// newAuthorizer returns an authorizer for user and pass; hasCreds is false
// when the URL had no userinfo.
func newAuthorizer(user, pass string, hasCreds bool) *authorizer {
	return &authorizer{user: user, pass: pass, hasCreds: hasCreds, cnonce: randomCNonce}
}

func randomCNonce() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// challenge takes the WWW-Authenticate values of a 401 answer and picks
// the strongest challenge the authorizer can answer: Digest SHA-256, then
// Digest MD5, then Basic. It fails when the URL has no credentials, when
// no challenge is usable, or when the credentials were already refused
// (a second 401 for the same nonce that is not marked stale).
func (a *authorizer) challenge(values []string) error {
	if !a.hasCreds {
		return errors.New("push: relay requires authentication and the URL has no credentials")
	}
	best, rank := (*headers.WWWAuthenticate)(nil), 0
	for _, v := range values {
		var w headers.WWWAuthenticate
		if w.Unmarshal(v) != nil {
			continue
		}
		r := challengeRank(&w)
		if r > rank {
			best, rank = &w, r
		}
	}
	if best == nil {
		return fmt.Errorf("push: relay offers no usable authentication scheme (%q)", values)
	}
	if a.chal != nil {
		// Credentials were sent and refused. A new nonce marked stale
		// only means it expired; anything else is a wrong password.
		if !(best.Scheme == headers.SchemeDigest && best.Stale && best.Nonce != a.chal.Nonce) {
			return errAuthFailed
		}
	}
	a.chal, a.nc, a.qop = best, 0, ""
	if best.Scheme == headers.SchemeDigest && hasToken(best.QOP, "auth") {
		a.qop = "auth"
	}
	return nil
}

// challengeRank orders usable challenges; 0 means unusable.
func challengeRank(w *headers.WWWAuthenticate) int {
	switch w.Scheme {
	case headers.SchemeBasic:
		return 1
	case headers.SchemeDigest:
		if w.QOP != "" && !hasToken(w.QOP, "auth") {
			return 0 // auth-int only
		}
		switch strings.ToUpper(w.Algorithm) {
		case "", headers.AlgorithmMD5:
			return 2
		case headers.AlgorithmSHA256:
			return 3
		}
	}
	return 0
}

// hasToken reports whether the comma-separated list holds tok.
func hasToken(list, tok string) bool {
	for p := range strings.SplitSeq(list, ",") {
		if strings.EqualFold(strings.TrimSpace(p), tok) {
			return true
		}
	}
	return false
}

// header returns the Authorization header value for a request, or "" when
// no challenge has been received yet.
func (a *authorizer) header(method, uri string) string {
	if a.chal == nil {
		return ""
	}
	if a.chal.Scheme == headers.SchemeBasic {
		return headers.Authorization{Scheme: headers.SchemeBasic, User: a.user, Password: a.pass}.Marshal()
	}
	newHash := md5.New
	if strings.EqualFold(a.chal.Algorithm, headers.AlgorithmSHA256) {
		newHash = sha256.New
	}
	d := headers.DigestParams{
		Username:  a.user,
		Realm:     a.chal.Realm,
		Nonce:     a.chal.Nonce,
		URI:       uri,
		Algorithm: a.chal.Algorithm,
		Opaque:    a.chal.Opaque,
	}
	if a.qop != "" {
		a.nc++
		d.QOP, d.NC, d.CNonce = a.qop, fmt.Sprintf("%08x", a.nc), a.cnonce()
	}
	d.Response = digestResponse(newHash, a.user, a.pass, method, &d)
	return headers.Authorization{Scheme: headers.SchemeDigest, Digest: d}.Marshal()
}

// digestResponse computes the "response" parameter of RFC 7616 §3.4.1
// (RFC 2069's form when d.QOP is empty).
func digestResponse(newHash func() hash.Hash, user, pass, method string, d *headers.DigestParams) string {
	h := func(parts ...string) string {
		x := newHash()
		x.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(user, d.Realm, pass)
	ha2 := h(method, d.URI)
	if d.QOP == "" {
		return h(ha1, d.Nonce, ha2)
	}
	return h(ha1, d.Nonce, d.NC, d.CNonce, d.QOP, ha2)
}

// checkCredentials refuses user names and passwords with control
// characters, which no Authorization header can carry.
func checkCredentials(user, pass string) error {
	for _, s := range []string{user, pass} {
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return errors.New("push: control character in the relay URL's credentials")
			}
		}
	}
	return nil
}
