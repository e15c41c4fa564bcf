// Command init is the /init of the lab's emulated arm64 camera board. It is
// built static (GOOS=linux GOARCH=arm64 CGO_ENABLED=0) and packed into the
// initramfs by the lab harness.
//
// In order it:
//   - mounts proc, sysfs, devtmpfs and tmpfs (/tmp, /run) and reopens
//     /dev/console as stdin/stdout/stderr;
//   - loads the modules listed in /etc/lab.modules (one per line:
//     "name param=value ...") with finit_module, dependencies first as
//     given by modules.dep, and mounts configfs;
//   - creates the gpio-sim chip "cam-sim" (8 named lines, see gpioLines);
//   - brings up lo and eth0 as 10.0.2.15/24 (QEMU user networking);
//   - serves HTTP on :8081: "/" is a log of the above plus a fresh probe of
//     /dev/video* (VIDIOC_QUERYCAP) and /dev/gpiochip*; "/poweroff" syncs
//     and powers the board off; "/v4l2ctrl", "/rmmod", "/modprobe" and
//     "/unplug" set V4L2 controls and unload and load modules, so that
//     tests can unplug and replug a camera (see deviceHandlers);
//     "/gpio/..." drive the inputs of gpio-sim chips and record their
//     outputs (see gpioHandlers);
//   - prints "READY uptime=<seconds since boot>" on the console;
//   - runs the commands of /etc/lab.cmd, then prints "LAB-CMDS-DONE".
//
// /etc/lab.cmd has one command per line; arguments are split on white
// space (no quoting), and "#" starts a comment line:
//
//	env KEY=VALUE       add KEY=VALUE to the environment of later commands
//	run PATH ARGS...    start a long-running service, output to the console
//	test PATH ARGS...   run to completion; prints "LAB-TEST-START <name>"
//	                    before and "LAB-TEST <name> PASS|FAIL exit=<code>"
//	                    after (name = base name of PATH)
//	pull LINE PULL      set the simulated external level of input LINE
//	                    (a name) of cam-sim: pull-up or pull-down
//	gpio-trace LABEL    start /init's GPIO recorder on chip LABEL (as
//	                    /gpio/trace/start?chip=LABEL)
//	poweroff            sync and power off
//
// "init agent" runs only the HTTP server (for the image-qemu test image,
// whose init is BusyBox's). Its "/exec?cmd=SHELL-COMMAND&timeout=20s" runs
// /bin/sh -c SHELL-COMMAND and answers its combined output, with the exit
// status in the X-Exit-Code header (-1: it could not run or timed out);
// "/exec?argv=PATH&argv=ARG..." runs PATH without a shell (the lab's own
// initramfs has none unless a test adds BusyBox).
//
// Every command runs in /tmp with IPCAMD_LAB=1, PATH=/bin, HOME=/tmp and
// TMPDIR=/tmp.
//
// init never exits: if it did, the kernel would panic (QEMU exits too,
// thanks to panic=-1 and -no-reboot).
package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipcamd/ipcamd/lab/internal/moddep"
)

// httpAddr is where init serves its log; ipcamd itself takes :80.
const httpAddr = ":8081"

// gpioLines names the lines of the gpio-sim chip "cam-sim", by offset.
var gpioLines = []string{
	"IR_CUT_A",     // 0 out: IR-cut filter coil A
	"IR_CUT_B",     // 1 out: IR-cut filter coil B
	"IR_LED",       // 2 out: IR illuminator
	"LED_STATUS",   // 3 out: status LED
	"BUTTON_RESET", // 4 in: reset button, active low (pulled up = released)
	"LIGHT_SENSOR", // 5 in: day/night photodiode (pulled down = day)
	"AUX_OUT",      // 6 out: spare
	"AUX_IN",       // 7 in: spare
}

// pulls sets the simulated external level of input lines (gpio-sim's
// sim_gpioN/pull): the button is released.
var pulls = map[int]string{4: "pull-up"}

