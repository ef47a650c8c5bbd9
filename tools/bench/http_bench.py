#!/usr/bin/env python3
"""HTTP benchmark driver: wrk (with wrk_post.lua) against a server's POST route. Standard library only.

    python3 http_bench.py body --store models/peephole.sqlite --model chars --out bench/tmp/body.json
        writes one request: one T-step one-hot sequence (≈15 KB for the demo model), a window of real text
        when the model has a vocabulary
    python3 http_bench.py body --format text --out bench/tmp/body_text.json ...
        the same window as text, {"text": ["<T characters>"]} (a model with a vocabulary only)
    python3 http_bench.py body --format v2-binary --out bench/tmp/body_v2.bin ...
        the same sequence as a KServe V2 infer request with binary tensors: a JSON header naming the input
        `input` [1, T, F] FP32 with its `binary_data_size` and asking `binary_data_output`, then the floats
        little-endian (≈12 KB); the headers it needs (Inference-Header-Content-Length, Content-Type) go to
        OUT.headers, which `run` sends with the body
    python3 http_bench.py run --url http://127.0.0.1:PORT/predict --body bench/tmp/body.json --label peephole \
        --connections 1,16,64 --duration 10 --threads 2 --raw-dir bench/tmp > bench/tmp/http_peephole.json
        runs `wrk --latency` once per connection count (threads = min(--threads, connections)) and prints
        {"server": LABEL, "duration_s": .., "results": [{"connections", "threads", "requests", "requests_per_s",
         "p50_ms", "p90_ms", "p99_ms", "errors": {...}, "non_2xx"}]}
        The raw wrk output of each run is kept in --raw-dir as wrk_LABEL_cN.txt. Headers in BODY.headers (one
        "Name: value" a line), when that file exists, are sent with every request.

Figures come from the WRK_JSON line that wrk_post.lua prints (exact, µs); when it is missing they are parsed from
wrk's own text ("Requests/sec", "Latency Distribution" 50%/90%/99%), with its units (us, ms, s) converted to ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

SAMPLE_TEXT = ("  This program is free software: you can redistribute it and/or modify it under the terms of "
               "the GNU General Public License as published by the Free Software Foundation.")


# ---------------------------------------------------------------- the request body

def stored_input(store: str, model: str) -> tuple[int, int, list[str] | None]:
    """The stored model's steps, features and vocabulary (None without one)."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT version.input_shape, version.vocabulary FROM version JOIN model ON model.id = version.model_id "
            "WHERE model.name = ? ORDER BY version.number DESC LIMIT 1", (model,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise SystemExit(f"model {model!r} not in {store}")
    steps, features = json.loads(row[0])
    vocabulary = json.loads(row[1]) if row[1] else None
    return steps, features, vocabulary if vocabulary and len(vocabulary) == features else None


def text_window(vocabulary: list[str], steps: int) -> str:
    """The first `steps` characters of SAMPLE_TEXT, any outside the vocabulary written as its space (or its
    first token when it has none)."""
    known = set(vocabulary)
    blank = " " if " " in known else vocabulary[0]
    return "".join(ch if ch in known else blank for ch in SAMPLE_TEXT[:steps].ljust(steps))


def one_hot_sequence(store: str, model: str) -> list[list[float]]:
    """One T-step one-hot sequence of the stored model: a window of SAMPLE_TEXT when it has a vocabulary."""
    steps, features, vocabulary = stored_input(store, model)
    if vocabulary:
        index = {token: k for k, token in enumerate(vocabulary)}
        ids = [index[ch] for ch in text_window(vocabulary, steps)]
    else:
        rng = random.Random(0)
        ids = [rng.randrange(features) for _ in range(steps)]
    return [[1.0 if k == token else 0.0 for k in range(features)] for token in ids]


def predict_body(sequence: list[list[float]]) -> bytes:
    """Peephole's POST /predict body; json's default ", " separators: ≈15 KB for 40 × 76."""
    return json.dumps({"inputs": [sequence]}).encode()


def text_body(store: str, model: str) -> bytes:
    """Peephole's POST /predict body as text, `{"text": [T characters]}`: the same window as the one-hot body."""
    steps, _, vocabulary = stored_input(store, model)
    if not vocabulary:
        raise SystemExit(f"model {model!r} has no vocabulary: no text body")
    return json.dumps({"text": [text_window(vocabulary, steps)]}).encode()


def v2_binary_body(sequence: list[list[float]]) -> tuple[bytes, dict[str, str]]:
    """A V2 infer body with the sequence as binary FP32 (Triton's binary tensor extension), and its headers."""
    floats = [v for row in sequence for v in row]
    header = json.dumps({
        "inputs": [{"name": "input", "shape": [1, len(sequence), len(sequence[0])], "datatype": "FP32",
                    "parameters": {"binary_data_size": 4 * len(floats)}}],
        "parameters": {"binary_data_output": True},
    }, separators=(",", ":")).encode()
    return header + struct.pack(f"<{len(floats)}f", *floats), {
        "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))}


# ---------------------------------------------------------------- running and parsing wrk

_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    """'812.00us' -> 0.812, '1.50ms' -> 1.5, '2.01s' -> 2010.0"""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(output: str) -> dict:
    """The figures of one `wrk --latency` run (with or without wrk_post.lua's WRK_JSON line)."""
    result: dict = {}
    m = re.search(r"^WRK_JSON (\{.*\})\s*$", output, re.M)
    if m:
        data = json.loads(m.group(1))
        lat = data["latency_us"]
        seconds = data["duration_us"] / 1e6
        result = {
            "requests": data["requests"],
            "requests_per_s": round(data["requests"] / seconds, 2) if seconds > 0 else 0.0,
            "p50_ms": lat["p50"] / 1e3, "p90_ms": lat["p90"] / 1e3, "p99_ms": lat["p99"] / 1e3,
            "mean_ms": round(lat["mean"] / 1e3, 4), "max_ms": lat["max"] / 1e3,
            "errors": {k: data[f"{k}_errors"] for k in ("connect", "read", "write")} | {"timeout": data["timeouts"]},
            "non_2xx": data["status_errors"],
            "source": "wrk_post.lua",
        }
    else:
        rps = re.search(r"Requests/sec:\s*([0-9.]+)", output)
        reqs = re.search(r"^\s*(\d+) requests in", output, re.M)
        pct = {p: re.search(rf"^\s*{p}%\s+([0-9.]+\s*(?:us|ms|s|m|h))\s*$", output, re.M) for p in (50, 90, 99)}
        if not rps or not all(pct.values()):
            raise ValueError("wrk printed no Requests/sec or Latency Distribution (was --latency given?)\n" + output)
        result = {
            "requests": int(reqs.group(1)) if reqs else None,
            "requests_per_s": float(rps.group(1)),
            "p50_ms": to_ms(pct[50].group(1)), "p90_ms": to_ms(pct[90].group(1)), "p99_ms": to_ms(pct[99].group(1)),
            "errors": {},
            "non_2xx": 0,
            "source": "wrk text",
        }
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
        if sock:
            result["errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, sock.groups())))
        non = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
        if non:
            result["non_2xx"] = int(non.group(1))
    # wrk's own Requests/sec line, kept next to ours as a cross-check.
    rps = re.search(r"Requests/sec:\s*([0-9.]+)", output)
    if rps:
        result["wrk_requests_per_s"] = float(rps.group(1))
    return result


def run_wrk(url: str, body: str | None, connections: int, threads: int, duration: float, timeout: float) -> str:
    """One `wrk --latency` run POSTing BODY (with BODY.headers when that file exists), or GETting URL without."""
    if body is None:
        env = dict(os.environ, WRK_METHOD="GET")
    else:
        env = dict(os.environ, WRK_BODY=os.path.abspath(body))
        if os.path.exists(body + ".headers"):
            env["WRK_HEADERS"] = os.path.abspath(body + ".headers")
    cmd = ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
           "--timeout", f"{max(1, round(timeout))}s", "-s", os.path.join(HERE, "wrk_post.lua"), url]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + timeout + 60)
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    return "$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("body", help="write the request body")
    b.add_argument("--store", default="models/peephole.sqlite")
    b.add_argument("--model", default="chars")
    b.add_argument("--out", required=True)
    b.add_argument("--format", choices=("predict", "text", "v2-binary"), default="predict",
                   help="Peephole's /predict JSON with one-hot inputs (default) or with text, or a KServe V2 infer "
                        "request with binary tensors")
    r = sub.add_parser("run", help="run wrk at each connection count; JSON to stdout")
    r.add_argument("--url", required=True)
    r.add_argument("--body", help="the request body file (POST); without it, GET the URL")
    r.add_argument("--label", required=True)
    r.add_argument("--connections", default="1,16,64")
    r.add_argument("--duration", type=float, default=10.0, help="seconds per connection count (default 10)")
    r.add_argument("--threads", type=int, default=2, help="wrk threads (at most the connections; default 2)")
    r.add_argument("--timeout", type=float, default=10.0, help="wrk's per-request timeout in seconds")
    r.add_argument("--raw-dir", help="keep the raw wrk outputs here")
    p_parse = sub.add_parser("parse", help="parse saved wrk outputs (for checking the parser)")
    p_parse.add_argument("files", nargs="+")
    args = p.parse_args()

    if args.command == "body":
        if args.format == "text":
            data, headers = text_body(args.store, args.model), {}
        elif args.format == "v2-binary":
            data, headers = v2_binary_body(one_hot_sequence(args.store, args.model))
        else:
            data, headers = predict_body(one_hot_sequence(args.store, args.model)), {}
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "wb") as fh:
            fh.write(data)
        if headers:
            with open(args.out + ".headers", "w") as fh:
                fh.write("".join(f"{k}: {v}\n" for k, v in headers.items()))
        elif os.path.exists(args.out + ".headers"):
            os.remove(args.out + ".headers")
        print(f"wrote {args.out} ({len(data)} bytes)", file=sys.stderr)
        return 0
    if args.command == "parse":
        for path in args.files:
            with open(path) as fh:
                print(json.dumps({"file": path} | parse_wrk(fh.read())))
        return 0

    out = {"server": args.label, "url": args.url, "duration_s": args.duration,
           "body_bytes": os.path.getsize(args.body) if args.body else 0, "results": []}
    for c in (int(v) for v in args.connections.replace(" ", ",").split(",") if v.strip()):
        threads = max(1, min(args.threads, c))
        text = run_wrk(args.url, args.body, c, threads, args.duration, args.timeout)
        if args.raw_dir:
            os.makedirs(args.raw_dir, exist_ok=True)
            with open(os.path.join(args.raw_dir, f"wrk_{args.label}_c{c}.txt"), "w") as fh:
                fh.write(text)
        row = {"connections": c, "threads": threads} | parse_wrk(text)
        out["results"].append(row)
        bad = row["non_2xx"] + sum(row["errors"].values())
        print(f"{args.label}: {c} connections: {row['requests_per_s']:.0f} req/s, p50 {row['p50_ms']:.3f} ms, "
              f"p99 {row['p99_ms']:.3f} ms" + (f", {bad} errors/non-2xx" if bad else ""), file=sys.stderr)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
