"""The binary phase of `make fuzz` (tools/fuzz/run.sh), for what schemathesis cannot send: KServe V2
bodies with Triton's binary framing (a JSON header, then binary tensors, its length in
Inference-Header-Content-Length), bodies compressed with gzip or deflate (some corrupt, some bombs past
max_body_bytes), and TF Serving :predict bodies, all from valid seeds with seeded random edits.

Passes when every answer is a 200 of its protocol (a V2 response whose binary part adds up, a TF Serving
predictions/outputs object) or a 4xx whose JSON body is {"error": "<message>"}; when each route answered
200 at least once (so the edits reach the forward pass); when gzip bombs (a 64 KiB body inflating to 64 MiB, a
7 MiB one inflating to 7 GiB) get 413 and raise the server's peak resident memory (VmHWM, reset first through
/proc/PID/clear_refs) by no more than the body as received plus max_body_bytes (and 1 MiB for the rest of
the request); and when /health answers 200 at the end.
Standard library only. Usage: binary_phase.py BASE_URL COUNT SEED SERVER_PID; prints its result lines, exit 1
on FAIL.
"""

import gzip
import http.client
import json
import random
import time
import struct
import sys
import urllib.parse
import zlib

MAX_BODY_BYTES = 8 * 1024 * 1024  # the server's default max_body_bytes

# ---------------------------------------------------------------- valid seeds (models onehot and embed)
ONE_HOT = [0.0] * 60
for step in range(6):
    ONE_HOT[step * 10 + (step * 3) % 10] = 1.0
FP32 = struct.pack("<60f", *ONE_HOT)
TEXTS = [b"abcdef", b"ghijab"]
STRINGS = b"".join(struct.pack("<I", len(t)) + t for t in TEXTS)


def v2_input(shape, datatype, size, name="input"):
    return {"name": name, "shape": shape, "datatype": datatype, "parameters": {"binary_data_size": size}}


# (model, JSON header, binary part)
V2_SEEDS = [
    ("onehot", {"inputs": [v2_input([1, 6, 10], "FP32", 240)]}, FP32),
    ("onehot", {"id": "r", "inputs": [v2_input([1, 6, 10], "FP64", 480)],
                "outputs": [{"name": "dense", "parameters": {"binary_data": True}},
                            {"name": "lstm/gates/i", "parameters": {"units": [0, 2], "steps_from": -3}}]},
     struct.pack("<60d", *ONE_HOT)),
    ("onehot", {"inputs": [v2_input([2], "BYTES", len(STRINGS))], "parameters": {"binary_data_output": True}}, STRINGS),
    ("onehot", {"inputs": [v2_input([1, 1], "BYTES", 10)], "outputs": [{"name": "lstm/sequence"}, {"name": "lstm/c"}]},
     struct.pack("<I", 6) + b"abcdef"),
    ("embed", {"inputs": [v2_input([2, 7], "INT32", 56)]}, struct.pack("<14i", *[i % 12 for i in range(14)])),
    ("embed", {"inputs": [v2_input([1, 7], "INT64", 56)], "outputs": [{"name": "lstm_1/h"}, {"name": "dense"}]},
     struct.pack("<7q", *range(1, 8))),
    ("embed", {"inputs": [{"name": "input", "shape": [1, 7], "datatype": "INT32", "data": [1, 2, 3, 4, 5, 6, 7]}]}, b""),
]
ROWS = [[ONE_HOT[s * 10:(s + 1) * 10] for s in range(6)]]
TFS_SEEDS = [
    ("onehot", {"instances": ROWS * 2}),
    ("onehot", {"signature_name": "serving_default", "instances": [{"input": ROWS[0]}]}),
    ("onehot", {"inputs": {"input": ROWS}}),
    ("onehot", {"instances": ["abcdef", "ghijab"]}),
    ("embed", {"inputs": [[1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 0, 1, 2, 3]]}),
    ("embed", {"instances": ["abcdefg"]}),
]
EDGE_NUMBERS = [b"0", b"1", b"3", b"4", b"7", b"239", b"241", b"480", b"-1", b"-240", b"240.5", b"1e15", b"1e16",
                b"4294967295", b"18446744073709551616", b"1e400", b'"240"', b"null", b"[240]", b"NaN"]
BAD_LENGTHS = ["-1", "+1", "1.0", "0x10", "12ab", "99999999999999999999999", "0"]


