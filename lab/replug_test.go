package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Console messages of capture/v4l2 (capture/v4l2/source.go): one Warn when
// an outage starts, one Info when it ends.
const (
	logDeviceFailed    = "capture/v4l2: device failed, reopening"
	logDeviceRecovered = "capture/v4l2: device recovered"
	// logReopenFailed is logged at debug level for each failed attempt.
	logReopenFailed = "capture/v4l2: reopen failed"
)

// resumeBudget is the requirement: clients resume at the next IDR within
// 3 s of the device coming back.
const resumeBudget = 3 * time.Second

// vividCIDDisconnect is vivid's "Disconnect" control (see lab/init).
const vividCIDDisconnect = 0x00f0f000 + 65

// TestBoardCameraReplug takes vivid away from under a running ipcamd three
// times and brings it back, while one RTSP client (ffmpeg over TCP) stays
// connected throughout. The requirement: "An unplugged or failing device is
// reopened with backoff. Sessions stay open, and clients resume at the next
// IDR within 3 s of the device coming back."
//
//  1. A glitch: vivid's "Disconnect" control alone. ipcamd's fd gets
//     EPOLLERR and ENODEV, as from an unplugged USB camera; vivid registers
//     the node again once ipcamd has closed it, so the device is back at
//     once and ipcamd's first reopen (after 100 ms) works.
//  2. An unplug of 1 s (/init's /unplug: Disconnect, then rmmod vivid as
//     soon as ipcamd has closed the device, so that /dev/video0 is gone),
//     then a replug (/modprobe vivid, which creates /dev/video0 again),
//     while ipcamd's reopen backoff is still short.
//  3. An unplug of at least 7 s, long enough for the backoff to reach its
//     cap (capture/v4l2.MaxBackoff), with the replug right after a failed
//     reopen attempt (ipcamd runs with -log-level debug, which logs them):
//     the worst case, when the device comes back just as ipcamd has
//     started its longest wait. With a 5 s cap this took 5.3 s.
//
// Each time the test checks that ipcamd logs the outage and the recovery,
// that no frames arrive while the camera is gone, that the client's session
// survives, and that the first resumed frame (the first after a gap in pts)
// is a keyframe decoded on the host within resumeBudget of the device being
// back (for an unplug: of /modprobe returning). At the end, ffmpeg must have
// printed no warning or error at all: the resumed stream starts with an IDR
// and its SPS/PPS.
func TestBoardCameraReplug(t *testing.T) {
	b := Boot(t, BoardConfig{
		Modules: baseModules,
		Cmds:    []string{fmt.Sprintf("run /bin/ipcamd -source v4l2:/dev/video0 -log-level debug -rtsp :%d -http :%d", guestRTSP, guestHTTP)},
		Files:   map[string]string{"/bin/ipcamd": ipcamd},
	})
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required on the host: %v", err)
	}
	rtspURL := fmt.Sprintf("rtsp://127.0.0.1:%d/main", b.RTSPPort)
	waitRTSP(t, b, rtspURL, 60*time.Second)
	v := startViewer(t, rtspURL, 3*time.Minute)
	if _, err := v.waitFrames(30, 30*time.Second); err != nil {
		t.Fatalf("before the first outage: %v", err)
	}

	var gaps []string
	for i, r := range []struct {
		outage time.Duration
		worst  bool
	}{{0, false}, {time.Second, false}, {7 * time.Second, true}} {
		what, gap, ok := replug(t, b, v, i+1, r.outage, r.worst)
		if !ok {
			break
		}
		gaps = append(gaps, fmt.Sprintf("%s %v", what, gap.Round(time.Millisecond)))
	}
	addTiming("%s: device back → first resumed frame (an IDR) decoded on the host: %s", t.Name(), strings.Join(gaps, ", "))

	// /metrics counts the outages and the recoveries.
	metrics := scrapeMetrics(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", b.HTTPPort))
	if e, r := metrics["ipcamd_capture_errors_total"], metrics["ipcamd_capture_reopens_total"]; e < float64(len(gaps)) || r < float64(len(gaps)) {
		t.Errorf("after %d replugs /metrics has ipcamd_capture_errors_total %v and ipcamd_capture_reopens_total %v; want at least %d each",
			len(gaps), e, r, len(gaps))
	}

	v.dump(t, filepath.Join(labDir, "out", t.Name()+".frames.txt"))
	if probs := v.problems(); len(probs) > 0 {
		t.Errorf("ffmpeg printed %d warnings/errors (want none: the stream resumes at an IDR with SPS/PPS):\n%s",
			len(probs), strings.Join(probs, "\n"))
	}
}

