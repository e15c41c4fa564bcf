package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Publishing to relays (package rtsp/push): ipcamd is configured with
//
//	push:
//	  - url: rtsp://pub:secret@127.0.0.1:PORT/cam
//
// and must ANNOUNCE + RECORD its main stream there by itself. The relays
// are real peers: the gortsplib v5 server in testdata/push/relay (Digest
// MD5 without qop, as mediamtx), which also serves the stream to ffmpeg,
// and gst-rtsp-server in RECORD mode (testdata/push/gst_record_server.py,
// Basic).

// pushWiringHint is part of every failure that may mean the push
// configuration is not wired into cmd/ipcamd yet.
const pushWiringHint = "ipcamd must accept a top-level `push:` list of `{url: string}` and run " +
	"rtsp/push.Client for each entry on the main stream's ring (see rtsp/push and the lead's wiring notes)"

var (
	pushRelayOnce sync.Once
	pushRelayBin  string
	pushRelayErr  error
)

// buildPushRelay builds testdata/push/relay once per run.
func buildPushRelay(t *testing.T) string {
	t.Helper()
	pushRelayOnce.Do(func() {
		pushRelayBin = filepath.Join(workDir, "push-relay")
		cmd := exec.Command("go", "build", "-o", pushRelayBin, "./testdata/push/relay")
		if out, err := cmd.CombinedOutput(); err != nil {
			pushRelayErr = fmt.Errorf("building testdata/push/relay: %v\n%s", err, out)
		}
	})
	if pushRelayErr != nil {
		t.Fatal(pushRelayErr)
	}
	return pushRelayBin
}

// pushPeer is a relay process whose output lines a test can wait for.
type pushPeer struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
}

// startPushPeer starts a relay in its own process group; it is killed, by
// PID, when the test ends.
func startPushPeer(t *testing.T, name string, args ...string) *pushPeer {
	t.Helper()
	p := &pushPeer{t: t, name: filepath.Base(name), cmd: exec.Command(name, args...), done: make(chan struct{})}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out = append(p.out, sc.Text())
			p.mu.Unlock()
		}
	}()
	go func() {
		_ = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

func (p *pushPeer) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *pushPeer) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

