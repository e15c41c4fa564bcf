#!/usr/bin/env bash
# relay-scaling.sh: what viewers cost the camera when they watch a relay
# instead of the camera itself. See docs/SCALING.md.
#
# Starts the relay from e2e/testdata/push/relay (gortsplib v5 server, the
# RTSP engine of mediamtx) with publisher authentication, and ipcamd fed the
# looping 720p25 clip with `push:` to that relay. Then, for each N in
# POINTS, it attaches N viewers (ffmpeg -rtsp_transport tcp -i URL -c copy
# -f null -) (a) to the relay and (b) directly to ipcamd, and reads the
# utime+stime of ipcamd, of the relay and of the viewers from /proc over
# WINDOW seconds, plus what everything else on the machine used
# (/proc/stat). N = 0 is measured once: it is the camera with only the push.
#
#   bench/relay-scaling.sh                  # POINTS="0 10 30", WINDOW=10 (~2 min)
#   POINTS="0 5" WINDOW=5 bench/relay-scaling.sh
#
# Environment: POINTS, WINDOW (s), SETTLE (s after starting viewers), OUT
# (folder for binaries and logs; default a temp dir), IPCAMD_BIN, RELAY_BIN
# (prebuilt binaries), CLIP, RELAY_PORT IPCAMD_PORT IPCAMD_HTTP (127.0.0.1).
# Every process it starts is killed by PID on exit.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

POINTS=${POINTS:-"0 10 30"}
WINDOW=${WINDOW:-10}
SETTLE=${SETTLE:-4}
CLIP=${CLIP:-$REPO/testdata/clip-720p25.h264}
OUT=${OUT:-$(mktemp -d /tmp/relay-scaling.XXXXXX)}
IPCAMD_BIN=${IPCAMD_BIN:-}
RELAY_BIN=${RELAY_BIN:-}
RELAY_PORT=${RELAY_PORT:-18754}
IPCAMD_PORT=${IPCAMD_PORT:-18756}
IPCAMD_HTTP=${IPCAMD_HTTP:-18780}
RELAY_USER=cam RELAY_PASS=s3cret

[[ ${1:-} == -h ]] && { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }
[[ -r $CLIP ]] || { echo "clip not found: $CLIP" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 2; }
mkdir -p "$OUT/bin" "$OUT/logs" "$OUT/state"
OUT=$(cd "$OUT" && pwd)
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup
PIDS=()
cleanup() { # newest first: viewers, then ipcamd (its push ends with TEARDOWN), then the relay
	local p i
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		p=${PIDS[i]}
		kill -TERM "$p" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
	done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
	done
	PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

port_busy() { ss -Htln "sport = :$1" | grep -q .; }
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "port $1 never opened" >&2
	return 1
}
for p in "$RELAY_PORT" "$IPCAMD_PORT" "$IPCAMD_HTTP"; do
	if port_busy "$p"; then echo "port $p is already in use" >&2; exit 2; fi
done

# ---------------------------------------------------------------- build
if [[ -z $IPCAMD_BIN ]]; then
	log "building ipcamd (CGO_ENABLED=0 go build ./cmd/ipcamd)"
	(cd "$REPO" && CGO_ENABLED=0 go build -o "$OUT/bin/ipcamd" ./cmd/ipcamd)
	IPCAMD_BIN=$OUT/bin/ipcamd
fi
if [[ -z $RELAY_BIN ]]; then
	log "building the relay (e2e module, ./testdata/push/relay)"
	(cd "$REPO/e2e" && CGO_ENABLED=0 go build -o "$OUT/bin/relay" ./testdata/push/relay)
	RELAY_BIN=$OUT/bin/relay
fi

