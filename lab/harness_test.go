package lab

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcamd/ipcamd/lab/internal/moddep"
)

// kernelVersion is the guest kernel ABI that fetch.sh pins.
const kernelVersion = "6.1.0-56-arm64"

// Guest ports, forwarded to free 127.0.0.1 ports on the host.
const (
	guestRTSP     = 554  // ipcamd RTSP, as the firmware's config has it
	guestHTTP     = 80   // ipcamd HTTP, likewise
	guestInitHTTP = 8081 // the lab /init's log and /poweroff
)

var (
	rootDir  string // the ipcamd root module (/work/main)
	labDir   string // this module
	cacheDir string // fetch.sh's cache
	workDir  string // temporary build products, removed after the run
	setupErr error  // fetch or build failure, reported by every test
	initBin  string
	ipcamd   string

	timingsMu sync.Mutex
	timings   []string
)

func TestMain(m *testing.M) {
	code := runMain(m)
	os.Exit(code)
}

func runMain(m *testing.M) int {
	var err error
	labDir, err = os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	rootDir = filepath.Dir(labDir)
	cacheDir = os.Getenv("IPCAMD_LAB_CACHE")
	if cacheDir == "" {
		home, _ := os.UserHomeDir()
		cacheDir = filepath.Join(home, ".cache", "ipcamd-lab")
	}
	workDir, err = os.MkdirTemp("", "ipcamd-lab-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer os.RemoveAll(workDir)
	setupErr = setup()
	code := m.Run()
	writeTimings()
	return code
}

// setup runs fetch.sh (seconds when the cache is warm) and cross-builds the
// guest /init and ipcamd.
func setup() error {
	start := time.Now()
	if out, err := run(10*time.Minute, labDir, nil, "bash", "fetch.sh"); err != nil {
		return fmt.Errorf("lab/fetch.sh failed: %v\n%s", err, out)
	}
	addTiming("fetch.sh: %v", time.Since(start).Round(10*time.Millisecond))
	initBin = filepath.Join(workDir, "init")
	ipcamd = filepath.Join(workDir, "ipcamd")
	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = crossBuild(labDir, initBin, "./init")
	}()
	go func() {
		defer wg.Done()
		// IPCAMD_LAB_IPCAMD: a linux/arm64 ipcamd built elsewhere (e.g.
		// from another checkout), instead of this tree's.
		if p := os.Getenv("IPCAMD_LAB_IPCAMD"); p != "" {
			ipcamd = p
			return
		}
		errs[1] = crossBuild(rootDir, ipcamd, "./cmd/ipcamd")
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	addTiming("cross-build init+ipcamd: %v", time.Since(start).Round(10*time.Millisecond))
	return nil
}

var arm64Env = []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}

func crossBuild(dir, out, pkg string) error {
	if o, err := run(5*time.Minute, dir, arm64Env, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg); err != nil {
		return fmt.Errorf("cross-building %s (in %s) for linux/arm64: %v\n%s", pkg, dir, err, o)
	}
	return nil
}

// buildTest cross-compiles the test binary of a package of the root module
// (e.g. "./encoder/v4l2m2m") and returns its path. A missing package fails
// the test.
func buildTest(t *testing.T, pkg string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(rootDir, pkg)); err != nil {
		t.Fatalf("package %s does not exist in %s (%v): the lab cannot run its Lab tests until it lands", pkg, rootDir, err)
	}
	out := filepath.Join(workDir, filepath.Base(pkg)+".test")
	if o, err := run(5*time.Minute, rootDir, arm64Env, "go", "test", "-c", "-trimpath", "-o", out, pkg); err != nil {
		t.Fatalf("go test -c %s for linux/arm64 failed: %v\n%s", pkg, err, o)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("go test -c %s produced no binary (no test files?): %v", pkg, err)
	}
	return out
}

func run(timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (timed out after %v)", err, timeout)
	}
	return out, err
}

func addTiming(format string, args ...any) {
	timingsMu.Lock()
	defer timingsMu.Unlock()
	timings = append(timings, fmt.Sprintf(format, args...))
}

