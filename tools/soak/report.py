"""Turns one soak run (tools/soak/run.sh) into bench/soak.md and a summary on stdout. Standard library only.

Exits 1 when a target is missed: an unexpected error (client or server side), resident memory growth of 5% or
more after warm-up, more open file descriptors at the end than after warm-up, /health not 200 at the end, or
a server exit status other than 0 after SIGTERM.
"""

import argparse
import json
import re
import sys

# kind -> (request, expected answer, server (route, method, status))
KINDS = [
    ("predict", "POST /predict (text batch 1 or 4, one-hot inputs)", "200 outputs",
     ("/predict", "POST", "200")),
    ("layers", "POST /layers/lstm/output, gates + sequences + units + states", "200 gates",
     ("/layers/{layer}/output", "POST", "200")),
    ("session_open", "POST /sessions", "201 {session}",
     ("/sessions", "POST", "201")),
    ("session_step", "POST /sessions/{id}/step {\"text\": [\"free \"]}", "200 {session, step}",
     ("/sessions/{session}/step", "POST", "200")),
    ("session_delete", "DELETE /sessions/{id}", "200 {deleted}",
     ("/sessions/{session}", "DELETE", "200")),
    ("v2_infer", "POST /v2/models/chars/infer, binary FP32 one-hot or BYTES text, binary output",
     "200 JSON header + 304 bytes", ("/v2/models/{model}/infer", "POST", "200")),
    ("tfs_predict", "POST /v1/models/chars:predict, instances of text", "200 predictions",
     ("/v1/models/{model}:predict", "POST", "200")),
    ("graph", "POST /models/two_heads/predict, named inputs (batch 1 or 4)", "200 outputs cls, reg",
     ("/models/{model}/predict", "POST", "200")),
    ("insp_unit", "GET /models/chars/layers/lstm/units/{0..63}", "200 unit statistics",
     ("/models/{model}/layers/{layer}/units/{unit}", "GET", "200")),
    ("insp_match", "POST /models/chars/layers/lstm/match, units or a text span", "200 matches",
     ("/models/{model}/layers/{layer}/match", "POST", "200")),
    ("insp_corpus", "GET /models/chars/corpus", "200 texts",
     ("/models/{model}/corpus", "GET", "200")),
    ("bad_json", "POST /models/chars/predict, truncated JSON", "400 malformed JSON",
     ("/models/{model}/predict", "POST", "400")),
    ("bad_width", "POST /models/chars/versions/1/predict, 75 of 76 features", "400 invalid_input",
     ("/models/{model}/versions/{version}/predict", "POST", "400")),
    ("bad_layer", "POST /models/chars/layers/nope/output", "404 unknown_layer",
     ("/models/{model}/layers/{layer}/output", "POST", "404")),
    ("bad_method", "GET /predict", "405 method_not_allowed",
     ("unmatched", "GET", "405")),
    ("bad_ctype", "POST /models/chars/versions/1/layers/lstm/output, text/plain", "415 unsupported_media_type",
     ("/models/{model}/versions/{version}/layers/{layer}/output", "POST", "415")),
    ("bad_v2", "POST /v2/models/chars/versions/1/infer, Inference-Header-Content-Length past the body",
     "400 {\"error\": \"...\"}", ("/v2/models/{model}/versions/{version}/infer", "POST", "400")),
    ("bad_tfs", "POST /v1/models/chars/versions/1:predict, signature_name \"predict\"", "400 {\"error\": \"...\"}",
     ("/v1/models/{model}/versions/{version}:predict", "POST", "400")),
]
# Expected besides the kinds: 429 on session opens, 503 queue_full on inference routes, the script's own reads.
EXPECTED_OTHER = {
    ("/sessions", "POST", "429"): "session_429",
    ("/predict", "POST", "503"): "queue_full",
    ("/layers/{layer}/output", "POST", "503"): "queue_full",
    ("/sessions/{session}/step", "POST", "503"): "queue_full",
    ("/v2/models/{model}/infer", "POST", "503"): "queue_full",
    ("/v1/models/{model}:predict", "POST", "503"): "queue_full",
    ("/models/{model}/predict", "POST", "503"): "queue_full",
    ("/metrics", "GET", "200"): "tooling",
    ("/health", "GET", "200"): "tooling",
}

LINE = re.compile(r'^peephole_http_requests_total\{route="([^"]*)",method="([^"]*)",status="([^"]*)"\}\s+(\S+)')


def read_metrics(path):
    counts = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                counts[(m.group(1), m.group(2), m.group(3))] = int(float(m.group(4)))
    return counts


