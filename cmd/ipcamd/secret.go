package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ONVIF's WS-Security PasswordDigest can only be checked with the password
// itself, which the users' hashes do not hold. `ipcamd passwd` therefore
// also seals the password with AES-256-GCM under a key that lives only in
// the state directory (secret.key, mode 0600), bound to the user name. The
// config file alone does not reveal it; the config file and the key
// together do, as on any camera that speaks WS-Security.

const sealPrefix = "v1:"

// secretKey reads the sealing key from the state directory, making it
// first when create is set.
func secretKey(stateDir string, create bool) ([]byte, error) {
	path := filepath.Join(stateDir, "secret.key")
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("secret key %s: %d bytes, want 32", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) || !create {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if err := writeFileAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// seal encrypts password for user.
func seal(key []byte, user, password string) (string, error) {
	g, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := g.Seal(nonce, nonce, []byte(password), []byte(user))
	return sealPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// unseal decrypts what seal made for user.
func unseal(key []byte, user, sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("sealed password: unknown format")
	}
	b, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("sealed password: %w", err)
	}
	g, err := newGCM(key)
	if err != nil {
		return "", err
	}
	if len(b) < g.NonceSize() {
		return "", errors.New("sealed password: too short")
	}
	pw, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte(user))
	if err != nil {
		return "", errors.New("sealed password: does not open with this state directory's key")
	}
	return string(pw), nil
}