// replug takes the camera away and brings it back (round n): a glitch if
// outage is 0, else an unplug for outage, or if worst until the first
// failed reopen attempt after outage. It checks what the client sees
// and returns what it did and the time from the device being back to the
// first resumed frame decoded on the host. ok is false if the test cannot
// go on.
func replug(t *testing.T, b *Board, v *viewer, n int, outage time.Duration, worst bool) (what string, gap time.Duration, ok bool) {
	initURL := fmt.Sprintf("http://127.0.0.1:%d", b.InitPort)
	failedBefore := strings.Count(b.Console(), logDeviceFailed)
	recoveredBefore := strings.Count(b.Console(), logDeviceRecovered)
	before := v.count()

	if outage == 0 {
		// The device is back as soon as ipcamd has closed it, which it
		// does within a frame or a 100 ms poll: take the end of the
		// request as the moment (an upper bound on the time to resume
		// would need ipcamd's close, which the host cannot see).
		what = "Disconnect glitch"
		q := url.Values{"dev": {"/dev/video0"}, "id": {fmt.Sprintf("%#x", vividCIDDisconnect)}, "value": {"1"}}
		sent := time.Now()
		msg := httpGet(t, initURL+"/v4l2ctrl?"+q.Encode())
		back := time.Now()
		t.Logf("round %d: %s: %s (sent at %.3fs, returned at %.3fs)", n, what, strings.TrimSpace(msg), sent.Sub(v.start).Seconds(), back.Sub(v.start).Seconds())
		if _, err := b.waitCount(logDeviceFailed, failedBefore+1, 5*time.Second); err != nil {
			t.Errorf("round %d: %s: ipcamd did not log %q: %v", n, what, logDeviceFailed, err)
		}
		// The pts gap is ipcamd's reaction, its 100 ms reopen delay and
		// the reopen: well over 250 ms, three frame intervals at 12.5 fps.
		gap, ok = resume(t, b, v, n, what, before, 250*time.Millisecond, sent, back, recoveredBefore)
		return what, gap, ok
	}

	// Unplug. /unplug returns once vivid is unloaded, i.e. once ipcamd has
	// closed the device.
	what = fmt.Sprintf("%v unplug", outage)
	if worst {
		what = fmt.Sprintf("≥%v unplug, replug after a failed reopen", outage)
	}
	q := url.Values{"dev": {"/dev/video0"}, "module": {"vivid"}, "timeout": {"5s"}}
	msg := httpGet(t, initURL+"/unplug?"+q.Encode())
	unplugged := time.Now()
	t.Logf("round %d: %s: %s (returned at %.3fs)", n, what, strings.TrimSpace(msg), unplugged.Sub(v.start).Seconds())
	if _, err := b.waitCount(logDeviceFailed, failedBefore+1, 5*time.Second); err != nil {
		t.Errorf("round %d: %s: ipcamd did not log %q: %v", n, what, logDeviceFailed, err)
	}

	// No frames while the camera is gone (after a grace for those in
	// flight), and the session stays up.
	time.Sleep(500 * time.Millisecond)
	stalled := v.count()
	time.Sleep(time.Until(unplugged.Add(outage)))
	if c := v.count(); c != stalled {
		t.Errorf("round %d: %s: the client decoded %d frames while the camera was unplugged", n, what, c-stalled)
	}
	if err := v.alive(); err != nil {
		t.Errorf("round %d: %s: the RTSP session did not survive: %v", n, what, err)
		return what, 0, false
	}
	if strings.Contains(b.Console(), "run ipcamd: exited") {
		t.Errorf("round %d: %s: ipcamd exited:\n%s", n, what, lastLines(b.Console(), 10))
		return what, 0, false
	}

	if worst {
		k := strings.Count(b.Console(), logReopenFailed)
		if _, err := b.waitCount(logReopenFailed, k+1, 10*time.Second); err != nil {
			t.Errorf("round %d: %s: %v", n, what, err)
			return what, 0, false
		}
		t.Logf("round %d: %s: replug %v after the unplug", n, what, time.Since(unplugged).Round(time.Millisecond))
	}

	// Replug: the device is back when /modprobe returns.
	sent := time.Now()
	q = url.Values{"name": {"vivid"}, "params": {"n_devs=1 node_types=0x1"}}
	msg = httpGet(t, initURL+"/modprobe?"+q.Encode())
	back := time.Now()
	t.Logf("round %d: %s: %s (sent at %.3fs, returned at %.3fs)", n, what, strings.TrimSpace(msg), sent.Sub(v.start).Seconds(), back.Sub(v.start).Seconds())
	gap, ok = resume(t, b, v, n, what, before, outage/2, sent, back, recoveredBefore)
	return what, gap, ok
}

