#!/usr/bin/env python3
"""In-process engine benchmark of the peers, in the same JSON format as `peephole-bench`.

    python ort_engine.py --store models/peephole.sqlite --model chars --seconds 3 --threads 1,2
    python ort_engine.py --engine numpy --threads 1 --shapes ''     # the numpy reference row(s)
    python ort_engine.py --parallel --threads 2    # 2 sessions × 1 intra-op thread, called concurrently

Prints ONE JSON object to stdout:
    {"engine": "onnxruntime", "version": "1.32.0",
     "results": [{"name", "hidden", "steps", "features", "outputs", "threads", "batch",
                  "latency_us": {"p50", "p90", "p99"}, "throughput_seq_per_s", "gflops", "runs"}, ...]}

For every shape (the stored model, then random-weight models of --shapes), thread count and batch size it times
single calls for about --seconds (after a short warm-up; at least --min-runs calls): latency_us is the
distribution of one call's wall time (for batch 1 that is the per-sequence latency), throughput is
batch × calls / total time, gflops = throughput × flops_per_sequence (see export_onnx.flops_per_sequence).
Inputs are random one-hot sequences. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engine", choices=["onnxruntime", "numpy"], default="onnxruntime")
    p.add_argument("--store", default="models/peephole.sqlite")
    p.add_argument("--model", default="chars")
    p.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    p.add_argument("--min-runs", type=int, default=3, help="at least this many timed calls per measurement")
    p.add_argument("--threads", default="1,2", help="comma-separated intra-op thread counts (default 1,2)")
    p.add_argument("--batches", default="1,8,64", help="comma-separated batch sizes (default 1,8,64)")
    p.add_argument("--shapes", default="256x200,1024x200",
                   help="random-weight shapes HIDDENxSTEPS, comma-separated; '' for the stored model only")
    p.add_argument("--features", type=int, default=76, help="features (one-hot width) of the random shapes")
    p.add_argument("--outputs", type=int, default=76, help="Dense outputs of the random shapes")
    p.add_argument("--no-store", action="store_true", help="skip the stored model")
    p.add_argument("--parallel", action="store_true",
                   help="ONNX Runtime: for --threads N run N sessions of 1 intra-op thread concurrently (one Python "
                        "thread each; throughput is their sum) instead of one session with N intra-op threads")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    threads_list = [int(t) for t in args.threads.split(",") if t.strip()]
    if args.engine == "numpy":
        # numpy's matmul runs on its bundled OpenBLAS: pin it before numpy is imported.
        want = str(threads_list[0] if threads_list else 1)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = want
        threads_list = [int(want)]

    import numpy as np

    sys.path.insert(0, HERE)
    import export_onnx as ex

    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    models = []
    if not args.no_store:
        w = ex.load_store_model(args.store, args.model)
        w.name = f"{w.name} h{w.hidden} T{w.steps} V{w.features}"
        models.append(w)
    for k, spec in enumerate(s for s in args.shapes.split(",") if s.strip()):
        hidden, steps = (int(v) for v in spec.lower().split("x"))
        models.append(ex.random_model(hidden, steps, args.features, args.outputs, seed=100 + k))

    out = {"engine": args.engine, "results": []}
    if args.parallel:
        if args.engine != "onnxruntime":
            raise SystemExit("--parallel is for --engine onnxruntime")
        out["mode"] = "parallel sessions, 1 intra-op thread each"
    if args.engine == "onnxruntime":
        import onnxruntime as ort
        out["version"] = ort.__version__
    else:
        out["version"] = np.__version__
        try:
            from threadpoolctl import threadpool_info
            out["blas"] = [{k: v for k, v in info.items() if k in ("internal_api", "version", "architecture",
                                                                     "num_threads", "threading_layer")}
                           for info in threadpool_info()]
        except ImportError:
            pass
        out["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}

    def measure(forwards, x):
        """Time calls of each forward (one Python thread per forward when several: ONNX Runtime releases the GIL)
        for about --seconds; returns the per-call times in ns and the wall time in s."""
        for forward in forwards:  # warm-up: a few calls, at most ~10% of the budget
            warm_start = time.perf_counter()
            for _ in range(20):
                forward(x)
                if time.perf_counter() - warm_start > 0.1 * args.seconds:
                    break
        per_thread = [[] for _ in forwards]
        barrier = threading.Barrier(len(forwards) + 1)
        budget = int(args.seconds * 1e9)
        min_runs = max(1, -(-args.min_runs // len(forwards)))

        def loop(forward, samples):
            barrier.wait()
            now = time.perf_counter_ns()
            deadline = now + budget
            while now < deadline or len(samples) < min_runs:
                forward(x)
                after = time.perf_counter_ns()
                samples.append(after - now)
                now = after

        if len(forwards) == 1:
            barrier = threading.Barrier(1)
            start = time.perf_counter_ns()
            loop(forwards[0], per_thread[0])
        else:
            workers = [threading.Thread(target=loop, args=(f, samples)) for f, samples in zip(forwards, per_thread)]
            for worker in workers:
                worker.start()
            barrier.wait()
            start = time.perf_counter_ns()
            for worker in workers:
                worker.join()
        elapsed = (time.perf_counter_ns() - start) / 1e9
        return [t for samples in per_thread for t in samples], elapsed

    for w in models:
        flops = ex.flops_per_sequence(w.hidden, w.steps, w.features, w.outputs)
        for threads in threads_list:
            if args.engine == "onnxruntime":
                # --parallel: `threads` sessions of 1 intra-op thread each, called concurrently; otherwise one
                # session with `threads` intra-op threads.
                sessions = ([ex.ort_session(w, 1) for _ in range(threads)] if args.parallel
                            else [ex.ort_session(w, threads)])
                forwards = [lambda x, s=s: s.run(["outputs"], {"inputs": x}) for s in sessions]
            else:
                forwards = [lambda x, w=w: ex.numpy_forward(w, x)]

            for batch in batches:
                x = ex.one_hot_batch(batch, w.steps, w.features, seed=batch)
                if args.engine == "numpy" and batch == batches[0]:
                    # numpy may run under a different OpenBLAS kernel than the parity check: check it again.
                    try:
                        reference = ex.ort_session(w, 1).run(["outputs"], {"inputs": x})[0]
                        out.setdefault("max_abs_diff_vs_onnxruntime", {})[w.name] = float(
                            np.max(np.abs(forwards[0](x) - reference)))
                    except ImportError:
                        pass
                samples, elapsed = measure(forwards, x)
                lat = np.asarray(samples, dtype=np.float64) / 1e3
                throughput = batch * len(samples) / elapsed
                row = {
                    "name": w.name, "hidden": w.hidden, "steps": w.steps, "features": w.features,
                    "outputs": w.outputs, "threads": threads, "batch": batch,
                    "latency_us": {"p50": round(float(np.percentile(lat, 50)), 2),
                                   "p90": round(float(np.percentile(lat, 90)), 2),
                                   "p99": round(float(np.percentile(lat, 99)), 2)},
                    "throughput_seq_per_s": round(throughput, 2),
                    "gflops": round(throughput * flops / 1e9, 3),
                    "runs": len(samples),
                }
                if args.parallel:
                    row["sessions"] = threads
                out["results"].append(row)
                print(f"{out['engine']}: {w.name} threads {threads} batch {batch}: p50 {row['latency_us']['p50']} "
                      f"µs, {row['throughput_seq_per_s']:.0f} seq/s, {row['gflops']:.2f} GFLOP/s "
                      f"({len(samples)} runs)", file=sys.stderr)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
