#!/usr/bin/env bash
# `make bench`: Peephole's engine and HTTP benchmarks next to ONNX Runtime, numpy, a FastAPI server and KServe's
# model server (the V2 protocol), measured side by side in one run; writes bench/results.md and keeps the raw
# outputs in bench/tmp/ (gitignored).
#
#   BENCH_SECONDS=2          seconds per engine measurement (each shape × threads × batch)
#   BENCH_REPEATS=3          engine runs, interleaved Peephole / ONNX Runtime / numpy; the table shows medians
#   BENCH_HTTP_SECONDS=10    wrk duration per connection count
#   BENCH_CONNECTIONS="1 16 64"
#   BENCH_WRK_THREADS=2
#   BENCH_WARMUP_SECONDS=2   wrk warm-up (64 connections) before each server's measured runs
#   BENCH_SOAK_SECONDS=auto  before the last memory reading, wrk at 64 connections against Peephole's /predict until
#                            the server has answered BENCH_SOAK_REQUESTS model requests (warm-ups, runs, V2 rounds and
#                            soak; /health not counted), for the "memory flat over 1M requests" check; a number: one
#                            soak of that many seconds instead; 0: none
#   BENCH_SOAK_REQUESTS=1000000
#   BENCH_SHAPES=256x200,1024x200   the larger random-weight shapes for ONNX Runtime (HIDDENxSTEPS; '' for none)
#   BENCH_STORE=models/peephole.sqlite  BENCH_MODEL=chars
#   BENCH_SKIP_BUILD=1       use the binaries already in .build/release
#   BENCH_TMP=bench/tmp  BENCH_OUT=bench/results.md   where the raw outputs and the report go (a trial run can
#                            write elsewhere and leave the last full run's alone)
#   BENCH_ENGINE_BINARY=path the engine benchmark (default .build/release/peephole-bench)
#   BENCH_VENV=path          the peers' venv (default tools/bench/.venv, created with pinned requirements.txt)
#   BENCH_WAIT_BUILDS=600    before measuring, wait up to this many seconds for other swift-build processes
#   BENCH_BATCHING=1         the HTTP batching comparison on a random-weight LSTM(256) over 200 steps (0: skip)
#   BENCH_V2_ROUNDS=3        rounds of V2 binary infer, JSON /predict (one-hot and text) and GET /health, each at 1
#                            and 64 connections, on the same server, alternating; the report shows medians and
#                            ranges (0: skip)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in tools/bench/

SWIFT="${SWIFT:-swift}"
SECONDS_PER="${BENCH_SECONDS:-2}"
REPEATS="${BENCH_REPEATS:-3}"
HTTP_SECONDS="${BENCH_HTTP_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-1 16 64}"
WRK_THREADS="${BENCH_WRK_THREADS:-2}"
WARMUP="${BENCH_WARMUP_SECONDS:-2}"
SOAK="${BENCH_SOAK_SECONDS:-auto}"
SOAK_REQUESTS="${BENCH_SOAK_REQUESTS:-1000000}"
SHAPES="${BENCH_SHAPES-256x200,1024x200}"
STORE="${BENCH_STORE:-models/peephole.sqlite}"
MODEL="${BENCH_MODEL:-chars}"
VENV="${BENCH_VENV:-$HERE/.venv}"
WAIT_BUILDS="${BENCH_WAIT_BUILDS:-600}"
TMP="$(mkdir -p "${BENCH_TMP:-$ROOT/bench/tmp}" && cd "${BENCH_TMP:-$ROOT/bench/tmp}" && pwd)"
OUT="${BENCH_OUT:-$ROOT/bench/results.md}"
PEEPHOLE="$ROOT/.build/release/peephole"
PEEPHOLE_BENCH="${BENCH_ENGINE_BINARY:-$ROOT/.build/release/peephole-bench}"

NOTES=()
note() { echo "bench: $*" >&2; NOTES+=("$*"); }
say() { echo "bench: $*" >&2; }

