package push

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
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

// Tests against real peers: the gortsplib relay of
// e2e/testdata/push/relay (built from the e2e module), ffmpeg as the
// player, and gst-rtsp-server in RECORD mode
// (e2e/testdata/push/gst_record_server.py). Missing tools fail the test;
// e2e/install-peers.sh installs them.

const (
	e2eDir    = "../../e2e"
	gstScript = "../../e2e/testdata/push/gst_record_server.py"
)

var (
	relayOnce sync.Once
	relayBin  string
	relayErr  error
)

// TestMain removes the relay binary built by the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if relayBin != "" {
		os.RemoveAll(filepath.Dir(relayBin))
	}
	os.Exit(code)
}

// buildRelay builds the gortsplib relay once per test binary.
func buildRelay(t testing.TB) string {
	t.Helper()
	relayOnce.Do(func() {
		dir, err := os.MkdirTemp("", "push-relay")
		if err != nil {
			relayErr = err
			return
		}
		relayBin = filepath.Join(dir, "relay")
		cmd := exec.Command("go", "build", "-o", relayBin, "./testdata/push/relay")
		cmd.Dir = e2eDir
		if out, err := cmd.CombinedOutput(); err != nil {
			relayErr = fmt.Errorf("building the gortsplib relay in %s: %v\n%s", e2eDir, err, out)
		}
	})
	if relayErr != nil {
		t.Fatal(relayErr)
	}
	return relayBin
}

// proc is a child process whose output lines the test can wait for.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
}

// startProc starts name with args in its own process group; it is killed
// (the group, by PID) when the test ends.
func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not installed: %v (run e2e/install-peers.sh)", name, err)
	}
	p := &proc{t: t, cmd: exec.Command(name, args...), done: make(chan struct{})}
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
		p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill kills the process group and waits for the process to end.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

