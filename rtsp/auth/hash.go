package auth

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultIterations is the PBKDF2 iteration count HashPassword uses. It is
// stored in each hash, so it can be raised later without invalidating
// existing hashes.
//
// The count only slows down guessing through the PBKDF2 value: whoever can
// read a hash can also test guesses against its Digest HA1 values, which
// cost one MD5 or SHA-256 each (see Hash). The count is therefore moderate,
// to keep Basic authentication cheap on a camera's CPU.
const DefaultIterations = 100_000

// hashScheme is the first field of an encoded Hash.
const hashScheme = "ipcamd1"

const (
	saltLen = 16 // bytes of salt HashPassword draws
	keyLen  = 32 // bytes of PBKDF2 output

	minSaltLen    = 8
	maxSaltLen    = 64
	maxIterations = 10_000_000
)

// Hash is a decoded User.Hash: what the server stores about a password.
//
// Its encoded form, produced by String and HashPassword and read by
// ParseHash, is six fields separated by "$":
//
//	ipcamd1$<iterations>$<salt>$<key>$<md5 HA1>$<sha256 HA1>
//
// where iterations is decimal, salt and key are unpadded standard base64
// and the HA1 values are lower-case hex.
//
// Key verifies Basic credentials and is a one-way, salted hash. The HA1
// values verify Digest credentials: HA1 = H(user ":" realm ":" password),
// as RFC 7616 defines it, which is what every Digest server has to store.
// An HA1 value is password-equivalent for Digest authentication with that
// user name and realm: whoever reads it can log in without knowing the
// password, and can test password guesses against it at the speed of MD5.
// The file holding the hashes must therefore be protected like a file of
// passwords (readable only by the server), and the hash must be made again
// when the user name or realm changes.
type Hash struct {
	// Iterations is the PBKDF2 iteration count.
	Iterations int
	// Salt is the PBKDF2 salt.
	Salt []byte
	// Key is PBKDF2-HMAC-SHA256(password, Salt, Iterations), 32 bytes.
	Key []byte
	// MD5 is the Digest HA1 for algorithm MD5.
	MD5 [md5.Size]byte
	// SHA256 is the Digest HA1 for algorithm SHA-256.
	SHA256 [sha256.Size]byte
}

