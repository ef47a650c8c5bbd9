#!/usr/bin/env bash
# Fuzz the HTTP API with schemathesis against the served /openapi.json.
#
# Builds the release binary, imports two fixture models into a temporary store, serves it on
# a free loopback port, and runs every route with generated cases (positive and negative,
# including coverage cases at the schema's edges). Then a binary phase (binary_phase.py, same
# venv) sends what schemathesis cannot: two gzip bombs whose cost in the server's memory it
# measures, then seeded mutations of KServe V2 bodies with binary tensors
# (Inference-Header-Content-Length, binary_data_size, BYTES lengths), of gzip/deflate bodies
# (corrupt, bombs past max_body_bytes) and of TF Serving bodies. Passes when no case gets a 5xx
# or a response the document does not describe, at least PEEPHOLE_FUZZ_MIN_CASES were run, every
# binary-phase answer is a 200 or a 4xx {"error": "<message>"}, each bomb costs at most its body
# and max_body_bytes, and /health still answers afterwards.
#   PEEPHOLE_FUZZ_EXAMPLES=N   fuzzing cases per operation (default 150)
#   PEEPHOLE_FUZZ_BINARY=N     binary-phase requests (default 5000)
#   PEEPHOLE_FUZZ_MIN_CASES=N  fewest generated cases that count as a run (default 1000)
#   PEEPHOLE_FUZZ_SEED=N       schemathesis seed (default 1, so runs are reproducible)
#   PEEPHOLE_FUZZ_KEEP=1       keep the temporary directory (store, server log, JSON and HAR reports)
#   PEEPHOLE_FUZZ_VENV=DIR     reuse an existing venv (default: tools/fuzz/.venv, created if missing)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEEPHOLE_FUZZ_VENV:-$HERE/.venv}"
EXAMPLES="${PEEPHOLE_FUZZ_EXAMPLES:-150}"
MIN_CASES="${PEEPHOLE_FUZZ_MIN_CASES:-1000}"
BINARY="${PEEPHOLE_FUZZ_BINARY:-5000}"
SEED="${PEEPHOLE_FUZZ_SEED:-1}"
PEEPHOLE="$ROOT/.build/release/peephole"

cd "$ROOT"
swift build -c release --product peephole
if [ ! -x "$VENV/bin/schemathesis" ]; then
    echo "creating venv $VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/peephole-fuzz.XXXXXX")"
