"""Drives a running Peephole with unmodified clients: tritonclient.http for KServe V2, requests
for TF Serving REST; every number is checked against the Peephole API's answer for the same
input. Usage: check.py HOST:PORT TWO_HEADS_EXPECTED GRU_EXPECTED (the graph fixtures' JSON). Prints one line per check and 'N passed, N failed'."""
import json
import sys

import numpy as np
import requests
import tritonclient.http as httpclient

HOST = sys.argv[1]
# The graph fixtures' recorded inputs (Tests/Fixtures/keras/graphs/*.k3.expected.json), passed by run.sh.
GRAPH_INPUTS = json.load(open(sys.argv[2]))["inputs"]
GRU_INPUT = json.load(open(sys.argv[3]))["inputs"]["features"]
BASE = f"http://{HOST}"
TOLERANCE = 1e-5  # one float32 pass computed in two batchings
results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(f"{'PASS' if condition else 'FAIL'} {name}{'' if condition else ': ' + str(detail)}")


def close(a, b):
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return a.shape == b.shape and np.allclose(a, b, rtol=TOLERANCE, atol=TOLERANCE)


def peephole(path, body):
    response = requests.post(BASE + path, json=body)
    response.raise_for_status()
    return response.json()


client = httpclient.InferenceServerClient(url=HOST)
check("is_server_live", client.is_server_live())
check("is_server_ready", client.is_server_ready())
check("is_model_ready", client.is_model_ready("onehot"))
check("is_model_ready (version 1)", client.is_model_ready("onehot", "1"))
check("is_model_ready (unknown model) is false", not client.is_model_ready("nope"))
metadata = client.get_model_metadata("onehot")
# The Keras model's names: onehot is a Functional model whose InputLayer is `input_layer`.
check("get_model_metadata", metadata["inputs"][0]["name"] == "input_layer" and metadata["inputs"][0]["shape"] == [-1, 6, 10]
      and metadata["outputs"][0]["name"] == "dense", metadata)
try:
    client.get_model_metadata("nope")
    check("get_model_metadata (unknown model) raises", False)
except httpclient.InferenceServerException as error:
    check("get_model_metadata (unknown model) raises", "unknown model 'nope'" in str(error), error)

x = np.random.RandomState(0).rand(2, 6, 10).astype(np.float32)
expected = np.array(peephole("/models/onehot/predict", {"inputs": x.tolist()})["outputs"])

binary = httpclient.InferInput("input", list(x.shape), "FP32")
binary.set_data_from_numpy(x)  # binary_data=True: tritonclient's default
result = client.infer("onehot", [binary], request_id="r1")
check("infer, binary default", close(result.as_numpy("dense"), expected), result.get_response())
check("infer echoes the id", result.get_response().get("id") == "r1", result.get_response())

json_input = httpclient.InferInput("input_layer", list(x.shape), "FP32")
json_input.set_data_from_numpy(x, binary_data=False)
result = client.infer("onehot", [json_input], outputs=[httpclient.InferRequestedOutput("dense", binary_data=False)])
check("infer, binary_data=False", close(result.as_numpy("dense"), expected), result.get_response())

result = client.infer("onehot", [binary], request_compression_algorithm="gzip", response_compression_algorithm="gzip")
check("infer, gzip both ways", close(result.as_numpy("dense"), expected))
result = client.infer("onehot", [binary], request_compression_algorithm="deflate", response_compression_algorithm="deflate")
check("infer, deflate both ways", close(result.as_numpy("dense"), expected))

layer = peephole("/models/onehot/layers/lstm/output", {"inputs": x.tolist(), "states": True, "gates": True, "units": [1, 3], "steps": {"from": 2, "to": 5}})
outputs = [httpclient.InferRequestedOutput(name) for name in ["lstm", "lstm/h", "lstm/c"]]
gate = httpclient.InferRequestedOutput("lstm/gates/f")
gate._parameters.update({"units": [1, 3], "steps_from": 2, "steps_to": 5})  # tritonclient has no argument for output parameters
outputs.append(gate)
result = client.infer("onehot", [binary], outputs=outputs)
check("infer, an intermediate layer as output", close(result.as_numpy("lstm"), layer["output"]))
check("infer, an LSTM's h as output", close(result.as_numpy("lstm/h"), layer["states"]["h"]))
check("infer, an LSTM's c as output", close(result.as_numpy("lstm/c"), layer["states"]["c"]))
check("infer, a forget gate cut to units and steps", close(result.as_numpy("lstm/gates/f"), layer["gates"]["f"]))

ids = np.array([[3, 1, 4, 1, 5, 0, 0]], dtype=np.int64)
tokens = httpclient.InferInput("input", list(ids.shape), "INT64")
tokens.set_data_from_numpy(ids)
result = client.infer("bidi", [tokens], outputs=[httpclient.InferRequestedOutput("bidirectional/backward/h")])
bidi = peephole("/models/bidi/layers/bidirectional/output", {"inputs": ids.tolist(), "states": True})
check("infer, INT64 token ids and a backward direction's h", close(result.as_numpy("bidirectional/backward/h"), bidi["states"]["backward"]["h"]))

