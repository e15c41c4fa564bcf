package push

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestHandshakeError: a certificate "expired or not yet valid" on a camera
// whose clock says 1970 is put down to the clock; on a camera with a
// sensible clock, and for other errors, the error is told as it is.
func TestHandshakeError(t *testing.T) {
	cert, _ := selfSignedCert(t)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	epoch := time.Unix(0, 0)
	_, notYetValid := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: epoch})
	if notYetValid == nil {
		t.Fatal("a certificate from now verified in 1970")
	}
	tests := []struct {
		err     error
		now     time.Time
		want    string
		notWant string
	}{
		{notYetValid, epoch, "the camera's clock says 1970-01-01: set up NTP", ""},
		{notYetValid, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), "TLS: x509: certificate has expired or is not yet valid", "clock"},
		{errors.New("remote error: tls: handshake failure"), epoch, "TLS: remote error", "clock"},
	}
	for _, tt := range tests {
		got := handshakeError(tt.err, tt.now).Error()
		if !strings.Contains(got, tt.want) || (tt.notWant != "" && strings.Contains(got, tt.notWant)) {
			t.Errorf("handshakeError(%v, %v) = %q, want it to contain %q and not %q", tt.err, tt.now.Year(), got, tt.want, tt.notWant)
		}
		if !errors.Is(handshakeError(tt.err, tt.now), tt.err) {
			t.Errorf("handshakeError does not wrap %v", tt.err)
		}
	}
}