# ---------------------------------------------------------------- /proc
cpu_ticks() { # cpu_ticks PID...: summed utime+stime (clock ticks); gone PIDs count 0
	local p s t=0
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) } # fields after "(comm) "; utime and stime are fields 14 and 15
		read -r -a f <<<"$s"
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}
busy_ticks() { # busy clock ticks of the whole machine (all CPUs)
	local _cpu u n sy _id _io irq sirq st _rest
	read -r _cpu u n sy _id _io irq sirq st _rest </proc/stat
	echo $((u + n + sy + irq + sirq + st))
}
alive() { local p n=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo "$n"; }

# ---------------------------------------------------------------- servers
log "starting relay on 127.0.0.1:$RELAY_PORT (publisher auth: Basic and Digest)"
"$RELAY_BIN" -addr "127.0.0.1:$RELAY_PORT" -user "$RELAY_USER" -pass "$RELAY_PASS" >"$OUT/logs/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_port "$RELAY_PORT"

cat >"$OUT/ipcamd.yaml" <<EOF
source: file:$CLIP
log_level: warn
state_dir: $OUT/state
rtsp:
  listen: 127.0.0.1:$IPCAMD_PORT
  tls_listen: ""
http:
  listen: 127.0.0.1:$IPCAMD_HTTP
push:
  - url: rtsp://$RELAY_USER:$RELAY_PASS@127.0.0.1:$RELAY_PORT/cam1
EOF
log "starting ipcamd on 127.0.0.1:$IPCAMD_PORT, pushing to rtsp://127.0.0.1:$RELAY_PORT/cam1"
"$IPCAMD_BIN" -config "$OUT/ipcamd.yaml" >"$OUT/logs/ipcamd.log" 2>&1 &
IPCAMD_PID=$!
PIDS+=("$IPCAMD_PID")
wait_port "$IPCAMD_PORT"
for _ in $(seq 100); do grep -q '^publishing /cam1' "$OUT/logs/relay.log" && break; sleep 0.1; done
grep -q '^publishing /cam1' "$OUT/logs/relay.log" || { echo "ipcamd never published to the relay; see $OUT/logs" >&2; exit 1; }
sleep 2

URL_RELAY=rtsp://127.0.0.1:$RELAY_PORT/cam1
URL_DIRECT=rtsp://127.0.0.1:$IPCAMD_PORT/main

