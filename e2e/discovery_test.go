package e2e

import (
	"bufio"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The ONVIF WS-Discovery clients run in namespace A and ipcamd in B
// (test-peers.md §11): nothing multicast touches the root namespace.

// npmOnvifDir returns the directory where install-peers.sh put npm
// onvif@0.8.3.
func npmOnvifDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".npm")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "onvif", "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil || pkg.Version != "0.8.3" {
		t.Fatalf("npm onvif@0.8.3 is not in %s: run e2e/install-peers.sh (make test does)", dir)
	}
	return dir
}

// requireOnvifUtil checks for Debian's onvif-util (onvif-tools).
func requireOnvifUtil(t *testing.T) {
	t.Helper()
	requireTools(t, "onvif-util")
}

// npmProbeJS runs npm onvif's Discovery.probe and prints the matches as
// JSON.
const npmProbeJS = `
const onvif = require('onvif');
onvif.Discovery.on('error', (e) => console.error('discovery error:', e && e.message));
onvif.Discovery.probe({timeout: 3000, resolve: false}, (err, res) => {
  if (err) { console.log(JSON.stringify({error: String(err)})); return; }
  console.log(JSON.stringify({matches: res.map((r) => ({
    xaddrs: r.probeMatches.probeMatch.XAddrs,
    epr: r.probeMatches.probeMatch.endpointReference.address,
    types: r.probeMatches.probeMatch.types,
    scopes: r.probeMatches.probeMatch.scopes,
  }))}));
});
`

// announceListenerPy prints the Action of every WS-Discovery multicast
// datagram received on the address given as argument, one per line.
const announceListenerPy = `
import re, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 3702))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton('239.255.255.250') + socket.inet_aton(sys.argv[1]))
print('ready', flush=True)
while True:
    data, src = s.recvfrom(65536)
    m = re.search(rb'Action[^>]*>([^<]+)<', data)
    x = re.search(rb'XAddrs[^>]*>([^<]+)<', data)
    print(src[0], (m.group(1) if m else b'-').decode(), (x.group(1) if x else b'-').decode(), flush=True)
`

type npmProbeResult struct {
	Error   string `json:"error"`
	Matches []struct {
		XAddrs string `json:"xaddrs"`
		EPR    string `json:"epr"`
		Types  string `json:"types"`
		Scopes string `json:"scopes"`
	} `json:"matches"`
}

// TestDiscovery: npm onvif and onvif-util discover ipcamd across network
// namespaces, with its address in XAddrs and a stable endpoint reference;
// ipcamd says Hello at start and Bye at stop.
func TestDiscovery(t *testing.T) {
	if serverKind != kindIpcamd {
		t.Log("the discovery test runs against ipcamd only")
		return
	}
	if os.Geteuid() != 0 {
		t.Fatal("the discovery test needs root to create network namespaces (CI runs as root)")
	}
	requireTools(t, "ip", "node", "python3")
	npmDir := npmOnvifDir(t)
	requireOnvifUtil(t)
	t.Parallel()
	nsA, nsB, vethB := netnsPair(t)

	// Listen for Hello and Bye in A before ipcamd starts.
	listener := exec.Command("ip", "netns", "exec", nsA, "python3", "-c", announceListenerPy, mcastClientAddr)
	out, err := listener.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	listener.Stderr = &stderr
	if err := listener.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Process.Kill(); listener.Wait() })
	var mu sync.Mutex
	var heard []string
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				continue
			}
			mu.Lock()
			heard = append(heard, sc.Text())
			mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("multicast listener in %s not ready: %s", nsA, stderr.String())
	}
	waitHeard := func(action string) string {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			for _, h := range heard {
				if f := strings.Fields(h); len(f) == 3 && f[1] == "http://schemas.xmlsoap.org/ws/2005/04/discovery/"+action {
					mu.Unlock()
					return h
				}
			}
			got := strings.Join(heard, "\n")
			mu.Unlock()
			if time.Now().After(end) {
				t.Fatalf("no %s heard in %s; heard:\n%s", action, nsA, got)
			}
		}
	}

	srv := startIpcamdInNetns(t, nsB, vethB)
	waitLog(t, srv, 5*time.Second, func(log string) bool { return strings.Contains(log, `msg="discovery: started"`) })
	wantXAddrs := "http://" + mcastServerAddr + ":8080/onvif/device_service"
	if h := waitHeard("Hello"); !strings.HasPrefix(h, mcastServerAddr+" ") || !strings.HasSuffix(h, " "+wantXAddrs) {
		t.Errorf("Hello: %q, want from %s with XAddrs %s", h, mcastServerAddr, wantXAddrs)
	}

	t.Run("npm onvif", func(t *testing.T) {
		script := filepath.Join(npmDir, "ipcamd-e2e-probe.js")
		if err := os.WriteFile(script, []byte(npmProbeJS), 0o644); err != nil {
			t.Fatal(err)
		}
		var eprs []string
		for i := range 2 {
			r := runTool(t, 20*time.Second, npmDir, "ip", "netns", "exec", nsA, "node", script)
			var res npmProbeResult
			if r.ExitCode != 0 || json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &res) != nil || res.Error != "" {
				t.Fatalf("probe %d:\n%s", i, r)
			}
			if len(res.Matches) != 1 {
				t.Fatalf("probe %d: %d matches, want 1:\n%s", i, len(res.Matches), r)
			}
			m := res.Matches[0]
			u, err := url.Parse(m.XAddrs)
			if err != nil || u.Hostname() != mcastServerAddr || u.Port() != "8080" || u.Path != "/onvif/device_service" {
				t.Errorf("probe %d: XAddrs %q, want %s", i, m.XAddrs, wantXAddrs)
			}
			if !strings.HasPrefix(m.EPR, "urn:uuid:") {
				t.Errorf("probe %d: endpoint reference %q is not a urn:uuid", i, m.EPR)
			}
			for _, s := range []string{"onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/type/video_encoder", "onvif://www.onvif.org/name/ipcamd"} {
				if !strings.Contains(" "+m.Scopes+" ", " "+s+" ") {
					t.Errorf("probe %d: scopes %q lack %s", i, m.Scopes, s)
				}
			}
			eprs = append(eprs, m.EPR)
		}
		if eprs[0] != eprs[1] {
			t.Errorf("endpoint reference changed between probes: %q, %q", eprs[0], eprs[1])
		}
	})

	t.Run("onvif-util", func(t *testing.T) {
		r := runTool(t, 30*time.Second, "", "ip", "netns", "exec", nsA, "onvif-util", "-a")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Found 1 cameras") || !strings.Contains(r.Stdout, mcastServerAddr) {
			t.Fatalf("onvif-util -a did not find ipcamd at %s:\n%s", mcastServerAddr, r)
		}
	})

	code, _, err := srv.terminate(10 * time.Second)
	if err != nil || code != 0 {
		t.Fatalf("ipcamd stop: exit=%d err=%v", code, err)
	}
	if h := waitHeard("Bye"); !strings.HasPrefix(h, mcastServerAddr+" ") {
		t.Errorf("Bye: %q, want from %s", h, mcastServerAddr)
	}
}
