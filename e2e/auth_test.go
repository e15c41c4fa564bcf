package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// usersConfig returns a users: section with one viewer, hashed by
// `ipcamd passwd`.
// withCreds puts user:password into an rtsp:// URL.
func withCreds(url, user, password string) string {
	return strings.Replace(url, "://", "://"+user+":"+password+"@", 1)
}

// TestAuth runs ipcamd with one user and checks that ffmpeg (Digest MD5),
// GStreamer and the gortsplib client (Digest SHA-256) play with the
// credentials in the URL, and that a wrong password or none gets 401 and
// no media.
func TestAuth(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{Users: []user{{Name: "viewer1", Password: "s3cret pass"}}})
	good := withCreds(srv.URL, "viewer1", "s3cret%20pass")

	t.Run("ffmpeg", func(t *testing.T) {
		t.Parallel()
		requireTools(t, "ffprobe")
		for _, tr := range transports {
			r := runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", tr,
				"-show_entries", "stream=codec_name,width,height", "-of", "compact", good)
			if got := strings.TrimSpace(r.Stdout); got != "stream|codec_name=h264|width=1280|height=720" {
				t.Errorf("ffprobe with credentials over %s: %q\n%s", tr, got, r)
			}
		}
		bad := runTool(t, 20*time.Second, t.TempDir(), "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
			"-show_entries", "stream=codec_name", "-of", "compact", withCreds(srv.URL, "viewer1", "wrong"))
		if bad.ExitCode == 0 || !strings.Contains(bad.Stderr, "401") {
			t.Errorf("ffprobe with a wrong password: want failure with 401\n%s", bad)
		}
	})
	t.Run("gstreamer", func(t *testing.T) {
		t.Parallel()
		requireGstElements(t, "rtspsrc", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
		r := runTool(t, 30*time.Second, t.TempDir(), "gst-launch-1.0",
			"rtspsrc", "location="+good, "protocols=tcp", "latency=200",
			"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
			"!", "identity", "eos-after=50", "!", "fakesink")
		if !strings.Contains(r.Stdout, `Got EOS from element "pipeline0"`) {
			t.Fatalf("GStreamer with credentials did not decode 50 frames:\n%s", r)
		}
	})
	t.Run("gortsplib", func(t *testing.T) {
		t.Parallel()
		gortsplibPlay(t, good, nil, 25, 10*time.Second) // Digest SHA-256 from the URL
	})
	t.Run("no media without credentials", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for i, req := range []string{
			"DESCRIBE %s RTSP/1.0\r\nCSeq: 1\r\n\r\n",
			"SETUP %s/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n",
			"PLAY %s RTSP/1.0\r\nCSeq: 3\r\nSession: 1234\r\n\r\n",
		} {
			fmt.Fprintf(c, req, srv.URL)
			status, _ := br.ReadString('\n')
			if !strings.Contains(status, " 401 ") {
				t.Fatalf("request %d without credentials: %q, want 401", i+1, status)
			}
			var challenges int
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
				if strings.HasPrefix(line, "WWW-Authenticate: Digest") {
					challenges++
				}
			}
			if challenges < 2 {
				t.Errorf("request %d: %d Digest challenges, want MD5 and SHA-256", i+1, challenges)
			}
		}
		// Nothing but those replies arrived: no media.
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if b, err := br.ReadByte(); err == nil {
			t.Fatalf("unexpected data %q after the 401s", b)
		}
	})
}

// TestBasicAuth: Basic credentials are accepted over TLS, refused over
// plain TCP (where they would travel in the clear), and a wrong password
// is refused everywhere.
func TestBasicAuth(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	srv := startServer(t, serverOptions{Users: []user{{Name: "viewer1", Password: "s3cret"}}})
	tlsAddr := strings.TrimSuffix(strings.TrimPrefix(srv.TLS, "rtsps://"), "/main")
	describe := func(tlsConn bool, user, pass string) string {
		var c net.Conn
		var err error
		if tlsConn {
			c, err = tls.Dial("tcp", tlsAddr, &tls.Config{InsecureSkipVerify: true})
		} else {
			c, err = net.Dial("tcp", srv.Addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		fmt.Fprintf(c, "DESCRIBE %s RTSP/1.0\r\nCSeq: 1\r\nAuthorization: Basic %s\r\n\r\n", srv.URL, cred)
		status, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(status)
	}
	if got := describe(true, "viewer1", "s3cret"); !strings.Contains(got, " 200 ") {
		t.Errorf("Basic over TLS with the right password: %q, want 200", got)
	}
	if got := describe(true, "viewer1", "wrong"); !strings.Contains(got, " 401 ") {
		t.Errorf("Basic over TLS with a wrong password: %q, want 401", got)
	}
	if got := describe(false, "viewer1", "s3cret"); !strings.Contains(got, " 401 ") {
		t.Errorf("Basic over plain TCP: %q, want 401", got)
	}
}