# ---------------------------------------------------------------- points
RESULTS=$OUT/results.tsv
: >"$RESULTS"
# point TARGET N URL: start N viewers, measure, stop them; appends a line to $RESULTS.
point() {
	local target=$1 n=$2 url=$3 vp=() i
	for ((i = 0; i < n; i++)); do
		ffmpeg -nostdin -hide_banner -loglevel error -rtsp_transport tcp -i "$url" -c copy -f null \
			-stats_period 1 -progress "$OUT/logs/viewer-$target-$n-$i.progress" - >"$OUT/logs/viewer-$target-$n-$i.log" 2>&1 &
		vp+=($!)
		PIDS+=($!)
	done
	sleep "$SETTLE"
	local c0 r0 v0 m0 t0 c1 r1 v1 m1 t1 ok
	t0=$(date +%s.%N) m0=$(busy_ticks)
	c0=$(cpu_ticks "$IPCAMD_PID") r0=$(cpu_ticks "$RELAY_PID") v0=$(cpu_ticks "${vp[@]}")
	sleep "$WINDOW"
	c1=$(cpu_ticks "$IPCAMD_PID") r1=$(cpu_ticks "$RELAY_PID") v1=$(cpu_ticks "${vp[@]}")
	m1=$(busy_ticks) t1=$(date +%s.%N)
	ok=$(alive "${vp[@]}")
	kill -0 "$IPCAMD_PID" 2>/dev/null || { echo "ipcamd died; see $OUT/logs" >&2; exit 1; }
	kill -0 "$RELAY_PID" 2>/dev/null || { echo "relay died; see $OUT/logs" >&2; exit 1; }
	for i in "${vp[@]}"; do kill -TERM "$i" 2>/dev/null || true; done
	for i in "${vp[@]}"; do
		for _ in $(seq 20); do kill -0 "$i" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$i" 2>/dev/null || true
		wait "$i" 2>/dev/null || true
	done
	local fmin=- f
	for ((i = 0; i < n; i++)); do # frames the slowest viewer got (progress reports once a second)
		f=$(grep '^frame=' "$OUT/logs/viewer-$target-$n-$i.progress" 2>/dev/null | tail -n1 | cut -d= -f2)
		f=${f:-0}
		[[ $fmin == - ]] || ((f < fmin)) && fmin=$f
	done
	local keep=() p
	for p in "${PIDS[@]}"; do [[ " ${vp[*]} " == *" $p "* ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
	awk -v tgt="$target" -v n="$n" -v ok="$ok" -v fmin="$fmin" -v tck="$CLK_TCK" -v t0="$t0" -v t1="$t1" \
		-v c="$((c1 - c0))" -v r="$((r1 - r0))" -v v="$((v1 - v0))" -v m="$((m1 - m0))" 'BEGIN {
		w = t1 - t0; f = 100 / tck / w
		o = (m - c - r - v) * f; if (o < 0) o = 0
		printf "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%s\n", tgt, n, ok, c * f, r * f, v * f, o, w, fmin
	}' >>"$RESULTS"
	tail -n1 "$RESULTS" | awk -F'\t' '{printf "  %s N=%s alive=%s frames(min)=%s: ipcamd %s%%, relay %s%%, viewers %s%%, other %s%%\n", $1, $2, $3, $9, $4, $5, $6, $7}' >&2
	sleep 1
}

START=$(date +%s)
for n in $POINTS; do
	if ((n == 0)); then
		log "N=0 (push only)"
		point none 0 ""
		continue
	fi
	log "N=$n via the relay"
	point relay "$n" "$URL_RELAY"
	log "N=$n direct to ipcamd"
	point direct "$n" "$URL_DIRECT"
done
grep -q 'publishing /cam1' "$OUT/logs/relay.log"
REPUB=$(grep -c '^publishing /cam1' "$OUT/logs/relay.log" || true)

# ---------------------------------------------------------------- report
REPORT=$OUT/report.md
{
	echo "# relay-scaling ($(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $(uname -r), $(go version | cut -d' ' -f3))"
	echo
	echo "ipcamd: \`-source file:$(basename "$CLIP")\` pushing to the gortsplib relay on 127.0.0.1; viewers: \`ffmpeg -rtsp_transport tcp -i URL -c copy -f null -\`; window ${WINDOW} s after ${SETTLE} s settle. CPU in % of one core. Frames: what the slowest viewer had received when stopped (~25/s over settle + window)."
	echo
	echo "| viewers on | N | alive | frames, slowest viewer | ipcamd CPU % | relay CPU % | viewers CPU % | other CPU % |"
	echo "|---|--:|--:|--:|--:|--:|--:|--:|"
	awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", ($1 == "none" ? "- (push only)" : $1), $2, $3, $9, $4, $5, $6, $7}' "$RESULTS"
	echo
	echo "| N | ipcamd CPU direct / via relay | ipcamd + relay via relay / ipcamd direct |"
	echo "|--:|--:|--:|"
	awk -F'\t' '$1 == "relay" {rc[$2] = $4; rr[$2] = $5} $1 == "direct" {dc[$2] = $4; ns[++k] = $2}
		END { for (i = 1; i <= k; i++) { n = ns[i]
			printf "| %s | %s | %s |\n", n, (rc[n] > 0 ? sprintf("%.2f", dc[n] / rc[n]) : "-"), (dc[n] > 0 ? sprintf("%.2f", (rc[n] + rr[n]) / dc[n]) : "-") } }' "$RESULTS"
	echo
	echo "relay sessions published during the run: $REPUB (1 = the push never reconnected)."
	echo "other CPU = everything on the machine except ipcamd, the relay and the viewers during the window (/proc/stat); a high value means a loaded, noisy point."
	echo "total runtime: $(($(date +%s) - START)) s of measurement; logs in $OUT/logs"
} >"$REPORT"
cat "$REPORT"
