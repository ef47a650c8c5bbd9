#!/usr/bin/env python3
"""The Python HTTP peer: FastAPI + uvicorn (httptools, uvloop, 2 workers) + ONNX Runtime (1 intra-op thread per
worker), serving the stored model with Peephole's request and response JSON.

    python fastapi_server.py --store models/peephole.sqlite --model chars --port 8001 [--workers 2]

    POST /predict  {"inputs": [[[...F floats...] x T] x N]}  ->  {"model", "version", "outputs": [[O floats] x N]}
    GET  /ready    200 {"status": "ready", "models": 1} once this worker has loaded the model

The model is built for ONNX Runtime from the store's weights (export_onnx.py), once per worker. Bodies are parsed
and written with orjson; the handler is `async` and runs the session on the event loop (no thread hop), which is
the fastest way to serve a sub-millisecond model from Python. Errors answer like Peephole's:
{"error": {"message", "code"}}.
"""
from __future__ import annotations

import argparse
import os
import sys
from contextlib import asynccontextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import orjson  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import Response  # noqa: E402

STATE: dict = {}


def _error(status: int, message: str, code: str) -> Response:
    return Response(orjson.dumps({"error": {"message": message, "code": code}}), status_code=status,
                    media_type="application/json")


@asynccontextmanager
async def lifespan(app: FastAPI):
    import export_onnx as ex

    store = os.environ.get("PEEPHOLE_BENCH_STORE", "models/peephole.sqlite")
    model = os.environ.get("PEEPHOLE_BENCH_MODEL", "chars")
    threads = int(os.environ.get("PEEPHOLE_BENCH_ORT_THREADS", "1"))
    w = ex.load_store_model(store, model)
    session = ex.ort_session(w, threads)
    session.run(["outputs"], {"inputs": np.zeros((1, w.steps, w.features), dtype=np.float32)})  # warm up
    STATE.update(session=session, name=w.name, version=w.version, steps=w.steps, features=w.features)
    yield
    STATE.clear()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ready")
async def ready() -> Response:
    if "session" not in STATE:
        return _error(503, "model still loading", "not_ready")
    return Response(b'{"status":"ready","models":1}', media_type="application/json")


@app.post("/predict")
async def predict(request: Request) -> Response:
    if "session" not in STATE:
        return _error(503, "model still loading", "not_ready")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        return _error(400, f"body: malformed JSON: {exc}", "invalid_input")
    if not isinstance(body, dict) or "inputs" not in body:
        return _error(400, "body: expected an object with 'inputs'", "invalid_input")
    try:
        x = np.asarray(body["inputs"], dtype=np.float32)
    except (ValueError, TypeError) as exc:
        return _error(400, f"inputs: {exc}", "invalid_input")
    steps, features = STATE["steps"], STATE["features"]
    if x.ndim != 3 or x.shape[1:] != (steps, features) or x.shape[0] == 0:
        return _error(400, f"inputs: expected shape (None, {steps}, {features}), got {list(x.shape)}",
                      "invalid_input")
    outputs = STATE["session"].run(["outputs"], {"inputs": x})[0]
    return Response(
        orjson.dumps({"model": STATE["name"], "version": STATE["version"], "outputs": outputs},
                     option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", default="models/peephole.sqlite")
    p.add_argument("--model", default="chars")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ort-threads", type=int, default=1, help="ONNX Runtime intra-op threads per worker")
    args = p.parse_args()

    import uvicorn

    # The workers import this module afresh: hand them the settings through the environment.
    os.environ["PEEPHOLE_BENCH_STORE"] = os.path.abspath(args.store)
    os.environ["PEEPHOLE_BENCH_MODEL"] = args.model
    os.environ["PEEPHOLE_BENCH_ORT_THREADS"] = str(args.ort_threads)
    uvicorn.run("fastapi_server:app", app_dir=HERE, host=args.host, port=args.port, workers=args.workers,
                loop="uvloop", http="httptools", log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