func writeTimings() {
	timingsMu.Lock()
	defer timingsMu.Unlock()
	if len(timings) == 0 {
		return
	}
	dir := filepath.Join(labDir, "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# ipcamd lab timings, %s, kernel %s, qemu TCG cortex-a57 -smp 2\n", time.Now().UTC().Format(time.RFC3339), kernelVersion)
	for _, l := range timings {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "timings.txt"), []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

// BoardConfig describes one boot of the emulated board.
type BoardConfig struct {
	// Modules are the lines of /etc/lab.modules: "name param=value ...".
	Modules []string
	// Cmds are the lines of /etc/lab.cmd (see lab/init).
	Cmds []string
	// Files maps guest paths (e.g. "/bin/ipcamd") to host files.
	Files map[string]string
	// QEMUArgs are added to QEMU's command line (e.g. a watchdog device).
	QEMUArgs []string
}

// Board is a running QEMU instance.
type Board struct {
	t        *testing.T
	cmd      *exec.Cmd
	Start    time.Time // QEMU started
	Ready    time.Time // READY seen on the console
	RTSPPort int       // host port forwarded to the guest's 554
	HTTPPort int       // host port forwarded to the guest's 80 (ipcamd)
	InitPort int       // host port forwarded to the guest's 8081 (/init)
	console  *console
	exited   chan struct{}
}

// console collects QEMU's serial output.
type console struct {
	mu  sync.Mutex
	buf bytes.Buffer
	log *os.File
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.log != nil {
		c.log.Write(p)
	}
	return len(p), nil
}

// String returns everything printed so far.
func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// Boot packs an initramfs for cfg, starts QEMU and waits for READY. QEMU is
// killed when the test ends.
func Boot(t *testing.T, cfg BoardConfig) *Board {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("lab setup failed: %v", setupErr)
	}
	kernel := filepath.Join(cacheDir, "kroot", "boot", "vmlinuz-"+kernelVersion)
	if _, err := os.Stat(kernel); err != nil {
		t.Fatalf("guest kernel missing (run `bash lab/fetch.sh`): %v", err)
	}
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Fatalf("qemu-system-aarch64 not found (fetch.sh installs qemu-system-arm): %v", err)
	}
	dir := t.TempDir()
	initrd := filepath.Join(dir, "initrd.cpio.gz")
	if err := packInitramfs(initrd, cfg); err != nil {
		t.Fatalf("packing the initramfs: %v", err)
	}
	for attempt := 1; ; attempt++ {
		b := startBoard(t, append(baseQEMUArgs(kernel, initrd), cfg.QEMUArgs...))
		line, err := b.waitLine("READY", 90*time.Second)
		if err != nil {
			// Another process may have taken a port between freePorts and
			// QEMU's bind: QEMU then exits at once. Retry with new ports.
			if strings.Contains(b.Console(), "host forwarding rule") && attempt < 3 {
				t.Logf("QEMU could not bind its forwarded ports, retrying: %s", lastLines(b.Console(), 1))
				continue
			}
			t.Fatal(err)
		}
		b.Ready = time.Now()
		t.Logf("QEMU start → READY: %v (guest %s)", b.Ready.Sub(b.Start).Round(time.Millisecond), line)
		addTiming("%s: QEMU start → READY %v (guest %s)", t.Name(), b.Ready.Sub(b.Start).Round(time.Millisecond), line)
		return b
	}
}

// baseQEMUArgs boots kernel with initrd on the lab's virt board, without
// networking (startBoard adds it).
func baseQEMUArgs(kernel, initrd string) []string {
	return []string{
		"-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", "1024",
		"-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyAMA0 panic=-1 quiet",
	}
}

