#!/usr/bin/env python3
"""Build ONNX models for the benchmark peers from a Peephole store (not from the .keras file).

The graph is the ONNX `LSTM` op (ONNX Runtime runs it with its DeepCPU kernel), then MatMul + Add + Softmax:

    inputs [N, T, F] --Transpose--> [T, N, F] --LSTM(layout 0)--> Y_h [1, N, H] --Squeeze--> [N, H]
        --MatMul(kernel [H, O])--> --Add(bias [O])--> --Softmax(-1)--> outputs [N, O]

(ONNX Runtime's CPU LSTM rejects layout=1, so the graph transposes to time-major itself.)

Keras stores the LSTM as kernel [F, 4H], recurrent_kernel [H, 4H], bias [4H] with the gates in the order
i, f, c, o. ONNX wants W [1, 4H, F], R [1, 4H, H], B [1, 8H] = [Wb, Rb] with the gates in the order i, o, f, c.

As a script: export the stored model to ONNX and check that ONNX Runtime's outputs equal `peephole predict`
on a few real one-hot sequences (within --tolerance, default 1e-5), printing the largest difference.

    python export_onnx.py --store models/peephole.sqlite --model chars --out bench/tmp/chars.onnx \
        --peephole .build/release/peephole
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

OPSET = 17
IR_VERSION = 8  # old enough for any ONNX Runtime of the last years, new enough for opset 17


@dataclass
class LSTMDenseWeights:
    """The Keras-layout weights of LSTM(H) -> Dense(O, softmax), plus what the benchmark needs to know."""

    name: str
    kernel: np.ndarray            # [F, 4H], gates i, f, c, o
    recurrent_kernel: np.ndarray  # [H, 4H]
    bias: np.ndarray              # [4H]
    dense_kernel: np.ndarray      # [H, O]
    dense_bias: np.ndarray        # [O]
    steps: int
    version: int = 0
    vocabulary: list = field(default_factory=list)

    @property
    def features(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def hidden(self) -> int:
        return int(self.recurrent_kernel.shape[0])

    @property
    def outputs(self) -> int:
        return int(self.dense_kernel.shape[1])


def flops_per_sequence(hidden: int, steps: int, features: int, outputs: int) -> int:
    """Multiply-adds counted as 2 FLOPs: input and recurrent projections per step, then the Dense layer.

    For the demo model (H 64, T 40, F 76, O 76) this is 2,876,928 — the issue's 2.88 MFLOP."""
    return steps * (2 * features * 4 * hidden + 2 * hidden * 4 * hidden) + 2 * hidden * outputs


# ---------------------------------------------------------------- reading the store

def _tensor(conn: sqlite3.Connection, layer_id: int, name: str) -> np.ndarray:
    row = conn.execute("SELECT shape, data FROM tensor WHERE layer_id = ? AND name = ?", (layer_id, name)).fetchone()
    if row is None:
        raise SystemExit(f"layer {layer_id} has no tensor {name!r}")
    shape = json.loads(row[0])
    return np.frombuffer(row[1], dtype="<f4").reshape(shape).astype(np.float32)


def load_store_model(store: str, model: str, version: int | None = None) -> LSTMDenseWeights:
    """Read LSTM -> Dense(softmax) weights from a Peephole SQLite store (read-only)."""
    if not os.path.exists(store):
        raise SystemExit(f"no store at {store}")
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        sql = ("SELECT version.id, version.number, version.input_shape, version.vocabulary FROM version "
               "JOIN model ON model.id = version.model_id WHERE model.name = ?")
        args: tuple = (model,)
        if version is not None:
            sql += " AND version.number = ?"
            args += (version,)
        row = conn.execute(sql + " ORDER BY version.number DESC LIMIT 1", args).fetchone()
        if row is None:
            raise SystemExit(f"model {model!r} (version {version or 'newest'}) not in {store}")
        version_id, number, input_shape, vocabulary = row
        layers = conn.execute(
            "SELECT id, class_name, config FROM layer WHERE version_id = ? ORDER BY position", (version_id,)
        ).fetchall()
        kinds = [layer[1] for layer in layers]
        if kinds != ["LSTM", "Dense"]:
            raise SystemExit(f"the ONNX peer handles LSTM -> Dense models; {model!r} is {kinds}")
        lstm_id, _, lstm_config = layers[0]
        dense_id, _, dense_config = layers[1]
        lc = json.loads(lstm_config)["config"]
        dc = json.loads(dense_config)["config"]
        expected = {"activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": False,
                    "go_backwards": False, "use_bias": True}
        for key, value in expected.items():
            if lc.get(key, value) != value:
                raise SystemExit(f"LSTM option {key}={lc.get(key)!r} is not what the ONNX peer builds ({value!r})")
        if dc.get("activation") != "softmax" or not dc.get("use_bias", True):
            raise SystemExit("the ONNX peer builds Dense(softmax) with a bias")
        shape = json.loads(input_shape)
        if not isinstance(shape, list) or len(shape) != 2 or shape[0] is None:
            raise SystemExit(f"the ONNX peer needs a fixed [steps, features] input, not {shape}")
        weights = LSTMDenseWeights(
            name=model,
            kernel=_tensor(conn, lstm_id, "kernel"),
            recurrent_kernel=_tensor(conn, lstm_id, "recurrent_kernel"),
            bias=_tensor(conn, lstm_id, "bias"),
            dense_kernel=_tensor(conn, dense_id, "kernel"),
            dense_bias=_tensor(conn, dense_id, "bias"),
            steps=int(shape[0]),
            version=int(number),
            vocabulary=json.loads(vocabulary) if vocabulary else [],
        )
        if weights.features != shape[1]:
            raise SystemExit(f"kernel has {weights.features} input features but the input shape is {shape}")
        return weights
    finally:
        conn.close()


