package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// A nonce is the unpadded base64url encoding of
//
//	issued (8 bytes) || random (12 bytes) || MAC (16 bytes)
//
// where issued is the big-endian number of nanoseconds between the creation
// of the Verifier and the challenge, on the monotonic clock, so that wall
// clock steps (NTP after boot) neither expire nor revive nonces, and MAC is
// HMAC-SHA256 of the first 20 bytes under the Verifier's random nonce key,
// truncated. Nonces are stateless: the server remembers nothing per
// challenge, and a nonce from an earlier process, or from another Verifier,
// fails the MAC.
const (
	nonceIssuedLen = 8
	nonceRandLen   = 12
	nonceMACLen    = 16
	nonceMsgLen    = nonceIssuedLen + nonceRandLen
	nonceLen       = nonceMsgLen + nonceMACLen
)

var nonceEncoding = base64.RawURLEncoding.Strict()

// newNonce returns a nonce issued at now.
func (v *Verifier) newNonce(now time.Time) string {
	if v.testNonce != "" {
		return v.testNonce
	}
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceIssuedLen], uint64(v.sinceEpoch(now)))
	rand.Read(b[nonceIssuedLen:nonceMsgLen])
	copy(b[nonceMsgLen:], v.nonceMAC(b[:nonceMsgLen]))
	return nonceEncoding.EncodeToString(b[:])
}

// nonceFresh reports whether nonce was issued by v no longer than the nonce
// lifetime before now. The MAC is compared in constant time.
func (v *Verifier) nonceFresh(nonce string, now time.Time) bool {
	if v.testNonce != "" && nonce == v.testNonce {
		return true
	}
	if len(nonce) != nonceEncoding.EncodedLen(nonceLen) {
		return false
	}
	var b [nonceLen]byte
	if n, err := nonceEncoding.Decode(b[:], []byte(nonce)); err != nil || n != nonceLen {
		return false
	}
	if !hmac.Equal(b[nonceMsgLen:], v.nonceMAC(b[:nonceMsgLen])) {
		return false
	}
	issued := binary.BigEndian.Uint64(b[:nonceIssuedLen])
	elapsed := uint64(v.sinceEpoch(now))
	return issued <= elapsed && elapsed-issued <= uint64(v.nonceLifetime)
}

func (v *Verifier) nonceMAC(msg []byte) []byte {
	m := hmac.New(sha256.New, v.nonceKey[:])
	m.Write(msg)
	return m.Sum(nil)[:nonceMACLen]
}

// sinceEpoch returns the time from the creation of v to now, or 0 if now
// is earlier.
func (v *Verifier) sinceEpoch(now time.Time) time.Duration {
	return max(now.Sub(v.epoch), 0)
}