// startBoard starts QEMU with args and user networking on free ports; it
// is killed when the test ends.
func startBoard(t *testing.T, args []string) *Board {
	t.Helper()
	b := &Board{t: t, console: &console{}, exited: make(chan struct{})}
	ports := freePorts(t, 3)
	b.RTSPPort, b.HTTPPort, b.InitPort = ports[0], ports[1], ports[2]
	outDir := filepath.Join(labDir, "out")
	_ = os.MkdirAll(outDir, 0o755)
	logPath := filepath.Join(outDir, strings.ReplaceAll(t.Name(), "/", "_")+".console.log")
	if f, err := os.Create(logPath); err == nil {
		b.console.log = f
		t.Cleanup(func() { f.Close() })
	}
	fwd := fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-:%d,hostfwd=tcp:127.0.0.1:%d-:%d,hostfwd=tcp:127.0.0.1:%d-:%d",
		b.RTSPPort, guestRTSP, b.HTTPPort, guestHTTP, b.InitPort, guestInitHTTP)
	b.cmd = exec.Command("qemu-system-aarch64", append(append([]string{}, args...),
		"-netdev", "user,id=n0,"+fwd,
		"-device", "virtio-net-pci,netdev=n0")...)
	b.cmd.Stdout = b.console
	b.cmd.Stderr = b.console
	b.Start = time.Now()
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting qemu-system-aarch64: %v", err)
	}
	go func() {
		_ = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-b.exited:
		default:
			_ = b.cmd.Process.Kill() // by PID; only the QEMU we started
			select {
			case <-b.exited:
			case <-time.After(10 * time.Second):
				t.Errorf("qemu (pid %d) did not exit after SIGKILL", b.cmd.Process.Pid)
			}
		}
		if t.Failed() {
			t.Logf("guest console (also in %s):\n%s", logPath, tail(b.console.String(), 12000))
		}
	})
	return b
}

// WaitFor waits until a console line contains substr and returns the line.
// It fails the test on timeout or if QEMU exits first.
func (b *Board) WaitFor(substr string, timeout time.Duration) string {
	b.t.Helper()
	l, err := b.waitLine(substr, timeout)
	if err != nil {
		b.t.Fatal(err)
	}
	return l
}

