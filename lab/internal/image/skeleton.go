package image

// skeleton is the image's base system, after Buildroot's
// system/skeleton, package/busybox (inittab, S01syslogd, S02klogd) and
// package/initscripts (rcS, rcK), written for this image; the Buildroot
// tree's overlays may replace any of it.
var skeleton = map[string]string{
	// Buildroot's fs/cpio/init: devtmpfs is not mounted automatically
	// for an initramfs.
	"/init": `#!/bin/sh
/bin/mount -t devtmpfs devtmpfs /dev
exec 0</dev/console
exec 1>/dev/console
exec 2>/dev/console
exec /sbin/init "$@"
`,
	"/etc/inittab": `# /etc/inittab (BusyBox init; Buildroot's layout)
# <id>:<runlevels>:<action>:<process>
::sysinit:/bin/mount -t proc proc /proc
::sysinit:/bin/mount -o remount,rw /
::sysinit:/bin/mkdir -p /dev/pts /dev/shm
::sysinit:/bin/mount -a
::sysinit:/bin/mkdir -p /run/lock/subsys
::sysinit:/bin/hostname -F /etc/hostname
# Start the init scripts.
::sysinit:/etc/init.d/rcS

# Stuff to do for the 3-finger salute.
::ctrlaltdel:/sbin/reboot

# Stuff to do before rebooting.
::shutdown:/etc/init.d/rcK
::shutdown:/bin/umount -a -r
`,
	"/etc/fstab": `# <file system>	<mount pt>	<type>	<options>	<dump>	<pass>
devpts		/dev/pts	devpts	defaults,gid=5,mode=620,ptmxmode=0666	0	0
tmpfs		/dev/shm	tmpfs	mode=0777	0	0
tmpfs		/tmp		tmpfs	mode=1777	0	0
tmpfs		/run		tmpfs	mode=0755,nosuid,nodev	0	0
tmpfs		/var/log	tmpfs	mode=0755,size=8m	0	0
sysfs		/sys		sysfs	defaults	0	0
`,
	"/etc/init.d/rcS": `#!/bin/sh

# Start all init scripts in /etc/init.d
# executing them in numerical order.
#
for i in /etc/init.d/S??* ;do

	# Ignore dangling symlinks (if any).
	[ ! -f "$i" ] && continue

	case "$i" in
	*.sh)
		# Source shell script for speed.
		(
			trap - INT QUIT TSTP
			set start
			. $i
		)
		;;
	*)
		# No sh extension, so fork subprocess.
		$i start
		;;
	esac
done
`,
	"/etc/init.d/rcK": `#!/bin/sh

# Stop all init scripts in /etc/init.d
# executing them in reversed numerical order.
#
for i in $(ls -r /etc/init.d/S??*) ;do

	# Ignore dangling symlinks (if any).
	[ ! -f "$i" ] && continue

	case "$i" in
	*.sh)
		# Source shell script for speed.
		(
			trap - INT QUIT TSTP
			set stop
			. $i
		)
		;;
	*)
		# No sh extension, so fork subprocess.
		$i stop
		;;
	esac
done
`,
	// Logs go to RAM: /var/log is a tmpfs (fstab).
	"/etc/init.d/S01syslogd": `#!/bin/sh

DAEMON="syslogd"
PIDFILE="/var/run/$DAEMON.pid"

# /var/log/messages, in RAM: /var/log is a tmpfs capped at 8 MiB. Debian's
# busybox-static has no rotation (-s/-b) and -C (logread) would replace the
# file.
SYSLOGD_ARGS=""

start() {
	printf 'Starting %s: ' "$DAEMON"
	start-stop-daemon -b -m -S -q -p "$PIDFILE" -x "/sbin/$DAEMON" \
		-- -n $SYSLOGD_ARGS
	status=$?
	if [ "$status" -eq 0 ]; then
		echo "OK"
	else
		echo "FAIL"
	fi
	return "$status"
}

stop() {
	printf 'Stopping %s: ' "$DAEMON"
	start-stop-daemon -K -q -p "$PIDFILE"
	status=$?
	if [ "$status" -eq 0 ]; then
		rm -f "$PIDFILE"
		echo "OK"
	else
		echo "FAIL"
	fi
	return "$status"
}

case "$1" in
	start|stop)
		"$1";;
	restart|reload)
		stop
		sleep 1
		start;;
	*)
		echo "Usage: $0 {start|stop|restart|reload}"
		exit 1
esac
`,
	"/etc/init.d/S02klogd": `#!/bin/sh

DAEMON="klogd"
PIDFILE="/var/run/$DAEMON.pid"

start() {
	printf 'Starting %s: ' "$DAEMON"
	start-stop-daemon -b -m -S -q -p "$PIDFILE" -x "/sbin/$DAEMON" -- -n
	status=$?
	if [ "$status" -eq 0 ]; then
		echo "OK"
	else
		echo "FAIL"
	fi
	return "$status"
}

stop() {
	printf 'Stopping %s: ' "$DAEMON"
	start-stop-daemon -K -q -p "$PIDFILE"
	status=$?
	if [ "$status" -eq 0 ]; then
		rm -f "$PIDFILE"
		echo "OK"
	else
		echo "FAIL"
	fi
	return "$status"
}

case "$1" in
	start|stop)
		"$1";;
	restart|reload)
		stop
		sleep 1
		start;;
	*)
		echo "Usage: $0 {start|stop|restart|reload}"
		exit 1
esac
`,
	// Kernel modules from /etc/modules ("name param=value ...").
	"/etc/init.d/S10modules": `#!/bin/sh

case "$1" in
	start)
		printf 'Loading kernel modules: '
		status=0
		while read -r mod args; do
			case "$mod" in ''|'#'*) continue;; esac
			# shellcheck disable=SC2086 # args are split on purpose
			modprobe "$mod" $args || { status=1; printf '%s(FAIL) ' "$mod"; }
		done </etc/modules
		[ -d /sys/kernel/config ] && ! grep -q ' /sys/kernel/config ' /proc/mounts &&
			mount -t configfs configfs /sys/kernel/config
		[ "$status" -eq 0 ] && echo "OK" || echo "FAIL"
		exit "$status";;
	stop|restart|reload)
		;;
	*)
		echo "Usage: $0 {start|stop|restart|reload}"
		exit 1
esac
`,
	// The persistent data partition: the first virtio disk, ext2, on
	// /var/lib (ipcamd's state_dir is /var/lib/ipcamd). A blank disk is
	// formatted on first boot. Without a disk /var/lib stays in RAM.
	"/etc/init.d/S11data": `#!/bin/sh

DEV=/dev/vda
DIR=/var/lib

case "$1" in
	start)
		printf 'Mounting data: '
		if [ ! -b "$DEV" ]; then
			echo "no $DEV, $DIR is in RAM"
			exit 0
		fi
		if ! mount -t ext4 -o noatime "$DEV" "$DIR" 2>/dev/null; then
			mke2fs -q -L data "$DEV" >/dev/null && mount -t ext4 -o noatime "$DEV" "$DIR" ||
				{ echo "FAIL"; exit 1; }
			echo "formatted $DEV, OK"
		else
			echo "OK"
		fi;;
	stop)
		sync
		umount "$DIR" 2>/dev/null
		exit 0;;
	restart|reload)
		;;
	*)
		echo "Usage: $0 {start|stop|restart|reload}"
		exit 1
esac
`,
	// QEMU user networking: 10.0.2.15/24, gateway 10.0.2.2.
	"/etc/init.d/S40network": `#!/bin/sh

IFACE=eth0
ADDR=10.0.2.15/24
GW=10.0.2.2

case "$1" in
	start)
		printf 'Starting network: '
		ip link set lo up &&
			ip addr add 127.0.0.1/8 dev lo 2>/dev/null
		ip link set "$IFACE" up &&
			ip addr add "$ADDR" dev "$IFACE" &&
			ip route add default via "$GW" &&
			echo "OK" || { echo "FAIL"; exit 1; };;
	stop)
		printf 'Stopping network: '
		ip addr flush dev "$IFACE"
		ip link set "$IFACE" down
		echo "OK";;
	restart|reload)
		"$0" stop
		"$0" start;;
	*)
		echo "Usage: $0 {start|stop|restart|reload}"
		exit 1
esac
`,
	"/etc/hostname": "ipcamd\n",
	"/etc/hosts":    "127.0.0.1\tlocalhost\n127.0.1.1\tipcamd\n",
	"/etc/passwd":   "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
	"/etc/shadow":   "root:*:::::::\ndaemon:*:::::::\nnobody:*:::::::\n",
	"/etc/group":    "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n",
	"/etc/profile":  "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\nexport PS1='# '\n",
	"/etc/shells":   "/bin/sh\n",
}
