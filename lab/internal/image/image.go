// Package image builds the image-qemu firmware image: a bootable arm64
// system for QEMU's virt board made without Buildroot, from the lab's pinned
// Debian kernel, Debian's busybox-static, a cross-built ipcamd, and the
// files the Buildroot external tree installs (package/ipcamd/S99ipcamd and
// the rootfs overlays), copied verbatim.
//
// The root filesystem is an initramfs (gzip'd newc cpio) laid out like
// Buildroot's skeleton: BusyBox init with /etc/inittab, /etc/init.d/rcS
// running S??* in order, syslogd logging to /var/log/messages on tmpfs,
// modules loaded by S10modules, a persistent ext2 data disk (virtio-blk, if
// attached) on /var/lib, static networking for QEMU user-net, and ipcamd's
// S99ipcamd. Files of the overlays win over the defaults written here, as
// Buildroot overlays win over its skeleton.
package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ipcamd/ipcamd/lab/internal/moddep"
)

// Modules are loaded by /etc/init.d/S10modules (one per line of
// /etc/modules, "name param=value ..."), dependencies first.
var Modules = []string{
	"virtio_pci",
	"virtio_net",
	"virtio_blk",
	"crc32c_generic", // ext4 asks the crypto API for crc32c
	"ext4",
	"configfs",
	"i6300esb",
	"vivid n_devs=1 node_types=0x1",
}

// Options says what goes into the image.
type Options struct {
	Kernel        string // the kernel to boot (the lab's vmlinuz)
	ModulesDir    string // /lib/modules/<KernelVersion> on the host, with modules.dep
	KernelVersion string
	Busybox       string // an arm64 static busybox
	Ipcamd        string // a linux/arm64 ipcamd
	Buildroot     string // the Buildroot external tree (/work/main/buildroot)
	// Board selects board/<Board>/rootfs_overlay, applied after
	// board/common/rootfs_overlay if it exists.
	Board string
	// Extra are test-only files (guest path → host file, mode 0755) and
	// ExtraInittab lines appended to /etc/inittab.
	Extra        map[string]string
	ExtraInittab []string
}

// Result is what Build wrote.
type Result struct {
	Kernel, Rootfs string
	Files          int      // regular files in the rootfs
	Overlays       []string // the overlay directories applied
}

// Required are the Buildroot tree's files the image must take verbatim.
var Required = []string{
	"package/ipcamd/S99ipcamd",
	"board/common/rootfs_overlay/etc/ipcamd/ipcamd.yaml",
}

// entry is one rootfs node.
type entry struct {
	mode   int // full st_mode
	data   []byte
	target string // symlink target
	major  int
	minor  int
}