# ---------------------------------------------------------------- edits
def edit_json(text, rng):
    """One edit of JSON text: a number at the edges, a byte flipped, inserted or deleted, a cut, a run doubled."""
    text = bytearray(text)
    kind = rng.randrange(6)
    if kind == 0:
        digits = [i for i, c in enumerate(text) if 48 <= c <= 57 and (i == 0 or not 48 <= text[i - 1] <= 57)]
        if digits:
            start = rng.choice(digits)
            end = start
            while end < len(text) and 48 <= text[end] <= 57:
                end += 1
            text[start:end] = rng.choice(EDGE_NUMBERS)
    elif kind == 1 and text:
        text[rng.randrange(len(text))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        text.insert(rng.randrange(len(text) + 1), rng.choice(b'[]{}",:-.0123456789e \x00\xff'))
    elif kind == 3 and text:
        start = rng.randrange(len(text))
        del text[start:start + 1 + rng.randrange(8)]
    elif kind == 4:
        del text[rng.randrange(len(text) + 1):]
    elif text:
        start = rng.randrange(len(text))
        run = text[start:start + 1 + rng.randrange(32)]
        at = rng.randrange(len(text) + 1)
        text[at:at] = run
    return bytes(text)


def v2_body(rng):
    """A V2 path, body and headers: a seed with up to three framing edits."""
    model, header, binary = rng.choice(V2_SEEDS)
    header = json.dumps(header).encode()
    length, edited = None, False
    for _ in range(rng.randrange(4)):
        kind = rng.randrange(9)
        if kind == 0:
            header = edit_json(header, rng)
        elif kind == 1 and len(binary) >= 4:  # a BYTES length or an element overwritten
            at = rng.randrange(len(binary) - 3)
            value = rng.choice([0, 1, 5, 6, 7, 0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32)])
            binary = binary[:at] + struct.pack("<I", value) + binary[at + 4:]
        elif kind == 2:
            length = str(len(header) + rng.choice([-2, -1, 1, 2, len(binary), -len(header), 1 << 20]))
            edited = True
        elif kind == 3:
            length, edited = rng.choice(BAD_LENGTHS), True
        elif kind == 4:  # the header edited, its length left as it was
            length, edited = str(len(header)), True
            header = edit_json(header, rng)
        elif kind == 5 and binary:
            cut = rng.randrange(len(binary))
            binary = rng.choice([binary[:cut], binary + rng.randbytes(1 + rng.randrange(8)),
                                 binary[:cut] + bytes([binary[cut] ^ 1 << rng.randrange(8)]) + binary[cut + 1:]])
        elif kind == 6:  # another seed's binary part spliced in
            binary = rng.choice(V2_SEEDS)[2]
        elif kind == 7:  # no header length: the whole body read as JSON
            header, binary, length, edited = header + binary, b"", None, True
        else:  # the whole body cut
            body = (header + binary)[:rng.randrange(len(header) + len(binary) + 1)]
            header, binary = body[:len(header)], body[len(header):]
    if not edited:
        length = str(len(header))
    headers = {} if length is None else {"Inference-Header-Content-Length": length}
    path = rng.choice([f"/v2/models/{model}/infer", f"/v2/models/{model}/versions/1/infer"])
    return path, header + binary, headers


def tfs_body(rng):
    """A TF Serving path, body and headers: a seed with up to three edits."""
    model, body = rng.choice(TFS_SEEDS)
    body = json.dumps(body).encode()
    for _ in range(rng.randrange(4)):
        body = edit_json(body, rng)
    path = rng.choice([f"/v1/models/{model}:predict", f"/v1/models/{model}/versions/1:predict"])
    return path, body, {"Content-Type": "application/json"}


def compressed(body, headers, rng):
    """The body gzip- or deflate-compressed; now and then corrupt, or a bomb past max_body_bytes."""
    encoding = rng.choice(["gzip", "deflate"])
    pack = (lambda data: gzip.compress(data, mtime=0)) if encoding == "gzip" else zlib.compress
    roll = rng.random()
    if roll < 0.05:
        body = pack(b" " * (MAX_BODY_BYTES + 1 + rng.randrange(MAX_BODY_BYTES)))
    else:
        body = pack(body)
        if roll < 0.3:
            at = rng.randrange(len(body))
            body = rng.choice([body[:at], body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]])
    return body, {**headers, "Content-Encoding": encoding}


