#!/usr/bin/env python3
"""Write bench/results.md from the raw outputs of one `make bench` run. Standard library only.

    python3 report.py --out bench/results.md --tmp bench/tmp [--settings k=v ...] [--note TEXT ...]

Reads from --tmp (each optional; a missing one makes its section say so):
    parity.json                      export_onnx.py --json
    engine_peephole_r*_t*.json       peephole-bench, one file per repeat and thread count
    engine_onnxruntime_r*.json       ort_engine.py
    engine_numpy_r*.json             ort_engine.py --engine numpy
    http_peephole.json, http_fastapi.json   http_bench.py run
    http_v2round_{predict,text,v2,health}_rN.json  the same-server rounds on the Peephole server (run.sh's v2_rounds)
    http_kserve.json                 http_bench.py run against KServe's model server, V2 binary
    memory.json                      {"start_kb", "warm_kb", "end_kb", "hwm_kb", "requests"} of the Peephole server
Engine figures are medians over the repeats (each measurement's p50/p90/p99 and throughput, per cell). The
one-thread engine files also carry "kernels", "machine" and "request_path", which report_issue15.py renders.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

def flops_per_sequence(hidden: int, steps: int, features: int, outputs: int) -> int:
    return steps * (2 * features * 4 * hidden + 2 * hidden * 4 * hidden) + 2 * hidden * outputs


def load(path: str):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def merge_engine(paths: list[str], cell: str = "LSTM") -> dict:
    """{(hidden, steps, features, outputs, threads, batch): row with medians over the files}, plus names:
    the rows of one cell kind (peephole-bench's "cell"; peers' rows are LSTMs)."""
    cells: dict = {}
    for path in paths:
        data = load(path)
        if not data:
            continue
        for r in data.get("results", []):
            if r.get("cell", "LSTM") != cell:
                continue
            key = (r["hidden"], r["steps"], r["features"], r["outputs"], r["threads"], r["batch"])
            cells.setdefault(key, []).append(r)
    merged = {}
    for key, rows in cells.items():
        def med(f):  # the median over the repeats that have this figure; None when none has it
            values = [v for v in (f(r) for r in rows) if v is not None]
            return statistics.median(values) if values else None

        def pct(name):
            return lambda r: (r.get("latency_us") or {}).get(name)

        throughput = med(lambda r: r.get("throughput_seq_per_s"))
        merged[key] = {
            "name": rows[0].get("name", ""),
            "p50": med(pct("p50")),
            "p90": med(pct("p90")),
            "p99": med(pct("p99")),
            "throughput": throughput,
            "gflops": med(lambda r: r.get("gflops") if r.get("gflops") is not None else
                          r["throughput_seq_per_s"] * flops_per_sequence(*key[:4]) / 1e9),
            "repeats": len(rows),
        }
    return merged


def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio_row(check: str, target: str, num, den, ok, detail: str) -> str:
    if num is None or den is None or den == 0:
        return f"| {check} | {target} | not measured | — |"
    r = num / den
    return f"| {check} | {target} | **{r:.2f}×** ({detail}) | {'PASS' if ok(r) else 'MISS'} |"


def machine() -> list[str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    flags = ", ".join(f for f in ("avx2", "fma", "avx512f") if f in have)
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
            mem = f"{kb / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    # The benchmark's own results (bench/) do not make the measured tree dirty.
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench")
    blas_env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ)
    return [
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu} ({flags}); cores (nproc): {os.cpu_count()}; memory: {mem}; kernel {platform.release()}",
        f"- commit: {commit or 'unknown'}{' + uncommitted changes' if dirty else ''}",
        f"- OpenBLAS environment: {blas_env or 'none set'}",
    ]


def package_version(name: str) -> str | None:
    """The version of `name` in the peers' venv, as pip recorded it (the report runs outside the venv)."""
    venv = os.environ.get("BENCH_VENV") or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".venv")
    for path in glob.glob(os.path.join(venv, "lib", "python*", "site-packages", f"{name}-*.dist-info")):
        return os.path.basename(path)[len(name) + 1:].removesuffix(".dist-info")
    return None


