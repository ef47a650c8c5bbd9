#!/usr/bin/env bash
# Interoperability: unmodified clients against Peephole (tools/interop/check.py).
#
# Builds the release binary, imports three fixture models into a temporary store, serves it on
# a free loopback port, and runs tritonclient.http (KServe V2, binary and JSON tensors, layer,
# state and gate outputs, a sequence) and TF Serving REST requests, each checked against the
# Peephole API's numbers for the same input. Needs Python and PyPI (a pinned venv).
#   PEEPHOLE_INTEROP_VENV=DIR  reuse an existing venv (default: tools/interop/.venv)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEEPHOLE_INTEROP_VENV:-$HERE/.venv}"
PEEPHOLE="$ROOT/.build/release/peephole"

cd "$ROOT"
swift build -c release --product peephole
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv $VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/peephole-interop.XXXXXX")"
SERVER=""
cleanup() {
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

STORE="$WORK/store.sqlite"
"$PEEPHOLE" import Tests/Fixtures/keras/onehot.k3.keras --store "$STORE" --name onehot --vocabulary abcdefghij >/dev/null
"$PEEPHOLE" import Tests/Fixtures/keras/bidi_concat.k3.keras --store "$STORE" --name bidi >/dev/null
"$PEEPHOLE" import Tests/Fixtures/keras/graphs/two_heads.k3.keras --store "$STORE" --name two_heads >/dev/null
"$PEEPHOLE" import Tests/Fixtures/keras/graphs/gru.k3.keras --store "$STORE" --name gru >/dev/null

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

"$VENV/bin/python" "$HERE/check.py" "127.0.0.1:$PORT" Tests/Fixtures/keras/graphs/two_heads.k3.expected.json Tests/Fixtures/keras/graphs/gru.k3.expected.json