// waitLine waits until an output line matches re; hint is added to the
// failure message.
func (p *pushPeer) waitLine(d time.Duration, re, hint string, srv *server) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		for _, l := range p.out {
			if rx.MatchString(l) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before printing %q:\n%s", p.name, re, tail(p.output(), 30))
		default:
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("%s did not print %q within %v", p.name, re, d)
			if hint != "" {
				msg += ": " + hint
			}
			if srv != nil {
				msg += "\n--- ipcamd log ---\n" + tail(srv.log(), 30)
			}
			p.t.Fatalf("%s\n--- %s output ---\n%s", msg, p.name, tail(p.output(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startGortsplibRelay starts the gortsplib relay on port; publishers need
// pub:secret (Digest MD5 offered, Basic too). extra is added to its
// arguments.
func startGortsplibRelay(t *testing.T, port int, extra ...string) *pushPeer {
	p := startPushPeer(t, buildPushRelay(t), append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port),
		"-user", "pub", "-pass", "secret", "-methods", "digest,basic"}, extra...)...)
	p.waitLine(10*time.Second, `^listening`, "", nil)
	return p
}

// match returns the first submatch of the first output line matching re,
// or "".
func (p *pushPeer) match(re string) string {
	rx := regexp.MustCompile(re)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.out {
		if m := rx.FindStringSubmatch(l); m != nil && len(m) > 1 {
			return m[1]
		}
	}
	return ""
}

// ffmpegFrames plays url over TCP and returns how many frames ffmpeg
// decoded, at most want.
func ffmpegFrames(t *testing.T, url string, want int) (int, toolResult) {
	r := runTool(t, 20*time.Second, t.TempDir(), "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-rtsp_transport", "tcp", "-i", url, "-frames:v", strconv.Itoa(want), "-progress", "pipe:1", "-f", "null", "-")
	n := 0
	for _, m := range regexp.MustCompile(`(?m)^frame=(\d+)`).FindAllStringSubmatch(r.Stdout, -1) {
		n, _ = strconv.Atoi(m[1])
	}
	return n, r
}

// TestPushToRelays runs ipcamd with two relays in its push list: the
// gortsplib relay (Digest) and gst-rtsp-server in RECORD mode (Basic).
// ffmpeg plays the stream back from the gortsplib relay; gst-rtsp-server's
// pipeline must get frames. Then the gortsplib relay is killed and
// restarted on the same port: ipcamd publishes again on its own, within
// its reconnect backoff, and ffmpeg plays again.
func TestPushToRelays(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg")
	if err := exec.Command("/usr/bin/python3", "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run(); err != nil {
		t.Fatalf("/usr/bin/python3 cannot import GstRtspServer (%v); %s", err, installHint)
	}
	relayPort, gstPort := freePort(t), freePort(t)
	relay := startGortsplibRelay(t, relayPort)
	gstScript, _ := filepath.Abs(filepath.Join("testdata", "push", "gst_record_server.py"))
	gst := startPushPeer(t, "/usr/bin/python3", gstScript, strconv.Itoa(gstPort), "--auth", "basic", "--user", "pub", "--password", "secret")
	gst.waitLine(10*time.Second, `^ready`, "", nil)

	cfg := fmt.Sprintf("push:\n  - url: rtsp://pub:secret@127.0.0.1:%d/cam\n  - url: rtsp://pub:secret@127.0.0.1:%d/push\n", relayPort, gstPort)
	srv, err := tryStartServer(t, serverOptions{Config: cfg}, 0)
	if err != nil {
		if strings.Contains(err.Error(), "push") {
			t.Fatalf("ipcamd refused the push configuration: %s\n%v", pushWiringHint, err)
		}
		t.Fatalf("starting ipcamd: %v", err)
	}
	t.Cleanup(func() { srv.cleanup(t) })

	relay.waitLine(15*time.Second, `^publishing /?cam`, "ipcamd did not publish to the gortsplib relay; "+pushWiringHint, srv)
	play := fmt.Sprintf("rtsp://127.0.0.1:%d/cam", relayPort)
	if n, r := ffmpegFrames(t, play, 60); n < 60 {
		t.Fatalf("ffmpeg decoded %d frames from the relay, want 60\n%s", n, r)
	}
	gst.waitLine(15*time.Second, `^frames (\d*[05]0)`, "gst-rtsp-server got no frames from ipcamd; "+pushWiringHint, srv)

	// Relay restart: ipcamd must come back by itself.
	relay.kill()
	relay = startGortsplibRelay(t, relayPort)
	relay.waitLine(20*time.Second, `^publishing /?cam`, "ipcamd did not publish again after the relay restarted", srv)
	if n, r := ffmpegFrames(t, play, 60); n < 60 {
		t.Fatalf("after the relay restarted, ffmpeg decoded %d frames, want 60\n%s", n, r)
	}
	if !strings.Contains(srv.log(), "push: publishing") {
		t.Errorf("ipcamd's log does not mention publishing:\n%s", tail(srv.log(), 30))
	}
}

// TestPushSubStream publishes both streams of the live test pattern to
// the gortsplib relay, main to /cam and sub to /camsub. ffprobe sees each
// at its own size on the relay, ffmpeg decodes the sub stream from there,
// and /metrics labels each relay with its stream. A source without a sub
// stream refuses such a configuration with an error naming the key.
func TestPushSubStream(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg", "ffprobe")
	relayPort := freePort(t)
	relay := startGortsplibRelay(t, relayPort)
	cfg := fmt.Sprintf("push:\n  - url: rtsp://pub:secret@127.0.0.1:%[1]d/cam\n  - url: rtsp://pub:secret@127.0.0.1:%[1]d/camsub\n    stream: sub\n", relayPort)
	srv, err := tryStartServer(t, serverOptions{Config: cfg, Source: "default"}, 0)
	if err != nil {
		t.Fatalf("starting ipcamd with a sub-stream push: %v", err)
	}
	t.Cleanup(func() { srv.cleanup(t) })
	relay.waitLine(15*time.Second, `^publishing /?cam( |$)`, "the main stream did not reach the relay", srv)
	relay.waitLine(15*time.Second, `^publishing /?camsub( |$)`, "the sub stream did not reach the relay", srv)

	for path, want := range map[string]string{"cam": "1280x720", "camsub": "640x360"} {
		url := fmt.Sprintf("rtsp://127.0.0.1:%d/%s", relayPort, path)
		r := runTool(t, 20*time.Second, "", "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
			"-show_entries", "stream=width,height", "-of", "csv=p=0:s=x", url)
		if got := strings.TrimSpace(r.Stdout); got != want {
			t.Errorf("ffprobe of the relay's /%s: %q, want %s\n%s", path, got, want, r)
		}
	}
	if n, r := ffmpegFrames(t, fmt.Sprintf("rtsp://127.0.0.1:%d/camsub", relayPort), 30); n < 30 {
		t.Errorf("ffmpeg decoded %d frames of the sub stream from the relay, want 30\n%s", n, r)
	}
	m := scrapeMetrics(t, srv.HTTP+"/metrics")
	for path, stream := range map[string]string{"/cam": "main", "/camsub": "sub"} {
		if v := m.must(t, "ipcamd_push_publishing", fmt.Sprintf(`url="rtsp://pub:xxxxx@127.0.0.1:%d%s"`, relayPort, path), `stream="`+stream+`"`); v != 1 {
			t.Errorf("ipcamd_push_publishing for %s (%s) = %v, want 1", path, stream, v)
		}
	}

	// The replayed clip has no sub stream: ipcamd says so, skips that
	// relay, and serves on.
	clip, err := tryStartServer(t, serverOptions{Config: "push:\n  - url: rtsp://pub:secret@127.0.0.1:1/x\n    stream: sub\n"}, 0)
	if err != nil {
		t.Fatalf("ipcamd with a file source and a sub-stream push did not start: %v", err)
	}
	t.Cleanup(func() { clip.cleanup(t) })
	if log := clip.log(); !strings.Contains(log, "relay skipped: it is to get the sub stream, and there is none") ||
		!strings.Contains(log, "rtsp://pub:xxxxx@127.0.0.1:1/x") {
		t.Errorf("ipcamd's log does not say why the relay is skipped:\n%s", tail(log, 30))
	}
	if n, r := ffmpegFrames(t, clip.URL, 10); n < 10 {
		t.Errorf("with the relay skipped, ffmpeg decoded %d frames of the camera's stream, want 10\n%s", n, r)
	}
}

// TestPushTLS publishes to the gortsplib relay over rtsps:// with its
// self-signed certificate pinned by push[].tls_fingerprint, and ffmpeg
// plays the stream back from the relay over rtsps. A second entry with a
// wrong pin never gets past the handshake: the relay sees no publisher
// there and ipcamd logs why.
func TestPushTLS(t *testing.T) {
	t.Parallel()
	if serverKind != kindIpcamd {
		t.Log("ipcamd only")
		return
	}
	requireTools(t, "ffmpeg")
	relayPort := freePort(t)
	relay := startGortsplibRelay(t, relayPort, "-tls")
	fp := relay.match(`^fingerprint ([0-9a-f]{64})$`)
	if fp == "" {
		t.Fatalf("the relay printed no fingerprint:\n%s", relay.output())
	}
	wrong := strings.Repeat("0", 64)
	cfg := fmt.Sprintf("push:\n  - url: rtsps://pub:secret@127.0.0.1:%[1]d/cam\n    tls_fingerprint: %[2]s\n  - url: rtsps://pub:secret@127.0.0.1:%[1]d/wrong\n    tls_fingerprint: %[3]s\n", relayPort, fp, wrong)
	srv, err := tryStartServer(t, serverOptions{Config: cfg}, 0)
	if err != nil {
		t.Fatalf("starting ipcamd with an rtsps push: %v", err)
	}
	t.Cleanup(func() { srv.cleanup(t) })
	relay.waitLine(15*time.Second, `^publishing /?cam over tcp`, "ipcamd did not publish over rtsps", srv)
	if n, r := ffmpegFrames(t, fmt.Sprintf("rtsps://127.0.0.1:%d/cam", relayPort), 60); n < 60 {
		t.Fatalf("ffmpeg decoded %d frames from the relay over rtsps, want 60\n%s", n, r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.log(), "not the configured "+wrong) {
		if time.Now().After(deadline) {
			t.Fatalf("ipcamd did not log the wrong pin's mismatch:\n%s", tail(srv.log(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if relay.match(`^publishing /?(wrong)`) != "" {
		t.Errorf("the relay accepted a publisher whose pin is wrong:\n%s", relay.output())
	}
}