def v2_section(t: str, demo) -> list[str]:
    """KServe V2: binary infer against JSON /predict and /health on the same server (medians of the alternating
    rounds, ranges in brackets), and Peephole against KServe's own model server with the same request."""
    from report_issue15 import load_rounds, round_median

    lines = ["", "## KServe V2 (issue 12)", ""]
    rounds, body_bytes = load_rounds(t)  # (kind, connections) -> [result rows]
    kserve = load(os.path.join(t, "http_kserve.json"))
    if not rounds and not kserve:
        return lines + ["Not run."]

    def med(kind, conns, field="requests_per_s"):
        return round_median(rounds, kind, conns, field)

    def span(kind, conns, field="requests_per_s", digits=None):
        rows = rounds.get((kind, conns), [])
        if not rows:
            return "not run"
        values = [r[field] for r in rows]
        f = (lambda v: f"{v:.{digits}f}") if digits is not None else fmt
        return f"{f(statistics.median(values))} [{f(min(values))}–{f(max(values))}]"

    n = max((len(v) for v in rounds.values()), default=0)
    steps = demo[1] if demo else 40
    lines += [f"The same {steps}-step one-hot sequence as `POST /predict` ({fmt(body_bytes.get('predict'), 0)} bytes of "
              f"JSON), sent as V2 `POST /v2/models/<model>/infer` with binary tensors: a JSON header with "
              f"`binary_data_size`, `Inference-Header-Content-Length`, the floats little-endian "
              f"({fmt(body_bytes.get('v2'), 0)} bytes), asking `binary_data_output`; and the same window as "
              f"`{{\"text\": [...]}}` ({fmt(body_bytes.get('text'), 0)} bytes). On one Peephole server, {n} rounds "
              "whose order alternates; medians, ranges in brackets.", "",
              "| request | connections | req/s | p50 ms | p99 ms | errors / non-2xx |", "|---|---|---|---|---|---|"]
    labels = {"predict": "JSON `POST /predict`", "text": "JSON `POST /predict`, text", "v2": "V2 binary infer",
              "health": "`GET /health`"}
    for kind in ("predict", "text", "v2", "health"):
        for conns in sorted({c for k, c in rounds if k == kind}):
            bad = sum(r.get("non_2xx", 0) + sum(r.get("errors", {}).values()) for r in rounds[(kind, conns)])
            lines.append(f"| {labels[kind]} | {conns} | {span(kind, conns)} | {span(kind, conns, 'p50_ms', 3)} | "
                         f"{span(kind, conns, 'p99_ms', 3)} | {bad} |")
    lines += ["", "| check | target | measured | result |", "|---|---|---|---|"]
    for conns in (1, 64):
        a, b = med("v2", conns), med("predict", conns)
        lines.append(ratio_row(f"V2 binary ÷ JSON /predict, {conns} connection{'s' if conns > 1 else ''}, req/s "
                               "(issue 12: not slower)", "≥ 1×", a, b, lambda r: r >= 1,
                               f"{fmt(a)} vs {fmt(b)} req/s"))

    lines += ["", "### Against KServe's model server", ""]
    if not kserve:
        return lines + ["Not run."]
    lines += ["KServe's own Python model server (`kserve.ModelServer`, 2 uvicorn workers, a custom `kserve.Model` "
              "running ONNX Runtime with 1 intra-op thread per worker on the ONNX model built from the store's "
              "weights; `tools/bench/kserve_server.py`), driven by the same wrk client with the same V2 binary "
              "request, which it answers in binary too. Peephole's figures are the medians above.", "",
              "| server | connections | req/s | p50 ms | p99 ms | errors / non-2xx |", "|---|---|---|---|---|---|"]
    for r in kserve["results"]:
        bad = r.get("non_2xx", 0) + sum(r.get("errors", {}).values())
        lines.append(f"| KServe + ONNX Runtime | {r['connections']} | {fmt(r['requests_per_s'])} | {r['p50_ms']:.3f} | "
                     f"{r['p99_ms']:.3f} | {bad} |")
        if (("v2", r["connections"])) in rounds:
            lines.append(f"| Peephole | {r['connections']} | {fmt(med('v2', r['connections']))} | "
                         f"{med('v2', r['connections'], 'p50_ms'):.3f} | {med('v2', r['connections'], 'p99_ms'):.3f} | |")
    k64 = next((r for r in kserve["results"] if r["connections"] == 64), None)
    a = med("v2", 64)
    if k64 and a:
        lines += ["", f"Peephole ÷ KServe at 64 connections, V2 binary: **{a / k64['requests_per_s']:.2f}×** "
                      f"({fmt(a)} vs {fmt(k64['requests_per_s'])} req/s)."]
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="bench/results.md")
    p.add_argument("--tmp", default="bench/tmp")
    p.add_argument("--settings", nargs="*", default=[], help="key=value pairs describing the run")
    p.add_argument("--note", action="append", default=[], help="a line for the Notes section (repeatable)")
    args = p.parse_args()
    t = args.tmp

    parity = load(os.path.join(t, "parity.json"))
    pe = merge_engine(sorted(glob.glob(os.path.join(t, "engine_peephole_r*_t*.json"))))
    gru = merge_engine(sorted(glob.glob(os.path.join(t, "engine_peephole_r*_t*.json"))), cell="GRU")
    inspector = load(os.path.join(t, "inspector.json"))
    ort_files = sorted(glob.glob(os.path.join(t, "engine_onnxruntime_r*.json")))
    ort = merge_engine(ort_files)
    ortpar = merge_engine(sorted(glob.glob(os.path.join(t, "engine_ortparallel_r*.json"))))
    npy_files = sorted(glob.glob(os.path.join(t, "engine_numpy_r*.json")))
    npy = merge_engine(npy_files)
    http_pe = load(os.path.join(t, "http_peephole.json"))
    http_fa = load(os.path.join(t, "http_fastapi.json"))
    memory = load(os.path.join(t, "memory.json"))
    ort_version = (load(ort_files[0]) or {}).get("version") if ort_files else None
    numpy_meta = load(npy_files[0]) if npy_files else None

    # The demo model: the shape of the rows named after the stored model (the first non-"random" name), else
    # the smallest shape seen.
    shapes = sorted({k[:4] for k in (*pe, *ort, *ortpar, *npy)}, key=lambda s: flops_per_sequence(*s))
    demo = None
    for src in (ort, pe, npy):
        for key, row in src.items():
            if not row["name"].startswith("random") and "synthetic" not in row["name"]:
                demo = key[:4]
                break
        if demo:
            break
    if demo is None and shapes:
        demo = shapes[0]

    def cell(src, shape, threads, batch, field):
        if shape is None:
            return None
        row = src.get((*shape, threads, batch))
        return row[field] if row else None

    lines = ["# Peephole benchmark", "",
             "Written by `make bench` (`tools/bench/run.sh`). Ratios are measured side by side in this one run; "
             "absolute figures drift on shared machines. Engine figures are medians over the repeats.", "",
             "## Machine", "", *machine()]
    if args.settings:
        lines.append("- settings: " + ", ".join(f"`{s}`" for s in args.settings))
    peers = []
    if ort_version:
        peers.append(f"ONNX Runtime {ort_version} (LSTM op, CPU)")
    if numpy_meta:
        blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}"
                         for b in numpy_meta.get("blas", []))
        peers.append(f"numpy {numpy_meta.get('version')}" + (f" ({blas})" if blas else ""))
    if http_fa:
        peers.append("FastAPI + uvicorn (httptools, uvloop, 2 workers) + ONNX Runtime, 1 intra-op thread per worker")
    kserve_meta = load(os.path.join(t, "http_kserve.json"))
    if kserve_meta:
        peers.append(f"KServe {package_version('kserve') or ''} model server (2 workers) + ONNX Runtime".replace("  ", " "))
    if peers:
        lines.append("- peers: " + "; ".join(peers))

    # ---------------------------------------------------------------- ratios
    from report_issue15 import load_rounds, machine_section, request_path_section, targets_section

    lines += targets_section(t, pe, ort, demo, memory)
    lines += machine_section(t)
    lines += request_path_section(t, load_rounds(t)[0])
    lines += ["", "## Targets (issue 5, earlier)", "", "| check | target | measured | result |", "|---|---|---|---|"]
    pe1 = cell(pe, demo, 1, 1, "p50")
    or1 = cell(ort, demo, 1, 1, "p50")
    lines.append(ratio_row("engine, 1 thread, batch-1 p50 latency, Peephole ÷ ONNX Runtime", "≤ 0.5×", pe1, or1,
                           lambda r: r <= 0.5, f"{fmt(pe1)} µs vs {fmt(or1)} µs"))
    a, b = cell(pe, demo, 1, 64, "throughput"), cell(ort, demo, 1, 64, "throughput")
    lines.append(ratio_row("engine, 1 thread, batch-64 throughput, Peephole ÷ ONNX Runtime", "≥ 1.5×", a, b,
                           lambda r: r >= 1.5, f"{fmt(a)} vs {fmt(b)} seq/s"))
    a, b = cell(pe, demo, 2, 64, "throughput"), cell(ort, demo, 2, 64, "throughput")
    lines.append(ratio_row("engine, 2 threads, batch-64 throughput, Peephole ÷ ONNX Runtime 2 threads", "≥ 1.5×",
                           a, b, lambda r: r >= 1.5, f"{fmt(a)} vs {fmt(b)} seq/s"))
    b = cell(ortpar, demo, 2, 64, "throughput")
    if b is not None:
        lines.append(ratio_row("(stricter) the same ÷ ONNX Runtime as 2 parallel sessions × 1 thread", "≥ 1.5×",
                               a, b, lambda r: r >= 1.5, f"{fmt(a)} vs {fmt(b)} seq/s"))

    def http_row(data, conns):
        if not data:
            return None
        for r in data.get("results", []):
            if r["connections"] == conns:
                return r
        return None

    h64p, h64f = http_row(http_pe, 64), http_row(http_fa, 64)
    h1p, h1f = http_row(http_pe, 1), http_row(http_fa, 1)
    lines.append(ratio_row("HTTP, 64 connections, req/s, Peephole ÷ FastAPI", "≥ 10×",
                           h64p and h64p["requests_per_s"], h64f and h64f["requests_per_s"], lambda r: r >= 10,
                           f"{fmt(h64p and h64p['requests_per_s'])} vs {fmt(h64f and h64f['requests_per_s'])} req/s"))
    lines.append(ratio_row("HTTP, 64 connections, Peephole p99 ÷ FastAPI p50", "< 1×",
                           h64p and h64p["p99_ms"], h64f and h64f["p50_ms"], lambda r: r < 1,
                           f"{fmt(h64p and h64p['p99_ms'], 2)} ms vs {fmt(h64f and h64f['p50_ms'], 2)} ms"))
    lines.append(ratio_row("HTTP, 1 connection, p50, Peephole ÷ FastAPI", "≤ 0.25×",
                           h1p and h1p["p50_ms"], h1f and h1f["p50_ms"], lambda r: r <= 0.25,
                           f"{fmt(h1p and h1p['p50_ms'], 3)} ms vs {fmt(h1f and h1f['p50_ms'], 3)} ms"))
    if memory:
        mb = lambda kb: kb / 1024  # noqa: E731
        peak = max(memory.get("hwm_kb") or 0, memory.get("end_kb") or 0)
        lines.append(f"| memory, Peephole serving the demo model, peak resident (VmHWM) | < 64 MB | "
                     f"**{mb(peak):.1f} MB** (at ready {mb(memory['start_kb']):.1f} MB, "
                     f"after the run {mb(memory['end_kb']):.1f} MB) | {'PASS' if mb(peak) < 64 else 'MISS'} |")
        base = memory.get("warm_kb") or memory["start_kb"]
        growth = (memory["end_kb"] - base) / base
        requests = memory.get("requests") or 0
        verdict = ("PASS" if growth <= 0.05 else "MISS") if requests >= 1_000_000 else \
            "not measured (fewer than 1M requests; BENCH_SOAK_SECONDS=auto soaks until 1M)"
        lines.append(f"| memory flat after 1M requests (resident growth from after warm-up to the end) | ≤ 5% | "
                     f"**{growth * 100:+.1f}%** over {requests:,} requests | {verdict} |")
    else:
        lines.append("| memory | < 64 MB, flat | not measured | — |")

    # A GRU as wide as the demo's LSTM, over the same steps: a step should cost it no more.
    for batch in (1, 64):
        a, b = cell(gru, demo, 1, batch, "throughput"), cell(pe, demo, 1, batch, "throughput")
        if a is not None:
            lines.append(ratio_row(f"engine, 1 thread, batch {batch}: GRU(64) ÷ the demo LSTM(64), sequences/s over the same steps",
                                   "≥ 1×", a, b, lambda r: r >= 1, f"{fmt(a)} vs {fmt(b)} seq/s"))
    if inspector:
        render, unit = inspector.get("page_render") or {}, inspector.get("unit_statistics") or {}
        if "median_ms" in render:
            lines.append(f"| inspector page, first render of a {render['characters']}-character text (API call + drawing, "
                         f"in headless Chromium) | < 300 ms | **{render['median_ms']} ms** (median of {render['loads']} loads, "
                         f"{render['range_ms'][0]}–{render['range_ms'][1]}) | {'PASS' if render['median_ms'] < 300 else 'MISS'} |")
        elif render:
            lines.append(f"| inspector page, first render | < 300 ms | not measured: {render.get('error')} | — |")
        if unit:
            lines.append(f"| inspector unit statistics over the demo corpus, first request (field {unit['field']}) | < 2 s | "
                         f"**{unit['first_ms']:.0f} ms** | {'PASS' if unit['first_ms'] < 2000 else 'MISS'} |")
            lines.append(f"| the same from the cache | < 20 ms | **{unit['cached_ms']} ms** (median of 20, "
                         f"{unit['cached_range_ms'][0]}–{unit['cached_range_ms'][1]}) | {'PASS' if unit['cached_ms'] < 20 else 'MISS'} |")

    # ---------------------------------------------------------------- engine tables
    def engine_rows(shape, show_batch1_latency=True):
        out = []
        for name, src in (("Peephole", pe), ("ONNX Runtime", ort), ("ONNX Runtime, parallel sessions", ortpar),
                          ("numpy", npy)):
            for threads in sorted({k[4] for k in src if k[:4] == shape}):
                row = [name, f"{threads} × 1" if src is ortpar else str(threads)]
                if show_batch1_latency:
                    row += [fmt(cell(src, shape, threads, 1, f)) for f in ("p50", "p90", "p99")]
                row += [fmt(cell(src, shape, threads, b, "throughput")) for b in (1, 8, 64)]
                row.append(fmt(cell(src, shape, threads, 64, "gflops")))
                out.append("| " + " | ".join(row) + " |")
        return out

    lines += ["", "## Engine, in process", ""]
    if demo:
        lines += [f"Demo model `{(ort.get((*demo, 1, 1)) or pe.get((*demo, 1, 1)) or {'name': ''})['name']}`: "
                  f"LSTM({demo[0]}) over {demo[1]} steps of {demo[2]} features, Dense({demo[3]}, softmax), "
                  f"{flops_per_sequence(*demo) / 1e6:.2f} MFLOP per sequence. Latency is one call at batch 1 (µs); "
                  "throughput in sequences per second. ONNX Runtime's threads are intra-op threads of one session; "
                  "‘2 × 1’ is two sessions of one thread called concurrently (its best use of two cores here).", "",
                  "| engine | threads | batch 1 p50 µs | p90 µs | p99 µs | batch 1 seq/s | batch 8 seq/s "
                  "| batch 64 seq/s | batch 64 GFLOP/s |",
                  "|---|---|---|---|---|---|---|---|---|", *engine_rows(demo)]
    else:
        lines.append("Not run.")

    larger = [s for s in shapes if s != demo]
    lines += ["", "## Larger models (random weights)", ""]
    if larger:
        lines += ["Throughput in sequences per second and the FLOP rate it reaches (GFLOP/s = seq/s × FLOP per "
                  "sequence), per call at the given batch; the last column is Peephole ÷ ONNX Runtime throughput "
                  "at the same threads and batch.", "",
                  "| shape | MFLOP/seq | threads | batch | Peephole seq/s | Peephole GFLOP/s | ONNX Runtime seq/s "
                  "| ONNX Runtime GFLOP/s | Peephole ÷ ORT |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for shape in larger:
            label = f"h{shape[0]} T{shape[1]} V{shape[2]}"
            mf = f"{flops_per_sequence(*shape) / 1e6:,.0f}"
            for key in sorted({k for k in (*pe, *ort) if k[:4] == shape}, key=lambda k: (k[4], k[5])):
                a, b = pe.get(key), ort.get(key)
                vs = (f"{a['throughput'] / b['throughput']:.2f}×" if a and b and a['throughput'] and b['throughput'] else "—")
                lines.append(f"| {label} | {mf} | {key[4]} | {key[5]} | "
                             f"{fmt(a and a['throughput'])} | {fmt(a and a['gflops'])} | "
                             f"{fmt(b and b['throughput'])} | {fmt(b and b['gflops'])} | {vs} |")
    else:
        lines.append("Not run.")

    # ---------------------------------------------------------------- matrix kernel vs OpenBLAS
    kernel_runs = [k for f in sorted(glob.glob(os.path.join(t, "engine_peephole_r*_t1.json")))
                   for k in [(load(f) or {}).get("kernels")] if k]
    lines += ["", "## Matrix kernel vs OpenBLAS", ""]
    if kernel_runs:
        lines += ["The recurrent product of each shape, `[batch, hidden] · [hidden, 4·hidden]`, one thread: Peephole's "
                  "packed kernel (one fused multiply-add per term, in order) next to OpenBLAS (`sgemv` at batch 1, "
                  "`sgemm` otherwise), medians over the repeats. ‘Rows alone = in batch’ says whether OpenBLAS gives "
                  "row 0 the same bits inside the batch as computed alone; Peephole's kernel always does (tested).", "",
                  "| hidden | batch | Peephole GFLOP/s | OpenBLAS GFLOP/s | Peephole ÷ OpenBLAS | max difference "
                  "| OpenBLAS rows alone = in batch |", "|---|---|---|---|---|---|---|"]
        for index, first in enumerate(kernel_runs[0]):
            rows = [run[index] for run in kernel_runs if len(run) > index]
            ours = statistics.median(r["kernel_gflops"] for r in rows)
            theirs = statistics.median(r["openblas_gflops"] for r in rows)
            lines.append(f"| {first['hidden']} | {first['batch']} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}× | "
                         f"{max(r['max_difference'] for r in rows):.2g} | "
                         f"{'yes' if all(r['openblas_rows_independent'] for r in rows) else 'no'} |")
    else:
        lines.append("Not run.")

    # ---------------------------------------------------------------- HTTP
    lines += ["", "## HTTP (`wrk --latency`, same machine)", ""]
    if http_pe or http_fa:
        body = (http_pe or http_fa).get("body_bytes")
        dur = (http_pe or http_fa).get("duration_s")
        lines += [f"`POST /predict` with one {demo[1] if demo else 40}-step one-hot sequence ({body:,} bytes of JSON), "
                  f"{fmt(dur, 0)} s per connection count, wrk with 2 threads (1 for 1 connection).", "",
                  "| server | connections | req/s | p50 ms | p90 ms | p99 ms | errors / non-2xx |",
                  "|---|---|---|---|---|---|---|"]
        for label, data in (("Peephole", http_pe), ("FastAPI + ONNX Runtime", http_fa)):
            if not data:
                lines.append(f"| {label} | — | not run | | | | |")
                continue
            for r in data["results"]:
                bad = r.get("non_2xx", 0) + sum(r.get("errors", {}).values())
                lines.append(f"| {label} | {r['connections']} | {fmt(r['requests_per_s'])} | {r['p50_ms']:.3f} | "
                             f"{r['p90_ms']:.3f} | {r['p99_ms']:.3f} | {bad} |")
        batching = {}
        try:
            with open(os.path.join(t, "batching.txt")) as f:
                for line in f:
                    name, value = line.rsplit(" ", 1)
                    batching[name.split("{")[0].rsplit("_", 1)[1]] = float(value)
        except OSError:
            pass
        if batching.get("count"):
            lines += ["", f"Dynamic batching in this run (the server's `peephole_forward_batch_size`): "
                          f"{batching['sum']:,.0f} sequences in {batching['count']:,.0f} forward passes, "
                          f"{batching['sum'] / batching['count']:.2f} per pass on average."]
        json_runs = [j for f in sorted(glob.glob(os.path.join(t, "engine_peephole_r*_t1.json")))
                     for j in [(load(f) or {}).get("json")] if j]
        if json_runs:
            decode = statistics.median(j["decode_us_p50"] for j in json_runs)
            whole = statistics.median(j["predict_body_to_body_us_p50"] for j in json_runs)
            lines += ["", f"The same request body in process (peephole-bench, p50, median over the repeats): decoding "
                          f"{decode:.1f} µs; body to body (decode, forward pass, encode) {whole:.1f} µs."]
    else:
        lines.append("Not run.")

    lines += v2_section(t, demo)

    # ---------------------------------------------------------------- dynamic batching, larger model
    modes = [("off", "off (`batch_max_size` 1)"),
             ("default", "on, default settings (a worker per core, no delay)"),
             ("delay", "on, `batch_max_delay_us` 2000")]
    runs = {m: load(os.path.join(t, f"http_batching_{m}.json")) for m, _ in modes}
    lines += ["", "## Dynamic batching over HTTP (larger model)", ""]
    if any(runs.values()):
        body_large = next(r for r in runs.values() if r).get("body_bytes")
        lines += ["A random-weight LSTM(256) over 200 one-hot steps of 76 features and Dense(76, softmax) "
                  f"({body_large:,} bytes of JSON per request), where compute outweighs HTTP; 64 connections, "
                  "wrk on the same machine. Sequences per pass come from the server's `peephole_forward_batch_size`.", "",
                  "| batching | req/s | p50 ms | p99 ms | sequences per pass | ÷ off |", "|---|---|---|---|---|---|"]
        off = runs["off"]["results"][0]["requests_per_s"] if runs["off"] else None
        for mode, label in modes:
            if not runs[mode]:
                lines.append(f"| {label} | not run | | | | |")
                continue
            r = runs[mode]["results"][0]
            per_pass = "—"
            try:
                with open(os.path.join(t, f"batching_{mode}.txt")) as f:
                    values = {l.rsplit(" ", 1)[0].split("{")[0].rsplit("_", 1)[1]: float(l.rsplit(" ", 1)[1]) for l in f if l.strip()}
                if values.get("count"):
                    per_pass = f"{values['sum'] / values['count']:.1f}"
            except OSError:
                pass
            ratio = f"{r['requests_per_s'] / off:.2f}×" if off else "—"
            lines.append(f"| {label} | {fmt(r['requests_per_s'])} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {per_pass} | {ratio} |")
    else:
        lines.append("Not run.")

    # ---------------------------------------------------------------- parity and notes
    lines += ["", "## Parity", ""]
    if parity:
        diff = parity.get("max_abs_diff_ort_peephole")
        against = (f"`peephole predict`: max |difference| = {diff:.3g}" if diff is not None
                   else "numpy only (no peephole binary)")
        lines.append(f"ONNX Runtime {parity.get('onnxruntime')} on the model built from the store's weights, "
                     f"{parity.get('sequences')} one-hot sequences, against {against} (ONNX Runtime vs numpy "
                     f"{parity.get('max_abs_diff_ort_numpy'):.3g}); tolerance {parity.get('tolerance'):g}: "
                     f"{'PASS' if parity.get('pass') else 'FAIL'}.")
    else:
        lines.append("Not run.")
    if args.note:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in args.note]
    lines += ["", "Reproduce: `make bench` (environment: `BENCH_SECONDS` per engine measurement, `BENCH_REPEATS`, "
              "`BENCH_HTTP_SECONDS` per connection count, `BENCH_CONNECTIONS`, `BENCH_SOAK_SECONDS`). Raw outputs: "
              "`bench/tmp/`.", ""]

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
