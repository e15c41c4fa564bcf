package push

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/capture/file"
	"github.com/ipcamd/ipcamd/ring"
	"github.com/ipcamd/ipcamd/rtsp/auth"
	"github.com/ipcamd/ipcamd/rtsp/headers"
	"github.com/ipcamd/ipcamd/rtsp/message"
)

// clipPath is the repository's 720p25 test clip: 250 frames, an IDR every
// 25, SPS and PPS before every IDR.
const clipPath = "../../testdata/clip-720p25.h264"

// clipRing returns a ring fed in real time from the test clip until the
// test ends.
func clipRing(t testing.TB) *ring.Ring {
	t.Helper()
	src, err := file.Open(clipPath, file.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("opening the test clip: %v", err)
	}
	r := ring.New(16<<20, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, r)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		r.Close()
	})
	return r
}

// testLogger logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// runClient starts c.Run and returns a function that stops it and returns
// Run's error.
func runClient(t testing.TB, c *Client) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(10 * time.Second):
				err = errors.New("Run did not return within 10 s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeRelay is a minimal in-process RECORD server for testing the
// client's state machine: it checks the requests, optionally demands
// Digest or Basic credentials (through rtsp/auth, ipcamd's own verifier),
// and records what it receives.
type fakeRelay struct {
	t        testing.TB
	ln       net.Listener
	verifier *auth.Verifier
	timeout  int    // advertised session timeout in seconds
	stall    bool   // stop reading after RECORD
	public   string // the Public header; default lists GET_PARAMETER
	scheme   string // rtsp, or rtsps behind TLS

	mu       sync.Mutex
	methods  []string
	conns    int
	packets  [][]byte // RTP packets, per connection appended in order
	firstRTP []byte   // first RTP payload of the latest connection
	rtcp     int
	sdp      string
	current  net.Conn
}

func newFakeRelay(t testing.TB, user, pass string) *fakeRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newFakeRelayOn(t, ln, user, pass)
}

// newFakeTLSRelay is an open fake relay behind TLS with cert (rtsps).
func newFakeTLSRelay(t testing.TB, cert tls.Certificate) *fakeRelay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := newFakeRelayOn(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}), "", "")
	r.scheme = "rtsps"
	return r
}

