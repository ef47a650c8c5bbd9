#!/usr/bin/env bash
# Train the bundled demo model and import it into the committed store models/peephole.sqlite.
#   PEEPHOLE_TRAIN_VENV=/path/to/venv  reuse an existing venv (default: tools/train_demo/.venv, created if missing)
# Extra arguments go to train.py (e.g. --epochs 3 for a quick try).
# Writes models/chars.keras, models/chars.vocab.json, models/chars.expected.json, models/peephole.sqlite.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEEPHOLE_TRAIN_VENV:-$HERE/.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv $VENV"
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"

cd "$ROOT"
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 PYTHONHASHSEED=0
"$VENV/bin/python" "$HERE/train.py" --out models "$@"

# The Peephole CLI (an up-to-date build is quick; SwiftPM waits if another build holds .build).
swift build --product peephole
rm -f models/peephole.sqlite models/peephole.sqlite-wal models/peephole.sqlite-shm models/peephole.sqlite-journal
.build/debug/peephole import models/chars.keras --store models/peephole.sqlite --name chars --vocabulary models/chars.vocab.json
# The training text, stored as the model's corpus for the inspector.
cp "${DEMO_TEXT:-/usr/share/common-licenses/GPL-3}" models/chars.corpus.txt
.build/debug/peephole corpus add --store models/peephole.sqlite --model chars models/chars.corpus.txt

# Parity check: the CLI on the recorded texts must match what Keras recorded.
"$VENV/bin/python" - <<'PY'
import json, subprocess, sys
expected = json.load(open("models/chars.expected.json"))
run = subprocess.run([".build/debug/peephole", "predict", "--store", "models/peephole.sqlite", "--model", "chars", "--input", "-"],
                     input=json.dumps({"text": expected["text"]}), check=True, capture_output=True, text=True)
outputs = json.loads(run.stdout)["outputs"]
difference = max(abs(a - b) for row, ref in zip(outputs, expected["predict"]) for a, b in zip(row, ref))
print(f"peephole predict vs Keras on {len(outputs)} texts: max difference {difference:.3g}")
sys.exit(0 if len(outputs) == len(expected["predict"]) and difference <= 1e-5 else 1)
PY

# Commit a single file: the store opens in WAL mode (which any use of it sets again); leave it and compact.
sqlite3 models/peephole.sqlite "PRAGMA journal_mode=DELETE; VACUUM;" >/dev/null
ls -l models
