package push

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tlsConfig returns the client configuration for an rtsps relay named
// host: the system's roots, or, with fingerprint, only a leaf certificate
// whose SHA-256 is fingerprint.
func tlsConfig(host, fingerprint string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if fingerprint == "" {
		return cfg, nil
	}
	want, err := ParseFingerprint(fingerprint)
	if err != nil {
		return nil, err
	}
	// The pin replaces the chain and name checks, which a self-signed
	// certificate would fail; VerifyConnection runs on every handshake.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the relay sent no certificate")
		}
		got := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if !bytes.Equal(got[:], want) {
			return fmt.Errorf("the relay's certificate has SHA-256 fingerprint %s, not the configured %s", hex.EncodeToString(got[:]), hex.EncodeToString(want))
		}
		return nil
	}
	return cfg, nil
}

// ParseFingerprint parses a SHA-256 certificate fingerprint: 64 hex
// digits, optionally in colon-separated pairs ("AB:CD:…"), in either case.
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("TLS fingerprint %q is not a SHA-256 in hex (64 digits, colons allowed)", s)
	}
	return b, nil
}

// handshakeError describes a failed TLS handshake with the relay. A
// certificate outside its validity on a camera whose clock is before
// 2024 (one that booted without NTP or a battery-backed clock says 1970)
// is put down to the clock, which is the likelier culprit.
func handshakeError(err error, now time.Time) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired && now.Year() < 2024 {
		return fmt.Errorf("TLS: %w (the camera's clock says %s: set up NTP, or pin the certificate with a fingerprint)", err, now.UTC().Format(time.DateOnly))
	}
	return fmt.Errorf("TLS: %w", err)
}
