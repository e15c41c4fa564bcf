package e2e

import (
	"crypto/tls"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"
)

// TestRTSPS plays rtsps:// (TLS, interleaved TCP inside) with ffmpeg and
// with the gortsplib client, against ipcamd's self-signed certificate.
func TestRTSPS(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{})
	t.Run("ffmpeg", func(t *testing.T) {
		t.Parallel()
		requireTools(t, "ffmpeg")
		dir := t.TempDir()
		out := filepath.Join(dir, "out.h264")
		r := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", srv.TLS,
			"-frames:v", "60", "-c", "copy", "-copyinkf", "-f", "h264", "-y", out)
		if r.ExitCode != 0 || strings.TrimSpace(r.Stderr) != "" {
			t.Fatalf("ffmpeg over rtsps:\n%s", r)
		}
		dec := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out)
		if n, err := strconv.Atoi(strings.TrimSpace(dec.Stdout)); err != nil || n < 60 {
			t.Fatalf("recorded %q frames over rtsps, want 60:\n%s", dec.Stdout, dec)
		}
	})
	t.Run("gortsplib", func(t *testing.T) {
		t.Parallel()
		gortsplibPlay(t, srv.TLS, &tls.Config{InsecureSkipVerify: true}, 50, 15*time.Second)
	})
}

// gortsplibPlay plays url over TCP with the gortsplib client (tlsConf for
// rtsps://) and waits for n decoded access units, failing the test if they
// do not come within timeout.
func gortsplibPlay(t *testing.T, url string, tlsConf *tls.Config, n int, timeout time.Duration) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	p := gortsplib.ProtocolTCP
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &p, TLSConfig: tlsConf}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		t.Fatal(err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		t.Fatal("no H.264 in the SDP")
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		t.Fatal(err)
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	aus := make(chan struct{}, 100)
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		if _, err := dec.Decode(pkt); err == nil {
			select {
			case aus <- struct{}{}:
			default:
			}
		}
	})
	if _, err := c.Play(nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(timeout)
	for i := 0; i < n; i++ {
		select {
		case <-aus:
		case <-deadline:
			t.Fatalf("gortsplib got %d access units from %s in %v, want %d", i, url, timeout, n)
		}
	}
}
