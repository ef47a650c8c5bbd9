#!/usr/bin/env python3
"""`make cluster-test`: three `peephole serve` replicas behind HAProxy, on loopback only.

The replicas serve one store from a read-only bind mount (a WAL-mode copy of the demo store, so
the immutable open is exercised), HAProxy runs deploy/haproxy/haproxy.cfg as committed, and a
client keeps CLUSTER_CONNECTIONS connections busy with POST /predict for CLUSTER_SECONDS. Mid-run
one replica is killed with SIGKILL and started again, later another gets SIGTERM (and drains)
and is started again. A session opened before the kill on the killed replica is recovered
through HAProxy on another one with the states its client kept. Reports the figures and writes
bench/cluster.md. Every wait is bounded.
"""
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
BINARY = REPO / ".build/release/peephole"
SECONDS = float(os.environ.get("CLUSTER_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("CLUSTER_CONNECTIONS", "16"))
DRAIN_SECONDS = 3
PREDICT = json.dumps({"text": ["This program is free software; you can"]}).encode()
CHUNKS = ["This program is free ", "software; you can redistribute it"]


def log(message):
    print(f"cluster-test: {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, timeout=10):
    """(status, headers, body) of one request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


class Replica:
    """One `peephole serve`, in its own mount namespace with the store mounted read-only."""

    def __init__(self, name, port, store_dir, work):
        self.name, self.port, self.store_dir, self.work = name, port, store_dir, work
        self.process, self.peak_rss = None, 0

    def start(self):
        mount = self.work / f"mnt-{self.name}"
        mount.mkdir(exist_ok=True)
        environment = dict(os.environ, PEEPHOLE_HOST="127.0.0.1", PEEPHOLE_PORT=str(self.port),
                           PEEPHOLE_DRAIN_SECONDS=str(DRAIN_SECONDS), PEEPHOLE_LOG_LEVEL="info")
        serve = f'exec {BINARY} serve --model-dir "$1"'
        if os.geteuid() == 0:
            command = ["unshare", "--mount", "sh", "-c",
                       f'mount --bind "$0" "$1" && mount -o remount,bind,ro "$1" && {serve}', str(self.store_dir), str(mount)]
        else:
            command = ["sh", "-c", serve, "-", str(self.store_dir)]
        log_file = open(self.work / f"{self.name}.log", "ab")
        self.process = subprocess.Popen(command, env=environment, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/v2/health/ready", timeout=1)[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def sample_rss(self):
        try:
            for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        except OSError:
            pass

    def stop(self, sig=signal.SIGKILL, timeout=15):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode if self.process else None


class HAProxy:
    def __init__(self, replicas, work):
        self.port, self.stats = free_port(), free_port()
        environment = dict(os.environ, PEEPHOLE_LISTEN=f"127.0.0.1:{self.port}", PEEPHOLE_STATS=f"127.0.0.1:{self.stats}",
                           **{f"PEEPHOLE_REPLICA_{i + 1}": f"127.0.0.1:{r.port}" for i, r in enumerate(replicas)})
        self.process = subprocess.Popen(["haproxy", "-db", "-f", str(REPO / "deploy/haproxy/haproxy.cfg")], env=environment,
                                        stdout=open(work / "haproxy.log", "ab"), stderr=subprocess.STDOUT)

    def rows(self):
        """The stats CSV, one dict a proxy or server."""
        _, _, body = request(self.stats, "GET", "/stats;csv", timeout=2)
        rows = body.decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        return [dict(zip(header, row.split(","))) for row in rows[1:]]

    def servers(self):
        """{(backend, server): status}."""
        return {(r["pxname"], r["svname"]): r["status"] for r in self.rows() if r.get("svname") not in ("FRONTEND", "BACKEND", None)}

    def retries(self, backend):
        """(retries, redispatches) HAProxy made for `backend`."""
        row = next(r for r in self.rows() if r["pxname"] == backend and r["svname"] == "BACKEND")
        return int(row["wretr"] or 0), int(row["wredis"] or 0)

    def wait(self, server, status, timeout=30):
        """Seconds until `server` has `status` in every backend, or None."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                states = [s for (backend, name), s in self.servers().items() if name == server]
                if states and all(s == status for s in states):
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.02)
        return None


class Load:
    """CONNECTIONS threads, each POSTing /predict on a keep-alive connection through HAProxy."""

    def __init__(self, port):
        self.port, self.results, self.lock, self.stop = port, [], threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(CONNECTIONS)]

    def worker(self):
        connection, mine = None, []
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                connection.request("POST", "/predict", body=PREDICT, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                body = response.read()
                ok = response.status == 200 and body.startswith(b'{"model":"chars"')
                mine.append((start, time.monotonic() - start, response.status if ok else f"{response.status} {body[:120]!r}"))
            except (OSError, http.client.HTTPException) as error:
                mine.append((start, time.monotonic() - start, f"error {type(error).__name__}: {error}"))
                connection = None
        with self.lock:
            self.results.extend(mine)

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(15)
        return sorted(self.results)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def open_session(port):
    status, headers, body = request(port, "POST", "/sessions")
    assert status == 201, (status, body)
    return json.loads(body)["session"], headers.get("X-Peephole-Replica")


def step(port, session, text):
    return request(port, "POST", f"/sessions/{session}/step", json.dumps({"text": [text]}).encode())


def main():
    if not BINARY.exists():
        sys.exit(f"cluster-test: {BINARY} is missing; run `make release-static`")
    if shutil.which("haproxy") is None:
        sys.exit("cluster-test: needs haproxy (apt-get install haproxy)")
    work = pathlib.Path(tempfile.mkdtemp(prefix="peephole-cluster-"))
    store_dir = work / "store"
    store_dir.mkdir()
    shutil.copy2(REPO / "models/peephole.sqlite", store_dir / "peephole.sqlite")
    connection = sqlite3.connect(store_dir / "peephole.sqlite")
    assert connection.execute("PRAGMA journal_mode=wal").fetchone()[0] == "wal"
    connection.close()
    replicas = [Replica(f"r{i + 1}", free_port(), store_dir, work) for i in range(3)]
    proxy = None
    try:
        for replica in replicas:
            replica.start()
        if not all(r.wait_ready() for r in replicas):
            sys.exit("cluster-test: a replica never became ready; logs in " + str(work))
        proxy = HAProxy(replicas, work)
        if any(proxy.wait(r.name, "UP") is None for r in replicas):
            sys.exit("cluster-test: HAProxy never saw every replica UP; logs in " + str(work))
        read_only = "read-only bind mount" if os.geteuid() == 0 else "store directory (not root: no read-only mount)"
        log(f"3 replicas ready on 127.0.0.1:{','.join(str(r.port) for r in replicas)} from one WAL-mode store "
            f"({read_only}); HAProxy on 127.0.0.1:{proxy.port}")

        # Sessions: the answer to CHUNKS[1] after CHUNKS[0], in one session that nothing disturbs.
        reference, _ = open_session(proxy.port)
        step(proxy.port, reference, CHUNKS[0])
        expected = json.loads(step(proxy.port, reference, CHUNKS[1])[2])["outputs"]
        # The session the kill will take: opened, stepped once, its states kept by the client.
        session, home = open_session(proxy.port)
        status, headers, _ = step(proxy.port, session, CHUNKS[0])
        assert status == 200 and headers.get("X-Peephole-Replica") == home, (status, headers, home)
        kept = json.loads(request(proxy.port, "GET", f"/sessions/{session}")[2])["states"]

        victim = next(r for r in replicas if r.name == home)
        drained = next(r for r in replicas if r is not victim)
        load = Load(proxy.port)
        begin = time.monotonic()
        load.start()
        events, sample_until = {}, begin + SECONDS
        while time.monotonic() - begin < SECONDS * 0.2:
            for r in replicas:
                r.sample_rss()
            time.sleep(0.1)

        # SIGKILL the session's replica mid-run; start it again 2 s later, as an orchestrator would.
        events["kill"] = time.monotonic()
        victim.stop(signal.SIGKILL)
        events["down"] = events["kill"] + (proxy.wait(victim.name, "DOWN", timeout=10) or float("nan"))

        # The session is gone with its replica: through HAProxy its id now reaches another
        # replica (404), and the client moves its kept states into a new session.
        lost_status, lost_headers, lost_body = step(proxy.port, session, CHUNKS[1])
        recovered, where = open_session(proxy.port)
        put_status = request(proxy.port, "PUT", f"/sessions/{recovered}/state", json.dumps(kept).encode())[0]
        status, _, body = step(proxy.port, recovered, CHUNKS[1])
        recovered_outputs = json.loads(body)["outputs"] if status == 200 else None

        time.sleep(max(0, events["kill"] + 2 - time.monotonic()))
        events["restart"] = time.monotonic()
        victim.start()
        back = proxy.wait(victim.name, "UP", timeout=30)
        events["back"] = events["restart"] + back if back is not None else float("nan")

        while time.monotonic() - begin < SECONDS * 0.6:
            for r in replicas:
                r.sample_rss()
            time.sleep(0.1)

        # SIGTERM another replica: readiness fails at once, HAProxy takes it out, it drains, exits 0.
        events["term"] = time.monotonic()
        drained.process.send_signal(signal.SIGTERM)
        out_after = proxy.wait(drained.name, "DOWN", timeout=DRAIN_SECONDS + 5)
        try:
            drained.process.wait(DRAIN_SECONDS + 20)
        except subprocess.TimeoutExpired:
            pass
        events["exited"] = time.monotonic()
        term_code = drained.process.poll()
        drained.start()
        drained_back = proxy.wait(drained.name, "UP", timeout=30)

        while time.monotonic() < sample_until:
            for r in replicas:
                r.sample_rss()
            time.sleep(0.1)
        results = load.finish()
        elapsed = time.monotonic() - begin
        retried, redispatched = proxy.retries("inference")
    finally:
        for replica in replicas:
            replica.stop(signal.SIGKILL)
        if proxy:
            proxy.process.kill()
            proxy.process.wait(5)

    ok = [r for r in results if r[2] == 200]
    failed = [r for r in results if r[2] != 200]
    latencies = [r[1] * 1000 for r in ok]
    during_kill = [r[1] * 1000 for r in results if events["kill"] <= r[0] <= events["back"]]
    during_term = [r[1] * 1000 for r in results if events["term"] <= r[0] <= events["exited"]]
    kinds = {}
    for r in failed:
        kinds[str(r[2])[:80]] = kinds.get(str(r[2])[:80], 0) + 1
    rss = ", ".join(f"{r.name} {r.peak_rss / 2**20:.1f} MiB" for r in replicas)
    session_ok = (lost_status == 404 and b"unknown_session" in lost_body and put_status == 200
                  and recovered_outputs == expected)
    lines = [
        f"- load: {len(results):,} POST /predict through HAProxy in {elapsed:.1f} s ({len(results) / elapsed:,.0f} req/s), "
        f"{CONNECTIONS} connections",
        f"- answered 200: {len(ok):,}; failed: {len(failed)}" + (f" ({kinds})" if kinds else "")
        + f"; HAProxy counted {retried} connection retries and {redispatched:,} redispatches (requests moved off the server first picked)",
        f"- latency: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms",
        f"- SIGKILL of {victim.name} at {events['kill'] - begin:.1f} s: HAProxy marked it DOWN after "
        f"{(events['down'] - events['kill']) * 1000:.0f} ms; restarted 2 s after the kill, back in rotation "
        f"{events['back'] - events['restart']:.2f} s after its restart; {len(during_kill):,} requests meanwhile, "
        f"p99 {percentile(during_kill, 99):.1f} ms, max {max(during_kill, default=float('nan')):.1f} ms",
        f"- SIGTERM of {drained.name} at {events['term'] - begin:.1f} s: out of rotation after "
        f"{(out_after if out_after is not None else float('nan')) * 1000:.0f} ms, exit {term_code} after "
        f"{events['exited'] - events['term']:.1f} s (drain_seconds {DRAIN_SECONDS}); {len(during_term):,} requests meanwhile, "
        f"p99 {percentile(during_term, 99):.1f} ms; back in rotation {drained_back:.2f} s after its restart"
        if drained_back is not None else f"- SIGTERM of {drained.name}: never back in rotation",
        f"- session on {home}, killed with it: its next step answered {lost_status} "
        f"({'unknown_session' if b'unknown_session' in lost_body else lost_body[:80]!r}) by "
        f"{lost_headers.get('X-Peephole-Replica')}; a new session on {where} took the kept states (PUT {put_status}) "
        f"and answered the next chunk {'exactly as the undisturbed session' if recovered_outputs == expected else 'DIFFERENTLY'}",
        f"- peak RSS per replica: {rss}",
    ]
    for line in lines:
        log(line)
    passed = not failed and term_code == 0 and session_ok and drained_back is not None and back is not None
    report = REPO / "bench/cluster.md"
    report.write_text(
        "# Cluster test\n\n`make cluster-test` (tools/cluster/cluster_test.py): three replicas from one read-only "
        f"WAL-mode store behind deploy/haproxy/haproxy.cfg, {SECONDS:.0f} s, {CONNECTIONS} connections, on "
        f"{os.cpu_count()} cores shared by the replicas, HAProxy and the client; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}.\n\n" + "\n".join(lines) + f"\n\n{'PASSED' if passed else 'FAILED'}\n")
    if passed:
        shutil.rmtree(work, ignore_errors=True)
        log("PASSED")
    else:
        sys.exit(f"cluster-test: FAILED; logs in {work}")


if __name__ == "__main__":
    main()