var (
	logMu  sync.Mutex
	logBuf bytes.Buffer
)

// logf prints a line to the console and keeps it for the HTTP log.
func logf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	logMu.Lock()
	logBuf.WriteString(line)
	logMu.Unlock()
	os.Stdout.WriteString("lab-init: " + line)
}

func main() {
	// "init agent": not PID 1 but a service of the image-qemu firmware
	// image's test variant (started from its inittab): only the HTTP
	// server, with /exec, so that the host can run commands in the guest.
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		serveHTTP()
		fmt.Printf("LAB-AGENT READY uptime=%s\n", uptime())
		select {}
	}
	mounts()
	loadModules("/etc/lab.modules")
	setupGPIOSim()
	network()
	probe(&logBuf, &logMu)
	serveHTTP()
	fmt.Printf("READY uptime=%s\n", uptime())
	runCommands("/etc/lab.cmd")
	fmt.Println("LAB-CMDS-DONE")
	select {}
}

func mounts() {
	for _, m := range []struct{ src, dir, fs string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
		{"tmpfs", "/run", "tmpfs"},
	} {
		_ = os.MkdirAll(m.dir, 0o755)
		if err := unix.Mount(m.src, m.dir, m.fs, 0, ""); err != nil && err != unix.EBUSY {
			logf("mount %s on %s: %v", m.fs, m.dir, err)
		}
	}
	// The initramfs may lack /dev/console, leaving fds 0-2 closed.
	if fd, err := unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY, 0); err == nil {
		for i := 0; i < 3; i++ {
			_ = unix.Dup3(fd, i, 0)
		}
		if fd > 2 {
			unix.Close(fd)
		}
	}
}

func loadModules(list string) {
	data, err := os.ReadFile(list)
	if err != nil {
		logf("modules: %v", err)
		return
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	dir := "/lib/modules/" + unix.ByteSliceToString(uts.Release[:])
	f, err := os.Open(dir + "/modules.dep")
	if err != nil {
		logf("modules: %v", err)
		return
	}
	deps, err := moddep.Parse(f)
	f.Close()
	if err != nil {
		logf("modules: %v", err)
		return
	}
	modDeps, modDir = deps, dir
	start := time.Now()
	n := 0
	loaded := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		k, err := loadModule(fields[0], strings.Join(fields[1:], " "), loaded)
		n += k
		if err != nil {
			logf("%v", err)
		}
	}
	logf("modules: %d loaded in %v", n, time.Since(start).Round(time.Millisecond))
	if err := unix.Mount("configfs", "/sys/kernel/config", "configfs", 0, ""); err != nil && err != unix.EBUSY {
		logf("mount configfs: %v", err)
	}
}

// modDeps and modDir are the parsed modules.dep and its directory, set by
// loadModules for later loads through /modprobe.
var (
	modDeps moddep.Deps
	modDir  string
)

// loadModule loads module name with params, after its dependencies (which
// get no parameters), skipping those in loaded and adding what it loads to
// loaded (nil: load everything not in the kernel yet). It returns how many
// modules it loaded, and the first error; a module that is already loaded
// counts as loaded.
func loadModule(name, params string, loaded map[string]bool) (int, error) {
	if modDeps == nil {
		return 0, fmt.Errorf("module %s: no modules.dep", name)
	}
	if loaded == nil {
		loaded = map[string]bool{}
	}
	order, err := modDeps.Order(name)
	if err != nil {
		return 0, fmt.Errorf("module %s: %w", name, err)
	}
	n := 0
	for i, p := range order {
		mod := moddep.Name(p)
		if loaded[mod] {
			continue
		}
		ps := ""
		if i == len(order)-1 {
			ps = params
		}
		if err := finit(modDir+"/"+p, ps); err != nil {
			return n, fmt.Errorf("module %s %s: %w", mod, ps, err)
		}
		loaded[mod] = true
		n++
		if i == len(order)-1 {
			logf("module %s loaded", strings.TrimSpace(mod+" "+ps))
		}
	}
	return n, nil
}