mkdir -p "$TMP"
rm -f "$TMP"/engine_*.json "$TMP"/http_*.json "$TMP"/memory.json "$TMP"/parity.json "$TMP"/inspector.json "$TMP"/wrk_*.txt \
    "$TMP"/*.log "$TMP"/*.err "$TMP"/body*

# ---------------------------------------------------------------- servers started here are stopped on exit
SERVER_PIDS=()
stop_server() {  # pid
    local pid="$1"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do stop_server "$pid"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers
have() { command -v "$1" >/dev/null 2>&1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_ready() {  # url pid seconds
    local url="$1" pid="$2" limit="$3"
    for _ in $(seq $((limit * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        if python3 - "$url" <<'EOF' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)
EOF
        then return 0; fi
        sleep 0.1
    done
    return 1
}

rss_kb() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status"; }

quiet_machine() {  # wait for other builds: they would skew every figure on 2 cores
    local waited=0
    while pgrep -x swift-build >/dev/null 2>&1 && [ "$waited" -lt "$WAIT_BUILDS" ]; do
        [ "$waited" = 0 ] && say "a swift-build is running; waiting (up to ${WAIT_BUILDS}s) before measuring"
        sleep 5; waited=$((waited + 5))
    done
}

# Interference check: the CPU time that processes other than this script and its children used during a phase
# (busy jiffies in /proc/stat minus ours; children count once they are waited for, as every phase's are).
TICKS="$(getconf CLK_TCK 2>/dev/null || echo 100)"
NCPU="$(nproc 2>/dev/null || echo 1)"
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
own_jiffies() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$$/stat"; }
phase_start() { P_BUSY="$(busy_jiffies)"; P_OWN="$(own_jiffies)"; P_T0="$(date +%s%N)"; }
phase_end() {  # $1: the phase, for the note
    local busy own ns other
    busy=$(( $(busy_jiffies) - P_BUSY )); own=$(( $(own_jiffies) - P_OWN )); ns=$(( $(date +%s%N) - P_T0 ))
    [ "$ns" -gt 0 ] || return 0
    other=$(( (busy - own) * 100 * 1000000000 / (ns * TICKS * NCPU) ))
    if [ "$other" -gt 10 ]; then
        note "other processes used ${other}% of the machine's CPU time during $1: its figures are skewed"
    fi
}

# ---------------------------------------------------------------- 1. build
HAVE_BENCH=0
if [ "${BENCH_SKIP_BUILD:-0}" = 1 ]; then
    say "BENCH_SKIP_BUILD=1: using the binaries in .build/release"
    [ -x "$PEEPHOLE_BENCH" ] && HAVE_BENCH=1
else
    say "building release"
    "$SWIFT" build -c release --product peephole
    if grep -q '"peephole-bench"' Package.swift; then
        "$SWIFT" build -c release --product peephole-bench
    fi
    [ -x "$PEEPHOLE_BENCH" ] && HAVE_BENCH=1
fi
[ -x "$PEEPHOLE" ] || { echo "bench: no $PEEPHOLE" >&2; exit 1; }
if [ "$HAVE_BENCH" != 1 ]; then
    note "peephole-bench is not built (no such product yet): Peephole's in-process engine benchmark was skipped"
fi

# ---------------------------------------------------------------- 2. the peers' venv
PEERS=0
VPY=""
if ! have python3; then
    note "no python3: ONNX Runtime, numpy and FastAPI peers, the HTTP benchmark and this report are skipped"
else
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating venv $VENV"
        python3 -m venv "$VENV" || rm -rf "$VENV"
    fi
    if [ -x "$VENV/bin/python" ]; then
        STAMP="$VENV/.requirements.sha256"
        WANT="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
        if [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] \
            || { "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" \
                 && echo "$WANT" > "$STAMP"; }; then
            PEERS=1
            VPY="$VENV/bin/python"
        else
            note "pip could not install tools/bench/requirements.txt: the Python peers are skipped"
        fi
    else
        note "python3 could not make a venv (Debian: apt-get install python3-venv): the Python peers are skipped"
    fi
fi

HAVE_WRK=1
if ! have wrk; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        say "installing wrk"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >/dev/null || true
    fi
    have wrk || { HAVE_WRK=0; note "wrk is not installed (apt-get install wrk): the HTTP benchmark is skipped"; }
fi
have python3 || HAVE_WRK=0

# ---------------------------------------------------------------- 3. the ONNX model and parity
if [ "$PEERS" = 1 ]; then
    say "exporting $MODEL to ONNX from $STORE and checking parity with peephole predict"
    if ! "$VPY" "$HERE/export_onnx.py" --store "$STORE" --model "$MODEL" --out "$TMP/$MODEL.onnx" \
            --peephole "$PEEPHOLE" --json "$TMP/parity.json"; then
        note "PARITY CHECK FAILED: ONNX Runtime vs peephole predict (see the output above and bench/tmp/parity.json)"
    fi
fi

# ---------------------------------------------------------------- 4. engine benchmarks, interleaved repeats
for r in $(seq "$REPEATS"); do
    quiet_machine
    phase_start
    if [ "$HAVE_BENCH" = 1 ]; then
        for t in 1 2; do
            say "engine: peephole-bench, ${t} thread(s), repeat $r/$REPEATS"
            "$PEEPHOLE_BENCH" --store "$STORE" --model "$MODEL" --seconds "$SECONDS_PER" --threads "$t" \
                $( [ "$t" = 1 ] && echo --kernels ) \
                > "$TMP/engine_peephole_r${r}_t${t}.json" 2> "$TMP/engine_peephole_r${r}_t${t}.err" \
                || { note "peephole-bench failed (threads $t): $(tail -3 "$TMP/engine_peephole_r${r}_t${t}.err")"
                     rm -f "$TMP/engine_peephole_r${r}_t${t}.json"; }
        done
    fi
    if [ "$PEERS" = 1 ]; then
        say "engine: ONNX Runtime, threads 1 and 2, repeat $r/$REPEATS"
        "$VPY" "$HERE/ort_engine.py" --store "$STORE" --model "$MODEL" --seconds "$SECONDS_PER" --threads 1,2 \
            --shapes "$SHAPES" > "$TMP/engine_onnxruntime_r$r.json" \
            || { note "ort_engine.py failed"; rm -f "$TMP/engine_onnxruntime_r$r.json"; }
        say "engine: ONNX Runtime, 2 sessions x 1 thread in parallel (demo model), repeat $r/$REPEATS"
        "$VPY" "$HERE/ort_engine.py" --parallel --store "$STORE" --model "$MODEL" --seconds "$SECONDS_PER" \
            --threads 2 --shapes '' > "$TMP/engine_ortparallel_r$r.json" \
            || { note "ort_engine.py --parallel failed"; rm -f "$TMP/engine_ortparallel_r$r.json"; }
        say "engine: numpy (demo model), repeat $r/$REPEATS"
        # numpy's own OpenBLAS is benchmarked with its own kernel choice (the OPENBLAS_* overrides set on some
        # machines slow it); ort_engine.py checks its outputs against ONNX Runtime and records the kernel.
        env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$VPY" "$HERE/ort_engine.py" --engine numpy --threads 1 \
            --store "$STORE" --model "$MODEL" --seconds "$SECONDS_PER" --shapes '' \
            > "$TMP/engine_numpy_r$r.json" || { note "the numpy reference failed"; rm -f "$TMP/engine_numpy_r$r.json"; }
    fi
    phase_end "engine repeat $r"
done

# ---------------------------------------------------------------- 5. HTTP benchmarks, one server at a time
wrk_requests() {  # raw wrk output file -> request count
    sed -n 's/^WRK_JSON .*"requests":\([0-9]*\).*/\1/p' "$1" | head -1
}
warm_up() {  # url label [body]; the body's headers, if it has any, are in BODY.headers (http_bench.py body)
    [ "$WARMUP" -gt 0 ] 2>/dev/null || { echo 0; return; }
    local body="${3:-$TMP/body.json}" headers=""
    [ -f "$body.headers" ] && headers="$body.headers"
    WRK_BODY="$body" WRK_HEADERS="$headers" wrk -t "$WRK_THREADS" -c 64 -d "${WARMUP}s" -s "$HERE/wrk_post.lua" "$1" \
        > "$TMP/wrk_$2_warmup.txt" 2>&1 || true
    wrk_requests "$TMP/wrk_$2_warmup.txt"
}
http_run() {  # url label [body [connections]]; no body: GET
    local body=(--body "${3-$TMP/body.json}")
    [ -n "${3-x}" ] || body=()
    python3 "$HERE/http_bench.py" run --url "$1" "${body[@]+"${body[@]}"}" --label "$2" \
        --connections "${4:-${CONNECTIONS// /,}}" --duration "$HTTP_SECONDS" --threads "$WRK_THREADS" --raw-dir "$TMP" \
        > "$TMP/http_$2.json" || { note "the HTTP benchmark of $2 failed"; rm -f "$TMP/http_$2.json"; }
}
# The request paths against the same server (port $1), each at 1 and 64 connections: binary V2 infer, JSON
# /predict with the one-hot body and with text, and GET /health, in BENCH_V2_ROUNDS rounds whose order alternates,
# so that their ratios compare like with like.
V2_ROUNDS="${BENCH_V2_ROUNDS:-3}"
v2_rounds() {
    local base="http://127.0.0.1:$1" r kind kinds order="predict v2 health" reverse="health v2 predict"
    warm_up "$base/v2/models/$MODEL/infer" peephole_v2 "$TMP/body_v2.bin" > /dev/null
    if [ -f "$TMP/body_text.json" ]; then
        warm_up "$base/predict" peephole_text "$TMP/body_text.json" > /dev/null
        order="predict text v2 health" reverse="health v2 text predict"
    fi
    for r in $(seq "$V2_ROUNDS"); do
        kinds="$order"
        [ $((r % 2)) = 1 ] || kinds="$reverse"
        say "HTTP: peephole V2 round $r/$V2_ROUNDS ($kinds)"
        for kind in $kinds; do
            case "$kind" in
                predict) http_run "$base/predict" "v2round_predict_r$r" "$TMP/body.json" 1,64 ;;
                text) http_run "$base/predict" "v2round_text_r$r" "$TMP/body_text.json" 1,64 ;;
                v2) http_run "$base/v2/models/$MODEL/infer" "v2round_v2_r$r" "$TMP/body_v2.bin" 1,64 ;;
                health) http_run "$base/health" "v2round_health_r$r" "" 1,64 ;;
            esac
        done
    done
}
# Model requests the Peephole server has answered so far, from the raw wrk outputs (warm-ups, runs, V2 rounds,
# soak; not /health).
served_requests() {
    local f n total=0
    for f in "$TMP"/wrk_peephole_*.txt "$TMP"/wrk_v2round_*.txt; do
        [ -f "$f" ] || continue
        case "$f" in *_health_*) continue ;; esac
        n="$(wrk_requests "$f")"
        total=$((total + ${n:-0}))
    done
    echo "$total"
}
# Requests per second of one raw wrk output (0 when it has none).
wrk_rate() {
    sed -n 's/^WRK_JSON .*"requests":\([0-9]*\),"duration_us":\([0-9]*\).*/\1 \2/p' "$1" 2>/dev/null \
        | awk '$2 > 0 { printf "%d\n", $1 * 1e6 / $2; found = 1 } END { if (!found) print 0 }'
}
soak() {  # port; auto: runs of at most a minute, each sized from the best 64-connection rate seen so far
    local url="http://127.0.0.1:$1/predict" attempt have rate best seconds f
    if [ "$SOAK" = auto ]; then
        for attempt in $(seq 20); do
            have="$(served_requests)"
            [ "$have" -lt "$SOAK_REQUESTS" ] || return 0
            best=1000
            for f in "$TMP"/wrk_peephole_c64.txt "$TMP"/wrk_v2round_predict_r*_c64.txt "$TMP"/wrk_peephole_soak*.txt; do
                rate="$(wrk_rate "$f")"
                [ "$rate" -le "$best" ] || best="$rate"
            done
            seconds=$(( (SOAK_REQUESTS - have) / best + 1 ))
            [ "$seconds" -le 60 ] || seconds=60
            say "HTTP: peephole soak, 64 connections, ${seconds}s ($have of $SOAK_REQUESTS requests so far)"
            WRK_BODY="$TMP/body.json" wrk -t "$WRK_THREADS" -c 64 -d "${seconds}s" -s "$HERE/wrk_post.lua" "$url" \
                > "$TMP/wrk_peephole_soak$attempt.txt" 2>&1 || true
        done
    elif [ "$SOAK" -gt 0 ] 2>/dev/null; then
        say "HTTP: peephole soak, 64 connections, ${SOAK}s"
        WRK_BODY="$TMP/body.json" wrk -t "$WRK_THREADS" -c 64 -d "${SOAK}s" -s "$HERE/wrk_post.lua" "$url" \
            > "$TMP/wrk_peephole_soak1.txt" 2>&1 || true
    fi
}

