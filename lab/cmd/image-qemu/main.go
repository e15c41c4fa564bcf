// Command image-qemu builds the image-qemu firmware image (`make
// image-qemu`): the lab's pinned Debian arm64 kernel, busybox-static, ipcamd
// cross-built from this checkout, and the Buildroot tree's init script,
// rootfs overlays and default config, as vmlinuz + rootfs.cpio.gz + run.sh.
// Run lab/fetch.sh first. See lab/README.md and lab/internal/image.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ipcamd/ipcamd/lab/internal/image"
)

func main() {
	root := flag.String("root", "..", "the ipcamd checkout (the root module)")
	out := flag.String("out", "out/image-qemu", "output `directory`")
	kver := flag.String("kver", "6.1.0-56-arm64", "guest kernel ABI, as fetch.sh pins it")
	board := flag.String("board", "qemu_aarch64_virt", "board/<name>/rootfs_overlay of the Buildroot tree to apply too")
	br := flag.String("buildroot", "", "the Buildroot external tree (default: ROOT/buildroot)")
	flag.Parse()
	if *br == "" {
		*br = filepath.Join(*root, "buildroot")
	}
	if err := run(*root, *br, *out, *kver, *board); err != nil {
		fmt.Fprintln(os.Stderr, "image-qemu:", err)
		os.Exit(1)
	}
}

func run(root, br, out, kver, board string) error {
	cache := os.Getenv("IPCAMD_LAB_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		cache = filepath.Join(home, ".cache", "ipcamd-lab")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if br, err = filepath.Abs(br); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ipcamd, err := filepath.Abs(filepath.Join(out, "ipcamd"))
	if err != nil {
		return err
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", ipcamd, "./cmd/ipcamd")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("cross-building ipcamd: %w", err)
	}
	defer os.Remove(ipcamd)
	res, err := image.Build(image.Options{
		Kernel:        filepath.Join(cache, "kroot", "boot", "vmlinuz-"+kver),
		ModulesDir:    filepath.Join(cache, "kroot", "lib", "modules", kver),
		KernelVersion: kver,
		Busybox:       filepath.Join(cache, "busybox", "root", "bin", "busybox"),
		Ipcamd:        ipcamd,
		Buildroot:     br,
		Board:         board,
	}, out)
	if err != nil {
		return err
	}
	runSh := filepath.Join(out, "run.sh")
	if err := os.WriteFile(runSh, []byte(image.RunScript()), 0o755); err != nil {
		return err
	}
	fi, _ := os.Stat(res.Rootfs)
	fmt.Printf("image-qemu: %s (%d files, %d KiB), %s\n", res.Rootfs, res.Files, fi.Size()>>10, res.Kernel)
	for _, ov := range res.Overlays {
		fmt.Printf("image-qemu: overlay %s\n", ov)
	}
	fmt.Printf("boot it:  %s   (RTSP 127.0.0.1:8554, HTTP/ONVIF 127.0.0.1:8080; RTSP_PORT=/HTTP_PORT= to change; Ctrl-A X quits)\n", runSh)
	return nil
}
