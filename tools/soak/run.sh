#!/usr/bin/env bash
# `make soak`: mixed traffic at 256 connections against one Peephole server for SOAK_SECONDS (predict, layer
# outputs with gates, sessions opened/stepped/closed, KServe V2 binary infers, TF Serving predicts, a graph model
# with named inputs and outputs, the inspector's API, bad requests), then a report: requests by kind, statuses
# by class (client and server side), p50/p99 latency, resident memory and open file descriptors after warm-up
# and at the end. Writes bench/soak.md; raw outputs go to bench/tmp/soak/ (gitignored). Exits 1 on a MISS.
#
#   SOAK_SECONDS=300            measured duration
#   SOAK_WARMUP_SECONDS=30      same mix before the start readings (memory after warm-up is the baseline)
#   SOAK_CONNECTIONS=256        SOAK_THREADS=2 (wrk threads)      SOAK_TIMEOUT=10s (wrk request timeout)
#   SOAK_STEPS=3                steps per session before it is deleted
#   SOAK_SESSIONS_PER_THREAD=48 sessions each wrk thread keeps open at most (server max_sessions: 256)
#   SOAK_SAMPLE_SECONDS=5       resident memory / fd sampling interval during the run
#   SOAK_CONFIG=config/peephole.json   SOAK_STORE=models/peephole.sqlite (copied to a temp dir, where the graph
#                                      fixture two_heads is imported beside `chars`, which is served as the default)
#   SOAK_OUT=bench/soak.md
#   SOAK_BINARY=.build/release/peephole (`make soak` builds it first; this script does not build)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1

DURATION="${SOAK_SECONDS:-300}"
WARMUP="${SOAK_WARMUP_SECONDS:-30}"
CONNECTIONS="${SOAK_CONNECTIONS:-256}"
THREADS="${SOAK_THREADS:-2}"
TIMEOUT="${SOAK_TIMEOUT:-10s}"
SAMPLE="${SOAK_SAMPLE_SECONDS:-5}"
CONFIG="${SOAK_CONFIG:-config/peephole.json}"
STORE="${SOAK_STORE:-models/peephole.sqlite}"
OUT="${SOAK_OUT:-$ROOT/bench/soak.md}"
PEEPHOLE="${SOAK_BINARY:-$ROOT/.build/release/peephole}"
export SOAK_STEPS="${SOAK_STEPS:-3}"
export SOAK_SESSIONS_PER_THREAD="${SOAK_SESSIONS_PER_THREAD:-48}"
RAW="$ROOT/bench/tmp/soak"