SERVER=""
cleanup() {
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
    if [ -n "${PEEPHOLE_FUZZ_KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

STORE="$WORK/store.sqlite"
"$PEEPHOLE" import Tests/Fixtures/keras/onehot.k3.keras --store "$STORE" --name onehot --vocabulary abcdefghij >/dev/null
"$PEEPHOLE" import Tests/Fixtures/keras/embed_mask.k3.keras --store "$STORE" --name embed --vocabulary _abcdefghijk >/dev/null

# Port 0: the kernel picks a free port, which the server logs.
"$PEEPHOLE" serve --store "$STORE" --host 127.0.0.1 --port 0 --default-model onehot --log-level info >"$WORK/serve.log" 2>&1 &
SERVER=$!
PORT=""
for _ in $(seq 300); do
    PORT="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/serve.log" | head -n 1)"
    if [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null; then break; fi
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
    sleep 0.1
done
[ -n "$PORT" ] || { echo "the server never became ready"; cat "$WORK/serve.log"; exit 1; }
BASE="http://127.0.0.1:$PORT"

# Sessions for the session routes to find (a generated id finds none); DELETE may close them.
SESSIONS=""
for path in /sessions /models/embed/sessions /sessions /models/embed/sessions; do
    id="$(curl -sf -X POST "$BASE$path" | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["session"])')"
    SESSIONS="$SESSIONS\"$id\", "
done

# Known names and valid bodies are drawn some of the time, so cases reach the decoders and the
# forward pass rather than stopping at 404; the rest are generated from the document. The document
# cannot say that V2 data must fill its shape or what size a TF Serving instance is, so generated
# bodies for those routes reach the decoders' checks but rarely the forward pass: the binary phase
# starts from valid bodies instead.
cat >"$WORK/schemathesis.toml" <<EOF
[dictionaries.models]
values = ["onehot", "embed"]
[dictionaries.versions]
values = [1]
[dictionaries.layers]
values = ["lstm", "lstm_1", "dense", "embedding"]
[dictionaries.sessions]
values = [${SESSIONS}]
[dictionaries.texts]
values = ["abcdef", "abcdefg", "jihgfe", "aaaaaaa"]
[dictionaries.numbers]
values = [0, 1, 11, 12, -1, -0.0, 2147483648, 9007199254740993, 1e19, -1e19, 3.4028235e38, 1e300, 1e-45]
[dictionaries.v2inputs]
values = ["input"]
[dictionaries.v2outputs]
values = ["dense", "lstm", "lstm/h", "lstm/c", "lstm/sequence", "lstm/gates/i", "lstm/gates/c", "lstm/preactivations/o", "lstm_1/h", "embedding", "lstm/gates/x"]
[dictionaries.dims]
values = [1, 2, 6, 7, 10, 0, 1000000000]
[dictionaries.sizes]
values = [0, 4, 56, 240, 480, 4294967296]

[parameters]
"path.model" = { dictionary = "models", probability = 0.6 }
"path.version" = { dictionary = "versions", probability = 0.5 }
"path.layer" = { dictionary = "layers", probability = 0.6 }
"path.session" = { dictionary = "sessions", probability = 0.7 }
"body.text[*]" = { dictionary = "texts", probability = 0.5 }
"body.prompt" = { dictionary = "texts", probability = 0.5 }
"body.layer" = { dictionary = "layers", probability = 0.5 }
"body.inputs[*].[*]" = { dictionary = "numbers", probability = 0.3 }
"body.units[*]" = { dictionary = "numbers", probability = 0.3 }
"body.top_k" = { dictionary = "numbers", probability = 0.3 }
"body.length" = { dictionary = "numbers", probability = 0.3 }
"body.seed" = { dictionary = "numbers", probability = 0.3 }
"body.steps.from" = { dictionary = "numbers", probability = 0.3 }
"body.steps.to" = { dictionary = "numbers", probability = 0.3 }
"body.inputs[*].name" = { dictionary = "v2inputs", probability = 0.8 }
"body.inputs[*].shape[*]" = { dictionary = "dims", probability = 0.7 }
"body.inputs[*].parameters.binary_data_size" = { dictionary = "sizes", probability = 0.3 }
"body.outputs[*].name" = { dictionary = "v2outputs", probability = 0.7 }
"body.outputs[*].parameters.units[*]" = { dictionary = "numbers", probability = 0.3 }
"body.outputs[*].parameters.steps_from" = { dictionary = "numbers", probability = 0.3 }
"body.outputs[*].parameters.steps_to" = { dictionary = "numbers", probability = 0.3 }
EOF

# Every check but positive_data_acceptance: the document cannot state a model's input shape or
# vocabulary, so schema-valid bodies that do not fit the model are rightly refused (400).
# Run from $WORK, where schemathesis keeps its cache.
set +e
(cd "$WORK" && "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --checks all --exclude-checks positive_data_acceptance \
    --phases examples,coverage,fuzzing --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
    --generation-database none --request-timeout 30 --continue-on-failure --no-color \
    --report json,har --report-json-path "$WORK/report.json" --report-har-path "$WORK/requests.har")
STATUS=$?
"$VENV/bin/python" "$HERE/binary_phase.py" "$BASE" "$BINARY" "$SEED" "$SERVER" | tee "$WORK/binary.txt"
BINARY_STATUS=${PIPESTATUS[0]}
set -e

ALIVE=no
if curl -sf "$BASE/health" >/dev/null; then ALIVE=yes; fi
if kill "$SERVER" 2>/dev/null; then
    wait "$SERVER" 2>/dev/null && STOPPED="cleanly" || STOPPED="with status $?"
else
    wait "$SERVER" 2>/dev/null; STOPPED="by itself before the end (status $?): it crashed"
fi
SERVER=""

"$VENV/bin/python" - "$WORK/report.json" "$STATUS" "$ALIVE" "$STOPPED" "$MIN_CASES" "$WORK/requests.har" "$BINARY_STATUS" <<'EOF'
import json, re, sys
report, status, alive, stopped, min_cases, har, binary_status = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], int(sys.argv[7])
data = json.load(open(report))
cases = data["test_cases"]
failures = sum(failure["count"] for failure in data["failures"])
errors = sum(error["count"] for error in data["errors"])
operations = data["operations"]
# How far the generated cases reached on the serving protocols' inference routes.
reach = {"V2 infer": [0, 0], "TF Serving predict": [0, 0]}
for entry in json.load(open(har))["log"]["entries"]:
    url, answered = entry["request"]["url"], entry["response"]["status"] == 200
    route = "V2 infer" if re.search(r"/v2/models/[^?]*/infer", url) else "TF Serving predict" if ":predict" in url else None
    if route:
        reach[route][0] += 1
        reach[route][1] += answered
ok = status == 0 and failures == 0 and errors == 0 and alive == "yes" and cases["generated"] >= min_cases and binary_status == 0
print(f"fuzz: {'PASS' if ok else 'FAIL'}: {cases['generated']} cases over {operations['tested']}/{operations['total']} operations, "
      f"{cases['with_failures']} cases with failures ({failures} failures, {cases['unique_failures']} unique), "
      f"{errors} errors ({'; '.join(f'{name}: {n} requests, {k} answered 200' for name, (n, k) in reach.items())}); "
      f"binary phase {'PASS' if binary_status == 0 else 'FAIL'}; server alive after: {alive}, stopped {stopped}; "
      f"schemathesis {data['schemathesis_version']}, seed {data['seed']}")
sys.exit(0 if ok else 1)
EOF
