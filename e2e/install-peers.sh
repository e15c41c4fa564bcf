#!/usr/bin/env bash
# Installs the third-party RTSP peers the e2e tests play ipcamd with, on a
# Debian 12 (bookworm) machine, as root. Idempotent and quiet when nothing is
# missing; runs `apt-get update` only when something has to be installed.
# Versions verified: shared notes test-peers.md §1 (ffmpeg 5.1, GStreamer 1.22).
set -euo pipefail

missing=()

need_cmd() { # need_cmd COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_pkg() { # need_pkg PACKAGE
	dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1")
}
need_gst() { # need_gst ELEMENT PACKAGE
	if command -v gst-inspect-1.0 >/dev/null 2>&1; then
		gst-inspect-1.0 --exists "$1" >/dev/null 2>&1 || missing+=("$2")
	else
		missing+=("$2")
	fi
}

# ffmpeg, ffprobe
need_cmd ffmpeg ffmpeg
need_cmd ffprobe ffmpeg
# GStreamer client pipeline: rtspsrc ! rtph264depay ! h264parse ! avdec_h264
need_cmd gst-launch-1.0 gstreamer1.0-tools
need_cmd gst-inspect-1.0 gstreamer1.0-tools
need_pkg gstreamer1.0-plugins-base
need_pkg gstreamer1.0-plugins-good
need_pkg gstreamer1.0-plugins-bad
need_pkg gstreamer1.0-plugins-ugly
need_gst rtspsrc gstreamer1.0-plugins-good
need_gst rtph264depay gstreamer1.0-plugins-good
need_gst h264parse gstreamer1.0-plugins-bad
need_gst srtpdec gstreamer1.0-plugins-bad
need_gst avdec_h264 gstreamer1.0-libav
# Reference server for E2E_SERVER=gst (gst-rtsp-server via /usr/bin/python3)
need_pkg gstreamer1.0-rtsp
need_pkg gir1.2-gst-rtsp-server-1.0
need_pkg gir1.2-gstreamer-1.0
need_pkg python3-gi

# ONVIF clients and schema checks: python3-zeep (with /usr/bin/python3),
# xmllint, Debian's onvif-util.
need_pkg python3-zeep
need_cmd xmllint libxml2-utils
need_cmd onvif-util onvif-tools

# make lint-buildroot: shellcheck on the Buildroot tree's init script.
need_cmd shellcheck shellcheck
need_cmd curl curl
# Rate adaptation e2e: packet loss without netem (nft ... numgen random drop).
need_cmd nft nftables
# libcurl's RTSP client (the curl tool only sends OPTIONS *), for TestCurlRTSP.
need_pkg python3-pycurl
# mpv (libavformat RTSP client, Debian 0.35.1), for TestMPV.
need_cmd mpv mpv
# The web page's browser tests (TestBrowser*): Debian's chromium, driven by
# npm playwright-core (below).
need_cmd chromium chromium

# npm onvif@0.8.3, the library behind many NVRs, in e2e/.npm (not in git).
npm_dir="$(cd "$(dirname "$0")" && pwd)/.npm"
install_npm() {
	if [ -f "$npm_dir/node_modules/onvif/package.json" ] &&
		grep -q '"version": "0.8.3"' "$npm_dir/node_modules/onvif/package.json"; then
		return 0
	fi
	command -v npm >/dev/null || { echo "install-peers.sh: npm is missing" >&2; exit 1; }
	mkdir -p "$npm_dir"
	echo "install-peers.sh: installing npm onvif@0.8.3 into $npm_dir"
	(cd "$npm_dir" && npm install --silent --no-audit --no-fund onvif@0.8.3 >/dev/null)
}

# npm playwright-core@1.65.1 (drives /usr/bin/chromium; downloads no browser)
# into e2e/testdata/web/node_modules (not in git), from its package-lock.json.
web_dir="$(cd "$(dirname "$0")" && pwd)/testdata/web"
install_playwright() {
	if [ -f "$web_dir/node_modules/playwright-core/package.json" ] &&
		grep -q '"version": "1.65.1"' "$web_dir/node_modules/playwright-core/package.json"; then
		return 0
	fi
	command -v npm >/dev/null || { echo "install-peers.sh: npm is missing" >&2; exit 1; }
	echo "install-peers.sh: installing npm playwright-core@1.65.1 into $web_dir/node_modules"
	(cd "$web_dir" && npm ci --silent --no-audit --no-fund >/dev/null)
}

if [ "${#missing[@]}" -eq 0 ]; then
	install_npm
	install_playwright
	exit 0
fi

# De-duplicate, keep order.
pkgs=()
for p in "${missing[@]}"; do
	case " ${pkgs[*]-} " in *" $p "*) ;; *) pkgs+=("$p") ;; esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "install-peers.sh: missing ${pkgs[*]}; run as root" >&2
	exit 1
fi

echo "install-peers.sh: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

# Verify what the tests need.
for c in ffmpeg ffprobe gst-launch-1.0 gst-inspect-1.0 shellcheck curl mpv chromium; do
	command -v "$c" >/dev/null || { echo "install-peers.sh: $c still missing" >&2; exit 1; }
done
for e in rtspsrc rtph264depay h264parse avdec_h264; do
	gst-inspect-1.0 --exists "$e" || { echo "install-peers.sh: GStreamer element $e still missing" >&2; exit 1; }
done
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" ||
	{ echo "install-peers.sh: /usr/bin/python3 cannot load GstRtspServer" >&2; exit 1; }
/usr/bin/python3 -c "import pycurl" ||
	{ echo "install-peers.sh: /usr/bin/python3 cannot load pycurl" >&2; exit 1; }
install_npm
install_playwright
echo "install-peers.sh: done"
