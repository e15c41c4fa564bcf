#!/usr/bin/env bash
# first-frame.sh: time from starting a player to its first decoded picture,
# for ipcamd and the two peer servers, all fed the same looping clip.
#
# ipcamd-testsrc is ipcamd's default live pattern through its software
# encoder, which makes an IDR for a joining client (the others replay the
# clip, where no IDR can be made).
#
# For each server it runs `ffmpeg -rtsp_transport tcp -i URL -frames:v 1
# -f null -` ROUNDS times, at scattered points of the GOP, and reports the
# median and the worst wall time. ffmpeg's h264 decoder outputs nothing
# before a keyframe, so this is the time to the first good picture. The
# floor, measured in the same run, is the same ffmpeg command reading the
# clip from disk: process start, probing and decoder set-up.
#
#   bench/first-frame.sh            # ROUNDS=12
#   SERVERS=ipcamd bench/first-frame.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-12}
SERVERS=${SERVERS:-gst,gortsplib,ipcamd,ipcamd-testsrc}
CLIP=${CLIP:-$ROOT/testdata/clip-720p25.h264}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT/bin"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$OUT/bin/ipcamd" ./cmd/ipcamd
(cd bench && CGO_ENABLED=0 go build -o "$OUT/bin/gortsplibserver" ./gortsplibserver)

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "port $1 never opened" >&2
	return 1
}

start() {
	case $1 in
	ipcamd)
		"$OUT/bin/ipcamd" -source "file:$CLIP" -rtsp 127.0.0.1:18656 -http 127.0.0.1:18680 -log-level warn >"$OUT/ipcamd.log" 2>&1 &
		pids+=($!); URL=rtsp://127.0.0.1:18656/main; wait_port 18656 ;;
	ipcamd-testsrc)
		"$OUT/bin/ipcamd" -rtsp 127.0.0.1:18657 -http 127.0.0.1:18681 -log-level warn >"$OUT/ipcamd-testsrc.log" 2>&1 &
		pids+=($!); URL=rtsp://127.0.0.1:18657/main; wait_port 18657 ;;
	gst)
		/usr/bin/python3 bench/peers/gst_rtsp_server.py 18654 "$CLIP" 127.0.0.1 25 >"$OUT/gst.log" 2>&1 &
		pids+=($!); URL=rtsp://127.0.0.1:18654/main; wait_port 18654 ;;
	gortsplib)
		"$OUT/bin/gortsplibserver" -clip "$CLIP" -fps 25 -rtsp 127.0.0.1:18655 -rtp 127.0.0.1:18100 -rtcp 127.0.0.1:18101 >"$OUT/gortsplib.log" 2>&1 &
		pids+=($!); URL=rtsp://127.0.0.1:18655/main; wait_port 18655 ;;
	esac
	sleep 2 # let shared media start and a GOP build up
}

# measure CMD...: prints wall seconds of each of ROUNDS runs.
measure() {
	for i in $(seq "$ROUNDS"); do
		sleep "0.$(( (i * 37) % 100 ))" # land on scattered points of the GOP
		s=$(date +%s%N)
		timeout 20 "$@" >/dev/null 2>&1 || echo "run $i failed" >&2
		e=$(date +%s%N)
		echo $(( (e - s) / 1000000 ))
	done
}

stats() { sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%d | %d | %d", a[int((NR+1)/2)], s/NR, a[NR]}'; }

echo "# time to first decoded picture ($(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $ROUNDS rounds)"
echo
echo "| what | median ms | mean ms | worst ms |"
echo "|---|--:|--:|--:|"
floor=$(measure ffmpeg -v error -i "$CLIP" -frames:v 1 -f null - | stats)
echo "| floor: ffmpeg on the clip file | $floor |"
IFS=, read -ra list <<<"$SERVERS"
for s in "${list[@]}"; do
	start "$s"
	echo "| $s, RTSP over TCP | $(measure ffmpeg -v error -rtsp_transport tcp -i "$URL" -frames:v 1 -f null - | stats) |"
	cleanup; pids=()
done
