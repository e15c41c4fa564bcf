package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// baseModules are loaded on every board: networking, gpio-sim (through
// configfs; irq_sim_mod comes in as its dependency) and one vivid capture
// node, /dev/video0.
var baseModules = []string{
	"configfs",
	"virtio_pci",
	"virtio_net",
	"irq_sim_mod",
	"gpio-sim",
	"vivid n_devs=1 node_types=0x1",
}

// TestBoardStreamsTestsrc is the lab's smoke test: ipcamd's built-in test
// pattern streamed from the emulated board to ffmpeg on the host. It also
// checks /init's log (vivid's QUERYCAP, the gpio-sim chip) and /poweroff.
func TestBoardStreamsTestsrc(t *testing.T) {
	b := Boot(t, BoardConfig{
		Modules: baseModules,
		Cmds:    []string{fmt.Sprintf("run /bin/ipcamd -source testsrc:320x240@15 -rtsp :%d -http :%d", guestRTSP, guestHTTP)},
		Files:   map[string]string{"/bin/ipcamd": ipcamd},
	})
	checkStream(t, b)

	log := b.InitLog()
	for _, want := range []string{`driver="vivid"`, `label="cam-sim" lines=8`, "eth0 10.0.2.15/24 up", "BUTTON_RESET"} {
		if !strings.Contains(log, want) {
			t.Errorf("/init log lacks %q:\n%s", want, log)
		}
	}
	b.PowerOff(15 * time.Second)
}

// TestBoardStreamsVivid streams the vivid capture device through ipcamd's
// V4L2 source. It fails until `-source v4l2:` exists in ipcamd.
func TestBoardStreamsVivid(t *testing.T) {
	b := Boot(t, BoardConfig{
		Modules: baseModules,
		Cmds:    []string{fmt.Sprintf("run /bin/ipcamd -source v4l2:/dev/video0 -rtsp :%d -http :%d", guestRTSP, guestHTTP)},
		Files:   map[string]string{"/bin/ipcamd": ipcamd},
	})
	checkStream(t, b)
}

// TestVicodecM2M runs the Lab* tests of ./encoder/v4l2m2m on the board,
// single- and multi-planar, against vicodec's stateful FWHT encoder (a V4L2 mem2mem device like a
// hardware H.264 encoder). The guest sets IPCAMD_LAB=1.
func TestVicodecM2M(t *testing.T) {
	bin := buildTest(t, "./encoder/v4l2m2m")
	for _, vicodec := range []string{"vicodec", "vicodec multiplanar=1"} {
		t.Run(strings.ReplaceAll(vicodec, " ", "_"), func(t *testing.T) {
			runGuestTest(t, bin, append(append([]string{}, baseModules...), vicodec), "-test.v", "-test.run", "Lab")
		})
	}
}

// TestCaptureV4L2 runs the Lab* tests of ./capture/v4l2 on the board
// against vivid, with its single-planar and then its multi-planar API.
func TestCaptureV4L2(t *testing.T) {
	bin := buildTest(t, "./capture/v4l2")
	for _, vivid := range []string{"vivid n_devs=1 node_types=0x1", "vivid n_devs=1 node_types=0x1 multiplanar=2"} {
		t.Run(strings.Fields(vivid)[len(strings.Fields(vivid))-1], func(t *testing.T) {
			mods := append([]string{}, baseModules[:len(baseModules)-1]...)
			runGuestTest(t, bin, append(mods, vivid), "-test.v", "-test.run", "Lab")
		})
	}
}

// TestLabRunsGuestTests checks the lab's own guest test path (the "test"
// command of /init and its LAB-TEST marker) and that vicodec's encoder is
// present, with the tests in ./guest.
func TestLabRunsGuestTests(t *testing.T) {
	bin := filepath.Join(workDir, "guest.test")
	if o, err := run(5*time.Minute, labDir, arm64Env, "go", "test", "-c", "-tags", "labguest", "-o", bin, "./guest"); err != nil {
		t.Fatalf("go test -c ./guest for linux/arm64: %v\n%s", err, o)
	}
	runGuestTest(t, bin, append(append([]string{}, baseModules...), "vicodec"), "-test.v", "-test.run", "Lab")
}

