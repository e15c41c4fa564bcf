#!/usr/bin/env bash
# fetch.sh prepares the arm64 camera-board lab: host tools, the pinned Debian
# arm64 kernel, and the out-of-tree test modules (irq_sim_mod, gpio-sim,
# vicodec, vim2m) built against it. See lab/README.md and
# /work/shared/notes/arm-qemu-lab.md.
#
# Idempotent and cached in ${IPCAMD_LAB_CACHE:-$HOME/.cache/ipcamd-lab}: each
# step leaves a stamp file when it completes, so an interrupted run redoes
# only the unfinished steps and a warm run takes a second or two.
#
# The arm64 packages are fetched with a private ("isolated") apt state; the
# host's dpkg architectures are never changed.
set -euo pipefail

KVER=6.1.0-56-arm64   # kernel ABI (uname -r in the guest)
KPKG=6.1.192-2        # Debian package version of that ABI (bookworm-security)
KSRC=6.1              # linux-source-6.1 / linux-kbuild-6.1
BBPKG=1:1.35.0-4+deb12u1+b1  # busybox-static (arm64) for the image-qemu firmware image
MIRROR=${IPCAMD_LAB_MIRROR:-http://deb.debian.org}
CACHE=${IPCAMD_LAB_CACHE:-$HOME/.cache/ipcamd-lab}
# Bump when the steps below change in a way that invalidates the cache.
RECIPE=1

log() { printf 'fetch.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
stamp() { echo "$KPKG recipe=$RECIPE" >"$CACHE/.stamp-$1"; }
done_() { [[ -f $CACHE/.stamp-$1 && $(cat "$CACHE/.stamp-$1") == "$KPKG recipe=$RECIPE" ]]; }

mkdir -p "$CACHE"

# --- 1. host packages (only the missing ones) --------------------------------
need=()
for p in qemu-system-arm ipxe-qemu cpio kmod gcc-aarch64-linux-gnu make bc bison flex libelf-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || need+=("$p")
done
if ((${#need[@]})); then
	log "installing host packages: ${need[*]}"
	[[ $(id -u) == 0 ]] || die "host packages missing (${need[*]}) and not root; install them with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${need[@]}" >"$CACHE/apt-install.log" 2>&1 || {
		apt-get update -q >>"$CACHE/apt-install.log" 2>&1 &&
			apt-get install -y -q --no-install-recommends "${need[@]}" >>"$CACHE/apt-install.log" 2>&1
	} || { tail -20 "$CACHE/apt-install.log" >&2; die "apt-get install ${need[*]} failed (log: $CACHE/apt-install.log)"; }
fi

# --- 2. pinned kernel packages via an isolated apt state ---------------------
A=$CACHE/apt
DEBS=$CACHE/debs
if ! done_ debs; then
	log "downloading kernel packages $KVER ($KPKG)"
	mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$DEBS"
	touch "$A/status"
	cat >"$A/sources.list" <<EOF
deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR/debian bookworm main
deb [arch=arm64,amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR/debian-security bookworm-security main
EOF
	O=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Dir::State::status=$A/status"
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
	apt-get "${O[@]}" update -q >"$CACHE/apt-update.log" 2>&1 ||
		{ tail -20 "$CACHE/apt-update.log" >&2; die "isolated apt-get update failed"; }
	rm -f "$DEBS"/*.deb
	(cd "$DEBS" && apt-get "${O[@]}" download -q \
		"linux-image-$KVER:arm64=$KPKG" "linux-headers-$KVER:arm64=$KPKG" \
		"linux-headers-${KVER%-arm64}-common=$KPKG" "linux-kbuild-$KSRC:amd64=$KPKG" \
		"linux-source-$KSRC=$KPKG") >"$CACHE/apt-download.log" 2>&1 ||
		{ tail -20 "$CACHE/apt-download.log" >&2; die "downloading the pinned kernel packages ($KPKG) failed; has the mirror dropped that version?"; }
	stamp debs
fi

# --- 3. kernel root (image + modules) ----------------------------------------
KROOT=$CACHE/kroot
if ! done_ kroot; then
	log "extracting kernel image"
	rm -rf "$KROOT" && mkdir -p "$KROOT"
	dpkg-deb -x "$DEBS"/linux-image-${KVER}_*_arm64.deb "$KROOT"
	[[ -f $KROOT/boot/vmlinuz-$KVER ]] || die "no vmlinuz-$KVER in linux-image package"
	rm -f "$CACHE/.stamp-modules"
	stamp kroot
fi

# --- 4. headers + selected sources, out-of-tree modules ----------------------
HDR=$CACHE/hdr
OOT=$CACHE/oot
if ! done_ modules; then
	log "building out-of-tree modules (irq_sim_mod gpio-sim vicodec vim2m)"
	rm -rf "$HDR" "$CACHE/src" "$OOT" && mkdir -p "$HDR" "$CACHE/src" "$OOT"
	for d in "$DEBS"/linux-headers-${KVER}_*.deb "$DEBS"/linux-headers-${KVER%-arm64}-common_*.deb "$DEBS"/linux-kbuild-${KSRC}_*.deb; do
		dpkg-deb -x "$d" "$HDR"
	done
	sed -i "s#/usr/src/linux-headers-${KVER%-arm64}-common#$HDR/usr/src/linux-headers-${KVER%-arm64}-common#" \
		"$HDR/usr/src/linux-headers-$KVER/Makefile"
	dpkg-deb --fsys-tarfile "$DEBS"/linux-source-${KSRC}_*.deb |
		tar -xO "./usr/src/linux-source-$KSRC.tar.xz" |
		tar -xJ -C "$CACHE/src" --wildcards '*/drivers/gpio/gpio-sim.c' '*/drivers/gpio/gpiolib.h' \
			'*/kernel/irq/irq_sim.c' '*/drivers/media/test-drivers/vicodec/*' '*/drivers/media/test-drivers/vim2m.c'
	S=$CACHE/src/linux-source-$KSRC
	cp "$S"/drivers/gpio/gpio-sim.c "$S"/drivers/gpio/gpiolib.h "$S"/drivers/media/test-drivers/vicodec/*.[ch] \
		"$S"/drivers/media/test-drivers/vim2m.c "$OOT"/
	# irq_to_desc is not exported in 6.1.
	sed 's/handle_simple_irq(irq_to_desc(irqnum))/generic_handle_irq(irqnum)/' "$S/kernel/irq/irq_sim.c" >"$OOT/irq_sim_impl.c"
	grep -q 'generic_handle_irq(irqnum)' "$OOT/irq_sim_impl.c" || die "irq_sim.c patch did not apply"
	printf '#include "irq_sim_impl.c"\n#include <linux/module.h>\nMODULE_LICENSE("GPL");\n' >"$OOT/irq_sim_mod.c"
	cat >"$OOT/Kbuild" <<'EOF'
obj-m += irq_sim_mod.o gpio-sim.o vicodec.o vim2m.o
vicodec-objs := codec-fwht.o codec-v4l2-fwht.o vicodec-core.o
EOF
	make -s -C "$HDR/usr/src/linux-headers-$KVER" M="$OOT" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- \
		-j"$(nproc)" modules >"$CACHE/modules-build.log" 2>&1 ||
		{ tail -30 "$CACHE/modules-build.log" >&2; die "out-of-tree module build failed (log: $CACHE/modules-build.log)"; }
	X=$KROOT/lib/modules/$KVER/extra
	mkdir -p "$X"
	for m in irq_sim_mod gpio-sim vicodec vim2m; do
		aarch64-linux-gnu-strip --strip-debug -o "$X/$m.ko" "$OOT/$m.ko"
	done
	/usr/sbin/depmod -b "$KROOT" "$KVER"
	[[ -s $KROOT/lib/modules/$KVER/modules.dep ]] || die "depmod produced no modules.dep"
	# The extracted source tree is only needed for the build.
	rm -rf "$CACHE/src"
	stamp modules
fi

# --- 5. busybox-static (arm64) for the image-qemu firmware image ---------------
# Its own stamp (keyed on BBPKG), so bumping it does not refetch the kernel.
BB=$CACHE/busybox
if [[ ! -f $CACHE/.stamp-busybox || $(cat "$CACHE/.stamp-busybox") != "$BBPKG" ]]; then
	log "downloading busybox-static:arm64 $BBPKG"
	O=(-o "Dir::Etc::sourcelist=$A/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "Dir::State::status=$A/status"
		-o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64)
	rm -rf "$BB" && mkdir -p "$BB/deb"
	(cd "$BB/deb" && apt-get "${O[@]}" download -q "busybox-static:arm64=$BBPKG") >"$CACHE/apt-busybox.log" 2>&1 || {
		apt-get "${O[@]}" update -q >>"$CACHE/apt-busybox.log" 2>&1 &&
			(cd "$BB/deb" && apt-get "${O[@]}" download -q "busybox-static:arm64=$BBPKG") >>"$CACHE/apt-busybox.log" 2>&1
	} || { tail -20 "$CACHE/apt-busybox.log" >&2; die "downloading busybox-static:arm64=$BBPKG failed; has the mirror dropped that version?"; }
	dpkg-deb -x "$BB"/deb/busybox-static_*_arm64.deb "$BB/root"
	[[ -x $BB/root/bin/busybox ]] || die "no bin/busybox in busybox-static"
	echo "$BBPKG" >"$CACHE/.stamp-busybox"
fi

echo "$KROOT/boot/vmlinuz-$KVER" >"$CACHE/kernel.path"
log "ready: kernel $KROOT/boot/vmlinuz-$KVER, modules $KROOT/lib/modules/$KVER"
