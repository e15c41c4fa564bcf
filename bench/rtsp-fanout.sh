#!/usr/bin/env bash
# RTSP fan-out benchmark: server CPU time per delivered RTP packet and RSS for
# several RTSP servers fed the same looping Annex-B clip, under N TCP
# (interleaved) and N UDP (unicast) playing clients. See bench/README.md.
#
#   bench/rtsp-fanout.sh [-s gst,gortsplib,ipcamd] [-w WINDOW_S] [-S SETTLE_S]
#                        [-t "1 10 50 100"] [-u "1 10 50"] [-o OUTDIR] [-k] [-p]
#
# Everything runs on 127.0.0.1; every process the script starts is killed by
# PID on exit.
set -euo pipefail

ORIG_CMD="$0"
for a in "$@"; do ORIG_CMD+=" $(printf '%q' "$a")"; done

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

SERVERS=${SERVERS:-gst,gortsplib,ipcamd}
WINDOW=${WINDOW:-10}          # measurement window, seconds
SETTLE=${SETTLE:-2}           # wait after all sessions play, seconds
TCP_POINTS=${TCP_POINTS:-"1 10 50 100"}
UDP_POINTS=${UDP_POINTS:-"1 10 50"}
CLIP=${CLIP:-$REPO/testdata/clip-720p25.h264}
FPS=${FPS:-25}
OUT=${OUT:-}
KEEP_SERVER=${KEEP_SERVER:-0} # 1: one server process across all points of a server
PIN=${PIN:-0}                 # 1: pin the server to CPU 0 and the load client to CPU 1
PY=${PY:-/usr/bin/python3}    # Debian python with python3-gi (not pyenv's)
IPCAMD_BIN=${IPCAMD_BIN:-}    # prebuilt ipcamd; default: build from $REPO/cmd/ipcamd
READY_TIMEOUT=${READY_TIMEOUT:-60}
NOISY=${NOISY:-25}            # re-measure a point when other processes used more than this CPU % ...
RETRIES=${RETRIES:-2}         # ... at most this many times; the least noisy attempt is kept

# ports (127.0.0.1 only)
GST_PORT=${GST_PORT:-18554}
GORTSPLIB_PORT=${GORTSPLIB_PORT:-18555}
GORTSPLIB_RTP=${GORTSPLIB_RTP:-18000}   # RTCP = RTP + 1
IPCAMD_PORT=${IPCAMD_PORT:-18556}
IPCAMD_HTTP=${IPCAMD_HTTP:-18580}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "s:w:S:t:u:o:kph" opt; do
	case $opt in
	s) SERVERS=$OPTARG ;;
	w) WINDOW=$OPTARG ;;
	S) SETTLE=$OPTARG ;;
	t) TCP_POINTS=$OPTARG ;;
	u) UDP_POINTS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	k) KEEP_SERVER=1 ;;
	p) PIN=1 ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
IFS=', ' read -r -a SERVER_LIST <<<"$SERVERS"
for s in "${SERVER_LIST[@]}"; do
	case $s in gst | gortsplib | ipcamd) ;; *) echo "unknown server: $s (gst, gortsplib, ipcamd)" >&2; exit 2 ;; esac
done
[[ -r $CLIP ]] || { echo "clip not found: $CLIP" >&2; exit 2; }
OUT=${OUT:-$BENCH_DIR/results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/bin" "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- cleanup
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

stop_pid() { # stop_pid PID: TERM, wait up to 3 s, KILL
	local p=$1
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	forget_pid "$p"
}

# ---------------------------------------------------------------- build
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

log "building loadclient and gortsplibserver (module $BENCH_DIR)"
(cd "$BENCH_DIR" && go build -o "$OUT/bin/loadclient" ./loadclient && go build -o "$OUT/bin/gortsplibserver" ./gortsplibserver)
if [[ " ${SERVER_LIST[*]} " == *" ipcamd "* ]]; then
	if [[ -z $IPCAMD_BIN ]]; then
		log "building ipcamd (CGO_ENABLED=0 go build ./cmd/ipcamd in $REPO)"
		(cd "$REPO" && CGO_ENABLED=0 go build -o "$OUT/bin/ipcamd" ./cmd/ipcamd)
		IPCAMD_BIN=$OUT/bin/ipcamd
	fi
fi
LOADCLIENT=$OUT/bin/loadclient

# ---------------------------------------------------------------- servers
server_port() {
	case $1 in gst) echo "$GST_PORT" ;; gortsplib) echo "$GORTSPLIB_PORT" ;; ipcamd) echo "$IPCAMD_PORT" ;; esac
}
server_cmd() {
	case $1 in
	gst) echo "$PY $BENCH_DIR/peers/gst_rtsp_server.py $GST_PORT $CLIP 127.0.0.1 $FPS" ;;
	gortsplib) echo "$OUT/bin/gortsplibserver -clip $CLIP -fps $FPS -rtsp 127.0.0.1:$GORTSPLIB_PORT -rtp 127.0.0.1:$GORTSPLIB_RTP -rtcp 127.0.0.1:$((GORTSPLIB_RTP + 1))" ;;
	ipcamd) echo "$IPCAMD_BIN -source file:$CLIP -rtsp 127.0.0.1:$IPCAMD_PORT -http 127.0.0.1:$IPCAMD_HTTP -log-level warn" ;;
	esac
}

