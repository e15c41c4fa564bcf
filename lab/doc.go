// Package lab boots an emulated arm64 camera board (Debian's arm64 kernel
// under qemu-system-aarch64, an initramfs with the static Go /init in
// ./init, vivid, vicodec and gpio-sim) and tests ipcamd on it from the host.
// Run it with `make lab`; see README.md.
package lab