def bomb(kibibytes):
    """A gzip body of `kibibytes` KiB inflating to about 1000 times as much: 1 MiB of zeros deflates to the same
    1 KiB block after every full flush, so the block is repeated (no trailer: the server must stop long before).
    Returns the body and the MiB it inflates to."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = ((kibibytes << 10) - len(head)) // len(block)
    return head + block * count, count + 1


def send_bomb(client, pid, kibibytes):
    """Sends a bomb with the server's peak resident memory reset; returns its result line and whether it passed."""
    body, inflated_mib = bomb(kibibytes)
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")
    resident = memory_kib(pid, "VmRSS")
    started = time.monotonic()
    status = client.post("/v2/models/onehot/infer", body, {"Content-Encoding": "gzip"})[0]
    milliseconds = (time.monotonic() - started) * 1000
    rise = (memory_kib(pid, "VmHWM") - resident) * 1024
    ok = status == 413 and rise <= len(body) + MAX_BODY_BYTES + (1 << 20)
    size = f"{len(body) / 2**20:.1f} MiB" if len(body) >= 1 << 20 else f"{len(body) >> 10} KiB"
    inflated = f"{inflated_mib / 1024:.1f} GiB" if inflated_mib >= 1024 else f"{inflated_mib} MiB"
    return (f"gzip bomb {size} inflating to {inflated}: {status} in {milliseconds:.0f} ms, server peak resident memory "
            f"+{rise / 2**20:.1f} MiB (the body + max_body_bytes {MAX_BODY_BYTES >> 20} MiB at most): "
            f"{'PASS' if ok else 'FAIL'}"), ok


def memory_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


# ---------------------------------------------------------------- sending and checking
class Client:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.connection = None

    def post(self, path, body, headers):
        for attempt in (0, 1):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.connection.request("POST", path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, dict((k.lower(), v) for k, v in response.getheaders()), data
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 1:  # a fresh connection failed too: no answer
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def problem(status, headers, data, path):
    """Why this answer is wrong, or None."""
    if status == 200:
        if path.startswith("/v2/"):
            length = int(headers.get("inference-header-content-length", len(data)))
            header = json.loads(data[:length])
            sizes = sum(o.get("parameters", {}).get("binary_data_size", 0) for o in header["outputs"])
            return None if sizes == len(data) - length and header["outputs"] else "V2 binary outputs do not add up"
        answer = json.loads(data)
        return None if set(answer) in ({"predictions"}, {"outputs"}) else f"TF Serving answer {sorted(answer)}"
    if 400 <= status < 500 and status not in (408, 429):
        if not headers.get("content-type", "").startswith("application/json"):
            return f"{status} without a JSON Content-Type"
        try:
            error = json.loads(data).get("error")
        except ValueError:
            error = None
        return None if isinstance(error, str) and error else f'{status} body is not {{"error": "<message>"}}'
    return f"status {status}"


def main():
    base, count, seed, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    client = Client(base)
    # The bombs first, while no earlier big body has left memory resident to be reused.
    bombs = [send_bomb(client, pid, kibibytes) for kibibytes in (64, 7 << 10)]
    tally = {}  # (route, status) -> count
    bad = []
    for _ in range(count):
        path, body, headers = (v2_body if rng.random() < 0.7 else tfs_body)(rng)
        if rng.random() < 0.15:
            body, headers = compressed(body, headers, rng)
        route = "V2" if path.startswith("/v2/") else "TFS"
        try:
            status, answer_headers, data = client.post(path, body, headers)
            why = problem(status, answer_headers, data, path)
        except (ConnectionError, http.client.HTTPException, OSError) as error:
            status, why = 0, f"no answer: {error!r}"
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            why = f"unreadable {status} answer: {error!r}"
        tally[route, status] = tally.get((route, status), 0) + 1
        if why:
            bad.append(f"{why}: POST {path} {headers} {body[:120]!r}")
    client.close()
    try:
        connection = http.client.HTTPConnection(client.host, client.port, timeout=10)
        connection.request("GET", "/health")
        alive = connection.getresponse().status
    except (OSError, http.client.HTTPException):
        alive = 0
    answered = {route: tally.get((route, 200), 0) for route in ("V2", "TFS")}
    ok = not bad and alive == 200 and all(answered.values()) and all(passed for _, passed in bombs)
    counts = ", ".join(f"{route} {status}: {n}" for (route, status), n in sorted(tally.items()))
    print(f"binary phase: {'PASS' if ok else 'FAIL'}: {count} mutated V2 binary and TF Serving bodies (seed {seed}; "
          f"{counts}), {len(bad)} unexpected answers; /health after: {alive}")
    for line, _ in bombs:
        print(line)
    for line in bad[:10]:
        print(f"  {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