// HashPassword returns the encoded Hash of password for the user name and
// realm, for User.Hash; the realm "" means DefaultRealm. It is what the
// command "ipcamd passwd" prints. The salt is random, so two calls give
// different results.
func HashPassword(user, realm, password string) (string, error) {
	h, err := newHash(user, realm, password, DefaultIterations)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func newHash(user, realm, password string, iterations int) (Hash, error) {
	if realm == "" {
		realm = DefaultRealm
	}
	if err := checkUserName(user); err != nil {
		return Hash{}, fmt.Errorf("auth: %w", err)
	}
	if err := checkRealm(realm); err != nil {
		return Hash{}, fmt.Errorf("auth: %w", err)
	}
	if password == "" {
		return Hash{}, errors.New("auth: empty password")
	}
	h := Hash{Iterations: iterations, Salt: make([]byte, saltLen)}
	rand.Read(h.Salt)
	key, err := pbkdf2.Key(sha256.New, password, h.Salt, iterations, keyLen)
	if err != nil {
		return Hash{}, fmt.Errorf("auth: hashing password: %w", err)
	}
	h.Key = key
	a1 := user + ":" + realm + ":" + password
	h.MD5 = md5.Sum([]byte(a1))
	h.SHA256 = sha256.Sum256([]byte(a1))
	return h, nil
}

// ParseHash decodes an encoded Hash, as HashPassword produces. It rejects
// anything else, including plain-text passwords.
func ParseHash(s string) (Hash, error) {
	h, err := parseHash(s)
	if err != nil {
		return Hash{}, fmt.Errorf("auth: malformed password hash: %w", err)
	}
	return h, nil
}

func parseHash(s string) (Hash, error) {
	var h Hash
	f := strings.Split(s, "$")
	if f[0] != hashScheme {
		// Do not quote s: it may be a plain-text password.
		return h, errors.New(`not an "ipcamd1$" hash (make one with HashPassword or "ipcamd passwd")`)
	}
	if len(f) != 6 {
		return h, fmt.Errorf("%d fields, want 6", len(f))
	}
	// Go's base64 decoders skip CR and LF even in strict mode; a hash has
	// exactly one spelling.
	if strings.ContainsAny(s, "\r\n") {
		return h, errors.New("line break inside the hash")
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 1 || n > maxIterations || f[1][0] == '+' || f[1][0] == '0' {
		return h, fmt.Errorf("iteration count %q is not a number in 1-%d", f[1], maxIterations)
	}
	h.Iterations = n
	b64 := base64.RawStdEncoding.Strict()
	if h.Salt, err = b64.DecodeString(f[2]); err != nil || len(h.Salt) < minSaltLen || len(h.Salt) > maxSaltLen {
		return Hash{}, fmt.Errorf("salt is not %d-%d bytes of unpadded base64", minSaltLen, maxSaltLen)
	}
	if h.Key, err = b64.DecodeString(f[3]); err != nil || len(h.Key) != keyLen {
		return Hash{}, fmt.Errorf("key is not %d bytes of unpadded base64", keyLen)
	}
	if err := decodeHex(h.MD5[:], f[4]); err != nil {
		return Hash{}, fmt.Errorf("MD5 HA1: %w", err)
	}
	if err := decodeHex(h.SHA256[:], f[5]); err != nil {
		return Hash{}, fmt.Errorf("SHA-256 HA1: %w", err)
	}
	return h, nil
}

// decodeHex decodes exactly len(dst) bytes of lower-case hex.
func decodeHex(dst []byte, s string) error {
	if len(s) != 2*len(dst) || strings.ToLower(s) != s {
		return fmt.Errorf("not %d lower-case hex digits", 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("not %d lower-case hex digits", 2*len(dst))
	}
	return nil
}

// String returns the encoded form of h, which ParseHash reads.
func (h Hash) String() string {
	b64 := base64.RawStdEncoding
	return hashScheme + "$" + strconv.Itoa(h.Iterations) +
		"$" + b64.EncodeToString(h.Salt) + "$" + b64.EncodeToString(h.Key) +
		"$" + hex.EncodeToString(h.MD5[:]) + "$" + hex.EncodeToString(h.SHA256[:])
}

// checkPassword reports whether password matches h.Key, in constant time
// with respect to the key.
func (h *Hash) checkPassword(password string) bool {
	key, err := pbkdf2.Key(sha256.New, password, h.Salt, h.Iterations, keyLen)
	return err == nil && subtle.ConstantTimeCompare(key, h.Key) == 1
}

// checkUserName reports why name cannot be a user name: it must be
// non-empty, valid UTF-8 without control characters, and cannot contain a
// colon (it ends the user name in Basic credentials) or a double quote or
// backslash (clients do not escape them in Digest credentials).
func checkUserName(name string) error {
	if name == "" {
		return errors.New("empty user name")
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("user name %q is not valid UTF-8", name)
	}
	if hasControl(name) || strings.ContainsAny(name, `:"\`) {
		return fmt.Errorf("user name %q contains a control character, colon, double quote or backslash", name)
	}
	return nil
}

// checkRealm reports why realm cannot be a realm: it must be valid UTF-8
// without control characters, double quotes or backslashes, which some
// clients cannot read in a challenge.
func checkRealm(realm string) error {
	if !utf8.ValidString(realm) {
		return fmt.Errorf("realm %q is not valid UTF-8", realm)
	}
	if hasControl(realm) || strings.ContainsAny(realm, `"\`) {
		return fmt.Errorf("realm %q contains a control character, double quote or backslash", realm)
	}
	return nil
}

// hasControl reports whether s contains a C0 or C1 control character or DEL.
func hasControl(s string) bool {
	for _, r := range s {
		if r < ' ' || (r >= 0x7f && r < 0xa0) {
			return true
		}
	}
	return false
}
