"""The sections of bench/results.md that issue 15 asks for: its targets with PASS/MISS, the machine's own limits
(peephole-bench's "machine"), and where a request's time goes (peephole-bench's "request_path" next to wrk).
Standard library only; report.py calls these with what it has already read.
"""
from __future__ import annotations

import glob
import os
import statistics

from report import fmt, load, ratio_row


def load_rounds(t: str) -> tuple[dict, dict]:
    """The same-server rounds (run.sh's v2_rounds): {(kind, connections): [wrk result rows]} and each kind's body
    bytes; kinds are predict (one-hot JSON), text (JSON text), v2 (binary infer) and health."""
    rounds: dict = {}
    body_bytes: dict = {}
    for path in sorted(glob.glob(os.path.join(t, "http_v2round_*_r*.json"))):
        data = load(path)
        if not data:
            continue
        kind = os.path.basename(path)[len("http_v2round_"):].rsplit("_r", 1)[0]
        body_bytes[kind] = data.get("body_bytes")
        for r in data["results"]:
            rounds.setdefault((kind, r["connections"]), []).append(r)
    return rounds, body_bytes


def round_median(rounds: dict, kind: str, connections: int, field: str = "requests_per_s"):
    """The median of `field` over the rounds, None when the kind was not run at that connection count."""
    rows = rounds.get((kind, connections), [])
    return statistics.median(r[field] for r in rows) if rows else None


def engine_blobs(t: str, key: str) -> list:
    """peephole-bench's `key` from each one-thread repeat that has it."""
    return [b for f in sorted(glob.glob(os.path.join(t, "engine_peephole_r*_t1.json")))
            for b in [(load(f) or {}).get(key)] if b]


