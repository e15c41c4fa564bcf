package onvif

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// TokenWindow is how far a UsernameToken's Created may be from the
// device's clock, either way; nonces are remembered that long.
const TokenWindow = 5 * time.Minute

// maxNonces bounds the replay cache.
const maxNonces = 65536

const (
	passwordDigest = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
	passwordText   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

// checkUsernameToken verifies the UsernameToken in a wsse:Security header
// (WS-Security UsernameToken Profile 1.0): PasswordDigest is
// Base64(SHA-1(nonce ‖ Created ‖ password)) over the literal Created text;
// PasswordText is compared as is. Nonce and Created are required, Created
// must be within TokenWindow of now, and a nonce is accepted once.
func (s *Server) checkUsernameToken(sec *node) (string, error) {
	tok := sec.child(NSWSSE, "UsernameToken")
	if tok == nil {
		return "", errors.New("no UsernameToken")
	}
	user := tok.child(NSWSSE, "Username").text()
	pw := tok.child(NSWSSE, "Password")
	nonceNode := tok.child(NSWSSE, "Nonce")
	created := tok.child(NSWSU, "Created")
	if created == nil {
		created = tok.child(NSWSSE, "Created")
	}
	if user == "" || pw == nil || nonceNode == nil || created == nil {
		return "", errors.New("incomplete UsernameToken")
	}
	createdText := strings.TrimSpace(created.Text)
	ct, err := time.Parse(time.RFC3339Nano, createdText)
	if err != nil {
		return "", errors.New("bad Created")
	}
	now := s.opts.Now()
	if d := now.Sub(ct); d > TokenWindow || d < -TokenWindow {
		return "", errors.New("Created outside the window")
	}
	nonce, err := base64.StdEncoding.DecodeString(strings.TrimSpace(nonceNode.Text))
	if err != nil || len(nonce) == 0 || len(nonce) > 256 {
		return "", errors.New("bad Nonce")
	}
	if s.opts.PasswordLookup == nil {
		return "", errors.New("UsernameToken not supported")
	}
	password, ok := s.opts.PasswordLookup(user)
	if !ok {
		return "", errors.New("unknown user")
	}
	got := strings.TrimSpace(pw.Text)
	switch typ := pw.attr("Type"); typ {
	case passwordDigest:
		h := sha1.New()
		h.Write(nonce)
		h.Write([]byte(createdText))
		h.Write([]byte(password))
		want := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			return "", errors.New("wrong password")
		}
	case passwordText, "":
		if subtle.ConstantTimeCompare([]byte(got), []byte(password)) != 1 {
			return "", errors.New("wrong password")
		}
	default:
		return "", errors.New("unknown password type")
	}
	if !s.useNonce(string(nonce), now) {
		return "", errors.New("nonce replayed")
	}
	return user, nil
}

// useNonce records a nonce and reports whether it was fresh.
func (s *Server) useNonce(nonce string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.nonces[nonce]; ok {
		return false
	}
	if len(s.nonces) >= maxNonces {
		for n, t := range s.nonces {
			if now.Sub(t) > 2*TokenWindow || t.Sub(now) > 2*TokenWindow {
				delete(s.nonces, n)
			}
		}
		if len(s.nonces) >= maxNonces {
			return false
		}
	}
	s.nonces[nonce] = now
	return true
}