func finit(path, params string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	flags := 0
	if !strings.HasSuffix(path, ".ko") {
		flags = 4 // MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(fd, params, flags); err != nil && err != unix.EEXIST {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}

func setupGPIOSim() {
	const root = "/sys/kernel/config/gpio-sim"
	if _, err := os.Stat(root); err != nil {
		logf("gpio-sim: not available (%v)", err)
		return
	}
	chip := root + "/cam"
	bank := chip + "/bank0"
	steps := []func() error{
		func() error { return os.MkdirAll(bank, 0o755) },
		func() error { return os.WriteFile(bank+"/num_lines", []byte(fmt.Sprint(len(gpioLines))), 0) },
		func() error { return os.WriteFile(bank+"/label", []byte("cam-sim"), 0) },
	}
	for i, name := range gpioLines {
		line := fmt.Sprintf("%s/line%d", bank, i)
		steps = append(steps,
			func() error { return os.Mkdir(line, 0o755) },
			func() error { return os.WriteFile(line+"/name", []byte(name), 0) })
	}
	steps = append(steps, func() error { return os.WriteFile(chip+"/live", []byte("1"), 0) })
	for _, s := range steps {
		if err := s(); err != nil {
			logf("gpio-sim: %v", err)
			return
		}
	}
	chipName := readTrim(bank + "/chip_name")
	devName := readTrim(chip + "/dev_name")
	for off, pull := range pulls {
		p := fmt.Sprintf("/sys/devices/platform/%s/%s/sim_gpio%d/pull", devName, chipName, off)
		if err := os.WriteFile(p, []byte(pull), 0); err != nil {
			logf("gpio-sim: %v", err)
		}
	}
	logf("gpio-sim: label cam-sim is /dev/%s (%s), lines %s", chipName, devName, strings.Join(gpioLines, ","))
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func network() {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		logf("net: socket: %v", err)
		return
	}
	defer unix.Close(fd)
	if err := ifUp(fd, "lo"); err != nil {
		logf("net: %v", err)
	}
	// virtio_net probes synchronously, but give udev-less setups a moment.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if _, err := os.Stat("/sys/class/net/eth0"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := ifAddr(fd, "eth0", [4]byte{10, 0, 2, 15}, [4]byte{255, 255, 255, 0}); err != nil {
		logf("net: %v", err)
		return
	}
	if err := ifUp(fd, "eth0"); err != nil {
		logf("net: %v", err)
		return
	}
	logf("net: lo up, eth0 10.0.2.15/24 up")
}

func ifAddr(fd int, name string, addr, mask [4]byte) error {
	for _, x := range []struct {
		req uint
		ip  [4]byte
	}{{unix.SIOCSIFADDR, addr}, {unix.SIOCSIFNETMASK, mask}} {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(x.ip[:]); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, x.req, ifr); err != nil {
			return fmt.Errorf("%s: ioctl %#x: %w", name, x.req, err)
		}
	}
	return nil
}

func ifUp(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCGIFFLAGS: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: SIOCSIFFLAGS: %w", name, err)
	}
	return nil
}

// v4l2Capability is struct v4l2_capability (104 bytes).
type v4l2Capability struct {
	Driver       [16]byte
	Card         [32]byte
	BusInfo      [32]byte
	Version      uint32
	Capabilities uint32
	DeviceCaps   uint32
	Reserved     [3]uint32
}

// gpiochipInfo is struct gpiochip_info (68 bytes).
type gpiochipInfo struct {
	Name  [32]byte
	Label [32]byte
	Lines uint32
}

const (
	vidiocQuerycap   = 0x80685600
	gpioGetChipinfo  = 0x8044b401
	capDeviceCapsBit = 0x80000000
)