// resume waits for the stream to resume after the device came back
// (between sent and back) and checks it: the first resumed frame, the
// first decoded after the first before frames with a pts gap over minGap,
// is a keyframe decoded within resumeBudget of back; ipcamd logs the
// recovery; 30 more frames follow. It returns the time from back to the
// resumed frame.
func resume(t *testing.T, b *Board, v *viewer, n int, what string, before int, minGap time.Duration, sent, back time.Time, recoveredBefore int) (gap time.Duration, ok bool) {
	// Frames decoded before the resumed one are from before the outage:
	// ffmpeg's H.264 parser holds the last one until the next access unit
	// starts, so the resumed stream's first packets release it ("first
	// data"), and the resumed frame itself is decoded a frame later.
	i, f, err := v.waitFrame(max(before, 1), 15*time.Second, func(prev, f frame) bool { return f.pts-prev.pts > minGap.Seconds() })
	if err != nil {
		t.Errorf("round %d: %s: no resumed frame: %v", n, what, err)
		return 0, false
	}
	first := v.frame(max(before, 1))
	gap = f.at.Sub(back)
	t.Logf("round %d: %s: first data %v and first resumed frame (n=%d key=%v type=%s pts_time=%.3f, pts gap %.3fs, after %d held-back frames) decoded %v after the device was back (%v after the request was sent)",
		n, what, first.at.Sub(back).Round(time.Millisecond), f.n, f.key, f.typ, f.pts, f.pts-v.frame(i-1).pts, i-before,
		gap.Round(time.Millisecond), f.at.Sub(sent).Round(time.Millisecond))
	if !f.key {
		t.Errorf("round %d: %s: the first resumed frame is not a keyframe (type %s)", n, what, f.typ)
	}
	if gap > resumeBudget {
		t.Errorf("round %d: %s: the client resumed %v after the camera came back, want ≤ %v",
			n, what, gap.Round(time.Millisecond), resumeBudget)
	}
	if l, err := b.waitCount(logDeviceRecovered, recoveredBefore+1, 5*time.Second); err != nil {
		t.Errorf("round %d: %s: ipcamd did not log %q: %v", n, what, logDeviceRecovered, err)
	} else {
		t.Logf("round %d: %s: guest: %s", n, what, strings.TrimSpace(l))
	}
	if _, err := v.waitFrames(i+30, 15*time.Second); err != nil {
		t.Errorf("round %d: %s: after resuming: %v", n, what, err)
		return gap, false
	}
	return gap, true
}

// waitCount waits until the console shows substr at least k times and
// returns the line of the k-th.
func (b *Board) waitCount(substr string, k int, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		con := b.Console()
		if strings.Count(con, substr) >= k {
			rest := con
			for range k - 1 {
				i := strings.Index(rest, substr)
				rest = rest[i+len(substr):]
			}
			if l, ok := findLine(rest, substr); ok {
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%q printed %d times within %v, want %d", substr, strings.Count(con, substr), timeout, k)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// frame is one frame decoded by the viewer.
type frame struct {
	at  time.Time // when ffmpeg printed it
	n   int       // showinfo's frame number, from 0
	key bool
	typ string  // picture type: I, P, B
	pts float64 // pts_time, seconds
}

// viewer is ffmpeg playing an RTSP stream over TCP with -vf showinfo, so
// that each decoded frame is a line on its stderr, read as it comes.
type viewer struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when ffmpeg has exited

	mu     sync.Mutex
	frames []frame
	start  time.Time
	probs  []string // warning and error lines, with the time since start
	tail   []string // the last lines, for failure messages
	err    error    // ffmpeg's exit
}

var (
	showinfoRE = regexp.MustCompile(`Parsed_showinfo.* n:\s*(\d+) pts:\s*-?\d+ pts_time:(\S+).* iskey:(\d) type:(\w)`)
	problemRE  = regexp.MustCompile(`\[(panic|fatal|error|warning)\]`)
)

// startViewer starts ffmpeg on rtspURL; it is killed (by PID) when the test
// ends, or after timeout.
func startViewer(t *testing.T, rtspURL string, timeout time.Duration) *viewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	// -threads 1: no frame-threading delay, so a frame is printed when
	// its packet arrives; passthrough: no duplicated or dropped frames
	// over the gap; the input's time base (RTP's 1/90000) for the output:
	// with the default, derived from the nominal frame rate, the jitter of
	// capture timestamps makes two frames share a tick, and the null
	// muxer complains of non-monotonic dts.
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info",
		"-threads", "1", "-rtsp_transport", "tcp", "-i", rtspURL,
		"-map", "0:v:0", "-vf", "showinfo", "-fps_mode", "passthrough", "-enc_time_base", "-1", "-f", "null", "-")
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	v := &viewer{cmd: cmd, done: make(chan struct{}), start: time.Now()}
	start := v.start
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting ffmpeg: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			now, line := time.Now(), sc.Text()
			v.mu.Lock()
			if m := showinfoRE.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				pts, _ := strconv.ParseFloat(m[2], 64)
				v.frames = append(v.frames, frame{at: now, n: n, key: m[3] == "1", typ: m[4], pts: pts})
			} else if problemRE.MatchString(line) {
				v.probs = append(v.probs, fmt.Sprintf("%8.3fs %s", now.Sub(start).Seconds(), line))
			}
			if len(v.tail) == 20 {
				v.tail = v.tail[1:]
			}
			v.tail = append(v.tail, line)
			v.mu.Unlock()
		}
		err := cmd.Wait()
		v.mu.Lock()
		v.err = fmt.Errorf("ffmpeg exited: %v", err)
		v.mu.Unlock()
		close(v.done)
	}()
	t.Cleanup(func() {
		select {
		case <-v.done:
		default:
			_ = cmd.Process.Kill() // by PID: only the ffmpeg we started
			select {
			case <-v.done:
			case <-time.After(10 * time.Second):
				t.Errorf("ffmpeg (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
			}
		}
		cancel()
		if t.Failed() {
			t.Logf("ffmpeg's last lines:\n%s", strings.Join(v.lastLines(), "\n"))
		}
	})
	return v
}