port_busy() { ss -Htln "sport = :$1" | grep -q .; }

SRV_PID=
start_server() { # start_server NAME LOGTAG
	local name=$1 tag=$2 port cmd
	port=$(server_port "$name")
	cmd=$(server_cmd "$name")
	if port_busy "$port"; then
		echo "port $port is already in use (another server still running?)" >&2
		return 1
	fi
	local pin=()
	[[ $PIN == 1 ]] && pin=(taskset -c 0)
	# shellcheck disable=SC2086
	"${pin[@]}" $cmd >"$OUT/logs/server-$tag.log" 2>&1 &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	for _ in $(seq 100); do
		if ! kill -0 "$SRV_PID" 2>/dev/null; then
			echo "$name exited at startup; log:" >&2
			tail -20 "$OUT/logs/server-$tag.log" >&2
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "$name did not listen on $port within 10 s" >&2
	return 1
}

cpu_ticks() { # utime+stime of the whole process (all threads), clock ticks
	local stat rest f
	read -r stat <"/proc/$1/stat" || return 1
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	echo $((f[11] + f[12]))
}
status_kb() { # status_kb PID FIELD -> kB
	awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"
}
now_s() { date +%s.%N; }
busy_ticks() { # busy clock ticks of the whole machine (all CPUs), from /proc/stat
	local _cpu u n sy id io irq sirq st _rest
	read -r _cpu u n sy id io irq sirq st _rest </proc/stat
	echo $((u + n + sy + irq + sirq + st))
}
jget() { # jget JSONLINE KEY -> number
	sed -n "s/.*\"$2\":\\(-\\{0,1\\}[0-9.e+-]*\\).*/\\1/p" <<<"$1"
}

# ---------------------------------------------------------------- header
GO_VER=$(go version | awk '{print $3}')
GST_VER=$(gst-inspect-1.0 --version 2>/dev/null | awk 'NR==2{print $2}')
{
	echo "# RTSP fan-out benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: nproc=$(nproc), CPU: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
	echo "- toolchain: $GO_VER, GStreamer $GST_VER, CLK_TCK=$CLK_TCK; load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
	echo "- command: \`$ORIG_CMD\`"
	echo "- settings: servers=${SERVER_LIST[*]} window=${WINDOW}s settle=${SETTLE}s noisy>${NOISY}% retries=${RETRIES} tcp=[$TCP_POINTS] udp=[$UDP_POINTS] keep_server=$KEEP_SERVER pin=$PIN"
	echo "- clip: $CLIP ($(stat -c %s "$CLIP") bytes) at $FPS fps, looped"
	for s in "${SERVER_LIST[@]}"; do echo "- $s: \`$(server_cmd "$s")\`"; done
	echo "- load client: \`$LOADCLIENT -url rtsp://127.0.0.1:PORT/main -n N -transport tcp|udp\`"
	echo "- output: $OUT"
	echo
} | tee "$OUT/header.md"

# ---------------------------------------------------------------- matrix
RESULTS=$OUT/results.tsv
printf 'server\ttransport\tclients\talive\tfailed\tpkts\twindow_s\tpps\tpps_per_client\tmbps\tcpu_pct\tus_per_pkt\tcpu_ticks\trss_mib\thwm_mib\tlost\tgaps\tclient_cpu_pct\n' >"$RESULTS"

