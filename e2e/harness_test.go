package e2e

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server kinds selectable with E2E_SERVER.
const (
	kindIpcamd = "ipcamd" // the product (default)
	kindGst    = "gst"    // gst-rtsp-server reference, validates the harness
)

var (
	serverKind string
	workDir    string // temporary folder shared by the package
	ipcamdBin  string
	buildErr   error
	buildOut   string
	clipPath   string
	gstScript  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The tests mostly wait on sockets and child processes; the default
	// -parallel (GOMAXPROCS, 2 on CI) would serialise them for no gain.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.parallel" {
			parallelSet = true
		}
	})
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	serverKind = os.Getenv("E2E_SERVER")
	if serverKind == "" {
		serverKind = kindIpcamd
	}
	if serverKind != kindIpcamd && serverKind != kindGst {
		fmt.Fprintf(os.Stderr, "E2E_SERVER=%q: want %q or %q\n", serverKind, kindIpcamd, kindGst)
		return 2
	}
	var err error
	clipPath, err = filepath.Abs(filepath.Join("..", "testdata", "clip-720p25.h264"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	gstScript, _ = filepath.Abs(filepath.Join("testdata", "gst_rtsp_server.py"))
	workDir, err = os.MkdirTemp("", "ipcamd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(workDir)

	if serverKind == kindIpcamd {
		ipcamdBin = filepath.Join(workDir, "ipcamd")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", ipcamdBin, "./cmd/ipcamd")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		buildOut = string(out)
		if err != nil {
			buildErr = err
		}
		fmt.Fprintf(os.Stderr, "e2e: built ipcamd in %v (err=%v)\n", time.Since(start).Round(time.Millisecond), err)
	}
	fmt.Fprintf(os.Stderr, "e2e: server under test: %s\n", serverKind)
	return m.Run()
}

// ---------------------------------------------------------------------------
// Peers

var (
	toolMu    sync.Mutex
	toolCache = map[string]error{}
)

const installHint = "run e2e/install-peers.sh (as root) to install the test peers"

// requireTools fails the test when an external program is missing.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("test peer %q not found in PATH: %v; %s", n, err, installHint)
		}
	}
}

// requireGstElements fails the test when a GStreamer element is missing.
func requireGstElements(t testing.TB, names ...string) {
	t.Helper()
	requireTools(t, "gst-launch-1.0", "gst-inspect-1.0")
	for _, n := range names {
		toolMu.Lock()
		err, ok := toolCache["gst:"+n]
		if !ok {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err = exec.CommandContext(ctx, "gst-inspect-1.0", "--exists", n).Run()
			cancel()
			toolCache["gst:"+n] = err
		}
		toolMu.Unlock()
		if err != nil {
			t.Fatalf("GStreamer element %q not available (gst-inspect-1.0 --exists: %v); %s", n, err, installHint)
		}
	}
}

// toolResult is the outcome of one external client run.
type toolResult struct {
	Cmdline  string
	Stdout   string
	Stderr   string
	ExitCode int // -1 when killed or not started
	Err      error
	TimedOut bool
	Elapsed  time.Duration
}

func (r toolResult) String() string {
	s := fmt.Sprintf("$ %s\nexit=%d err=%v timedOut=%v elapsed=%v", r.Cmdline, r.ExitCode, r.Err, r.TimedOut,
		r.Elapsed.Round(time.Millisecond))
	if r.Stdout != "" {
		s += "\n--- stdout ---\n" + tail(r.Stdout, 40)
	}
	if r.Stderr != "" {
		s += "\n--- stderr ---\n" + tail(r.Stderr, 40)
	}
	return s
}

// runTool runs an external client under a context timeout.
func runTool(t testing.TB, timeout time.Duration, dir, name string, args ...string) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := toolResult{
		Cmdline:  name + " " + strings.Join(args, " "),
		Stdout:   stdout.String(),
		Stderr:   stderr.String(),
		ExitCode: -1,
		Err:      err,
		TimedOut: ctx.Err() != nil,
		Elapsed:  time.Since(start),
	}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d earlier lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------------------
// Ports

// Ports handed out by freePort come from below the kernel's ephemeral range
// (32768-60999 on Linux), so an outgoing connection of some other test, or
// a peer binding port 0, cannot be given the port between the moment it is
// chosen and the moment its server binds it. Each port is handed out once
// per test binary.
const (
	fixedPortLow  = 20000
	fixedPortHigh = 32768
)