if [ "$HAVE_WRK" = 1 ]; then
    python3 "$HERE/http_bench.py" body --store "$STORE" --model "$MODEL" --out "$TMP/body.json"
    python3 "$HERE/http_bench.py" body --format v2-binary --store "$STORE" --model "$MODEL" --out "$TMP/body_v2.bin"
    python3 "$HERE/http_bench.py" body --format text --store "$STORE" --model "$MODEL" --out "$TMP/body_text.json" \
        || note "$MODEL has no vocabulary: /predict with a text body is not measured"
    quiet_machine
    phase_start

    PORT="$(free_port)"
    say "starting peephole serve on 127.0.0.1:$PORT"
    "$PEEPHOLE" serve --config config/peephole.json --store "$STORE" --host 127.0.0.1 --port "$PORT" \
        > "$TMP/peephole_serve.log" 2>&1 &
    PID=$!
    SERVER_PIDS+=("$PID")
    if wait_ready "http://127.0.0.1:$PORT/ready" "$PID" 60; then
        START_KB="$(rss_kb "$PID")"
        WARM_REQ="$(warm_up "http://127.0.0.1:$PORT/predict" peephole)"
        WARM_KB="$(rss_kb "$PID")"
        say "HTTP: peephole, connections $CONNECTIONS, ${HTTP_SECONDS}s each"
        http_run "http://127.0.0.1:$PORT/predict" peephole
        # How the server batched: forward passes and the sequences in them, from its own metrics.
        curl -sf "http://127.0.0.1:$PORT/metrics" | grep -E '^peephole_forward_batch_size_(sum|count)' > "$TMP/batching.txt" || true
        if [ "$V2_ROUNDS" -gt 0 ] 2>/dev/null; then
            v2_rounds "$PORT"
        fi
        soak "$PORT"
        END_KB="$(rss_kb "$PID")"
        HWM_KB="$(rss_kb "$PID" VmHWM)"
        TOTAL_REQ="$(served_requests)"
        printf '{"start_kb": %s, "warm_kb": %s, "end_kb": %s, "hwm_kb": %s, "requests": %s, "warm_requests": %s}\n' \
            "$START_KB" "$WARM_KB" "$END_KB" "$HWM_KB" "$TOTAL_REQ" "${WARM_REQ:-0}" > "$TMP/memory.json"
        say "peephole resident memory: ${START_KB} kB at ready, ${WARM_KB} kB warm, ${END_KB} kB after $TOTAL_REQ requests (peak ${HWM_KB} kB)"
        say "inspector: first render in headless Chromium, unit statistics first and cached"
        python3 "$HERE/inspector_timing.py" --url "http://127.0.0.1:$PORT" > "$TMP/inspector.json" \
            || { note "the inspector timing failed"; rm -f "$TMP/inspector.json"; }
    else
        note "peephole serve did not become ready: $(tail -1 "$TMP/peephole_serve.log" 2>/dev/null) (bench/tmp/peephole_serve.log)"
    fi
    stop_server "$PID"
    phase_end "the HTTP benchmark of Peephole"

    if [ "$PEERS" = 1 ]; then
        quiet_machine
        phase_start
        PORT="$(free_port)"
        say "starting the FastAPI peer on 127.0.0.1:$PORT"
        "$VPY" "$HERE/fastapi_server.py" --store "$STORE" --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
            --workers 2 > "$TMP/fastapi_serve.log" 2>&1 &
        PID=$!
        SERVER_PIDS+=("$PID")
        if wait_ready "http://127.0.0.1:$PORT/ready" "$PID" 120; then
            sleep 1  # both workers: each loads the model on its own
            warm_up "http://127.0.0.1:$PORT/predict" fastapi > /dev/null
            say "HTTP: FastAPI peer, connections $CONNECTIONS, ${HTTP_SECONDS}s each"
            http_run "http://127.0.0.1:$PORT/predict" fastapi
        else
            note "the FastAPI peer did not become ready: $(tail -1 "$TMP/fastapi_serve.log" 2>/dev/null) (bench/tmp/fastapi_serve.log)"
        fi
        stop_server "$PID"
        phase_end "the HTTP benchmark of the FastAPI peer"

        # KServe's own model server on the same ONNX model, driven with the same V2 binary request.
        quiet_machine
        phase_start
        PORT="$(free_port)"
        say "starting the KServe peer on port $PORT"
        "$VPY" "$HERE/kserve_server.py" --store "$STORE" --model "$MODEL" --port "$PORT" --workers 2 \
            > "$TMP/kserve_serve.log" 2>&1 &
        PID=$!
        SERVER_PIDS+=("$PID")
        if wait_ready "http://127.0.0.1:$PORT/v2/models/$MODEL/ready" "$PID" 120; then
            # Both workers: each builds its session on its own, and KServe's parent kills (and restarts) a
            # worker that has not answered its ping within 5 s, which a slow start can cause: let that pass first.
            sleep 8
            warm_up "http://127.0.0.1:$PORT/v2/models/$MODEL/infer" kserve "$TMP/body_v2.bin" > /dev/null
            say "HTTP: KServe peer, V2 binary, connections 1 and 64, ${HTTP_SECONDS}s each"
            http_run "http://127.0.0.1:$PORT/v2/models/$MODEL/infer" kserve "$TMP/body_v2.bin" 1,64
            if grep -q 'Child process .* died' "$TMP/kserve_serve.log"; then
                note "KServe restarted $(grep -c 'Child process .* died' "$TMP/kserve_serve.log") worker(s) that missed its 5 s ping (bench/tmp/kserve_serve.log): its figures include the restarts"
            fi
        else
            note "the KServe peer did not become ready: $(tail -1 "$TMP/kserve_serve.log" 2>/dev/null) (bench/tmp/kserve_serve.log)"
        fi
        stop_server "$PID"
        phase_end "the HTTP benchmark of the KServe peer"
    fi