// Build writes outDir/vmlinuz and outDir/rootfs.cpio.gz.
func Build(o Options, outDir string) (*Result, error) {
	for _, r := range Required {
		if _, err := os.Stat(filepath.Join(o.Buildroot, r)); err != nil {
			return nil, fmt.Errorf("the Buildroot tree lacks %s, which the image installs verbatim: %w", r, err)
		}
	}
	fs := map[string]*entry{}
	dir := func(p string) { fs[p] = &entry{mode: 0o40755} }
	file := func(p string, perm int, data []byte) { fs[p] = &entry{mode: 0o100000 | perm, data: data} }
	link := func(p, target string) { fs[p] = &entry{mode: 0o120777, target: target} }
	hostFile := func(p string, perm int, host string) error {
		b, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		file(p, perm, b)
		return nil
	}

	// Buildroot's skeleton.
	for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec", "/lib", "/etc/init.d",
		"/etc/network", "/dev", "/proc", "/sys", "/tmp", "/run", "/var/log", "/var/lib", "/root", "/mnt", "/media", "/opt", "/home"} {
		dir(d)
	}
	fs["/tmp"].mode = 0o41777
	fs["/root"].mode = 0o40700
	link("/var/run", "../run")
	link("/var/tmp", "../tmp")
	fs["/dev/console"] = &entry{mode: 0o20600, major: 5, minor: 1}
	fs["/dev/null"] = &entry{mode: 0o20666, major: 1, minor: 3}
	for p, s := range skeleton {
		perm := 0o644
		if strings.HasPrefix(p, "/etc/init.d/") || p == "/init" {
			perm = 0o755
		}
		if p == "/etc/shadow" {
			perm = 0o600
		}
		file(p, perm, []byte(s))
	}
	file("/etc/modules", 0o644, []byte(strings.Join(Modules, "\n")+"\n"))

	// BusyBox and its applets.
	bb, err := os.ReadFile(o.Busybox)
	if err != nil {
		return nil, err
	}
	applets, err := Applets(bb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Busybox, err)
	}
	file("/bin/busybox", 0o755, bb)
	for _, a := range applets {
		if a == "busybox" || strings.Contains(a, "/") {
			continue
		}
		if sbinApplets[a] {
			link("/sbin/"+a, "../bin/busybox")
		} else {
			link("/bin/"+a, "busybox")
		}
	}

	// Kernel modules: the closure of Modules and a modules.dep of just them.
	kos, depText, err := modules(o.ModulesDir)
	if err != nil {
		return nil, err
	}
	mdir := "/lib/modules/" + o.KernelVersion
	file(mdir+"/modules.dep", 0o644, depText)
	for _, ko := range kos {
		if err := hostFile(mdir+"/"+ko, 0o644, filepath.Join(o.ModulesDir, ko)); err != nil {
			return nil, err
		}
	}

	// ipcamd, as Buildroot's golang-package installs it, and its init script.
	if err := hostFile("/usr/bin/ipcamd", 0o755, o.Ipcamd); err != nil {
		return nil, err
	}
	if err := hostFile("/etc/init.d/S99ipcamd", 0o755, filepath.Join(o.Buildroot, "package/ipcamd/S99ipcamd")); err != nil {
		return nil, err
	}

	// The overlays, verbatim (modes kept), over everything above.
	res := &Result{}
	overlays := []string{filepath.Join(o.Buildroot, "board/common/rootfs_overlay")}
	if o.Board != "" {
		overlays = append(overlays, filepath.Join(o.Buildroot, "board", o.Board, "rootfs_overlay"))
	}
	for _, ov := range overlays {
		if _, err := os.Stat(ov); err != nil {
			continue
		}
		res.Overlays = append(res.Overlays, ov)
		err := filepath.Walk(ov, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(ov, p)
			if rel == "." {
				return nil
			}
			g := "/" + filepath.ToSlash(rel)
			switch {
			case fi.IsDir():
				if e, ok := fs[g]; !ok || e.mode&0o170000 != 0o040000 {
					fs[g] = &entry{mode: 0o40000 | int(fi.Mode().Perm())}
				}
			case fi.Mode()&os.ModeSymlink != 0:
				t, err := os.Readlink(p)
				if err != nil {
					return err
				}
				link(g, t)
			case fi.Mode().IsRegular():
				return hostFile(g, int(fi.Mode().Perm()), p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("overlay %s: %w", ov, err)
		}
	}

	// Test-only additions.
	for g, h := range o.Extra {
		if err := hostFile(g, 0o755, h); err != nil {
			return nil, err
		}
	}
	if len(o.ExtraInittab) > 0 {
		it := fs["/etc/inittab"]
		it.data = append(bytes.TrimRight(it.data, "\n"), []byte("\n# test-only\n"+strings.Join(o.ExtraInittab, "\n")+"\n")...)
	}

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	res.Kernel = filepath.Join(outDir, "vmlinuz")
	res.Rootfs = filepath.Join(outDir, "rootfs.cpio.gz")
	k, err := os.ReadFile(o.Kernel)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(res.Kernel, k, 0o644); err != nil {
		return nil, err
	}
	for _, e := range fs {
		if e.mode&0o170000 == 0o100000 {
			res.Files++
		}
	}
	return res, writeCpio(res.Rootfs, fs)
}

// Applets returns the applet names compiled into a BusyBox binary: its
// applet_names table, a sorted run of NUL-terminated names starting with
// "[" and "[[" (the binary is arm64, so `busybox --list` cannot run on the
// build host).
func Applets(bb []byte) ([]string, error) {
	i := bytes.Index(bb, []byte("[\x00[[\x00"))
	if i < 0 {
		return nil, fmt.Errorf("no applet name table found")
	}
	j := bytes.Index(bb[i:], []byte("\x00\x00"))
	if j < 0 {
		return nil, fmt.Errorf("applet name table not terminated")
	}
	names := strings.Split(string(bb[i:i+j]), "\x00")
	if !sort.StringsAreSorted(names) {
		return nil, fmt.Errorf("applet name table is not sorted: not BusyBox's applet_names")
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, n := range []string{"sh", "init", "mount", "start-stop-daemon", "syslogd", "klogd", "modprobe", "ip", "mke2fs", "poweroff"} {
		if !have[n] {
			return nil, fmt.Errorf("BusyBox lacks the %s applet (found %d applets)", n, len(names))
		}
	}
	return names, nil
}

// sbinApplets are installed in /sbin as BusyBox's own `--install` would;
// the rest go to /bin (PATH has both, and BusyBox dispatches on the name).
var sbinApplets = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`acpid adjtimex arp blkid blockdev depmod devmem fdisk findfs freeramdisk fsck
		fsck.minix getty halt hdparm hwclock ifconfig ifdown ifenslave ifup init insmod ip ipaddr iplink ipneigh
		iproute iprule iptunnel klogd loadkmap logread losetup lsmod makedevs mdev mkdosfs mke2fs mkfs.minix
		mkfs.vfat mkswap modinfo modprobe nameif pivot_root poweroff reboot rmmod route run-init runlevel
		setconsole slattach start-stop-daemon sulogin swapoff swapon switch_root sysctl syslogd tc tunctl udhcpc
		uevent vconfig watchdog zcip`) {
		sbinApplets[a] = true
	}
}