def random_model(hidden: int, steps: int, features: int, outputs: int, seed: int = 0) -> LSTMDenseWeights:
    """Random weights (Glorot-uniform-like scales) for a synthetic LSTM(hidden) -> Dense(outputs, softmax)."""
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape).astype(np.float32)

    bias = np.zeros(4 * hidden, dtype=np.float32)
    bias[hidden:2 * hidden] = 1.0  # unit_forget_bias
    return LSTMDenseWeights(
        name=f"random h{hidden} T{steps} V{features}",
        kernel=uniform((features, 4 * hidden), features, 4 * hidden),
        recurrent_kernel=uniform((hidden, 4 * hidden), hidden, 4 * hidden),
        bias=bias,
        dense_kernel=uniform((hidden, outputs), hidden, outputs),
        dense_bias=np.zeros(outputs, dtype=np.float32),
        steps=steps,
    )


# ---------------------------------------------------------------- building the ONNX graph

def _keras_to_onnx_gates(matrix: np.ndarray, hidden: int) -> np.ndarray:
    """Reorder the last axis from Keras' i, f, c, o blocks to ONNX's i, o, f, c."""
    i, f, c, o = (matrix[..., k * hidden:(k + 1) * hidden] for k in range(4))
    return np.concatenate([i, o, f, c], axis=-1)


def build_onnx(w: LSTMDenseWeights):
    """The ONNX ModelProto for these weights. Input "inputs" [N, T, F] float32 (N dynamic), output "outputs" [N, O]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    h, t, f, o = w.hidden, w.steps, w.features, w.outputs
    W = _keras_to_onnx_gates(w.kernel, h).T[np.newaxis]            # [1, 4H, F]
    R = _keras_to_onnx_gates(w.recurrent_kernel, h).T[np.newaxis]  # [1, 4H, H]
    Wb = _keras_to_onnx_gates(w.bias, h)
    B = np.concatenate([Wb, np.zeros_like(Wb)])[np.newaxis]         # [1, 8H]
    initializers = [
        numpy_helper.from_array(np.ascontiguousarray(W, dtype=np.float32), "W"),
        numpy_helper.from_array(np.ascontiguousarray(R, dtype=np.float32), "R"),
        numpy_helper.from_array(np.ascontiguousarray(B, dtype=np.float32), "B"),
        numpy_helper.from_array(np.ascontiguousarray(w.dense_kernel, dtype=np.float32), "dense_kernel"),
        numpy_helper.from_array(np.ascontiguousarray(w.dense_bias, dtype=np.float32), "dense_bias"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
    ]
    nodes = [
        helper.make_node("Transpose", ["inputs"], ["x_tnf"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x_tnf", "W", "R", "B"], ["", "y_h"], hidden_size=h, direction="forward",
                         activations=["Sigmoid", "Tanh", "Tanh"]),
        helper.make_node("Squeeze", ["y_h", "axis0"], ["h_last"]),
        helper.make_node("MatMul", ["h_last", "dense_kernel"], ["logits_nob"]),
        helper.make_node("Add", ["logits_nob", "dense_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["outputs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, w.name.replace(" ", "_"),
        [helper.make_tensor_value_info("inputs", TensorProto.FLOAT, ["N", t, f])],
        [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["N", o])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="peephole-bench")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def ort_session(w: LSTMDenseWeights, threads: int = 1):
    """An ONNX Runtime CPU session for these weights, with `threads` intra-op threads and no inter-op pool."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads == 1:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(build_onnx(w).SerializeToString(), options, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- the numpy reference

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_forward(w: LSTMDenseWeights, x: np.ndarray) -> np.ndarray:
    """Plain numpy: all steps' input projection as one matmul, then the recurrence; float32 throughout."""
    n, t, _ = x.shape
    hsz = w.hidden
    xw = (x.reshape(n * t, -1) @ w.kernel + w.bias).reshape(n, t, 4 * hsz)
    hs = np.zeros((n, hsz), dtype=np.float32)
    cs = np.zeros((n, hsz), dtype=np.float32)
    for step in range(t):
        z = xw[:, step] + hs @ w.recurrent_kernel
        i = _sigmoid(z[:, :hsz])
        f = _sigmoid(z[:, hsz:2 * hsz])
        g = np.tanh(z[:, 2 * hsz:3 * hsz])
        o = _sigmoid(z[:, 3 * hsz:])
        cs = f * cs + i * g
        hs = o * np.tanh(cs)
    logits = hs @ w.dense_kernel + w.dense_bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- inputs