var _ [104]byte = [unsafe.Sizeof(v4l2Capability{})]byte{}
var _ [68]byte = [unsafe.Sizeof(gpiochipInfo{})]byte{}

var capNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "VIDEO_CAPTURE"}, {0x2, "VIDEO_OUTPUT"}, {0x1000, "VIDEO_CAPTURE_MPLANE"},
	{0x2000, "VIDEO_OUTPUT_MPLANE"}, {0x4000, "VIDEO_M2M_MPLANE"}, {0x8000, "VIDEO_M2M"},
	{0x01000000, "READWRITE"}, {0x04000000, "STREAMING"},
}

func capString(c uint32) string {
	var s []string
	for _, n := range capNames {
		if c&n.bit != 0 {
			s = append(s, n.name)
		}
	}
	return fmt.Sprintf("%#08x %s", c, strings.Join(s, "|"))
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// probe writes one line per /dev/video* and /dev/gpiochip* node to w.
func probe(w *bytes.Buffer, mu *sync.Mutex) {
	var out bytes.Buffer
	videos, _ := filepath.Glob("/dev/video*")
	sort.Strings(videos)
	for _, p := range videos {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(&out, "video %s: open: %v\n", p, err)
			continue
		}
		var c v4l2Capability
		err = ioctl(fd, vidiocQuerycap, unsafe.Pointer(&c))
		unix.Close(fd)
		if err != nil {
			fmt.Fprintf(&out, "video %s: VIDIOC_QUERYCAP: %v\n", p, err)
			continue
		}
		dc := c.Capabilities
		if c.Capabilities&capDeviceCapsBit != 0 {
			dc = c.DeviceCaps
		}
		fmt.Fprintf(&out, "video %s: driver=%q card=%q bus=%q device_caps=%s\n", p,
			unix.ByteSliceToString(c.Driver[:]), unix.ByteSliceToString(c.Card[:]),
			unix.ByteSliceToString(c.BusInfo[:]), capString(dc))
	}
	if len(videos) == 0 {
		out.WriteString("video: no /dev/video* nodes\n")
	}
	chips, _ := filepath.Glob("/dev/gpiochip*")
	sort.Strings(chips)
	for _, p := range chips {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintf(&out, "gpio %s: open: %v\n", p, err)
			continue
		}
		var info gpiochipInfo
		err = ioctl(fd, gpioGetChipinfo, unsafe.Pointer(&info))
		unix.Close(fd)
		if err != nil {
			fmt.Fprintf(&out, "gpio %s: GPIO_GET_CHIPINFO: %v\n", p, err)
			continue
		}
		fmt.Fprintf(&out, "gpio %s: name=%q label=%q lines=%d\n", p,
			unix.ByteSliceToString(info.Name[:]), unix.ByteSliceToString(info.Label[:]), info.Lines)
	}
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.Write(prefixLines("lab-init: ", out.Bytes()))
	}
	w.Write(out.Bytes())
}

func prefixLines(prefix string, b []byte) []byte {
	var out bytes.Buffer
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			out.WriteString(prefix + l)
		}
	}
	return out.Bytes()
}

// serveHTTP starts the log server in the background.
func serveHTTP() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		logMu.Lock()
		fmt.Fprintf(w, "uptime %s\n", uptime())
		w.Write(logBuf.Bytes())
		logMu.Unlock()
		var now bytes.Buffer
		probe(&now, nil)
		w.Write([]byte("--- probe now\n"))
		w.Write(now.Bytes())
	})
	mux.HandleFunc("/poweroff", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "powering off")
		go func() {
			time.Sleep(100 * time.Millisecond)
			poweroff()
		}()
	})
	mux.HandleFunc("/exec", execHandler)
	deviceHandlers(mux)
	gpioHandlers(mux)
	// Listen before READY so the host can connect as soon as it sees it.
	l, err := net.Listen("tcp", httpAddr)
	if err != nil {
		logf("http: %v", err)
		return
	}
	logf("http: serving on %s", httpAddr)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { logf("http: %v", srv.Serve(l)) }()
}