def fmt(n):
    return f"{n:,}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soak", required=True)
    ap.add_argument("--warmup")
    ap.add_argument("--metrics-start", required=True)
    ap.add_argument("--metrics-end", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    s = dict(kv.split("=", 1) for kv in a.set)

    with open(a.soak) as f:
        soak = json.load(f)
    warm = None
    if a.warmup:
        try:
            with open(a.warmup) as f:
                warm = json.load(f)
        except (OSError, ValueError):
            warm = None

    m0, m1 = read_metrics(a.metrics_start), read_metrics(a.metrics_end)
    server = {k: m1.get(k, 0) - m0.get(k, 0) for k in set(m0) | set(m1)}
    server = {k: v for k, v in server.items() if v}

    samples = []
    with open(a.samples) as f:
        for line in f:
            p = line.split()
            if len(p) == 3 and all(x.isdigit() for x in p):
                samples.append(tuple(int(x) for x in p))

    sent, answered, classes, err = soak["sent"], soak["answered"], soak["classes"], soak["errors"]
    lat = soak["latency_us"]
    seconds = soak["duration_us"] / 1e6

    # ---------------------------------------------------------------- checks
    problems = []
    kind_rows = []
    by_route = {}
    for name, req, expect, key in KINDS:
        by_route[key] = name
        srv = server.get(key, 0)
        ok = answered[name] <= srv <= sent[name]
        if not ok:
            problems.append(f"{name}: sent {sent[name]}, answered as expected {answered[name]}, "
                            f"server counted {srv} with {key[2]}")
        kind_rows.append((name, req, expect, sent[name], answered[name], srv, ok))

    server_unexpected = {k: v for k, v in server.items() if k not in by_route and k not in EXPECTED_OTHER}
    for k, v in sorted(server_unexpected.items()):
        problems.append(f"server answered {v} × {k[2]} on {k[1]} {k[0]}")
    server_503 = sum(v for k, v in server.items() if EXPECTED_OTHER.get(k) == "queue_full")
    server_429 = sum(v for k, v in server.items() if EXPECTED_OTHER.get(k) == "session_429")
    server_5xx_other = sum(v for k, v in server_unexpected.items() if k[2].startswith("5"))

    socket_errors = err["connect"] + err["read"] + err["write"]
    unexpected = classes["unexpected"] + socket_errors + err["timeout"] + sum(server_unexpected.values()) \
        + sum(1 for r in kind_rows if not r[6])
    total_answers = sum(answered.values()) + classes["session_429"] + classes["queue_full"] + classes["unexpected"]
    # Requests the server answered that wrk never read: only those in flight when wrk stopped, at most one per
    # connection. (sent - server is not a loss: wrk calls request() again when the first write of a request would
    # block, so the script counts a request that never went out; a request hung in the server shows as a timeout.)
    conns = int(s["connections"])
    in_flight = sum(max(0, r[5] - r[4]) for r in kind_rows)
    not_sent = sum(max(0, r[3] - r[5]) for r in kind_rows)
    if in_flight > conns:
        problems.append(f"the server answered {in_flight} requests wrk never read: more than the {conns} "
                        f"connections could have in flight at the stop")
        unexpected += 1
    if total_answers != soak["requests"]:
        problems.append(f"wrk counted {soak['requests']} responses, the script {total_answers}")

    rss_start, rss_end = int(s["rss_start"]), int(s["rss_end"])
    growth = (rss_end - rss_start) * 100.0 / rss_start
    fd_start, fd_end = int(s["fd_start"]), int(s["fd_end"])
    exit_ok = s["exit_status"] == "0"
    health_ok = s["health"] == "200"

    wall = int(s["wall_ns"]) / 1e9
    cap = wall * int(s["ticks"]) * int(s["ncpu"])
    server_cpu = int(s["server_j"]) / cap * 100 if cap else 0
    load_cpu = int(s["own_j"]) / cap * 100 if cap else 0
    other_cpu = max(0.0, (int(s["busy_j"]) - int(s["server_j"]) - int(s["own_j"])) / cap * 100) if cap else 0

    targets = [
        ("unexpected errors (5xx other than 503 queue_full, socket errors, timeouts, wrong status for the kind)",
         "0", fmt(unexpected), unexpected == 0),
        ("resident memory (VmRSS) growth, after warm-up → end", "< 5%",
         f"{growth:+.2f}% ({rss_start / 1024:.1f} → {rss_end / 1024:.1f} MiB)", growth < 5.0),
        ("open file descriptors, after warm-up → end", "no growth", f"{fd_start} → {fd_end}", fd_end <= fd_start),
        ("GET /health at the end", "200", s["health"], health_ok),
        ("server exit status after SIGTERM", "0", s["exit_status"], exit_ok),
    ]
    passed = all(t[3] for t in targets)

    # ---------------------------------------------------------------- the report
    L = []
    w = L.append
    w("# Peephole soak")
    w("")
    w("Written by `make soak` (`tools/soak/run.sh`: wrk + `tools/soak/soak.lua`, report by `tools/soak/report.py`). "
      "One server, mixed traffic; raw outputs in `bench/tmp/soak/`.")
    w("")
    w("## Machine and run")
    w("")
    w(f"- date: {s['date']}; commit: {s['commit']}")
    w(f"- CPU: {s['cpu']}; cores (nproc): {s['ncpu']}; memory: {s['mem']}; kernel {s['kernel']}; {s['wrk']}")
    w(f"- duration: {s['duration']} s measured (wrk: {seconds:.1f} s) after a {s['warmup']} s warm-up with the same mix; "
      f"{s['connections']} connections, {s['threads']} wrk threads, wrk timeout {s['timeout']}")
    w(f"- server: `peephole serve --config {s['config']} --default-model chars` on a temp copy of `{s['store']}` "
      f"with the graph fixture `two_heads` imported beside `chars`, 127.0.0.1, free port")
    w(f"- sessions: each opened, stepped {s['steps']} times, deleted; at most {s['sessions_per_thread']} open per "
      f"wrk thread (server `max_sessions` 256)")
    w(f"- CPU during the run (share of all {s['ncpu']} cores): server {server_cpu:.0f}%, wrk and this script "
      f"{load_cpu:.0f}%, other processes {other_cpu:.0f}%"
      + (" — the machine was shared, latency and throughput are skewed" if other_cpu > 10 else ""))
    w("")
    w("## Targets (issues 6 and 16, Soak)")
    w("")
    w("| check | target | measured | result |")
    w("|---|---|---|---|")
    for name, target, measured, ok in targets:
        w(f"| {name} | {target} | **{measured}** | {'PASS' if ok else 'MISS'} |")
    w("")
    w("## Requests by kind")
    w("")
    w("Client: what wrk sent and how many answers matched that kind's expected answer (status and body). "
      "Server: the same kind's (route, method, status) count in the server's own `/metrics`, diffed over the run "
      "(every kind has its own route pattern or status). Consistent means client-answered ≤ server ≤ sent: requests "
      "still in flight when wrk stopped are sent but never answered.")
    w("")
    w("| kind | request | expected | sent | answered as expected | server count | consistent |")
    w("|---|---|---|---|---|---|---|")
    for name, req, expect, n_sent, n_ans, srv, ok in kind_rows:
        w(f"| {name} | {req} | {expect} | {fmt(n_sent)} | {fmt(n_ans)} | {fmt(srv)} | {'yes' if ok else 'NO'} |")
    w(f"| **total** | | | {fmt(sum(sent.values()))} | {fmt(sum(answered.values()))} | "
      f"{fmt(sum(server.get(k[3], 0) for k in KINDS))} | |")
    w("")
    w(f"Throughput: {fmt(soak['requests'])} responses in {seconds:.1f} s = **{soak['requests'] / seconds:,.0f} req/s**; "
      f"{fmt(in_flight)} requests were in flight when wrk stopped (answered by the server, never read by wrk); "
      f"{fmt(not_sent)} generated request(s) never reached the server (wrk generates a new request when the first "
      f"write of one would block). "
      f"{fmt(classes['fallback'])} session slots fell back to a predict (all of a thread's sessions busy).")
    w("")
    w("## Statuses by class")
    w("")
    good_2xx = sum(answered[name] for name, _, expect, _ in KINDS if expect.startswith("2"))
    good_4xx = sum(answered[name] for name, _, expect, _ in KINDS if expect.startswith("4"))
    srv_2xx = sum(v for k, v in server.items() if k[2].startswith("2") and EXPECTED_OTHER.get(k) != "tooling")
    srv_4xx = sum(v for k, v in server.items() if k[2].startswith("4") and k[2] != "429")
    w("| class | client (wrk) | server (/metrics) |")
    w("|---|---|---|")
    w(f"| 2xx, as expected | {fmt(good_2xx)} | {fmt(srv_2xx)} |")
    w(f"| 4xx from the bad requests, as expected | {fmt(good_4xx)} | {fmt(srv_4xx)} |")
    w(f"| 429 too_many_sessions on open (expected class) | {fmt(classes['session_429'])} | {fmt(server_429)} |")
    w(f"| 503 queue_full (expected backpressure) | {fmt(classes['queue_full'])} | {fmt(server_503)} |")
    w(f"| other 5xx | — | {fmt(server_5xx_other)} |")
    w(f"| answers that match no expected answer | {fmt(classes['unexpected'])} | "
      f"{fmt(sum(server_unexpected.values()))} (status/route not expected) |")
    w(f"| socket errors (connect / read / write) | {err['connect']} / {err['read']} / {err['write']} | — |")
    w(f"| timeouts (> {s['timeout']}) | {err['timeout']} | — |")
    w("")
    if problems or soak.get("examples"):
        w("Problems:")
        w("")
        for p in problems:
            w(f"- {p}")
        for e in soak.get("examples", []):
            w(f"- unexpected answer: `{e}`")
        w("")
    w("## Latency (all kinds together, wrk)")
    w("")
    w("| p50 ms | p90 ms | p99 ms | p99.9 ms | mean ms | max ms |")
    w("|---|---|---|---|---|---|")
    w(f"| {lat['p50'] / 1000:.2f} | {lat['p90'] / 1000:.2f} | {lat['p99'] / 1000:.2f} | {lat['p999'] / 1000:.2f} | "
      f"{lat['mean'] / 1000:.2f} | {lat['max'] / 1000:.2f} |")
    w("")
    w("## Memory and file descriptors")
    w("")
    w("Readings with no load on the server: when it was ready, after the warm-up (the baseline: once wrk's "
      "connections closed and its leftover sessions were deleted) and at the end (the same way).")
    w("")
    w("| reading | ready | after warm-up (start) | end | change |")
    w("|---|---|---|---|---|")
    w(f"| VmRSS (MiB) | {int(s['rss_ready']) / 1024:.1f} | {rss_start / 1024:.1f} | {rss_end / 1024:.1f} | "
      f"{growth:+.2f}% |")
    w(f"| open fds (`/proc/PID/fd`) | {s['fd_ready']} | {fd_start} | {fd_end} | {fd_end - fd_start:+d} |")
    w("")
    if samples:
        rss = [r for _, r, _ in samples]
        fds = [f for _, _, f in samples]
        w(f"During the run (every {samples[1][0] - samples[0][0] if len(samples) > 1 else '?'} s, under load): VmRSS "
          f"{min(rss) / 1024:.1f}–{max(rss) / 1024:.1f} MiB, fds {min(fds)}–{max(fds)} "
          f"(the {s['connections']} connections + the server's own).")
        w("")
        step = max(1, len(samples) // 20)
        w("VmRSS MiB over time: " + ", ".join(f"{t} s {r / 1024:.1f}" for t, r, _ in samples[::step]))
        w("")
    w(f"Sessions: {fmt(answered['session_open'])} opened and {fmt(answered['session_delete'])} deleted by the mix; "
      f"{s['warm_closed']} (warm-up) and {s['soak_closed']} (soak) left open when wrk stopped were deleted by "
      f"run.sh before the readings; {soak['opens_in_flight']} opens were in flight at the stop (their ids never "
      f"reached the client; such sessions expire after `session_idle_seconds`).")
    if warm:
        w("")
        w(f"Warm-up: {fmt(warm['requests'])} responses, p50 {warm['latency_us']['p50'] / 1000:.2f} ms, "
          f"p99 {warm['latency_us']['p99'] / 1000:.2f} ms, unexpected {warm['classes']['unexpected']}, "
          f"socket errors {warm['errors']['connect'] + warm['errors']['read'] + warm['errors']['write']}, "
          f"timeouts {warm['errors']['timeout']}.")
    w("")
    w(f"Result: **{'PASS' if passed else 'MISS'}**.")
    text = "\n".join(L) + "\n"
    with open(a.out, "w") as f:
        f.write(text)

    # ---------------------------------------------------------------- stdout summary
    print(f"\nsoak summary ({s['duration']} s, {s['connections']} connections; written to {a.out})")
    print(f"  {'kind':<16}{'sent':>10}{'answered':>10}{'server':>10}")
    for name, _, _, n_sent, n_ans, srv, ok in kind_rows:
        print(f"  {name:<16}{n_sent:>10}{n_ans:>10}{srv:>10}{'' if ok else '  INCONSISTENT'}")
    print(f"  responses {soak['requests']} ({soak['requests'] / seconds:,.0f} req/s); in flight at stop {in_flight}; "
          f"generated but not sent {not_sent}")
    print(f"  classes: 2xx {good_2xx}, expected 4xx {good_4xx}, 429 sessions {classes['session_429']}, "
          f"503 queue_full {classes['queue_full']}, unexpected answers {classes['unexpected']}, "
          f"socket errors {socket_errors}, timeouts {err['timeout']}, server other 5xx {server_5xx_other}")
    print(f"  latency p50 {lat['p50'] / 1000:.2f} ms, p99 {lat['p99'] / 1000:.2f} ms, max {lat['max'] / 1000:.2f} ms")
    print(f"  VmRSS {rss_start} kB -> {rss_end} kB ({growth:+.2f}%); fds {fd_start} -> {fd_end}; "
          f"/health {s['health']}; exit {s['exit_status']}; other processes' CPU {other_cpu:.0f}%")
    for name, target, measured, ok in targets:
        print(f"  {'PASS' if ok else 'MISS'}  {name}: {measured} (target {target})")
    for p in problems:
        print(f"  problem: {p}")
    for e in soak.get("examples", []):
        print(f"  unexpected answer: {e}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