POINTS=()
for n in $TCP_POINTS; do POINTS+=("tcp:$n"); done
for n in $UDP_POINTS; do POINTS+=("udp:$n"); done

measure_point() { # measure_point SERVER TRANSPORT N
	local srv=$1 tr=$2 n=$3 tag="$1-$2-$3" port lc_out lc_err lc_pid
	port=$(server_port "$srv")
	lc_out=$OUT/logs/client-$tag.jsonl
	lc_err=$OUT/logs/client-$tag.err
	local pin=()
	[[ $PIN == 1 ]] && pin=(taskset -c 1)
	"${pin[@]}" "$LOADCLIENT" -url "rtsp://127.0.0.1:$port/main" -n "$n" -transport "$tr" >"$lc_out" 2>"$lc_err" &
	lc_pid=$!
	PIDS+=("$lc_pid")

	local ready="" t_end=$((SECONDS + READY_TIMEOUT))
	while ((SECONDS < t_end)); do
		ready=$(grep -m1 '"event":"ready"' "$lc_out" || true)
		[[ -n $ready ]] && break
		kill -0 "$lc_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -z $ready ]]; then
		log "  $tag: load client not ready (see $lc_err)"
		stop_pid "$lc_pid"
		printf '%s\t%s\t%s\t0\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' "$srv" "$tr" "$n" "$n" >"$POINT"
		return 0
	fi
	sleep "$SETTLE"

	local c0 c1 t0 t1 rss hwm m0 m1 lc0 lc1
	if ! kill -0 "$SRV_PID" 2>/dev/null; then
		log "  $tag: server died"
		stop_pid "$lc_pid"
		return 1
	fi
	kill -USR1 "$lc_pid"
	c0=$(cpu_ticks "$SRV_PID")
	lc0=$(cpu_ticks "$lc_pid")
	m0=$(busy_ticks)
	t0=$(now_s)
	sleep "$WINDOW"
	kill -USR1 "$lc_pid"
	c1=$(cpu_ticks "$SRV_PID")
	lc1=$(cpu_ticks "$lc_pid")
	m1=$(busy_ticks)
	t1=$(now_s)
	rss=$(status_kb "$SRV_PID" VmRSS)
	hwm=$(status_kb "$SRV_PID" VmHWM)
	sleep 0.3 # let the load client write its snapshot
	stop_pid "$lc_pid"

	local s0 s1
	s0=$(grep '"event":"snapshot"' "$lc_out" | sed -n 1p)
	s1=$(grep '"event":"snapshot"' "$lc_out" | sed -n 2p)
	if [[ -z $s0 || -z $s1 ]]; then
		log "  $tag: missing load-client snapshots"
		return 0
	fi
	awk -v srv="$srv" -v tr="$tr" -v n="$n" -v tck="$CLK_TCK" \
		-v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v rss="$rss" -v hwm="$hwm" \
		-v m0="$m0" -v m1="$m1" -v lc0="$lc0" -v lc1="$lc1" \
		-v p0="$(jget "$s0" packets)" -v p1="$(jget "$s1" packets)" \
		-v b0="$(jget "$s0" bytes)" -v b1="$(jget "$s1" bytes)" \
		-v l0="$(jget "$s0" lost)" -v l1="$(jget "$s1" lost)" \
		-v g0="$(jget "$s0" gaps)" -v g1="$(jget "$s1" gaps)" \
		-v lt0="$(jget "$s0" t)" -v lt1="$(jget "$s1" t)" \
		-v cc0="$(jget "$s0" client_cpu_s)" -v cc1="$(jget "$s1" client_cpu_s)" \
		-v alive="$(jget "$s1" alive)" -v failed="$(jget "$s1" failed)" \
		'BEGIN {
			w = t1 - t0; lw = lt1 - lt0; pk = p1 - p0; cpu = (c1 - c0) / tck
			pps = pk / lw
			us = pk > 0 ? sprintf("%.2f", cpu * 1e6 / pk) : "-"
			other = ((m1 - m0) - (c1 - c0) - (lc1 - lc0)) / tck / w * 100
			printf "%s\t%s\t%d\t%d\t%d\t%d\t%.3f\t%.1f\t%.1f\t%.2f\t%.2f\t%s\t%d\t%.1f\t%.1f\t%d\t%d\t%.2f\t%.1f\t%.3f\n",
				srv, tr, n, alive, failed, pk, lw, pps, pps / n, (b1 - b0) * 8 / lw / 1e6,
				cpu / w * 100, us, c1 - c0, rss / 1024, hwm / 1024, l1 - l0, g1 - g0, (cc1 - cc0) / lw * 100,
				other < 0 ? 0 : other, w
		}' >"$POINT"
	awk -F'\t' '{printf "  %s %s %s: %s pkt/s, CPU %s%%, %s us/pkt, RSS %s MiB, lost %s, other load %s%%\n", $1, $2, $3, $8, $11, $12, $14, $16, $19}' "$POINT" >&2
}