def median_of(blobs: list, get):
    values = [v for v in (get(b) for b in blobs) if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def kernel_gflops(t: str, hidden: int, batch: int):
    """The matrix kernel's GFLOP/s on `[batch, hidden] · [hidden, 4·hidden]`, median over the repeats."""
    rows = [r for run in engine_blobs(t, "kernels") for r in run if r["hidden"] == hidden and r["batch"] == batch]
    return statistics.median(r["kernel_gflops"] for r in rows) if rows else None


# The same-server HTTP targets: round kind, label, least ratio to `GET /health` at 64 connections, and the
# request_path field of the same request in process.
HTTP_TARGETS = (("text", "`POST /predict` text (40 characters)", 0.70, "in_process_predict_text_us"),
                ("predict", "`POST /predict` 15 KB one-hot body", 0.50, "in_process_predict_one_hot_us"),
                ("v2", "V2 binary FP32 infer", 0.60, "in_process_v2_binary_us"))


def http_bounds(t: str, rounds: dict, pe: dict, demo) -> list[str]:
    """What each HTTP ratio target leaves for a request beyond `/health`, against the least that request can cost.

    The client runs on the same cores, so a request costs the machine `cores ÷ req/s` of CPU time whoever spends it;
    a ratio r to `/health` leaves (1/r − 1) × `/health`'s cost for everything `/health` does not do. The least that
    can be is the forward pass at its cheapest (the engine's batch-64 time per sequence, one thread, hot caches)
    plus the rest of the request path in process (the whole request in process, less `/health` in process and the
    batch-1 compute stage): no NIO, no kernel, no client, no cache misses."""
    health64 = round_median(rounds, "health", 64)
    b64 = pe.get((*demo, 1, 64), {}).get("throughput") if demo else None
    paths = engine_blobs(t, "request_path")
    health_inside = median_of(paths, lambda p: p.get("in_process_health_us"))
    compute_inside = median_of(paths, lambda p: next((s["p50_us"] for s in p.get("stages", []) if s.get("stage") == "compute"), None))
    if None in (health64, b64, health_inside, compute_inside):
        return []
    cores = os.cpu_count() or 1
    health_cost = cores / health64 * 1e6
    forward = 1e6 / b64
    lines = ["", f"What the HTTP targets leave: with the client on the same {cores} cores, `/health` costs the machine "
                 f"{health_cost:.1f} µs per request ({cores} cores ÷ {fmt(health64)} req/s), and a ratio r leaves "
                 f"(1/r − 1) × that for all a request does beyond `/health`. The least a request can cost beyond it is "
                 f"its forward pass at batch 64 ({forward:.1f} µs per sequence, one thread) plus the rest of its path "
                 "in process, hot (the whole request in process less `/health` in process and the batch-1 compute "
                 "stage).", "",
              "| request | target | leaves µs | forward pass at batch 64 µs | rest of the path in process µs | "
              "least cost µs | reachable here |", "|---|---|---|---|---|---|---|"]
    for kind, label, target, field in HTTP_TARGETS:
        inside = median_of(paths, lambda p, field=field: p.get(field))
        if inside is None:
            continue
        leaves = (1 / target - 1) * health_cost
        rest = inside - health_inside - compute_inside
        least = forward + rest
        lines.append(f"| {label} | ≥ {target:.2f}× | {leaves:.1f} | {forward:.1f} | {rest:.1f} | {least:.1f} | "
                     f"{'yes' if least <= leaves else 'no'} |")
    return lines


def per_round_ratios(rounds: dict) -> list[str]:
    """Each HTTP target's ratio round by round: a round measures its four requests within about a minute, so its
    ratio is paired against the machine's drift between rounds, which the medians above are not."""
    health = rounds.get(("health", 64), [])
    parts = []
    for kind, label, _, _ in HTTP_TARGETS:
        rows = rounds.get((kind, 64), [])
        if not rows or len(rows) != len(health):
            continue
        ratios = [r["requests_per_s"] / h["requests_per_s"] for r, h in zip(rows, health)]
        parts.append(f"{label} {', '.join(f'{x:.2f}' for x in ratios)} (median {statistics.median(ratios):.2f})")
    if not parts:
        return []
    return ["", "The same ratios round by round, each against the `/health` of its own round: " + "; ".join(parts) + "."]


def targets_section(t: str, pe: dict, ort: dict, demo, memory) -> list[str]:
    """One row per target of issue 15, with its measured value and PASS/MISS."""
    rounds, _ = load_rounds(t)
    lines = ["", "## Targets (issue 15)", "",
             "HTTP ratios are medians over the same-server rounds (see KServe V2 below); engine figures are medians "
             "over the repeats, one thread.", "",
             "| check | target | measured | result |", "|---|---|---|---|"]
    health64 = round_median(rounds, "health", 64)
    for kind, label, target, _ in HTTP_TARGETS:
        a = round_median(rounds, kind, 64)
        lines.append(ratio_row(f"{label} ÷ `GET /health`, 64 connections, req/s", f"≥ {target:.2f}×", a, health64,
                               lambda r, target=target: r >= target, f"{fmt(a)} vs {fmt(health64)} req/s"))

    text1 = round_median(rounds, "text", 1, "p50_ms")
    health1 = round_median(rounds, "health", 1, "p50_ms")
    engine1 = pe.get((*demo, 1, 1), {}).get("p50") if demo else None
    check = "`POST /predict` text, 1 connection, p50 ≤ `/health` p50 + engine batch-1 p50 + 25 µs"
    if None in (text1, health1, engine1):
        lines.append(f"| {check} | ≤ sum | not measured | — |")
    else:
        limit = health1 * 1e3 + engine1 + 25
        lines.append(f"| {check} | ≤ {limit:.0f} µs | **{text1 * 1e3:.0f} µs** (limit = {health1 * 1e3:.0f} + "
                     f"{engine1:.1f} + 25 µs) | {'PASS' if text1 * 1e3 <= limit else 'MISS'} |")

    b8 = pe.get((*demo, 1, 8), {}).get("throughput") if demo else None
    b64 = pe.get((*demo, 1, 64), {}).get("throughput") if demo else None
    lines.append(ratio_row("engine, 1 thread, demo model: batch-64 ÷ batch-8 throughput", "≥ 1.2×", b64, b8,
                           lambda r: r >= 1.2, f"{fmt(b64)} vs {fmt(b8)} seq/s"))
    o64 = ort.get((*demo, 1, 64), {}).get("throughput") if demo else None
    lines.append(ratio_row("engine, 1 thread, batch-64 throughput, Peephole ÷ ONNX Runtime", "≥ 2×", b64, o64,
                           lambda r: r >= 2, f"{fmt(b64)} vs {fmt(o64)} seq/s"))
    o1 = ort.get((*demo, 1, 1), {}).get("p50") if demo else None
    lines.append(ratio_row("engine, 1 thread, batch-1 p50 latency, Peephole ÷ ONNX Runtime", "≤ 0.3×", engine1, o1,
                           lambda r: r <= 0.3, f"{fmt(engine1)} µs vs {fmt(o1)} µs"))

    leads = []
    for hidden in (256, 1024):
        key = next((k for k in pe if k[0] == hidden and k[1] == 200 and k[4] == 1 and k[5] == 64), None)
        a, b = pe.get(key, {}).get("throughput"), ort.get(key, {}).get("throughput")
        leads.append((hidden, a, b))
    check = "larger shapes keep their lead: LSTM(256) and LSTM(1024) T200, batch 64, 1 thread, Peephole ÷ ONNX Runtime"
    measured = [(h, a, b) for h, a, b in leads if a is not None and b]
    if not measured:
        lines.append(f"| {check} | ≥ 1× each | not measured | — |")
    else:
        shown = "; ".join(f"h{h}: **{a / b:.2f}×** ({fmt(a)} vs {fmt(b)} seq/s)" if (h, a, b) in measured
                          else f"h{h}: not measured" for h, a, b in leads)
        verdict = "PASS" if all(a >= b for _, a, b in measured) else "MISS"
        lines.append(f"| {check} | ≥ 1× each | {shown} | {verdict}{'' if len(measured) == len(leads) else ' (partial)'} |")

    machines = engine_blobs(t, "machine")
    bound = median_of(machines, lambda m: (m.get("lstm1024_bound") or {}).get("bound_us"))
    bandwidth = median_of(machines, lambda m: m.get("stream_copy_gb_per_s"))
    key = next((k for k in pe if k[0] == 1024 and k[1] == 200 and k[4] == 1 and k[5] == 1), None)
    measured = pe.get(key, {}).get("p50")
    check = "LSTM(1024) T200, batch 1: time per sequence ≤ 1.10 × the bandwidth bound (weights per step ÷ STREAM copy)"
    if bound is None or measured is None:
        lines.append(f"| {check} | ≤ 1.10× | not measured | — |")
    else:
        lines.append(f"| {check} | ≤ 1.10× | **{measured / bound:.2f}×** ({measured / 1e3:.1f} ms vs a bound of "
                     f"{bound / 1e3:.1f} ms at {bandwidth:.1f} GB/s) | {'PASS' if measured <= 1.10 * bound else 'MISS'} |")

    if memory:
        peak = max(memory.get("hwm_kb") or 0, memory.get("end_kb") or 0) / 1024
        lines.append(f"| memory, peak resident (VmHWM) serving the demo model | < 64 MB | **{peak:.1f} MB** | "
                     f"{'PASS' if peak < 64 else 'MISS'} |")
        base = memory.get("warm_kb") or memory["start_kb"]
        growth = (memory["end_kb"] - base) / base
        requests = memory.get("requests") or 0
        verdict = ("PASS" if growth <= 0.05 else "MISS") if requests >= 1_000_000 else "not measured (under 1M requests)"
        lines.append(f"| memory flat: resident growth from after warm-up to after ≥ 1M requests | ≤ 5% | "
                     f"**{growth * 100:+.1f}%** ({base / 1024:.1f} → {memory['end_kb'] / 1024:.1f} MB over "
                     f"{requests:,} requests) | {verdict} |")
    else:
        lines.append("| memory | < 64 MB, flat within 5% over 1M requests | not measured | — |")

    lines += per_round_ratios(rounds)
    lines += http_bounds(t, rounds, pe, demo)

    peak = median_of(machines, lambda m: m.get("fma_peak_gflops"))
    hidden = demo[0] if demo else 64
    k8, k64 = kernel_gflops(t, hidden, 8), kernel_gflops(t, hidden, 64)
    if peak and k8 and k64:
        lines += ["", f"The matrix kernel on the demo's recurrent product (`[batch, {hidden}] · [{hidden}, "
                      f"{4 * hidden}]`) reaches {k8:.0f} GFLOP/s at batch 8 and {k64:.0f} at batch 64: "
                      f"{k8 / peak:.0%} and {k64 / peak:.0%} of this core's measured FMA peak ({peak:.0f} GFLOP/s). "
                      f"Batch 64 at 1.2× batch 8 would need the kernel at {1.2 * k8 / peak:.0%} of peak unless the "
                      "work around it (gates, input rows, output layer) shrinks."]
    return lines


def machine_section(t: str) -> list[str]:
    """What one core of this machine allows (peephole-bench's "machine"), medians over the repeats."""
    machines = engine_blobs(t, "machine")
    lines = ["", "## Machine limits (one core)", ""]
    if not machines:
        return lines + ["Not measured (peephole-bench printed no \"machine\")."]
    med = lambda get: median_of(machines, get)  # noqa: E731
    lines += ["Measured by `peephole-bench` (`machine_limits.c`), one thread, best of several rounds, medians over "
              "the repeats. Copy counts the bytes read plus the bytes written (STREAM); a working set's copy keeps "
              "source and destination within the weights' size, its read sums an array of that size.", "",
              "| what | size | copy GB/s | read GB/s |", "|---|---|---|---|",
              f"| beyond the last-level cache | 2 × {machines[0].get('stream_array_bytes', 0) / 2**20:.0f} MB | "
              f"{fmt(med(lambda m: m.get('stream_copy_gb_per_s')))} | {fmt(med(lambda m: m.get('stream_read_gb_per_s')))} |"]
    for index, first in enumerate(machines[0].get("working_sets", [])):
        get = lambda field: med(lambda m: (m.get("working_sets") or [{}] * (index + 1))[index].get(field))  # noqa: E731
        lines.append(f"| {first['shape']} recurrent weights | {first['bytes'] / 1024:,.0f} KiB | "
                     f"{fmt(get('copy_gb_per_s'))} | {fmt(get('read_gb_per_s'))} |")
    lines += ["", f"FMA peak ({machines[0].get('isa')}): **{fmt(med(lambda m: m.get('fma_peak_gflops')))} GFLOP/s**."]
    b = lambda field: med(lambda m: (m.get("lstm1024_bound") or {}).get(field))  # noqa: E731
    if b("bound_us"):
        lines.append(f"LSTM(1024) over 200 steps at batch 1 reads {b('bytes_per_step') / 2**20:.2f} MiB of weights per "
                     f"step: {b('bound_us') / 1e3:.1f} ms per sequence at the STREAM copy bandwidth; at the bandwidth of "
                     f"a cache-resident working set that size, {fmt((b('bound_in_cache_copy_us') or 0) / 1e3)} ms (copy) "
                     f"or {fmt((b('bound_in_cache_read_us') or 0) / 1e3)} ms (read). Measured: "
                     f"{fmt(b('measured_p50_us') and b('measured_p50_us') / 1e3)} ms (p50).")
    return lines


def request_path_section(t: str, rounds: dict) -> list[str]:
    """Where a `POST /predict` text request's time goes: peephole-bench's in-process stage timers (medians over
    the repeats) and, from wrk at 1 connection, what lies outside the process's request path."""
    paths = engine_blobs(t, "request_path")
    lines = ["", "## Where a request's time goes", ""]
    if not paths:
        return lines + ["Not measured (peephole-bench printed no \"request_path\")."]

    def allocations(values):
        values = [v for v in values if isinstance(v, (int, float)) and v >= 0]
        return f"{statistics.median(values):.1f}" if values else "—"

    lines += ["`peephole-bench` drives the server's request path in process, without sockets (p50 per stage, "
              "allocations per request; medians over the repeats).", "",
              "| stage | what | p50 µs | allocations |", "|---|---|---|---|"]
    for first in paths[0].get("stages", []):
        rows = [s for p in paths for s in p.get("stages", []) if s.get("stage") == first.get("stage")]
        lines.append(f"| {first.get('stage')} | {first.get('what', '')} | "
                     f"{statistics.median(r['p50_us'] for r in rows):.1f} | {allocations(r.get('allocations') for r in rows)} |")
    health = median_of(paths, lambda p: p.get("in_process_health_us"))
    text = median_of(paths, lambda p: p.get("in_process_predict_text_us"))
    text_allocs = allocations(p.get("in_process_predict_text_allocations") for p in paths)
    health_allocs = allocations(p.get("in_process_health_allocations") for p in paths)
    lines += ["", "The whole request in process, next to what wrk sees at 1 connection (p50, medians over the rounds); the "
                  "difference is what lies outside the request path: NIO, the kernel's loopback, the client.", "",
              "| request | in process µs | allocations | wrk p50, 1 connection, µs | outside: NIO, kernel, client µs |",
              "|---|---|---|---|---|"]
    one_hot = median_of(paths, lambda p: p.get("in_process_predict_one_hot_us"))
    v2 = median_of(paths, lambda p: p.get("in_process_v2_binary_us"))
    for label, inside, allocs, kind in (
            ("`GET /health`", health, health_allocs, "health"),
            ("`POST /predict` text", text, text_allocs, "text"),
            ("`POST /predict` one-hot body", one_hot, allocations(p.get("in_process_predict_one_hot_allocations") for p in paths), "predict"),
            ("V2 binary FP32 infer", v2, allocations(p.get("in_process_v2_binary_allocations") for p in paths), "v2")):
        if inside is None:
            continue
        wrk = round_median(rounds, kind, 1, "p50_ms")
        outside = f"{wrk * 1e3 - inside:.1f}" if wrk is not None and inside is not None else "—"
        lines.append(f"| {label} | {fmt(inside)} | {allocs} | {fmt(wrk and wrk * 1e3)} | {outside} |")
    return lines