def one_hot_batch(batch: int, steps: int, features: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((batch, steps, features), dtype=np.float32)
    ids = rng.integers(0, features, size=(batch, steps))
    np.put_along_axis(x, ids[..., np.newaxis], 1.0, axis=2)
    return x


def text_one_hot(text: str, vocabulary: list, steps: int) -> np.ndarray:
    index = {token: k for k, token in enumerate(vocabulary)}
    x = np.zeros((steps, len(vocabulary)), dtype=np.float32)
    for step, ch in enumerate(text[-steps:].rjust(steps)):
        x[step, index.get(ch, index.get(" ", 0))] = 1.0
    return x


def parity_inputs(w: LSTMDenseWeights, expected_file: str | None) -> np.ndarray:
    """A few real one-hot sequences: the demo's fixture inputs when present, text windows, plus random ones."""
    rows = []
    if expected_file and os.path.exists(expected_file):
        with open(expected_file) as fh:
            fixture = json.load(fh)
        for seq in fixture.get("inputs", []):
            arr = np.asarray(seq, dtype=np.float32)
            if arr.shape == (w.steps, w.features):
                rows.append(arr)
    if w.vocabulary and len(w.vocabulary) == w.features:
        for text in ("Peephole serves Keras LSTM models over HTTP, and fast.",
                     "  This program is free software: you can redistribute it"):
            rows.append(text_one_hot(text, w.vocabulary, w.steps))
    rows.extend(one_hot_batch(3, w.steps, w.features, seed=7))
    return np.stack(rows).astype(np.float32)


# ---------------------------------------------------------------- parity check against `peephole predict`

def peephole_predict(binary: str, store: str, model: str, x: np.ndarray) -> np.ndarray:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"inputs": x.tolist()}, fh)
        path = fh.name
    try:
        out = subprocess.run([binary, "predict", "--store", store, "--model", model, "--input", path],
                             check=True, capture_output=True, text=True)
    finally:
        os.unlink(path)
    return np.asarray(json.loads(out.stdout)["outputs"], dtype=np.float32)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", default="models/peephole.sqlite")
    p.add_argument("--model", default="chars")
    p.add_argument("--version", type=int)
    p.add_argument("--out", help="write the ONNX model here")
    p.add_argument("--peephole", default=".build/release/peephole", help="the peephole binary for the parity check")
    p.add_argument("--expected", default="models/chars.expected.json",
                   help="a fixture whose 'inputs' are used as real sequences (optional)")
    p.add_argument("--tolerance", type=float, default=1e-5)
    p.add_argument("--json", help="write the parity result as JSON here")
    args = p.parse_args()

    import onnxruntime as ort

    w = load_store_model(args.store, args.model, args.version)
    model = build_onnx(w)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "wb") as fh:
            fh.write(model.SerializeToString())
        print(f"wrote {args.out}: LSTM({w.hidden}) over {w.steps}x{w.features} -> Dense({w.outputs}, softmax), "
              f"opset {OPSET}")

    x = parity_inputs(w, args.expected)
    ort_out = ort_session(w, 1).run(None, {"inputs": x})[0]
    np_out = numpy_forward(w, x)
    result = {"model": w.name, "version": w.version, "sequences": int(x.shape[0]), "onnxruntime": ort.__version__,
              "max_abs_diff_ort_numpy": float(np.max(np.abs(ort_out - np_out))), "tolerance": args.tolerance}
    if os.path.exists(args.peephole):
        ours = peephole_predict(args.peephole, args.store, args.model, x)
        result["max_abs_diff_ort_peephole"] = float(np.max(np.abs(ort_out - ours)))
        result["max_abs_diff_numpy_peephole"] = float(np.max(np.abs(np_out - ours)))
        result["argmax_agree"] = bool(np.all(ort_out.argmax(1) == ours.argmax(1)))
        diff = result["max_abs_diff_ort_peephole"]
    else:
        print(f"warning: no {args.peephole}; parity checked against numpy only", file=sys.stderr)
        diff = result["max_abs_diff_ort_numpy"]
    result["pass"] = bool(diff <= args.tolerance)
    print(f"parity on {x.shape[0]} one-hot sequences (ONNX Runtime {ort.__version__}): "
          + ", ".join(f"{k.replace('max_abs_diff_', 'max |')}| = {v:.3g}" for k, v in result.items()
                      if k.startswith("max_abs_diff")) + f" (tolerance {args.tolerance:g}) "
          + ("PASS" if result["pass"] else "FAIL"))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