// runGuestTest boots a board with modules, runs the test binary bin there
// with args and fails unless it passes with at least one test run. The
// guest's output is shown on failure.
func runGuestTest(t *testing.T, bin string, modules []string, args ...string) {
	t.Helper()
	name := filepath.Base(bin)
	b := Boot(t, BoardConfig{
		Modules: modules,
		Cmds:    []string{"test /bin/" + name + " " + strings.Join(args, " ")},
		Files:   map[string]string{"/bin/" + name: bin},
	})
	start := time.Now()
	line := b.WaitFor("LAB-TEST "+name+" ", 5*time.Minute)
	section := b.Console()
	if i := strings.Index(section, "LAB-TEST-START "+name); i >= 0 {
		section = section[i:]
	}
	if !strings.Contains(line, " PASS ") {
		t.Fatalf("guest test %s failed: %s\n--- guest output:\n%s", name, line, section)
	}
	if strings.Contains(section, "no tests to run") || !strings.Contains(section, "--- PASS: ") {
		t.Fatalf("%s %s ran no tests (want tests named TestLab…):\n%s", name, strings.Join(args, " "), section)
	}
	t.Logf("guest: %s (%v after READY)", line, time.Since(start).Round(time.Millisecond))
	addTiming("%s: guest %s ran in %v", t.Name(), name, time.Since(start).Round(time.Millisecond))
}

// checkStream waits for ipcamd's RTSP server, decodes 60 frames with ffmpeg
// (no decode errors allowed), checks with ffprobe that the first frame is a
// keyframe, and records boot-to-first-frame.
func checkStream(t *testing.T, b *Board) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required on the host: %v", tool, err)
		}
	}
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	waitRTSP(t, b, url, 60*time.Second)
	rtspUp := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ff := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror",
		"-rtsp_transport", "tcp", "-i", url, "-map", "0:v:0", "-frames:v", "60",
		"-progress", "pipe:1", "-stats_period", "0.1", "-f", "null", "-")
	var stderr bytes.Buffer
	ff.Stderr = &stderr
	stdout, err := ff.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ff.Start(); err != nil {
		t.Fatalf("starting ffmpeg: %v", err)
	}
	var first time.Time
	frames := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "frame="); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				frames = n
				if n > 0 && first.IsZero() {
					first = time.Now()
				}
			}
		}
	}
	werr := ff.Wait()
	done := time.Now()
	if werr != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg %s: %v (decoded %d frames)\nstderr:\n%s", url, werr, frames, stderr.String())
	}
	if frames < 60 {
		t.Fatalf("ffmpeg decoded %d frames from %s, want ≥60", frames, url)
	}
	t.Logf("QEMU start → RTSP answering: %v; → first decoded frame: %v; 60 frames at %v",
		rtspUp.Sub(b.Start).Round(time.Millisecond), first.Sub(b.Start).Round(time.Millisecond), done.Sub(b.Start).Round(time.Millisecond))
	addTiming("%s: QEMU start → RTSP OPTIONS 200 %v, → first decoded frame %v, → 60 frames %v",
		t.Name(), rtspUp.Sub(b.Start).Round(time.Millisecond), first.Sub(b.Start).Round(time.Millisecond), done.Sub(b.Start).Round(time.Millisecond))

	// A new session must start on a keyframe.
	probe := exec.CommandContext(ctx, "ffprobe", "-hide_banner", "-v", "error", "-rtsp_transport", "tcp",
		"-select_streams", "v:0", "-read_intervals", "%+#5", "-show_frames",
		"-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0", url)
	var perr bytes.Buffer
	probe.Stderr = &perr
	out, err := probe.Output()
	if err != nil || perr.Len() > 0 {
		t.Fatalf("ffprobe %s: %v\nstderr:\n%s", url, err, perr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) == 0 {
		t.Fatalf("ffprobe %s showed no frames", url)
	}
	if !strings.HasPrefix(lines[0], "1") {
		t.Fatalf("first frame of a new session is not a keyframe: ffprobe key_frame,pict_type = %v", lines)
	}
}

// waitRTSP polls with RTSP OPTIONS until ipcamd answers 200. QEMU's hostfwd
// accepts host connections even when nothing listens in the guest, so a
// bare TCP connect proves nothing.
func waitRTSP(t *testing.T, b *Board, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "rtsp://"), "/main")
	var last string
	for time.Now().Before(deadline) {
		if con := b.Console(); strings.Contains(con, "run ipcamd: exited") {
			t.Fatalf("ipcamd exited in the guest before serving RTSP; last console lines:\n%s", lastLines(con, 4))
		}
		select {
		case <-b.exited:
			t.Fatalf("QEMU exited while waiting for RTSP")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\n\r\n", url)
			resp, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(resp, "RTSP/1.0 200") {
				return
			}
			last = strings.TrimSpace(resp)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ipcamd did not answer RTSP OPTIONS on %s within %v (last: %q)", url, timeout, last)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