func poweroff() {
	fmt.Println("LAB-POWEROFF")
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		logf("poweroff: %v", err)
	}
}

func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func runCommands(file string) {
	f, err := os.Open(file)
	if err != nil {
		logf("commands: %v", err)
		return
	}
	defer f.Close()
	env := []string{"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp", "IPCAMD_LAB=1"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch verb, args := fields[0], fields[1:]; {
		case verb == "env" && len(args) == 1 && strings.Contains(args[0], "="):
			env = append(env, args[0])
		case verb == "poweroff":
			poweroff()
		case verb == "gpio-trace" && len(args) == 1:
			if err := trace.startTrace(args[0], "", time.Millisecond); err != nil {
				logf("gpio-trace %s: %v", args[0], err)
			}
		case verb == "pull" && len(args) == 2:
			_, dir, lines, err := simChip("cam-sim")
			for i, n := range lines {
				if n == args[0] {
					err = os.WriteFile(fmt.Sprintf("%s/sim_gpio%d/pull", dir, i), []byte(args[1]), 0)
					break
				}
				if i == len(lines)-1 {
					err = fmt.Errorf("no line %q", args[0])
				}
			}
			if err != nil {
				logf("pull %s %s: %v", args[0], args[1], err)
			} else {
				logf("pull %s %s", args[0], args[1])
			}
		case (verb == "run" || verb == "test") && len(args) > 0:
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = env
			cmd.Dir = "/tmp"
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			name := filepath.Base(args[0])
			if verb == "run" {
				if err := cmd.Start(); err != nil {
					logf("run %s: %v", name, err)
					continue
				}
				logf("run %s: started pid %d", name, cmd.Process.Pid)
				go func() {
					err := cmd.Wait()
					logf("run %s: exited: %v", name, err)
				}()
				continue
			}
			fmt.Printf("LAB-TEST-START %s\n", name)
			start := time.Now()
			err := cmd.Run()
			code := 0
			if err != nil {
				code = -1
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else {
					fmt.Printf("lab-init: test %s: %v\n", name, err)
				}
			}
			result := "PASS"
			if code != 0 {
				result = "FAIL"
			}
			logf("test %s: %s exit=%d in %v", name, result, code, time.Since(start).Round(time.Millisecond))
			fmt.Printf("LAB-TEST %s %s exit=%d\n", name, result, code)
		default:
			logf("commands: bad line %q", sc.Text())
		}
	}
}

// execHandler runs /bin/sh -c cmd (the image-qemu agent's remote shell) and
// answers its output, with the exit status in X-Exit-Code.
func execHandler(w http.ResponseWriter, r *http.Request) {
	cmdline := r.URL.Query().Get("cmd")
	argv := []string{"/bin/sh", "-c", cmdline}
	if a := r.URL.Query()["argv"]; len(a) > 0 {
		argv, cmdline = a, strings.Join(a, " ")
	} else if cmdline == "" {
		http.Error(w, "exec: no cmd or argv", http.StatusBadRequest)
		return
	}
	timeout := 20 * time.Second
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			http.Error(w, "exec: "+err.Error(), http.StatusBadRequest)
			return
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/", "TERM=dumb"}
	// Daemons started by the command must not keep our pipe open.
	cmd.WaitDelay = 2 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	code := -1
	err := cmd.Run()
	if cmd.ProcessState != nil && ctx.Err() == nil {
		code = cmd.ProcessState.ExitCode()
	}
	if err != nil && code == -1 {
		fmt.Fprintf(&out, "exec: %v\n", err)
	}
	logf("exec %q: exit %d", cmdline, code)
	w.Header().Set("X-Exit-Code", fmt.Sprint(code))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(out.Bytes())
}