// dump writes one line per decoded frame to path: seconds since ffmpeg
// started, frame number, picture type, pts_time.
func (v *viewer) dump(t *testing.T, path string) {
	v.mu.Lock()
	var b strings.Builder
	for _, f := range v.frames {
		fmt.Fprintf(&b, "%8.3f n=%d key=%v type=%s pts_time=%.3f\n", f.at.Sub(v.start).Seconds(), f.n, f.key, f.typ, f.pts)
	}
	v.mu.Unlock()
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Log(err)
	}
}

// count returns how many frames have been decoded.
func (v *viewer) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.frames)
}

// alive returns nil while ffmpeg runs, else how it ended.
func (v *viewer) alive() error {
	select {
	case <-v.done:
		v.mu.Lock()
		defer v.mu.Unlock()
		return fmt.Errorf("%v; last lines:\n%s", v.err, strings.Join(v.tail, "\n"))
	default:
		return nil
	}
}

func (v *viewer) problems() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.probs...)
}

func (v *viewer) lastLines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.tail...)
}

// frame returns the i-th frame decoded (from 0), which must exist.
func (v *viewer) frame(i int) frame {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames[i]
}

// waitFrame waits for the first frame from index from on (counting from
// 0; from ≥ 1) for which match(previous frame, frame) holds, and returns
// its index and it.
func (v *viewer) waitFrame(from int, timeout time.Duration, match func(prev, f frame) bool) (int, frame, error) {
	deadline := time.Now().Add(timeout)
	for i := from; ; {
		v.mu.Lock()
		for ; i < len(v.frames); i++ {
			if match(v.frames[i-1], v.frames[i]) {
				f := v.frames[i]
				v.mu.Unlock()
				return i, f, nil
			}
		}
		v.mu.Unlock()
		if err := v.alive(); err != nil {
			return 0, frame{}, fmt.Errorf("%d frames decoded, none matching: %v", i, err)
		}
		if time.Now().After(deadline) {
			return 0, frame{}, fmt.Errorf("%d frames decoded, none matching within %v", i, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFrames waits until at least n frames have been decoded and returns
// the n-th (counting from 1).
func (v *viewer) waitFrames(n int, timeout time.Duration) (frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		v.mu.Lock()
		if len(v.frames) >= n {
			f := v.frames[n-1]
			v.mu.Unlock()
			return f, nil
		}
		have := len(v.frames)
		v.mu.Unlock()
		if err := v.alive(); err != nil {
			return frame{}, fmt.Errorf("%d of %d frames decoded: %v", have, n, err)
		}
		if time.Now().After(deadline) {
			return frame{}, fmt.Errorf("%d of %d frames decoded within %v", have, n, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scrapeMetrics reads the unlabelled samples of a Prometheus text page.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("scraping %s: %d %v", url, res.StatusCode, err)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || strings.HasPrefix(line, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}
