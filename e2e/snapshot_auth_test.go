package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var digestParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// TestSnapshotDigest: with users configured, /snapshot.jpg (the ONVIF
// snapshot URI) wants HTTP Digest: 401 with a challenge without
// credentials, a JPEG with them, 401 with a wrong password.
func TestSnapshotDigest(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{Source: "default", Users: []user{{Name: "viewer1", Password: "s3cret"}}})
	url := srv.HTTP + "/snapshot.jpg"
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var challenge string
	for _, c := range res.Header.Values("WWW-Authenticate") {
		if strings.HasPrefix(c, "Digest") && strings.Contains(c, "MD5") {
			challenge = c
		}
	}
	if res.StatusCode != http.StatusUnauthorized || challenge == "" {
		t.Fatalf("snapshot without credentials: %s, challenges %q; want 401 with Digest MD5", res.Status, res.Header.Values("WWW-Authenticate"))
	}
	p := map[string]string{}
	for _, m := range digestParam.FindAllStringSubmatch(challenge, -1) {
		p[m[1]] = m[2]
	}
	get := func(password string) *http.Response {
		h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
		ha1 := h("viewer1:" + p["realm"] + ":" + password)
		ha2 := h("GET:/snapshot.jpg")
		cnonce, nc := "0a4f113b", "00000001"
		resp := h(strings.Join([]string{ha1, p["nonce"], nc, cnonce, "auth", ha2}, ":"))
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", fmt.Sprintf(
			`Digest username="viewer1", realm="%s", nonce="%s", uri="/snapshot.jpg", algorithm=MD5, qop=auth, nc=%s, cnonce="%s", response="%s"`,
			p["realm"], p["nonce"], nc, cnonce, resp))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	bad := get("wrong")
	bad.Body.Close()
	if bad.StatusCode != http.StatusUnauthorized {
		t.Errorf("snapshot with a wrong password: %s, want 401", bad.Status)
	}
	// Right after start there may be no frame yet: 503 with Retry-After,
	// which a client retries.
	good := get("s3cret")
	for deadline := time.Now().Add(10 * time.Second); good.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline); {
		if good.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		good.Body.Close()
		time.Sleep(200 * time.Millisecond)
		good = get("s3cret")
	}
	defer good.Body.Close()
	if good.StatusCode != http.StatusOK {
		t.Fatalf("snapshot with Digest credentials: %s", good.Status)
	}
	img, err := jpeg.Decode(good.Body)
	if err != nil {
		t.Fatalf("snapshot is not a JPEG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
		t.Errorf("snapshot is %v, want 1280x720", b)
	}
}
