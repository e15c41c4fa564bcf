package push

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/h264"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/pion/rtp"
)

// startsWithIDR reports whether an RTP payload begins an IDR access unit
// with its SPS: a STAP-A holding the SPS, or a bare SPS NAL unit.
func startsWithIDR(payload []byte) bool {
	var p rtp.Packet
	if p.Unmarshal(payload) != nil || len(p.Payload) < 4 {
		return false
	}
	switch p.Payload[0] & 0x1f {
	case 24: // STAP-A: 2-byte size, then the first NAL unit
		return h264.NALUType(p.Payload[3]&0x1f) == h264.NALUSPS
	case 7:
		return true
	}
	return false
}

func TestNewValidates(t *testing.T) {
	r := ring.New(4096, 16)
	tests := []struct {
		url     string
		src     *ring.Ring
		wantErr string
	}{
		{"rtsp://relay/x", nil, "Source is nil"},
		{"http://relay/x", r, "scheme must be rtsp or rtsps"},
		{"rtsp:///x", r, "no host"},
		{"rtsp://relay/x?a=b", r, "query"},
		{"rtsp://u:p%0a@relay/x", r, "control character"},
		{"rtsp://u:p@relay/x", r, ""},
		{"rtsp://[::1]:8554/x", r, ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := New(Options{URL: tt.url, Source: tt.src})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%q) = %v, want error containing %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.URL(), ":p@") || c.Status().State != StateIdle {
				t.Fatalf("URL %q state %v", c.URL(), c.Status().State)
			}
		})
	}
	c, _ := New(Options{URL: "rtsp://relay/x", Source: r})
	if c.host != "relay:554" {
		t.Fatalf("default port: host = %q", c.host)
	}
	c, _ = New(Options{URL: "rtsps://relay/x", Source: r})
	if c.host != "relay:322" || c.tls == nil || c.tls.ServerName != "relay" || c.tls.InsecureSkipVerify {
		t.Fatalf("rtsps: host %q, TLS %+v", c.host, c.tls)
	}
	for _, tt := range []struct {
		opts    Options
		wantErr string
	}{
		{Options{URL: "rtsps://relay/x", UDP: true}, "UDP would send the media in clear"},
		{Options{URL: "rtsp://relay/x", TLSFingerprint: strings.Repeat("ab", 32)}, "needs an rtsps:// URL"},
		{Options{URL: "rtsps://relay/x", TLSFingerprint: "ab:cd"}, "not a SHA-256 in hex"},
		{Options{URL: "rtsps://relay/x", TLSFingerprint: strings.Repeat("zz", 32)}, "not a SHA-256 in hex"},
	} {
		tt.opts.Source = r
		if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%+v) = %v, want error containing %q", tt.opts, err, tt.wantErr)
		}
	}
}

