#!/usr/bin/env python3
"""The V2 peer: KServe's own Python model server (`kserve.ModelServer`, 2 uvicorn workers) with a custom
`kserve.Model` running ONNX Runtime (1 intra-op thread per worker) on the stored model, the ONNX model
export_onnx.py builds from the store's weights (the same one the engine and FastAPI comparisons use).

    python kserve_server.py --store models/peephole.sqlite --model chars --port 8002 [--workers 2]

    POST /v2/models/<model>/infer   KServe V2, JSON or binary tensors (Inference-Header-Content-Length), the
                                    input named `input` [N, T, F] FP32, the output `dense` [N, O] FP32, as
                                    Peephole names them; `binary_data_output` answers binary
    GET  /v2/health/ready           200 once the model is loaded

This is the server a team on KServe would write for this model (the docs' "custom model" recipe), not tuned
beyond what a user would do: no gRPC listener, and no per-request log lines (kserve_logging.json turns off
uvicorn's access log and KServe's timing lines, as Peephole writes none at its default level; start-up lines and
worker restarts are still logged). KServe reads its own flags from sys.argv in every worker, so the log
configuration goes there; a worker KServe restarts (its parent kills a worker that does not answer a ping within
5 s, which a worker still starting on a busy machine may not) is not given it, so the model sets it up too.
"""
from __future__ import annotations

import argparse
import json
import logging.config
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
LOG_CONFIG = os.path.join(HERE, "kserve_logging.json")
if "--log_config_file" not in sys.argv:  # before kserve is imported: it parses sys.argv then
    sys.argv += ["--log_config_file", LOG_CONFIG]

import numpy as np  # noqa: E402
import kserve  # noqa: E402
from kserve import InferOutput, InferRequest, InferResponse  # noqa: E402
from kserve.errors import InvalidInput  # noqa: E402

import export_onnx as ex  # noqa: E402


class OnnxLSTM(kserve.Model):
    """The stored LSTM + Dense model on ONNX Runtime, speaking V2 with Peephole's tensor names."""

    def __init__(self, name: str, store: str, model: str, threads: int):
        super().__init__(name)
        self.store, self.model, self.threads = store, model, threads
        self.session = None
        self.steps = self.features = 0

    def load(self) -> bool:
        w = ex.load_store_model(self.store, self.model)
        self.session = ex.ort_session(w, self.threads)
        self.steps, self.features = w.steps, w.features
        self.session.run(["outputs"], {"inputs": np.zeros((1, w.steps, w.features), dtype=np.float32)})  # warm up
        self.ready = True
        return self.ready

    # KServe starts its workers with multiprocessing's spawn, pickling the registered model: each
    # worker builds its own session from the store instead of receiving one.
    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "session"} | {"session": None}

    def __setstate__(self, state: dict) -> None:
        with open(LOG_CONFIG) as fh:
            logging.config.dictConfig(json.load(fh))
        self.__dict__.update(state)
        self.load()

    def predict(self, payload: InferRequest, headers=None) -> InferResponse:
        if len(payload.inputs) != 1 or payload.inputs[0].name != "input":
            raise InvalidInput("expected one input named 'input'")
        x = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        if x.ndim != 3 or x.shape[1:] != (self.steps, self.features) or x.shape[0] == 0:
            raise InvalidInput(f"input: expected shape [-1, {self.steps}, {self.features}], got {list(x.shape)}")
        y = self.session.run(["outputs"], {"inputs": x})[0]
        output = InferOutput(name="dense", shape=list(y.shape), datatype="FP32")
        output.set_data_from_numpy(y, binary_data=payload.use_binary_outputs)
        return InferResponse(response_id=payload.id, model_name=self.name, infer_outputs=[output],
                             use_binary_outputs=payload.use_binary_outputs,
                             requested_outputs=payload.request_outputs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", default="models/peephole.sqlite")
    p.add_argument("--model", default="chars")
    p.add_argument("--port", type=int, default=8002)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--ort-threads", type=int, default=1, help="ONNX Runtime intra-op threads per worker")
    args, _ = p.parse_known_args()  # the rest is kserve's

    model = OnnxLSTM(args.model, os.path.abspath(args.store), args.model, args.ort_threads)
    model.load()
    server = kserve.ModelServer(http_port=args.port, workers=args.workers, enable_grpc=False,
                                enable_latency_logging=False)
    server.start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