say() { echo "soak: $*" >&2; }
die() { echo "soak: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

have wrk || die "wrk is not installed (Debian: apt-get install wrk)"
have python3 || die "python3 is needed for the report"
have curl || die "curl is needed"
[ -x "$PEEPHOLE" ] || die "no $PEEPHOLE: run 'make soak' (it builds the release binary first)"
[ -f "$STORE" ] || die "no store $STORE"
ulimit -n 65536 2>/dev/null || ulimit -n 4096 2>/dev/null || true

mkdir -p "$RAW" "$(dirname "$OUT")"
rm -f "$RAW"/*
WORK="$(mktemp -d "${TMPDIR:-/tmp}/peephole-soak.XXXXXX")"
cp "$STORE" "$WORK/peephole.sqlite"

# ---------------------------------------------------------------- the server (stopped on any exit)
SERVER_PID=""
SAMPLER_PID=""
cleanup() {
    if [ -n "$SAMPLER_PID" ] && kill -0 "$SAMPLER_PID" 2>/dev/null; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

GRAPH_MODEL="$ROOT/Tests/Fixtures/keras/graphs/two_heads.k3.keras"  # inputs sequence (6, 4) and side (5); outputs cls, reg
"$PEEPHOLE" import "$GRAPH_MODEL" --store "$WORK/peephole.sqlite" --name two_heads > "$RAW/import.log" 2>&1 \
    || die "importing $GRAPH_MODEL failed: $(tail -3 "$RAW/import.log")"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
URL="http://127.0.0.1:$PORT"
say "starting $PEEPHOLE on $URL (store: a copy of $STORE)"
"$PEEPHOLE" serve --config "$CONFIG" --store "$WORK/peephole.sqlite" --host 127.0.0.1 --port "$PORT" \
    --default-model chars > "$RAW/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited at start: $(tail -5 "$RAW/server.log")"
    curl -sf -o /dev/null --max-time 1 "$URL/ready" && break
    sleep 0.1
done
curl -sf -o /dev/null --max-time 2 "$URL/ready" || die "the server did not become ready in 30 s"

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$SERVER_PID/status"; }
fd_count() { find "/proc/$SERVER_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
server_jiffies() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
own_jiffies() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$$/stat"; }

# Deletes the sessions a wrk run left open (listed by soak.lua); prints how many answered 200.
close_leftovers() {  # file
    local n=0 id
    [ -f "$1" ] || { echo 0; return; }
    while read -r id; do
        [ -n "$id" ] || continue
        if [ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/sessions/$id")" = 200 ]; then n=$((n + 1)); fi
    done < "$1"
    echo "$n"
}

# Waits (up to 15 s) for the server to close the sockets of a finished wrk run: the fd count stops falling.
settle() {
    local last now
    last="$(fd_count)"
    for _ in $(seq 30); do
        sleep 0.5
        now="$(fd_count)"
        [ "$now" -lt "$last" ] || break
        last="$now"
    done
    sleep 1
}

run_wrk() {  # seconds label
    SOAK_LEFTOVER="$RAW/leftover_$2.txt" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${1}s" --timeout "$TIMEOUT" \
        -s "$HERE/soak.lua" "$URL" > "$RAW/wrk_$2.txt" 2>&1 || die "wrk failed: $(tail -5 "$RAW/wrk_$2.txt")"
    grep '^SOAK_JSON ' "$RAW/wrk_$2.txt" | sed 's/^SOAK_JSON //' > "$RAW/$2.json" \
        || die "wrk printed no SOAK_JSON line: $(tail -5 "$RAW/wrk_$2.txt")"
}

# ---------------------------------------------------------------- warm-up
FD_READY="$(fd_count)"; RSS_READY="$(rss_kb)"
if [ "$WARMUP" -gt 0 ]; then
    say "warm-up: ${WARMUP}s at $CONNECTIONS connections"
    run_wrk "$WARMUP" warmup
    WARM_CLOSED="$(close_leftovers "$RAW/leftover_warmup.txt")"
    settle
else
    WARM_CLOSED=0
fi

# ---------------------------------------------------------------- the soak
RSS_START="$(rss_kb)"; FD_START="$(fd_count)"
curl -sf "$URL/metrics" > "$RAW/metrics_start.txt"
(   # resident memory and fds every $SAMPLE s: "seconds rss_kb fds"
    t0="$(date +%s)"
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        echo "$(( $(date +%s) - t0 )) $(rss_kb) $(fd_count)"
        sleep "$SAMPLE"
    done
) > "$RAW/samples.txt" 2>/dev/null &
SAMPLER_PID=$!

say "soak: ${DURATION}s at $CONNECTIONS connections, $THREADS wrk threads (RSS ${RSS_START} kB, ${FD_START} fds)"
J_BUSY="$(busy_jiffies)"; J_SERVER="$(server_jiffies)"; J_OWN="$(own_jiffies)"; T0="$(date +%s%N)"
DATE_START="$(date -u '+%Y-%m-%d %H:%M UTC')"
run_wrk "$DURATION" soak
T1="$(date +%s%N)"; J_BUSY2="$(busy_jiffies)"; J_SERVER2="$(server_jiffies)"; J_OWN2="$(own_jiffies)"
RSS_PEAK_RUN="$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$RAW/samples.txt")"
kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""
sleep 1
curl -sf "$URL/metrics" > "$RAW/metrics_end.txt"
SOAK_CLOSED="$(close_leftovers "$RAW/leftover_soak.txt")"
settle
RSS_END="$(rss_kb)"; FD_END="$(fd_count)"; HWM="$(hwm_kb)"
HEALTH="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/health" || true)"
say "end: RSS ${RSS_END} kB, ${FD_END} fds, /health $HEALTH"

# ---------------------------------------------------------------- SIGTERM, exit status
kill -TERM "$SERVER_PID"
EXIT_STATUS=""
for _ in $(seq 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SERVER_PID" 2>/dev/null; then
    EXIT_STATUS="still running 15 s after SIGTERM (killed)"
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
else
    set +e; wait "$SERVER_PID"; EXIT_STATUS=$?; set -e
fi
SERVER_PID=""
say "server exit status after SIGTERM: $EXIT_STATUS"

# ---------------------------------------------------------------- machine and report
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
MEM="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then COMMIT="$COMMIT + uncommitted changes"; fi
TICKS="$(getconf CLK_TCK 2>/dev/null || echo 100)"

python3 "$HERE/report.py" \
    --soak "$RAW/soak.json" --warmup "$RAW/warmup.json" \
    --metrics-start "$RAW/metrics_start.txt" --metrics-end "$RAW/metrics_end.txt" \
    --samples "$RAW/samples.txt" --out "$OUT" \
    --set duration="$DURATION" warmup="$WARMUP" connections="$CONNECTIONS" threads="$THREADS" timeout="$TIMEOUT" \
        steps="$SOAK_STEPS" sessions_per_thread="$SOAK_SESSIONS_PER_THREAD" \
        rss_ready="$RSS_READY" fd_ready="$FD_READY" rss_start="$RSS_START" fd_start="$FD_START" \
        rss_end="$RSS_END" fd_end="$FD_END" rss_peak_run="$RSS_PEAK_RUN" hwm="$HWM" \
        health="$HEALTH" exit_status="$EXIT_STATUS" warm_closed="$WARM_CLOSED" soak_closed="$SOAK_CLOSED" \
        wall_ns="$((T1 - T0))" busy_j="$((J_BUSY2 - J_BUSY))" server_j="$((J_SERVER2 - J_SERVER))" \
        own_j="$((J_OWN2 - J_OWN))" ticks="$TICKS" ncpu="$(nproc)" \
        date="$DATE_START" cpu="$CPU" mem="$MEM" kernel="$(uname -r)" commit="$COMMIT" \
        wrk="$(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')" config="$CONFIG" store="$STORE"
