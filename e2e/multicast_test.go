package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Multicast runs across two network namespaces joined by a veth pair
// (test-peers.md §10): ipcamd in B sends out of its veth, the clients in A
// receive. Nothing multicast touches the root namespace.

const (
	mcastClientAddr = "198.51.100.1"
	mcastServerAddr = "198.51.100.2"
)

var netnsSeq atomic.Int32

// netnsPair creates namespaces A and B joined by veth, with a 224.0.0.0/4
// route on each veth, and deletes them when the test ends. It returns the
// namespace names and B's veth.
func netnsPair(t *testing.T) (nsA, nsB, vethB string) {
	t.Helper()
	id := fmt.Sprintf("%d%c", os.Getpid(), 'a'+rune(netnsSeq.Add(1)-1))
	nsA, nsB = "ipcamd-mca-"+id, "ipcamd-mcb-"+id
	vethA, vethB := "mcva"+id, "mcvb"+id // at most 15 bytes
	t.Cleanup(func() {
		// Deleting a namespace takes its end of the veth pair, and the
		// pair goes with it; the link delete covers a failure before the
		// move.
		for _, args := range [][]string{{"netns", "del", nsA}, {"netns", "del", nsB}, {"link", "del", vethA}} {
			exec.Command("ip", args...).Run()
		}
	})
	for _, args := range [][]string{
		{"netns", "add", nsA},
		{"netns", "add", nsB},
		{"link", "add", vethA, "type", "veth", "peer", "name", vethB},
		{"link", "set", vethA, "netns", nsA},
		{"link", "set", vethB, "netns", nsB},
		{"-n", nsA, "addr", "add", mcastClientAddr + "/24", "dev", vethA},
		{"-n", nsB, "addr", "add", mcastServerAddr + "/24", "dev", vethB},
		{"-n", nsA, "link", "set", "lo", "up"},
		{"-n", nsB, "link", "set", "lo", "up"},
		{"-n", nsA, "link", "set", vethA, "up"},
		{"-n", nsB, "link", "set", vethB, "up"},
		{"-n", nsA, "route", "add", "224.0.0.0/4", "dev", vethA},
		{"-n", nsB, "route", "add", "224.0.0.0/4", "dev", vethB},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nsA, nsB, vethB
}

// startIpcamdInNetns runs ipcamd in namespace ns on 198.51.100.2 with
// multicast enabled out of iface, and waits until it serves.
func startIpcamdInNetns(t *testing.T, ns, iface string) *server {
	t.Helper()
	return runIpcamdInNetns(t, ns, "file:"+clipPath, func(stateDir string) string {
		return fmt.Sprintf("state_dir: %s\nrtsp:\n  tls_listen: %s:8322\n  multicast:\n    enabled: true\n    interface: %s\n",
			stateDir, mcastServerAddr, iface)
	})
}

// runIpcamdInNetns runs ipcamd with source in namespace ns on
// 198.51.100.2, with the config config returns for a fresh state
// directory, and waits until it serves.
func runIpcamdInNetns(t *testing.T, ns, source string, config func(stateDir string) string) *server {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("building ./cmd/ipcamd failed: %v\n%s", buildErr, tail(buildOut, 40))
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ipcamd.yaml")
	if err := os.WriteFile(cfg, []byte(config(filepath.Join(dir, "state"))), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// ip netns exec execs ipcamd in place, so signals reach it.
	cmd := exec.Command("ip", "netns", "exec", ns, ipcamdBin,
		"-source", source,
		"-rtsp", mcastServerAddr+":8554", "-http", mcastServerAddr+":8080",
		"-log-level", "debug", "-config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	s := &server{
		Kind:    kindIpcamd,
		Addr:    mcastServerAddr + ":8554",
		URL:     "rtsp://" + mcastServerAddr + ":8554/main",
		HTTP:    "http://" + mcastServerAddr + ":8080",
		cmd:     cmd,
		logPath: logPath,
		done:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		logf.Close()
		close(s.done)
	}()
	t.Cleanup(func() { s.cleanup(t) })
	// ipcamd prints its URLs once it listens.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(s.log(), "RTSP stream: "); {
		if s.exited() {
			t.Fatalf("ipcamd exited before serving: %v\n%s", s.waitErr, tail(s.log(), 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipcamd not serving after 15s\n%s", tail(s.log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// buildGortsplibClient builds ./internal/gortsplibclient, which runs the
// gortsplib client where the test binary cannot: in namespace A.
func buildGortsplibClient(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gortsplibclient")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/gortsplibclient")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the gortsplib client: %v\n%s", err, out)
	}
	return bin
}

// gortsplibReport mirrors the JSON report of ./internal/gortsplibclient.
type gortsplibReport struct {
	AUs          int      `json:"aus"`
	FirstTypes   []int    `json:"first_types"`
	FirstIDR     bool     `json:"first_idr"`
	DecodeErrors []string `json:"decode_errors"`
	ClientErrors []string `json:"client_errors"`
	Lost         uint64   `json:"lost"`
	BadTSSteps   int      `json:"bad_ts_steps"`
	NoMarker     int      `json:"no_marker"`
	Error        string   `json:"error"`
}

var (
	mcastStartedRE = regexp.MustCompile(`msg="rtsp: multicast sender started".* group=(\S+) port=(\d+) ttl=(\d+) interface=(\S+)`)
	mcastPlayingRE = regexp.MustCompile(`msg="rtsp: multicast client playing".* playing=(\d+) sender=(\d+)`)
	mcastStoppedRE = regexp.MustCompile(`msg="rtsp: multicast sender stopped"`)
)

// TestMulticast: ffprobe, ffmpeg, GStreamer and the gortsplib client play
// ipcamd's stream over RTSP multicast from another network namespace, and
// all three players at once share one sender.
func TestMulticast(t *testing.T) {
	if serverKind != kindIpcamd {
		t.Log("the multicast test runs against ipcamd only: the reference server script serves no multicast")
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("the multicast test needs root to create network namespaces (CI runs as root)")
	}
	requireTools(t, "ip", "ffmpeg", "ffprobe", "go")
	requireGstElements(t, "rtspsrc", "rtph264depay", "h264parse", "avdec_h264", "identity", "fakesink")
	t.Parallel()
	nsA, nsB, vethB := netnsPair(t)
	client := buildGortsplibClient(t)
	srv := startIpcamdInNetns(t, nsB, vethB)
	inA := func(name string, args ...string) []string {
		return append([]string{"netns", "exec", nsA, name}, args...)
	}

	t.Run("ffprobe", func(t *testing.T) {
		r := runTool(t, 30*time.Second, t.TempDir(), "ip", inA("ffprobe", "-v", "error", "-rtsp_transport", "udp_multicast",
			"-show_entries", "stream=codec_name,profile,width,height", "-of", "compact", srv.URL)...)
		want := "stream|codec_name=h264|profile=Constrained Baseline|width=1280|height=720"
		if r.ExitCode != 0 || strings.TrimSpace(r.Stdout) != want {
			t.Fatalf("ffprobe over multicast: got %q, want %q\n%s", strings.TrimSpace(r.Stdout), want, r)
		}
		// It played, so a sender ran, with the configured interface and
		// the default group, port and ttl.
		m := mcastStartedRE.FindStringSubmatch(srv.log())
		if m == nil {
			t.Fatalf("no multicast sender in the log:\n%s", tail(srv.log(), 30))
		}
		if m[1] != "239.0.0.1" || m[2] != "5000" || m[3] != "16" || m[4] != vethB {
			t.Errorf("sender group=%s port=%s ttl=%s interface=%s; want 239.0.0.1, 5000, 16, %s", m[1], m[2], m[3], m[4], vethB)
		}
	})

	t.Run("three clients share one sender", func(t *testing.T) {
		// The sender of the ffprobe run has stopped (its session ended
		// with its connection).
		waitLog(t, srv, 5*time.Second, func(log string) bool {
			return len(mcastStartedRE.FindAllString(log, -1)) == len(mcastStoppedRE.FindAllString(log, -1))
		})
		mark := len(srv.log())
		dir := t.TempDir()

		// 1. The gortsplib client starts the group's sender and keeps
		// playing until the other two are done.
		gc := exec.Command("ip", inA(client, "-url", srv.URL, "-transport", "multicast", "-n", "50", "-hold", "-timeout", "30s")...)
		stdin, err := gc.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := gc.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		gc.Stderr = &stderr
		if err := gc.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			stdin.Close()
			timer := time.AfterFunc(10*time.Second, func() { gc.Process.Kill() })
			gc.Wait()
			timer.Stop()
		}()
		line := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(stdout).ReadString('\n')
			line <- s
			io.Copy(io.Discard, stdout)
		}()
		var rep gortsplibReport
		select {
		case s := <-line:
			if err := json.Unmarshal([]byte(s), &rep); err != nil {
				t.Fatalf("gortsplib client report %q: %v\nstderr: %s", s, err, stderr.String())
			}
		case <-time.After(40 * time.Second):
			t.Fatalf("gortsplib client: no report within 40s\nstderr: %s", stderr.String())
		}
		if rep.Error != "" || rep.AUs != 50 {
			t.Fatalf("gortsplib over multicast: %+v\nstderr: %s", rep, stderr.String())
		}
		if !rep.FirstIDR {
			t.Errorf("gortsplib: first access unit has NAL types %v, want an IDR (it started the sender)", rep.FirstTypes)
		}
		if len(rep.DecodeErrors) > 0 || len(rep.ClientErrors) > 0 || rep.Lost > 0 || rep.BadTSSteps > 0 || rep.NoMarker > 0 {
			t.Errorf("gortsplib over multicast: %+v", rep)
		}

		// 2. ffmpeg and GStreamer join the running group at once.
		var wg sync.WaitGroup
		var ffmpeg, gst toolResult
		out := filepath.Join(dir, "out.h264")
		wg.Go(func() {
			// Stream copy drops what precedes the first keyframe: a
			// client that joins a running group starts mid-GOP.
			ffmpeg = runTool(t, 40*time.Second, dir, "ip", inA("ffmpeg", "-nostdin", "-v", "error",
				"-rtsp_transport", "udp_multicast", "-i", srv.URL, "-frames:v", "125", "-c", "copy", "-f", "h264", "-y", out)...)
		})
		wg.Go(func() {
			gst = runTool(t, 40*time.Second, dir, "ip", inA("gst-launch-1.0",
				"rtspsrc", "location="+srv.URL, "protocols=udp-mcast", "latency=200",
				"!", "rtph264depay", "!", "h264parse", "!", "avdec_h264",
				"!", "video/x-raw,width=1280,height=720",
				"!", "identity", "eos-after=50", "!", "fakesink")...)
		})
		wg.Wait()

		if ffmpeg.ExitCode != 0 {
			t.Errorf("ffmpeg recording over multicast failed:\n%s", ffmpeg)
		} else {
			if strings.TrimSpace(ffmpeg.Stderr) != "" {
				t.Errorf("ffmpeg printed errors while reading RTSP multicast:\n%s", ffmpeg)
			}
			dec := runTool(t, 30*time.Second, dir, "ffmpeg", "-nostdin", "-v", "error", "-i", out, "-f", "null", "-")
			if dec.ExitCode != 0 || strings.TrimSpace(dec.Stderr) != "" {
				t.Errorf("decoding the multicast recording printed errors:\n%s", dec)
			}
			cnt := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
				"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out)
			if n, err := strconv.Atoi(strings.TrimSpace(cnt.Stdout)); err != nil || n < 125 {
				t.Errorf("multicast recording has %q frames, want >= 125:\n%s", strings.TrimSpace(cnt.Stdout), cnt)
			}
			first := runTool(t, 30*time.Second, dir, "ffprobe", "-v", "error", "-select_streams", "v:0",
				"-show_frames", "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pict_type", "-of", "default=nw=1", out)
			if !strings.Contains(first.Stdout, "key_frame=1") || !strings.Contains(first.Stdout, "pict_type=I") {
				t.Errorf("first recorded frame is not an I keyframe:\n%s", first)
			}
		}
		if !strings.Contains(gst.Stdout, `Got EOS from element "pipeline0"`) {
			t.Errorf("gst-launch rtspsrc protocols=udp-mcast did not decode 50 frames (no EOS):\n%s", gst)
		} else if gst.ExitCode != 0 {
			t.Logf("note: gst-launch exited %d after EOS (rtspsrc shutdown race):\n%s", gst.ExitCode, gst)
		}

		// 3. One sender served all three: it started once, never stopped
		// while the gortsplib client played, and saw three players.
		log := srv.log()[mark:]
		if n := len(mcastStartedRE.FindAllString(log, -1)); n != 1 {
			t.Errorf("%d multicast senders started for the three clients, want 1", n)
		}
		if n := len(mcastStoppedRE.FindAllString(log, -1)); n != 0 {
			t.Errorf("the multicast sender stopped %d times while the gortsplib client played", n)
		}
		most := 0
		for _, m := range mcastPlayingRE.FindAllStringSubmatch(log, -1) {
			n, _ := strconv.Atoi(m[1])
			most = max(most, n)
		}
		if most != 3 {
			t.Errorf("at most %d clients played the group at once, want 3\n%s", most, tail(log, 30))
		}

		// 4. The last client's TEARDOWN stops the sender.
		stdin.Close()
		waitLog(t, srv, 10*time.Second, func(log string) bool { return mcastStoppedRE.MatchString(log[mark:]) })
	})
}

// waitLog waits until cond holds for the server's log.
func waitLog(t *testing.T, s *server, d time.Duration, cond func(string) bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(s.log()); {
		if time.Now().After(end) {
			t.Fatalf("server log did not show what was expected within %v:\n%s", d, tail(s.log(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
