package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Rate adaptation runs across two network namespaces joined by veth, like
// multicast: ipcamd in B, a gortsplib client playing over UDP in A (it
// sends an RTCP receiver report every 5 s). An nftables rule in B's output
// drops 10% of ipcamd's RTP packets at random (netem is not available on
// these machines); the encoder's bitrate must drop within seconds, and
// climb back to the configured bitrate once the rule is gone, without
// oscillating.

const (
	rateRTPPort    = 6970
	rateMaxBitrate = 240000
	rateMinBitrate = 60000
	rateNftTable   = "ipcamdrate"
)

var rateChangeRE = regexp.MustCompile(`time=(\S+) .*msg="rtsp: encoder bitrate changed" path=/main bitrate=(\d+) from=(\d+) loss=(\S+) reason="([^"]*)"`)

type rateChange struct {
	at            time.Time
	bitrate, from int
	loss          string
	reason        string
	backoff       bool
}

func rateChanges(log string) []rateChange {
	var out []rateChange
	for _, m := range rateChangeRE.FindAllStringSubmatch(log, -1) {
		at, _ := time.Parse(time.RFC3339Nano, m[1])
		b, _ := strconv.Atoi(m[2])
		f, _ := strconv.Atoi(m[3])
		out = append(out, rateChange{at: at, bitrate: b, from: f, loss: m[4], reason: m[5], backoff: b < f})
	}
	return out
}

// startIpcamdRate runs ipcamd in namespace ns on 198.51.100.2 with the test
// pattern through the software encoder at 240 kbit/s (less than the
// pattern takes at the lowest QP, so the rate control binds), rate
// adaptation on (floor 60 kbit/s), and RTP sent from rateRTPPort.
func startIpcamdRate(t *testing.T, ns string) *server {
	t.Helper()
	return runIpcamdInNetns(t, ns, "testsrc:640x360@25", func(stateDir string) string {
		return fmt.Sprintf(`state_dir: %s
rtsp:
  tls_listen: ""
  rtp_port: %d
  multicast:
    enabled: false
  rate_adaptation:
    enabled: true
    min_bitrate: %d
encoder:
  kind: software
  bitrate: %d
  sub_width: 0
  sub_height: 0
`, stateDir, rateRTPPort, rateMinBitrate, rateMaxBitrate)
	})
}

// TestRateAdaptation: 10% loss on the way to a UDP client lowers the main
// stream's bitrate within seconds; without the loss it climbs back to the
// configured bitrate within 30 s; the rate changes direction once.
func TestRateAdaptation(t *testing.T) {
	if serverKind != kindIpcamd {
		t.Log("the rate adaptation test runs against ipcamd only")
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("the rate adaptation test needs root to create network namespaces (CI runs as root)")
	}
	requireTools(t, "ip", "nft", "go")
	t.Parallel()
	nsA, nsB, _ := netnsPair(t)
	client := buildGortsplibClient(t)
	srv := startIpcamdRate(t, nsB)
	nft := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"netns", "exec", nsB, "nft"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	gc := exec.Command("ip", "netns", "exec", nsA, client, "-url", srv.URL, "-transport", "udp", "-n", "25", "-hold", "-timeout", "90s")
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
	select {
	case s := <-line:
		var rep gortsplibReport
		if err := json.Unmarshal([]byte(s), &rep); err != nil || rep.Error != "" || rep.AUs < 25 {
			t.Fatalf("gortsplib client over UDP: %q (%v)\n%s\n%s", s, err, stderr.String(), tail(srv.log(), 30))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("gortsplib client over UDP: no report after 30s\n%s\n%s", stderr.String(), tail(srv.log(), 30))
	}
	// A clean report or two at the maximum changes nothing.
	time.Sleep(3 * time.Second)
	if chs := rateChanges(srv.log()); len(chs) != 0 {
		t.Fatalf("the bitrate changed without loss: %+v", chs)
	}

	// 1. 10% loss: the first back-off within seconds. The client reports
	// every 5 s, on about 120 packets, so a report's loss is noisy (±3%):
	// with 5% loss one report in a few read under the 3% threshold, and
	// the test was flaky; the controller's 5% behaviour is checked on
	// traces in rtsp/ratecontrol_test.go. The first report after the rule
	// may cover only part of the loss, so allow three report periods
	// (typical: 6 s). Then keep the loss for another report.
	nft("add", "table", "inet", rateNftTable)
	t.Cleanup(func() { exec.Command("ip", "netns", "exec", nsB, "nft", "delete", "table", "inet", rateNftTable).Run() })
	nft("add", "chain", "inet", rateNftTable, "c", "{ type filter hook output priority 0; }")
	nft("add", "rule", "inet", rateNftTable, "c", "udp", "sport", strconv.Itoa(rateRTPPort),
		"numgen", "random", "mod", "100", "<", "10", "drop")
	lossOn := time.Now()
	waitLog(t, srv, 17*time.Second, func(log string) bool { return len(rateChanges(log)) > 0 })
	backoff := rateChanges(srv.log())[0]
	if !backoff.backoff {
		t.Fatalf("first change is not a back-off: %+v", backoff)
	}
	backoffAfter := backoff.at.Sub(lossOn)
	time.Sleep(6 * time.Second)

	// 2. Loss gone: back at the maximum within 30 s of the next report.
	nft("delete", "table", "inet", rateNftTable)
	lossOff := time.Now()
	waitLog(t, srv, 40*time.Second, func(log string) bool {
		chs := rateChanges(log)
		return len(chs) > 0 && chs[len(chs)-1].bitrate == rateMaxBitrate
	})
	chs := rateChanges(srv.log())
	last := chs[len(chs)-1]
	recoverAfter := last.at.Sub(lossOff)

	var backoffs, probes, reversals int
	low := rateMaxBitrate
	for i, c := range chs {
		if c.bitrate < rateMinBitrate || c.bitrate > rateMaxBitrate {
			t.Errorf("bitrate %d out of [%d, %d]", c.bitrate, rateMinBitrate, rateMaxBitrate)
		}
		if c.backoff {
			backoffs++
		} else {
			probes++
		}
		low = min(low, c.bitrate)
		if i > 0 && c.backoff != chs[i-1].backoff {
			reversals++
		}
		t.Logf("%6.1fs after the loss began: %7d -> %7d bit/s, loss %s: %s", c.at.Sub(lossOn).Seconds(), c.from, c.bitrate, c.loss, c.reason)
	}
	t.Logf("first back-off %v after the loss began; %d back-offs down to %d bit/s; loss removed after %v; back at %d bit/s %v later; %d changes, %d reversals",
		backoffAfter.Round(10*time.Millisecond), backoffs, low, lossOff.Sub(lossOn).Round(10*time.Millisecond),
		rateMaxBitrate, recoverAfter.Round(10*time.Millisecond), len(chs), reversals)
	if backoffAfter > 16*time.Second {
		t.Errorf("the first back-off came %v after the loss began, want within three report periods", backoffAfter)
	}
	if reversals != 1 {
		t.Errorf("%d changes of direction, want 1 (down, then up)", reversals)
	}
	if recoverAfter > 35*time.Second {
		t.Errorf("back at the maximum %v after the loss ended, want within ~30 s", recoverAfter)
	}
	// The encoder followed: it logs nothing per change, but the session
	// must still be playing (no eviction) after all of it.
	if strings.Contains(srv.log(), "rtsp: session closed") {
		t.Errorf("the session closed during the test:\n%s", tail(srv.log(), 20))
	}
}
