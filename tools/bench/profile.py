#!/usr/bin/env python3
"""Where one request's server time goes under load, by stage, in microseconds per request.

Starts `peephole serve` (release build) on a free 127.0.0.1 port, and for each request kind (GET /health, /predict
with a 40-character text, /predict with the 15 KB one-hot body, a V2 infer with binary FP32 tensors) drives it with
wrk at 64 connections while `perf record -e cpu-clock -g` samples the server. (The default hardware `cycles` event
records nothing on these virtual machines; the software clock does.) The requests answered while perf recorded come
from the server's own counter (`peephole_http_requests_total`), so each stage's figure is
    samples in the stage × sampling period ÷ requests.
A sample belongs to the first stage that one of its frames, leaf first, names (STAGES below). Async Swift frames
end at the job that runs them, so a sample is attributed by the functions that really ran, not by who awaited them.

    python3 tools/bench/profile.py [--seconds 5] [--frequency 4000] [--out bench/profile.md]

Writes the table as Markdown to --out and prints it. Standard library only; needs `perf` (Debian: linux-perf),
`wrk` and a release build (`make release`).
"""
import argparse
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_bench  # noqa: E402  (the benchmark's own request bodies)

# Stage, and the frame names (regular expressions) that put a sample in it; the first stage whose pattern one of
# the sample's frames matches, frames taken leaf first, wins.
STAGES = [
    ("compute (forward pass)", r"PeepholeCore.*(Network|ForwardPass|LSTMLayer|GRULayer|DenseLayer|PackedMatrix|Kernels|"
                               r"InputProjection|Operation)|^pk_|512|256|^block|^cell|^chunk|^panel_rows|^pair_or_panel"),
    ("batching (queue, stacking, splitting)", r"InferenceBatcher|BatchQueue|LoopRequests|Tensor.*stacking|Tensor.*split"),
    ("admission", r"ModelAdmission"),
    ("metrics", r"ServerMetrics|MetricsMiddleware|Prometheus|CoreMetrics"),
    ("decoding (body to tensors)", r"BodyDecoder|JSONParser|NumericArrayReader|JSONValue|JSONFields|TensorReading|"
                                   r"InputBody|PredictRequest|V2InferRequest|V2Binary|V2JSONData|ProtocolBodyCoding.*read|"
                                   r"LoadedModel.*encode.*texts|RequestLimits|collectBody|RequestBody"),
    ("encoding (outputs to body)", r"JSONWriter|JSONWritable|PredictResponse|ResponseEncoder|V2InferResponse|"
                                   r"Response.*json|ProtocolBodyCoding.*response|Float32ToASCII|Sf11description"),
    ("Peephole routes and API", r"PeepholeServer|PeepholeProtocols"),
    ("HTTP/1 parsing and writing (NIO)", r"NIOHTTP1|llhttp|HTTPDecoder|HTTPResponseEncoder|HTTP1ToHTTPServerCodec|"
                                         r"NIOHTTPTypes"),
    # The system calls, by their kernel frames (NIO's own read and write wrappers are merged into one symbol).
    ("socket writes (kernel)", r"do_writev|__x64_sys_writev|__GI___writev"),
    ("socket reads (kernel)", r"ksys_read|__x64_sys_read|tcp_recvmsg|__libc_read"),
    ("waiting and waking (epoll)", r"epoll_wait|_blockingWaitForWork|whenReady"),
    ("Hummingbird (router, request and response plumbing)", r"Hummingbird"),
    # Jobs queued and run: every executor switch of a task goes through the loop's task queue (see the README).
    ("task scheduling (Swift Concurrency jobs on the event loops)",
     r"swift_task_switch|flagAsAndEnqueueOnExecutor|swift_task_enqueue|runJobInEstablishedExecutorContext|"
     r"UnderlyingTask|_schedule0|_popTasksLocked|runOneLoopTick|ErasedUnownedJob|LoopTask|anySEL|ExecutorJob|"
     r"ConcurrencyGlobalExecutor|swift_job_run"),
    ("NIO channel pipeline and async channel", r"NIOCore|NIOPosix|NIOAsync"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in STAGES]
OTHER = "other (allocator, reference counting, runtime)"


def stage_of(frames: list[str]) -> str:
    for frame in frames:
        for name, pattern in COMPILED:
            if pattern.search(frame):
                return name
    return OTHER


def samples(perf_data: str) -> list[list[str]]:
    """Each sample's symbols, leaf first."""
    text = subprocess.run(["perf", "script", "-i", perf_data, "-F", "ip,sym"], capture_output=True, text=True).stdout
    out, current = [], []
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
                current = []
            continue
        parts = line.split(None, 1)
        current.append(parts[1] if len(parts) > 1 else parts[0])
    if current:
        out.append(current)
    return out


def requests_answered(base: str) -> int:
    body = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    return sum(int(float(m.group(1))) for m in re.finditer(r'^peephole_http_requests_total\{.*\} (\S+)$', body, re.M))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def profile(kind: str, base: str, path: str, body: str | None, pid: int, seconds: float, frequency: int,
            tmp: str) -> tuple[dict[str, float], float, float]:
    """Stage → µs per request, the request rate, and the server's CPU µs per request (from /proc)."""
    env = dict(os.environ, WRK_BODY=body or "", WRK_HEADERS=(body + ".headers") if body and os.path.exists(body + ".headers") else "")
    if body is None:
        env["WRK_METHOD"] = "GET"
    load = subprocess.Popen(["wrk", "-t", "2", "-c", "64", "-d", f"{int(seconds + 4)}s", "-s",
                             os.path.join(HERE, "wrk_post.lua"), base + path], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    data = os.path.join(tmp, f"perf_{kind}.data")

    def cpu_ticks() -> int:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])

    before, ticks = requests_answered(base), cpu_ticks()
    started = time.monotonic()
    subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(frequency), "-g", "-p", str(pid), "-o", data,
                    "--", "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.monotonic() - started
    answered, ticks = requests_answered(base) - before - 1, cpu_ticks() - ticks
    load.wait()
    per_sample_us = 1e6 / frequency
    counts = collections.Counter(stage_of(frames) for frames in samples(data))
    stages = {name: counts.get(name, 0) * per_sample_us / answered for name, _ in STAGES + [(OTHER, "")]}
    cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / answered
    return stages, answered / elapsed, cpu_us


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=".build/release/peephole")
    p.add_argument("--store", default="models/peephole.sqlite")
    p.add_argument("--model", default="chars")
    p.add_argument("--config", default="config/peephole.json")
    p.add_argument("--seconds", type=float, default=5.0, help="seconds perf records per request kind")
    p.add_argument("--frequency", type=int, default=4000, help="samples per second per CPU")
    p.add_argument("--out", default="bench/profile.md")
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="peephole-profile-")
    sequence = http_bench.one_hot_sequence(args.store, args.model)
    bodies = {"text": os.path.join(tmp, "text.json"), "one-hot": os.path.join(tmp, "one_hot.json"),
              "v2": os.path.join(tmp, "v2.bin")}
    with open(bodies["text"], "wb") as fh:
        fh.write(http_bench.text_body(args.store, args.model))
    with open(bodies["one-hot"], "wb") as fh:
        fh.write(http_bench.predict_body(sequence))
    v2, headers = http_bench.v2_binary_body(sequence)
    with open(bodies["v2"], "wb") as fh:
        fh.write(v2)
    with open(bodies["v2"] + ".headers", "w") as fh:
        fh.write("".join(f"{k}: {v}\n" for k, v in headers.items()))
    kinds = [("GET /health", "/health", None), ("/predict text", "/predict", bodies["text"]),
             ("/predict one-hot 15 KB", "/predict", bodies["one-hot"]),
             ("V2 binary infer", f"/v2/models/{args.model}/infer", bodies["v2"])]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([args.binary, "serve", "--config", args.config, "--store", args.store,
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        results = []
        for kind, path, body in kinds:
            stages, rate, cpu = profile(kind.split()[-1].replace("/", ""), base, path, body, server.pid,
                                        args.seconds, args.frequency, tmp)
            results.append((kind, stages, rate, cpu))
            print(f"{kind}: {rate:.0f} req/s while recording, server CPU {cpu:.1f} µs/request", file=sys.stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    names = [name for name, _ in STAGES] + [OTHER]
    lines = [f"Server time per request under load (µs): `perf record -e cpu-clock -F {args.frequency} -g` for "
             f"{args.seconds:g} s per kind at 64 connections (wrk, 2 threads, same machine), "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, `python3 tools/bench/profile.py`.", "",
             "| stage | " + " | ".join(kind for kind, *_ in results) + " |",
             "|---|" + "---:|" * len(results)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{stages[name]:.1f}" for _, stages, *_ in results) + " |")
    lines.append("| **all sampled** | " + " | ".join(f"**{sum(stages.values()):.1f}**" for _, stages, *_ in results) + " |")
    lines.append("| server CPU from /proc | " + " | ".join(f"{cpu:.1f}" for *_, cpu in results) + " |")
    lines.append("| req/s while recording | " + " | ".join(f"{rate:.0f}" for _, _, rate, _ in results) + " |")
    table = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