func newFakeRelayOn(t testing.TB, ln net.Listener, user, pass string) *fakeRelay {
	r := &fakeRelay{t: t, ln: ln, timeout: 60, scheme: "rtsp"}
	if user != "" {
		h, err := auth.HashPassword(user, "fake", pass)
		if err != nil {
			t.Fatal(err)
		}
		r.verifier, err = auth.New(auth.Config{
			Realm:                "fake",
			Users:                []auth.User{{Name: user, Hash: h, Role: auth.RoleAdmin}},
			AllowBasicWithoutTLS: true,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	go r.serve()
	t.Cleanup(func() { ln.Close(); r.dropConn() })
	return r
}

func (r *fakeRelay) url(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return fmt.Sprintf("%s://%s%s/live/cam", r.scheme, userinfo, r.ln.Addr())
}

func (r *fakeRelay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns++
		r.firstRTP = nil
		r.current = c
		r.mu.Unlock()
		go r.handle(c)
	}
}

// dropConn closes the current connection, as a relay restart would.
func (r *fakeRelay) dropConn() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil {
		r.current.Close()
	}
}

func (r *fakeRelay) handle(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	recording := false
	for {
		if recording && r.stall {
			io.Copy(io.Discard, &blockingReader{})
		}
		inter, err := message.IsInterleaved(br)
		if err != nil {
			return
		}
		if inter {
			ch, p, err := message.ReadInterleaved(br, nil)
			if err != nil {
				return
			}
			r.mu.Lock()
			if ch == 0 {
				r.packets = append(r.packets, p)
				if r.firstRTP == nil {
					r.firstRTP = p
				}
			} else {
				r.rtcp++
			}
			r.mu.Unlock()
			continue
		}
		req, err := message.ReadRequest(br)
		if err != nil {
			return
		}
		resp := r.answer(c, req)
		if resp.StatusCode == 200 && req.Method == "RECORD" {
			recording = true
		}
		resp.Header.Set("CSeq", req.Header.Get("CSeq"))
		if err := resp.Write(c); err != nil {
			return
		}
		if req.Method == "TEARDOWN" {
			return
		}
	}
}

// blockingReader never returns: a stalled relay.
type blockingReader struct{}

func (*blockingReader) Read([]byte) (int, error) { select {} }

func (r *fakeRelay) answer(c net.Conn, req *message.Request) *message.Response {
	r.mu.Lock()
	r.methods = append(r.methods, req.Method)
	r.mu.Unlock()
	resp := &message.Response{StatusCode: 200, Header: message.Header{}}
	if r.verifier != nil && req.Method != "OPTIONS" {
		remote := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()
		if _, err := r.verifier.Check(req.Method, req.URL, req.Header.Get("Authorization"), netip.Addr(remote), false); err != nil {
			var ch *auth.Challenge
			if errors.As(err, &ch) {
				resp.StatusCode = 401
				for _, v := range ch.WWWAuthenticate {
					resp.Header.Add("WWW-Authenticate", v)
				}
				return resp
			}
			resp.StatusCode = 403
			return resp
		}
	}
	bad := func(format string, args ...any) *message.Response {
		r.t.Errorf("fake relay: "+format, args...)
		return &message.Response{StatusCode: 400, Header: message.Header{}}
	}
	switch req.Method {
	case "OPTIONS":
		resp.Header.Set("Public", cmp.Or(r.public, "OPTIONS, ANNOUNCE, SETUP, RECORD, GET_PARAMETER, TEARDOWN"))
	case "ANNOUNCE":
		if req.Header.Get("Content-Type") != "application/sdp" || !strings.Contains(string(req.Body), "sprop-parameter-sets=") {
			return bad("ANNOUNCE without an H.264 SDP: %q", req.Body)
		}
		if strings.Contains(req.URL, "@") {
			return bad("credentials in the request URL %q", req.URL)
		}
		r.mu.Lock()
		r.sdp = string(req.Body)
		r.mu.Unlock()
	case "SETUP":
		var tr headers.Transport
		if err := tr.Unmarshal(req.Header.Get("Transport")); err != nil {
			return bad("%v", err)
		}
		if tr.Protocol != headers.ProtocolTCP || tr.Interleaved == nil || *tr.Interleaved != [2]int{0, 1} || tr.Mode != "RECORD" {
			return bad("unexpected transport %q", req.Header.Get("Transport"))
		}
		if !strings.HasSuffix(req.URL, "/live/cam/"+trackControl) {
			return bad("SETUP URL %q", req.URL)
		}
		resp.Header.Set("Transport", req.Header.Get("Transport"))
		resp.Header.Set("Session", fmt.Sprintf("F4KE;timeout=%d", r.timeout))
	case "RECORD", "GET_PARAMETER", "TEARDOWN":
		if req.Header.Get("Session") != "F4KE" {
			return bad("%s with Session %q", req.Method, req.Header.Get("Session"))
		}
	default:
		resp.StatusCode = 501
	}
	return resp
}

func (r *fakeRelay) snapshot() (methods []string, conns, packets, rtcp int, first []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.methods...), r.conns, len(r.packets), r.rtcp, r.firstRTP
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no other test in this binary has been given. The external relays
// bind it some time later, so it comes from below the kernel's ephemeral
// range (32768-60999): an outgoing connection elsewhere cannot be given it
// in between, as happened in CI with ports from 127.0.0.1:0. e2e's
// harness picks its ports the same way.
func freePort(t testing.TB) int {
	t.Helper()
	const low, high = 20000, 32768
	ports.Lock()
	defer ports.Unlock()
	if ports.next == 0 {
		ports.next = low + (os.Getpid()*104729)%(high-low) // apart from e2e's
	}
	for range high - low {
		port := ports.next
		if ports.next++; ports.next >= high {
			ports.next = low
		}
		if ports.used[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		ports.used[port] = true
		return port
	}
	t.Fatalf("no free TCP port in %d-%d", low, high-1)
	return 0
}

var ports = struct {
	sync.Mutex
	next int
	used map[int]bool
}{used: map[int]bool{}}

// requireFile fails the test when path does not exist.
func requireFile(t testing.TB, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s missing: %v (%s)", path, err, hint)
	}
}

// selfSignedCert makes a self-signed ECDSA certificate for 127.0.0.1 and
// returns it with its SHA-256 fingerprint in lower-case hex.
func selfSignedCert(t testing.TB) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}