fi

# ---------------------------------------------------------------- 5b. dynamic batching over HTTP, a larger model
# An LSTM(256) over 200 steps (random weights, written by peephole-bench), where compute outweighs HTTP: the same
# 64-connection load with batching off, with the default settings, and with a 2 ms queue delay.
if [ "$HAVE_WRK" = 1 ] && [ "$HAVE_BENCH" = 1 ] && [ "${BENCH_BATCHING:-1}" = 1 ]; then
    LARGE="$TMP/large.sqlite"
    rm -f "$LARGE" "$LARGE-wal" "$LARGE-shm"
    "$PEEPHOLE_BENCH" --write-store "$LARGE" --hidden 256
    python3 "$HERE/http_bench.py" body --store "$LARGE" --model random_h256 --out "$TMP/body_large.json"
    for mode in off default delay; do
        case "$mode" in
            off) settings=(PEEPHOLE_BATCH_MAX_SIZE=1) ;;
            default) settings=() ;;
            delay) settings=(PEEPHOLE_BATCH_MAX_DELAY_US=2000) ;;
        esac
        quiet_machine
        phase_start
        PORT="$(free_port)"
        say "HTTP batching ($mode): peephole serve on the h256 model, 64 connections, ${HTTP_SECONDS}s"
        env ${settings[@]+"${settings[@]}"} "$PEEPHOLE" serve --config config/peephole.json --store "$LARGE" \
            --host 127.0.0.1 --port "$PORT" > "$TMP/peephole_batching_$mode.log" 2>&1 &
        PID=$!
        SERVER_PIDS+=("$PID")
        if wait_ready "http://127.0.0.1:$PORT/ready" "$PID" 60; then
            warm_up "http://127.0.0.1:$PORT/predict" "batching_$mode" "$TMP/body_large.json" > /dev/null
            python3 "$HERE/http_bench.py" run --url "http://127.0.0.1:$PORT/predict" --body "$TMP/body_large.json" \
                --label "batching_$mode" --connections 64 --duration "$HTTP_SECONDS" --threads "$WRK_THREADS" \
                --timeout 30 --raw-dir "$TMP" > "$TMP/http_batching_$mode.json" \
                || { note "the HTTP batching benchmark ($mode) failed"; rm -f "$TMP/http_batching_$mode.json"; }
            curl -sf "http://127.0.0.1:$PORT/metrics" | grep -E '^peephole_forward_batch_size_(sum|count)' \
                > "$TMP/batching_$mode.txt" || true
        else
            note "peephole serve did not become ready on the h256 model ($mode): bench/tmp/peephole_batching_$mode.log"
        fi
        stop_server "$PID"
        phase_end "the HTTP batching benchmark ($mode)"
    done
fi

# ---------------------------------------------------------------- 6. the report
if have python3; then
    python3 "$HERE/report.py" --out "$OUT" --tmp "$TMP" \
        --settings "BENCH_SECONDS=$SECONDS_PER" "BENCH_REPEATS=$REPEATS" "BENCH_HTTP_SECONDS=$HTTP_SECONDS" \
                   "BENCH_CONNECTIONS=$CONNECTIONS" "BENCH_SOAK_SECONDS=$SOAK" "BENCH_V2_ROUNDS=$V2_ROUNDS" \
        ${NOTES[@]+"${NOTES[@]/#/--note=}"}
    echo
    cat "$OUT"
else
    say "no python3: results.md not written; raw outputs are in bench/tmp/"
fi