// TestTLSRelay publishes to an rtsps relay with a self-signed certificate:
// pinned by its fingerprint (with colons, upper case) it works; a wrong
// pin, or no pin at all, fails the handshake with an error saying why,
// and the relay never sees a request.
func TestTLSRelay(t *testing.T) {
	cert, fp := selfSignedCert(t)
	colons := strings.ToUpper(fp[:2])
	for i := 2; i < len(fp); i += 2 {
		colons += ":" + strings.ToUpper(fp[i:i+2])
	}
	tests := []struct {
		name    string
		pin     string
		wantErr string // "": publishes
	}{
		{"pinned", colons, ""},
		{"wrong pin", strings.Repeat("00", 32), "not the configured"},
		{"system roots", "", "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			relay := newFakeTLSRelay(t, cert)
			c, err := New(Options{URL: relay.url(""), TLSFingerprint: tt.pin, Source: clipRing(t), Logger: testLogger(t),
				MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			stop := runClient(t, c)
			defer stop()
			if tt.wantErr == "" {
				waitFor(t, 10*time.Second, "publishing and 20 frames over TLS", func() bool {
					s := c.Status()
					return s.State == StatePublishing && s.FramesSent >= 20
				})
				_, _, packets, _, first := relay.snapshot()
				if packets == 0 || !startsWithIDR(first) {
					t.Errorf("the relay got %d packets, the first % x", packets, first[:min(len(first), 12)])
				}
				return
			}
			waitFor(t, 10*time.Second, "a TLS failure", func() bool {
				return strings.Contains(c.Status().LastError, tt.wantErr)
			})
			if methods, _, _, _, _ := relay.snapshot(); len(methods) != 0 {
				t.Errorf("the relay got %v through a refused handshake", methods)
			}
			if s := c.Status(); s.State == StatePublishing || s.FramesSent != 0 {
				t.Errorf("status %+v", s)
			}
		})
	}
}

func TestBuildSDP(t *testing.T) {
	sps := []byte{0x67, 0x64, 0x00, 0x1f, 0xac}
	pps := []byte{0x68, 0xee, 0x3c, 0x80}
	for _, host := range []string{"relay.example", "192.0.2.1", "2001:db8::1"} {
		b, err := buildSDP(sps, pps, host)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, want := range []string{
			"m=video 0 RTP/AVP 96", "a=rtpmap:96 H264/90000", "a=control:trackID=0",
			"profile-level-id=64001F", "packetization-mode=1",
			"sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(sps) + "," + base64.StdEncoding.EncodeToString(pps),
		} {
			if !strings.Contains(s, want) {
				t.Errorf("SDP for %s lacks %q:\n%s", host, want, s)
			}
		}
		if strings.Contains(host, ":") != strings.Contains(s, "IN IP6") {
			t.Errorf("address type for %s:\n%s", host, s)
		}
	}
	if _, err := buildSDP(nil, pps, "h"); err == nil {
		t.Fatal("SDP without SPS")
	}
}

// TestSessionWithFakeRelay runs the whole state machine against the
// in-process relay: negotiation with each kind of credentials, media from
// an IDR, sender reports, keepalives, reconnection after the relay drops
// the connection, and TEARDOWN at the end.
func TestSessionWithFakeRelay(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		userinfo  string
		public    string // the relay's Public header
		keepalive string // the keepalive method expected
	}{
		{"open", "", "", "", "GET_PARAMETER"},
		{"digest qop=auth", "cam", "cam:s3cret", "", "GET_PARAMETER"},
		{"OPTIONS keepalive", "", "", "OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN", "OPTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := clipRing(t)
			relay := newFakeRelay(t, tt.user, "s3cret")
			relay.timeout = 1 // keepalive every 500 ms
			relay.public = tt.public
			c, err := New(Options{
				URL: relay.url(tt.userinfo), Source: src, Logger: testLogger(t),
				MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			stop := runClient(t, c)
			waitFor(t, 10*time.Second, "publishing and 40 frames", func() bool {
				s := c.Status()
				return s.State == StatePublishing && s.FramesSent >= 40
			})
			waitFor(t, 8*time.Second, "a sender report", func() bool {
				_, _, _, rtcp, _ := relay.snapshot()
				return rtcp > 0
			})
			methods, _, _, _, first := relay.snapshot()
			if !startsWithIDR(first) {
				t.Errorf("first RTP packet does not start an IDR with its SPS: % x", first[:min(len(first), 20)])
			}
			if i := slices.Index(methods, "RECORD"); i < 0 || !slices.Contains(methods[i:], tt.keepalive) {
				t.Errorf("no %s keepalive within 1 s session timeout: %v", tt.keepalive, methods)
			}
			wantOrder := []string{"OPTIONS", "ANNOUNCE", "SETUP", "RECORD"}
			var got []string
			for _, m := range methods {
				if len(got) < len(wantOrder) && m == wantOrder[len(got)] {
					got = append(got, m)
				}
			}
			if len(got) != len(wantOrder) {
				t.Errorf("methods %v lack the order %v", methods, wantOrder)
			}

			// The relay goes away: the client reconnects and starts
			// again on an IDR.
			relay.dropConn()
			waitFor(t, 10*time.Second, "a second session", func() bool {
				_, conns, _, _, first := relay.snapshot()
				return conns >= 2 && first != nil
			})
			_, _, _, _, first = relay.snapshot()
			if !startsWithIDR(first) {
				t.Errorf("after reconnecting, the first packet does not start an IDR")
			}
			s := c.Status()
			if s.Reconnects < 1 || s.LastError == "" {
				t.Errorf("status after a reconnect: %+v", s)
			}

			if err := stop(); !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			methods, _, _, _, _ = relay.snapshot()
			if methods[len(methods)-1] != "TEARDOWN" {
				t.Errorf("last request %q, want TEARDOWN (all: %v)", methods[len(methods)-1], methods)
			}
			if st := c.Status().State; st != StateStopped {
				t.Errorf("state after Run = %v", st)
			}
		})
	}
}

// TestWrongPassword: the relay refuses the credentials; the client backs
// off, doubling its wait, and reports the error.
func TestWrongPassword(t *testing.T) {
	src := clipRing(t)
	relay := newFakeRelay(t, "cam", "right")
	c, err := New(Options{
		URL: relay.url("cam:wrong"), Source: src, Logger: testLogger(t),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	waitFor(t, 10*time.Second, "three failed attempts", func() bool {
		return c.Status().Reconnects >= 3
	})
	s := c.Status()
	if !strings.Contains(s.LastError, "refused the credentials") {
		t.Errorf("last error %q", s.LastError)
	}
	if s.FramesSent != 0 {
		t.Errorf("sent %d frames without authenticating", s.FramesSent)
	}
	methods, _, _, _, _ := relay.snapshot()
	if slices.Contains(methods, "RECORD") {
		t.Errorf("got as far as RECORD: %v", methods)
	}
}

// TestSlowRelay: a relay that stops reading must not hold up the camera.
// The client drops frames up to the next IDR, then gives the session up
// when its writes stall, and reconnects.
func TestSlowRelay(t *testing.T) {
	src := ring.New(64<<20, 4096)
	t.Cleanup(src.Close)
	relay := newFakeRelay(t, "", "")
	relay.stall = true
	c, err := New(Options{
		URL: relay.url(""), Source: src, Logger: testLogger(t),
		QueueFrames: 8, WriteTimeout: time.Second,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)

	// A fast writer of big frames (to fill the socket buffers), an IDR
	// every 10. The ring never blocks; check it stays fast.
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	big := make([]byte, 60<<10)
	idr := append([]byte{0x65, 0x88}, big...)
	p := append([]byte{0x41, 0x9a}, big...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slowest := make(chan time.Duration, 1)
	go func() {
		var worst time.Duration
		defer func() { slowest <- worst }()
		for i := 0; ctx.Err() == nil; i++ {
			au := &h264.AccessUnit{PTS: time.Duration(i) * 40 * time.Millisecond, NALUs: [][]byte{p}}
			if i%10 == 0 {
				au.NALUs = [][]byte{sps, pps, idr}
			}
			t0 := time.Now()
			src.WriteAccessUnit(au)
			worst = max(worst, time.Since(t0))
			time.Sleep(2 * time.Millisecond)
		}
	}()
	waitFor(t, 15*time.Second, "dropped frames and a reconnect", func() bool {
		s := c.Status()
		return s.FramesDropped > 20 && s.Reconnects >= 1
	})
	cancel()
	// A writer held up by the relay would wait for the 1 s write timeout;
	// allow for scheduling delays under -race on a busy machine.
	if w := <-slowest; w > 500*time.Millisecond {
		t.Errorf("a ring write took %v: the relay held up the camera", w)
	}
	s := c.Status()
	if !strings.Contains(s.LastError, "sending") {
		t.Errorf("last error %q, want a stalled write", s.LastError)
	}
}

// TestParameterSetChange: new SPS in the stream ends the session and the
// next ANNOUNCE carries them.
func TestParameterSetChange(t *testing.T) {
	src := ring.New(1<<20, 256)
	t.Cleanup(src.Close)
	relay := newFakeRelay(t, "", "")
	c, err := New(Options{URL: relay.url(""), Source: src, Logger: testLogger(t), MinBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	sps1 := []byte{0x67, 0x42, 0xc0, 0x1f, 0x01}
	sps2 := []byte{0x67, 0x64, 0x00, 0x28, 0x02}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spsNow := make(chan []byte, 1)
	spsNow <- sps1
	go func() {
		cur := sps1
		for i := 0; ctx.Err() == nil; i++ {
			select {
			case cur = <-spsNow:
			default:
			}
			au := &h264.AccessUnit{PTS: time.Duration(i) * 40 * time.Millisecond, NALUs: [][]byte{{0x41, 0x9a, 1}}}
			if i%5 == 0 {
				au.NALUs = [][]byte{cur, pps, {0x65, 0x88, 1}}
			}
			src.WriteAccessUnit(au)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	waitFor(t, 5*time.Second, "publishing", func() bool { return c.Status().FramesSent > 5 })
	spsNow <- sps2
	want := "sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(sps2)
	waitFor(t, 5*time.Second, "a new ANNOUNCE with the new SPS", func() bool {
		relay.mu.Lock()
		defer relay.mu.Unlock()
		return strings.Contains(relay.sdp, want)
	})
}