text = httpclient.InferInput("input", [2], "BYTES")
text.set_data_from_numpy(np.array([b"abcdef", b"jihgfe"], dtype=np.object_))
result = client.infer("onehot", [text])
check("infer, BYTES text through the vocabulary", close(result.as_numpy("dense"), peephole("/models/onehot/predict", {"text": ["abcdef", "jihgfe"]})["outputs"]))

session = requests.post(BASE + "/models/onehot/sessions").json()["session"]
chunks = np.random.RandomState(1).rand(3, 1, 6, 10).astype(np.float32)
for index, chunk in enumerate(chunks):
    step = peephole(f"/sessions/{session}/step", {"inputs": chunk.tolist()})
    sequence = httpclient.InferInput("input", list(chunk.shape), "FP32")
    sequence.set_data_from_numpy(chunk)
    result = client.infer("onehot", [sequence], sequence_id=7, sequence_start=index == 0, sequence_end=index == 2)
    check(f"sequence_id 7, call {index + 1} of 3, carries state", close(result.as_numpy("dense"), step["outputs"]))
state = requests.get(BASE + "/sessions/v2-onehot-7").json()
reference = requests.get(BASE + f"/sessions/{session}").json()
check("the sequence's state is readable at /sessions/v2-onehot-7", state.get("steps") == 3 and close(state["states"]["lstm"]["h"], reference["states"]["lstm"]["h"]), state)

status = requests.get(BASE + "/v1/models/onehot").json()
check("TF Serving status", status["model_version_status"][0]["state"] == "AVAILABLE", status)
signature = requests.get(BASE + "/v1/models/onehot/metadata").json()["metadata"]["signature_def"]["signature_def"]["serving_default"]
check("TF Serving metadata", signature["inputs"]["input_layer"]["dtype"] == "DT_FLOAT", signature)
rows = requests.post(BASE + "/v1/models/onehot:predict", json={"instances": x.tolist()}).json()
check("TF Serving predict, instances", close(rows["predictions"], expected), rows)
named = requests.post(BASE + "/v1/models/onehot:predict", json={"instances": [{"input": row} for row in x.tolist()]}).json()
check("TF Serving predict, named instances", close(named["predictions"], expected), named)
columns = requests.post(BASE + "/v1/models/onehot/versions/1:predict", json={"signature_name": "serving_default", "inputs": {"input": x.tolist()}}).json()
check("TF Serving predict, columnar inputs", close(columns["outputs"], expected), columns)
wrong = requests.post(BASE + "/v1/models/onehot:predict", json={"signature_name": "other", "instances": x.tolist()})
check("TF Serving predict, unknown signature is 400", wrong.status_code == 400 and isinstance(wrong.json().get("error"), str), wrong.text)

# Graph models: two named inputs and two outputs (two_heads); GRU states and gates (gru).
graph = {name: np.asarray(value, dtype=np.float32) for name, value in GRAPH_INPUTS.items()}
metadata = client.get_model_metadata("two_heads")
check("get_model_metadata, two inputs and two outputs", [i["name"] for i in metadata["inputs"]] == ["sequence", "side"]
      and [o["name"] for o in metadata["outputs"]] == ["cls", "reg"], metadata)
reference = peephole("/models/two_heads/predict", {"inputs": {name: value.tolist() for name, value in graph.items()}})["outputs"]
inputs = []
for name in ["side", "sequence"]:
    tensor = httpclient.InferInput(name, list(graph[name].shape), "FP32")
    tensor.set_data_from_numpy(graph[name])
    inputs.append(tensor)
result = client.infer("two_heads", inputs)
check("infer, two named inputs give both outputs", close(result.as_numpy("cls"), reference["cls"]) and close(result.as_numpy("reg"), reference["reg"]),
      result.get_response())
rows = requests.post(BASE + "/v1/models/two_heads:predict", json={"instances": [{name: graph[name][row].tolist() for name in graph} for row in range(len(graph["side"]))]}).json()
check("TF Serving predict, named instances of two inputs give both outputs per row",
      close([p["cls"] for p in rows["predictions"]], reference["cls"]) and close([p["reg"] for p in rows["predictions"]], reference["reg"]), rows)

features = np.asarray(GRU_INPUT, dtype=np.float32)
layer = peephole("/models/gru/layers/gru_after/output", {"inputs": features.tolist(), "gates": True, "states": True})
tensor = httpclient.InferInput("features", list(features.shape), "FP32")
tensor.set_data_from_numpy(features)
result = client.infer("gru", [tensor], outputs=[httpclient.InferRequestedOutput(name) for name in ["gru_after/h", "gru_after/gates/z", "gru_after/gates/hh", "gru_state"]])
check("infer, a GRU's h and gates z, hh as outputs", close(result.as_numpy("gru_after/h"), layer["states"]["h"])
      and close(result.as_numpy("gru_after/gates/z"), layer["gates"]["z"]) and close(result.as_numpy("gru_after/gates/hh"), layer["gates"]["hh"]))
state = peephole("/models/gru/layers/gru_state/output", {"inputs": features.tolist(), "states": True})["states"]["h"]
check("infer, a model output that is a GRU's returned state", close(result.as_numpy("gru_state"), state))

passed = sum(results)
print(f"{passed} passed, {len(results) - passed} failed")
sys.exit(0 if passed == len(results) else 1)