POINT=$OUT/point.tsv
T_START=$SECONDS
for srv in "${SERVER_LIST[@]}"; do
	log "server $srv"
	SRV_PID=
	for pt in "${POINTS[@]}"; do
		tr=${pt%%:*}
		n=${pt##*:}
		best_line="" best_other="" tries=0
		while :; do
			if [[ -z $SRV_PID ]] || ! kill -0 "$SRV_PID" 2>/dev/null; then
				if ! start_server "$srv" "$srv-$tr-$n"; then
					log "  $srv: cannot start, skipping"
					SRV_PID=
					continue 3
				fi
			fi
			: >"$POINT"
			measure_point "$srv" "$tr" "$n" || true
			if [[ $KEEP_SERVER != 1 ]]; then
				stop_pid "$SRV_PID"
				SRV_PID=
			fi
			line=$(cat "$POINT")
			other=$(cut -f19 <<<"$line")
			[[ -n $line ]] || break
			if [[ -z $best_line || $other == "-" ]] || awk -v a="$other" -v b="$best_other" 'BEGIN { exit !(a < b) }'; then
				best_line=$line best_other=$other
			fi
			[[ $other == "-" ]] && break
			if awk -v o="$other" -v m="$NOISY" 'BEGIN { exit !(o > m) }' && ((tries < RETRIES)); then
				tries=$((tries + 1))
				log "  noisy point (other CPU $other% > $NOISY%): retry $tries/$RETRIES"
				continue
			fi
			break
		done
		[[ -n $best_line ]] && printf '%s\n' "$best_line" >>"$RESULTS"
	done
	if [[ -n $SRV_PID ]]; then
		stop_pid "$SRV_PID"
		SRV_PID=
	fi
done

# ---------------------------------------------------------------- table
{
	echo "| server | transport | clients | alive | delivered pkt/s | pkt/s/client | Mbit/s | server CPU % (1 core) | CPU µs/pkt | × best peer | RSS MiB | HWM MiB | lost (gaps) | load-client CPU % | other CPU % |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	awk -F'\t' '
		NR == 1 { next }
		{ row[NR] = $0; k = $2 ":" $3
		  if (($1 == "gst" || $1 == "gortsplib") && $12 != "-" && (!(k in best) || $12 + 0 < best[k])) best[k] = $12 + 0 }
		END {
			for (i = 2; i <= NR; i++) {
				split(row[i], f, "\t"); k = f[2] ":" f[3]
				if (f[12] == "-") {
					printf "| %s | %s | %s | %s | – | – | – | – | – | – | – | – | – | – | – |\n", f[1], f[2], f[3], f[4]; continue
				}
				ratio = (k in best && best[k] > 0) ? sprintf("%.2f", f[12] / best[k]) : "–"
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s |\n",
					f[1], f[2], f[3], f[4], f[8], f[9], f[10], f[11], f[12], ratio, f[14], f[15], f[16], f[17], f[18], f[19]
			}
		}' "$RESULTS"
	echo
	echo "CPU = utime+stime of the server process over the ${WINDOW}s window (/proc/PID/stat, 1 tick = $((1000 / CLK_TCK)) ms);"
	echo "µs/pkt = that CPU time / RTP packets received by all sessions in the same window; × best peer = µs/pkt ÷ the lower of gst and gortsplib at that point;"
	echo "RSS/HWM = VmRSS/VmHWM at the end of the window; lost = missing RTP sequence numbers in the window (gaps = discontinuities);"
	echo "other CPU = CPU used on the machine by everything except the server and the load client during the window (/proc/stat); high values mean a noisy point: rerun it."
	echo "Wall time: $((SECONDS - T_START)) s."
} | tee "$OUT/table.md"
cat "$OUT/header.md" "$OUT/table.md" >"$OUT/report.md"
log "results: $OUT/report.md, $OUT/results.tsv, logs in $OUT/logs"