func (b *Board) waitLine(substr string, timeout time.Duration) (string, error) {
	deadline := time.After(timeout)
	for {
		if l, ok := findLine(b.console.String(), substr); ok {
			return l, nil
		}
		select {
		case <-deadline:
			return "", fmt.Errorf("no %q on the guest console within %v", substr, timeout)
		case <-b.exited:
			if l, ok := findLine(b.console.String(), substr); ok {
				return l, nil
			}
			return "", fmt.Errorf("QEMU exited (%v) before %q appeared on the guest console; last lines:\n%s",
				b.cmd.ProcessState, substr, lastLines(b.console.String(), 5))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Console returns the guest's serial output so far.
func (b *Board) Console() string { return b.console.String() }

// InitLog fetches the /init HTTP log.
func (b *Board) InitLog() string {
	b.t.Helper()
	return httpGet(b.t, fmt.Sprintf("http://127.0.0.1:%d/", b.InitPort))
}

// PowerOff asks /init to power off and waits for QEMU to exit.
func (b *Board) PowerOff(timeout time.Duration) {
	b.t.Helper()
	httpGet(b.t, fmt.Sprintf("http://127.0.0.1:%d/poweroff", b.InitPort))
	select {
	case <-b.exited:
	case <-time.After(timeout):
		b.t.Errorf("QEMU still running %v after /poweroff", timeout)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s, %v", url, resp.Status, err)
	}
	return string(body)
}

func findLine(s, substr string) (string, bool) {
	i := strings.Index(s, substr)
	if i < 0 {
		return "", false
	}
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return "", false // wait for the whole line
	}
	return strings.TrimRight(s[start:i+end], "\r"), true
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// freePorts returns n TCP ports on 127.0.0.1 for QEMU's host forwards.
// They come from below the kernel's ephemeral range (32768-60999), so no
// outgoing connection can be given one before QEMU binds it, and each is
// given out once per test binary; e2e's harness does the same.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	const low, high = 20000, 32768
	labPorts.Lock()
	defer labPorts.Unlock()
	if labPorts.next == 0 {
		labPorts.next = low + (os.Getpid()*7907)%(high-low)
	}
	var ports []int
	for range high - low {
		if len(ports) == n {
			return ports
		}
		port := labPorts.next
		if labPorts.next++; labPorts.next >= high {
			labPorts.next = low
		}
		if labPorts.used[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		labPorts.used[port] = true
		ports = append(ports, port)
	}
	if len(ports) < n {
		t.Fatalf("finding %d free ports in %d-%d: found %d", n, low, high-1, len(ports))
	}
	return ports
}

var labPorts = struct {
	sync.Mutex
	next int
	used map[int]bool
}{used: map[int]bool{}}

// packInitramfs writes a gzip'd newc cpio archive: /init, /etc/lab.modules,
// /etc/lab.cmd, cfg.Files, modules.dep and the dependency closure of
// cfg.Modules, plus /dev/console.
func packInitramfs(path string, cfg BoardConfig) error {
	modRoot := filepath.Join(cacheDir, "kroot", "lib", "modules", kernelVersion)
	depFile := filepath.Join(modRoot, "modules.dep")
	f, err := os.Open(depFile)
	if err != nil {
		return fmt.Errorf("%v (run lab/fetch.sh)", err)
	}
	deps, err := moddep.Parse(f)
	f.Close()
	if err != nil {
		return err
	}
	var names []string
	for _, l := range cfg.Modules {
		if fs := strings.Fields(l); len(fs) > 0 {
			names = append(names, fs[0])
		}
	}
	kos, err := deps.Order(names...)
	if err != nil {
		return err
	}
	files := map[string]string{"/init": initBin}
	for g, h := range cfg.Files {
		files[g] = h
	}
	guestMods := "/lib/modules/" + kernelVersion
	files[guestMods+"/modules.dep"] = depFile
	for _, ko := range kos {
		files[guestMods+"/"+ko] = filepath.Join(modRoot, ko)
	}
	data := map[string][]byte{
		"/etc/lab.modules": []byte(strings.Join(cfg.Modules, "\n") + "\n"),
		"/etc/lab.cmd":     []byte(strings.Join(cfg.Cmds, "\n") + "\n"),
	}

	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err != nil {
		return err
	}
	w := &newcWriter{w: zw, dirs: map[string]bool{}}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/bin", "/etc"} {
		w.dir(d)
	}
	w.node("/dev/console", 0o20600, 5, 1)
	var guestPaths []string
	for g := range files {
		guestPaths = append(guestPaths, g)
	}
	sort.Strings(guestPaths)
	for _, g := range guestPaths {
		b, err := os.ReadFile(files[g])
		if err != nil {
			return fmt.Errorf("initramfs %s: %w", g, err)
		}
		w.file(g, 0o755, b)
	}
	for _, g := range []string{"/etc/lab.modules", "/etc/lab.cmd"} {
		w.file(g, 0o644, data[g])
	}
	w.trailer()
	if w.err != nil {
		return w.err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Close()
}

// newcWriter writes the "newc" (070701) cpio format the kernel unpacks.
type newcWriter struct {
	w    io.Writer
	ino  int
	dirs map[string]bool
	err  error
}

func (c *newcWriter) header(name string, mode, size, major, minor int) {
	if c.err != nil {
		return
	}
	c.ino++
	name = strings.TrimPrefix(name, "/")
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, major, minor, len(name)+1, 0)
	c.write([]byte(h + name + "\x00"))
	c.pad(len(h) + len(name) + 1)
}

func (c *newcWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *newcWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *newcWriter) dir(p string) {
	if p == "/" || p == "." || c.dirs[p] {
		return
	}
	c.dir(filepath.Dir(p))
	c.dirs[p] = true
	c.header(p, 0o040755, 0, 0, 0)
}

func (c *newcWriter) node(p string, mode, major, minor int) {
	c.dir(filepath.Dir(p))
	c.header(p, mode, 0, major, minor)
}

func (c *newcWriter) file(p string, perm int, data []byte) {
	c.dir(filepath.Dir(p))
	c.header(p, 0o100000|perm, len(data), 0, 0)
	c.write(data)
	c.pad(len(data))
}

func (c *newcWriter) trailer() {
	c.header("TRAILER!!!", 0, 0, 0, 0)
}