var portPicker = struct {
	sync.Mutex
	next int
	used map[int]bool
}{used: map[int]bool{}}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no other test in this binary has been given.
func freePort(t testing.TB) int {
	t.Helper()
	portPicker.Lock()
	defer portPicker.Unlock()
	if portPicker.next == 0 {
		// Spread concurrent test binaries over the range.
		portPicker.next = fixedPortLow + (os.Getpid()*7919)%(fixedPortHigh-fixedPortLow)
	}
	for range fixedPortHigh - fixedPortLow {
		port := portPicker.next
		portPicker.next++
		if portPicker.next >= fixedPortHigh {
			portPicker.next = fixedPortLow
		}
		if portPicker.used[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		portPicker.used[port] = true
		return port
	}
	t.Fatalf("free port: no free TCP port in %d-%d", fixedPortLow, fixedPortHigh-1)
	return 0
}

// udpPair is an RTP/RTCP client port pair (even, even+1) on 127.0.0.1.
type udpPair struct {
	RTP, RTCP *net.UDPConn
}

func (p *udpPair) rtpPort() int  { return p.RTP.LocalAddr().(*net.UDPAddr).Port }
func (p *udpPair) rtcpPort() int { return p.RTCP.LocalAddr().(*net.UDPAddr).Port }

func (p *udpPair) Close() {
	p.RTP.Close()
	p.RTCP.Close()
}

func newUDPPair(t testing.TB) *udpPair {
	t.Helper()
	for range 200 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatalf("udp listen: %v", err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if port%2 != 0 || port == 65535 {
			a.Close()
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err != nil {
			a.Close()
			continue
		}
		p := &udpPair{RTP: a, RTCP: b}
		t.Cleanup(p.Close)
		return p
	}
	t.Fatal("no free UDP port pair on 127.0.0.1")
	return nil
}

// ---------------------------------------------------------------------------
// Server under test

type serverOptions struct {
	// SessionTimeout is written to the config file as rtsp.session_timeout
	// when non-zero (ipcamd), or set on every session (gst-rtsp-server).
	SessionTimeout time.Duration
	// FanOut asks for one source shared by all clients. ipcamd always
	// works that way; gst-rtsp-server then serves a shared media (whose
	// clients join mid-GOP) instead of one pipeline per client.
	FanOut bool
	// Source is ipcamd's -source; empty means the committed clip, and
	// "default" passes no -source at all (the live test pattern).
	Source string
	// Config is YAML appended to ipcamd's config file (top-level keys
	// other than http, rtsp, state_dir and users).
	Config string
	// Users are added with `ipcamd passwd`, in the instance's state
	// directory, so that WS-Security works for them too.
	Users []user
	// MaxSessions, when non-zero, is ipcamd's rtsp.max_sessions.
	MaxSessions int
}

// user is an account of ipcamd under test; Role is viewer or admin.
type user struct{ Name, Password, Role string }

// server is one running instance of the server under test.
type server struct {
	Kind  string
	Addr  string // RTSP host:port
	URL   string // stream URL
	HTTP  string // ipcamd's HTTP base URL
	HTTPS string // and its HTTPS one
	TLS   string // ipcamd's rtsps:// stream URL

	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error
	stopped bool
}

// startServer starts a fresh server under test and waits until its RTSP port
// accepts connections. It is stopped (SIGTERM) when the test ends.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	var lastErr error
	for attempt := range 3 {
		s, err := tryStartServer(t, opts, attempt)
		if err == nil {
			t.Cleanup(func() { s.cleanup(t) })
			return s
		}
		lastErr = err
		if errors.Is(err, errNoRetry) {
			break
		}
	}
	t.Fatalf("starting %s: %v", serverKind, lastErr)
	return nil
}

var errNoRetry = errors.New("not retried")

func tryStartServer(t *testing.T, opts serverOptions, attempt int) (*server, error) {
	dir := t.TempDir()
	rtspPort := freePort(t)
	httpPort, tlsPort, httpsPort := 0, 0, 0
	var cmd *exec.Cmd
	switch serverKind {
	case kindIpcamd:
		if buildErr != nil {
			return nil, fmt.Errorf("%w: building ./cmd/ipcamd failed: %v\n%s", errNoRetry, buildErr, tail(buildOut, 40))
		}
		httpPort = freePort(t)
		args := []string{
			"-rtsp", fmt.Sprintf("127.0.0.1:%d", rtspPort),
			"-http", fmt.Sprintf("127.0.0.1:%d", httpPort),
			"-log-level", "debug",
		}
		switch opts.Source {
		case "":
			args = append(args, "-source", "file:"+clipPath)
		case "default":
		default:
			args = append(args, "-source", opts.Source)
		}
		// Every instance gets its own RTSPS port and state directory, so
		// that parallel tests do not collide on :8322.
		tlsPort, httpsPort = freePort(t), freePort(t)
		body := fmt.Sprintf("state_dir: %s\nhttp:\n  tls_listen: 127.0.0.1:%d\nrtsp:\n  tls_listen: 127.0.0.1:%d\n", filepath.Join(dir, "state"), httpsPort, tlsPort)
		if opts.SessionTimeout > 0 {
			body += fmt.Sprintf("  session_timeout: %s\n", opts.SessionTimeout)
		}
		if opts.MaxSessions > 0 {
			body += fmt.Sprintf("  max_sessions: %d\n", opts.MaxSessions)
		}
		cfg := filepath.Join(dir, "ipcamd.yaml")
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			return nil, err
		}
		users, err := addUsers(cfg, opts.Users)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNoRetry, err)
		}
		body += users + opts.Config
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "-config", cfg)
		cmd = exec.Command(ipcamdBin, args...)
	case kindGst:
		if err := exec.Command("/usr/bin/python3", "-c",
			"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run(); err != nil {
			return nil, fmt.Errorf("%w: /usr/bin/python3 cannot import GstRtspServer (%v); %s", errNoRetry, err, installHint)
		}
		args := []string{gstScript, strconv.Itoa(rtspPort), clipPath}
		if opts.SessionTimeout > 0 {
			args = append(args, "--timeout", strconv.Itoa(int(opts.SessionTimeout/time.Second)))
		}
		if opts.FanOut {
			args = append(args, "--shared")
		}
		cmd = exec.Command("/usr/bin/python3", args...)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("server-%d.log", attempt))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so that anything the server spawned can be reaped;
	// SIGTERM if the test binary dies without cleaning up (timeout, ^C).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("%w: %v", errNoRetry, err)
	}
	s := &server{
		Kind:    serverKind,
		Addr:    fmt.Sprintf("127.0.0.1:%d", rtspPort),
		URL:     fmt.Sprintf("rtsp://127.0.0.1:%d/main", rtspPort),
		HTTP:    fmt.Sprintf("http://127.0.0.1:%d", httpPort),
		HTTPS:   fmt.Sprintf("https://127.0.0.1:%d", httpsPort),
		TLS:     fmt.Sprintf("rtsps://127.0.0.1:%d/main", tlsPort),
		cmd:     cmd,
		logPath: logPath,
		done:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		// Reap leftovers of the server's process group (only ours).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		logf.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before listening on %s: %v\n--- server log ---\n%s",
				serverKind, s.Addr, s.waitErr, tail(s.log(), 40))
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("%w: %s not accepting on %s after 15s\n--- server log ---\n%s",
				errNoRetry, serverKind, s.Addr, tail(s.log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// terminate sends SIGTERM and waits up to limit for the process to exit.
// It returns the exit code and how long the exit took.
func (s *server) terminate(limit time.Duration) (code int, elapsed time.Duration, err error) {
	s.stopped = true
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-s.done:
		default:
			return -1, 0, fmt.Errorf("SIGTERM: %v", err)
		}
	}
	select {
	case <-s.done:
		elapsed = time.Since(start)
	case <-time.After(limit):
		_ = s.cmd.Process.Kill()
		<-s.done
		return -1, time.Since(start), fmt.Errorf("did not exit within %v of SIGTERM (killed)", limit)
	}
	return s.cmd.ProcessState.ExitCode(), elapsed, nil
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *server) cleanup(t *testing.T) {
	if !s.stopped {
		if s.exited() {
			t.Errorf("%s exited during the test: %v", s.Kind, s.waitErr)
		} else if code, el, err := s.terminate(5 * time.Second); err != nil || code != 0 {
			t.Logf("note: %s stop after test: exit=%d after %v, err=%v", s.Kind, code, el.Round(time.Millisecond), err)
		}
	}
	if t.Failed() {
		t.Logf("--- %s log (%s) ---\n%s", s.Kind, s.URL, tail(s.log(), 60))
	}
}

// addUsers runs `ipcamd passwd` for each user with the config file cfg
// (for its state directory) and returns the users: section.
func addUsers(cfg string, users []user) (string, error) {
	var out strings.Builder
	for i, u := range users {
		cmd := exec.Command(ipcamdBin, "passwd", "-config", cfg, u.Name, cmp.Or(u.Role, "viewer"))
		cmd.Stdin = strings.NewReader(u.Password + "\n")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			return "", fmt.Errorf("ipcamd passwd %s: %v %s", u.Name, err, stderr.String())
		}
		entry := string(b)
		if i > 0 {
			entry = strings.TrimPrefix(entry, "users:\n")
		}
		out.WriteString(entry)
	}
	return out.String(), nil
}