// modules returns the .ko paths (relative to dir) of Modules and their
// dependencies, in load order, and a modules.dep listing only them.
func modules(dir string) ([]string, []byte, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, nil, fmt.Errorf("%v (run lab/fetch.sh)", err)
	}
	raw, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	deps, err := moddep.Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, m := range Modules {
		names = append(names, strings.Fields(m)[0])
	}
	kos, err := deps.Order(names...)
	if err != nil {
		return nil, nil, err
	}
	keep := map[string]bool{}
	for _, k := range kos {
		keep[k] = true
	}
	var dep bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if mod, _, ok := strings.Cut(sc.Text(), ":"); ok && keep[mod] {
			dep.WriteString(sc.Text() + "\n")
		}
	}
	return kos, dep.Bytes(), sc.Err()
}

// writeCpio writes fs as a gzip'd newc cpio archive, parents first.
func writeCpio(p string, fs map[string]*entry) error {
	// Every parent directory exists.
	for g := range fs {
		for d := path.Dir(g); d != "/"; d = path.Dir(d) {
			if _, ok := fs[d]; !ok {
				fs[d] = &entry{mode: 0o40755}
			}
		}
	}
	var names []string
	for g := range fs {
		names = append(names, g)
	}
	sort.Strings(names)
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, gzip.BestCompression)
	if err != nil {
		return err
	}
	w := &cpioWriter{w: zw}
	for _, g := range names {
		e := fs[g]
		data := e.data
		if e.mode&0o170000 == 0o120000 {
			data = []byte(e.target)
		}
		w.entry(strings.TrimPrefix(g, "/"), e.mode, data, e.major, e.minor)
	}
	w.entry("TRAILER!!!", 0, nil, 0, 0)
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

// cpioWriter writes the "newc" (070701) format the kernel unpacks; every
// entry is owned by root.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

func (c *cpioWriter) entry(name string, mode int, data []byte, major, minor int) {
	c.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, major, minor, len(name)+1, 0)
	c.write([]byte(h + name + "\x00"))
	c.pad(len(h) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// QEMUArgs are the arguments that boot the image (without the
// -netdev/-device pair for networking, which the caller adds with its
// hostfwd rules) with dataImg as the persistent disk ("" for none).
func QEMUArgs(kernel, rootfs, dataImg string) []string {
	a := []string{
		"-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", "1024",
		"-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", rootfs,
		"-append", "console=ttyAMA0 panic=-1 quiet",
		// The board's hardware watchdog; a reset ends QEMU (-no-reboot).
		"-device", "i6300esb", "-action", "watchdog=reset",
	}
	if dataImg != "" {
		a = append(a, "-drive", "file="+dataImg+",if=none,format=raw,id=data", "-device", "virtio-blk-pci,drive=data")
	}
	return a
}

// DataImageSize is the size of the persistent data disk (ext2, made by
// the guest's S11data on first boot).
const DataImageSize = 16 << 20

// RunScript is out/image-qemu/run.sh.
func RunScript() string {
	return `#!/bin/sh
# Boots the ipcamd image-qemu firmware image (see lab/README.md). The console
# is this terminal (Ctrl-A X quits QEMU); data.img is the persistent ext2
# disk (state_dir /var/lib/ipcamd), created empty on first use.
#   RTSP  rtsp://admin:PASSWORD@127.0.0.1:${RTSP_PORT:-8554}/main
#   ONVIF http://127.0.0.1:${HTTP_PORT:-8080}/onvif/device_service (HTTP Digest)
# The password is printed once, at first boot: "ipcamd: first boot: user admin, password ...".
set -e
cd "$(dirname "$0")"
[ -f data.img ] || truncate -s ` + fmt.Sprint(DataImageSize) + ` data.img
exec qemu-system-aarch64 ` + strings.Join(quoteAll(QEMUArgs("vmlinuz", "rootfs.cpio.gz", "data.img")), " ") + ` \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:${RTSP_PORT:-8554}-:554,hostfwd=tcp:127.0.0.1:${HTTP_PORT:-8080}-:80" \
	-device virtio-net-pci,netdev=n0 "$@"
`
}

func quoteAll(a []string) []string {
	q := make([]string, len(a))
	for i, s := range a {
		if strings.ContainsAny(s, " =,") {
			s = "'" + s + "'"
		}
		q[i] = s
	}
	return q
}