// waitLine waits until an output line matches re.
func (p *proc) waitLine(d time.Duration, re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		for _, l := range p.out {
			if m := rx.FindStringSubmatch(l); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before printing %q:\n%s", p.cmd.Path, re, p.output())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not print %q within %v:\n%s", p.cmd.Path, re, d, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRelay starts the gortsplib relay on port with publisher
// credentials pub:secret offered with methods.
func startRelay(t testing.TB, port int, methods string, extra ...string) *proc {
	args := append([]string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-user", "pub", "-pass", "secret", "-methods", methods}, extra...)
	p := startProc(t, buildRelay(t), args...)
	p.waitLine(10*time.Second, `^listening`)
	return p
}

// playFrames plays url with ffmpeg over TCP and returns how many frames it
// decoded (up to want) and the decoder's error lines.
func playFrames(t testing.TB, url string, want int) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg not installed (run e2e/install-peers.sh): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-rtsp_transport", "tcp", "-i", url, "-frames:v", strconv.Itoa(want), "-progress", "pipe:1", "-f", "null", "-")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	frames := 0
	for _, m := range regexp.MustCompile(`(?m)^frame=(\d+)`).FindAllStringSubmatch(string(out), -1) {
		frames, _ = strconv.Atoi(m[1])
	}
	if err != nil {
		t.Logf("ffmpeg: %v\n%s", err, stderr.String())
	}
	return frames, stderr.String()
}

// TestGortsplibRelayWithFFmpeg publishes the clip to the gortsplib relay
// with Digest (MD5, RFC 2069 form) or Basic credentials, plays it back
// with ffmpeg, then kills and restarts the relay on the same port: the
// client publishes again by itself and ffmpeg plays again.
func TestGortsplibRelayWithFFmpeg(t *testing.T) {
	for _, methods := range []string{"digest", "basic"} {
		t.Run(methods, func(t *testing.T) {
			port := freePort(t)
			relay := startRelay(t, port, methods)
			c, err := New(Options{
				URL:    fmt.Sprintf("rtsp://pub:secret@127.0.0.1:%d/cam", port),
				Source: clipRing(t), Logger: testLogger(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			runClient(t, c)
			relay.waitLine(10*time.Second, `^publishing /?cam`)
			if !strings.Contains(relay.output(), "auth challenge") {
				t.Errorf("the relay never challenged the publisher:\n%s", relay.output())
			}
			play := fmt.Sprintf("rtsp://127.0.0.1:%d/cam", port)
			if n, errs := playFrames(t, play, 60); n < 60 {
				t.Fatalf("ffmpeg decoded %d frames, want 60; errors:\n%s\nrelay:\n%s", n, errs, relay.output())
			} else if errs != "" {
				t.Logf("ffmpeg (joined mid-GOP at the relay):\n%s", errs)
			}
			if methods != "digest" {
				return
			}

			relay.kill()
			waitFor(t, 5*time.Second, "the client to notice", func() bool { return c.Status().State != StatePublishing })
			relay = startRelay(t, port, methods)
			relay.waitLine(15*time.Second, `^publishing /?cam`)
			if n, errs := playFrames(t, play, 60); n < 60 {
				t.Fatalf("after the relay restarted, ffmpeg decoded %d frames; errors:\n%s", n, errs)
			}
			s := c.Status()
			if s.State != StatePublishing || s.Reconnects < 1 || s.FramesSent < 120 {
				t.Errorf("status after the restart: %+v", s)
			}
		})
	}
}

// TestUDPToGortsplibRelay publishes over UDP (RTP/AVP;unicast;
// client_port=…;mode=record) to the gortsplib relay listening for RTP on
// UDP, and plays the stream back from the relay with ffmpeg.
func TestUDPToGortsplibRelay(t *testing.T) {
	port := freePort(t)
	udpPort := udpPortPair(t)
	relay := startRelay(t, port, "digest", "-udp", strconv.Itoa(udpPort))
	c, err := New(Options{
		URL:    fmt.Sprintf("rtsp://pub:secret@127.0.0.1:%d/cam", port),
		Source: clipRing(t), Logger: testLogger(t), UDP: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	relay.waitLine(10*time.Second, `^publishing /?cam over udp$`)
	relay.waitLine(10*time.Second, `^packets /?cam \d+`)
	play := fmt.Sprintf("rtsp://127.0.0.1:%d/cam", port)
	if n, errs := playFrames(t, play, 60); n < 60 {
		t.Fatalf("ffmpeg decoded %d frames from what was published over UDP, want 60; errors:\n%s\nrelay:\n%s", n, errs, relay.output())
	}
	if s := c.Status(); s.State != StatePublishing || s.FramesSent < 60 {
		t.Errorf("status: %+v", s)
	}
}

// udpPortPair finds a free even UDP port whose successor is free too, and
// releases both for a peer to bind.
func udpPortPair(t testing.TB) int {
	t.Helper()
	for range 50 {
		x, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := x.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 {
			x.Close()
			continue
		}
		y, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			x.Close()
			continue
		}
		x.Close()
		y.Close()
		return p
	}
	t.Fatal("no free UDP port pair")
	return 0
}

// TestGstRecordServer publishes to gst-rtsp-server in RECORD mode, with
// Basic and with Digest credentials, and checks that its pipeline
// (rtph264depay ! h264parse ! avdec_h264) gets 50 frames.
func TestGstRecordServer(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c",
		"import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer").Run(); err != nil {
		t.Fatalf("/usr/bin/python3 cannot import GstRtspServer (%v); run e2e/install-peers.sh", err)
	}
	for _, tc := range []struct {
		method string
		udp    bool
	}{{"basic", false}, {"digest", false}, {"basic", true}} {
		method := tc.method
		name := method
		if tc.udp {
			name += "-udp"
		}
		t.Run(name, func(t *testing.T) {
			port := freePort(t)
			gst := startProc(t, "/usr/bin/python3", gstScript, strconv.Itoa(port), "--auth", method, "--user", "pub", "--password", "secret")
			gst.waitLine(10*time.Second, `^ready`)
			c, err := New(Options{
				URL:    fmt.Sprintf("rtsp://pub:secret@127.0.0.1:%d/push", port),
				Source: clipRing(t), Logger: testLogger(t), UDP: tc.udp,
			})
			if err != nil {
				t.Fatal(err)
			}
			runClient(t, c)
			gst.waitLine(15*time.Second, `^record`)
			m := gst.waitLine(15*time.Second, `^frames (\d*[05]0)$`)
			t.Logf("gst-rtsp-server: %s", m[0])
			if !strings.Contains(gst.output(), "decoder avdec_h264") {
				t.Logf("note: avdec_h264 missing, gst-rtsp-server only parsed the stream")
			}
			if s := c.Status(); s.State != StatePublishing {
				t.Errorf("status: %+v", s)
			}
		})
	}
}
