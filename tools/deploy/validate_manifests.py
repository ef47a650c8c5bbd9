#!/usr/bin/env python3
"""Checks every manifest in deploy/k8s and deploy/kserve against the Kubernetes and KServe
schemas vendored in deploy/schemas (strict: an unknown or misspelt field is an error), and
against Peephole itself: environment variables are configuration keys, `peephole serve` flags
exist, probes ask the V2 health routes, the grace period covers the drain.

With --self-test it also proves the check can fail: each manifest with a misspelt field must be
refused. Needs PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema).
"""
import copy
import gzip
import json
import pathlib
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = {
    ("apps/v1", "Deployment"): "kubernetes-v1.33.0-deployment-apps-v1",
    ("v1", "Service"): "kubernetes-v1.33.0-service-v1",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "kubernetes-v1.33.0-horizontalpodautoscaler-autoscaling-v2",
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): "kserve-servingruntime_v1alpha1",
    ("serving.kserve.io/v1beta1", "InferenceService"): "kserve-inferenceservice_v1beta1",
}
CONFIG_KEYS = set(json.loads((ROOT / "config/peephole.json").read_text()))
OPENAPI = json.loads((ROOT / "Sources/PeepholeServer/openapi.json").read_text())
GET_ROUTES = {path for path, operations in OPENAPI["paths"].items() if "get" in operations}


def load_schema(name, cache={}):
    if name not in cache:
        with gzip.open(ROOT / "deploy/schemas" / f"{name}.json.gz") as file:
            cache[name] = jsonschema.Draft202012Validator(json.load(file))
    return cache[name]


def documents():
    """(file, index, document) for every YAML document under deploy/k8s and deploy/kserve."""
    for folder in ("deploy/k8s", "deploy/kserve"):
        files = sorted((ROOT / folder).glob("*.yaml"))
        if not files:
            yield f"{folder}/", 0, None
        for path in files:
            try:
                loaded = list(yaml.safe_load_all(path.read_text()))
            except yaml.YAMLError as error:
                sys.exit(f"{path.relative_to(ROOT)}: not YAML: {error}")
            for index, document in enumerate(loaded):
                if document is not None:
                    yield str(path.relative_to(ROOT)), index, document


def containers(document):
    kind, spec = document.get("kind"), document.get("spec") or {}
    if kind == "Deployment":
        return spec.get("template", {}).get("spec", {}).get("containers", [])
    if kind == "ServingRuntime":
        return spec.get("containers", [])
    return []


def schema_errors(document):
    name = SCHEMAS.get((document.get("apiVersion"), document.get("kind")))
    if name is None:
        return [f"no schema for apiVersion {document.get('apiVersion')!r} kind {document.get('kind')!r}"]
    return [f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in sorted(load_schema(name).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))]


def peephole_errors(document, all_documents):
    """What the schemas cannot know: Peephole's own keys, flags and routes."""
    errors = []
    for container in containers(document):
        for variable in container.get("env", []):
            name = variable.get("name", "")
            if name.startswith("PEEPHOLE_") and name[len("PEEPHOLE_"):].lower() not in CONFIG_KEYS:
                errors.append(f"env {name}: not a configuration key (config/peephole.json)")
        for argument in container.get("args", []):
            if argument.startswith("--") and argument[2:].split("=")[0].replace("-", "_") not in CONFIG_KEYS | {"config"}:
                errors.append(f"args {argument}: not a `peephole serve` flag")
        probes = {"livenessProbe": "/v2/health/live", "readinessProbe": "/v2/health/ready", "startupProbe": "/v2/health/ready"}
        for probe, expected in probes.items():
            path = container.get(probe, {}).get("httpGet", {}).get("path")
            if probe != "startupProbe" and path is None:
                errors.append(f"{probe}: missing (an httpGet on {expected})")
            elif path is not None and (path != expected or path not in GET_ROUTES):
                errors.append(f"{probe}: path {path!r}, expected {expected} (a route in openapi.json)")
    kind, spec = document.get("kind"), document.get("spec") or {}
    if kind == "Deployment":
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
            sleep = int(command[1]) if len(command) == 2 and command[0] == "sleep" else 0
            drain = next((int(v["value"]) for v in container.get("env", []) if v.get("name") == "PEEPHOLE_DRAIN_SECONDS"), 0)
            grace = pod.get("terminationGracePeriodSeconds", 30)
            if sleep == 0:
                errors.append("preStop: expected `sleep N`, the time the Service needs to drop the pod")
            if grace < sleep + drain + 10:
                errors.append(f"terminationGracePeriodSeconds {grace} < preStop {sleep} s + drain {drain} s + 10 s for requests in flight")
    if kind == "ServingRuntime":
        if "v2" not in spec.get("protocolVersions", []):
            errors.append("protocolVersions: must list v2")
        names = [c.get("name") for c in spec.get("containers", [])]
        if names != ["kserve-container"]:
            errors.append(f"containers: expected one named kserve-container, got {names}")
        if not any("/mnt/models" in a for c in spec.get("containers", []) for a in c.get("args", [])):
            errors.append("args: must serve /mnt/models (--model-dir /mnt/models)")
    if kind == "InferenceService":
        model = spec.get("predictor", {}).get("model", {})
        runtimes = {d["metadata"]["name"] for d in all_documents if d.get("kind") == "ServingRuntime"}
        if model.get("runtime") not in runtimes:
            errors.append(f"predictor.model.runtime {model.get('runtime')!r}: no such ServingRuntime in deploy/kserve")
        if not model.get("storageUri"):
            errors.append("predictor.model.storageUri: missing")
    return errors


def check(items):
    """Errors of every (file, index, document), by file and document."""
    all_documents = [document for _, _, document in items if document is not None]
    found = {}
    for file, index, document in items:
        if document is None:
            found[(file, index)] = ["no manifests"]
            continue
        errors = schema_errors(document) + peephole_errors(document, all_documents)
        if errors:
            found[(file, index)] = errors
    return found


def misspell(document):
    """The document with one field misspelt, in a place the schema constrains."""
    broken = copy.deepcopy(document)
    spec = broken.get("spec", {})
    for container in containers(broken):
        container["readinesProbe"] = container.pop("readinessProbe")
        return broken
    key = next(iter(spec))
    spec[key + "z"] = spec.pop(key)
    return broken


def main():
    items = list(documents())
    found = check(items)
    for (file, index), errors in found.items():
        for error in errors:
            print(f"{file} (document {index + 1}): {error}")
    kinds = sorted({f"{d['kind']}" for _, _, d in items if d})
    print(f"{len(items)} manifests ({', '.join(kinds)}): {'all valid' if not found else f'{len(found)} invalid'}")
    if found:
        return 1
    if "--self-test" in sys.argv:
        missed = []
        for position, (file, index, document) in enumerate(items):
            mutated = items[:position] + [(file, index, misspell(document))] + items[position + 1:]
            if (file, index) not in check(mutated):
                missed.append(f"{file} (document {index + 1})")
        if missed:
            print("self-test: a misspelt field passed in " + ", ".join(missed))
            return 1
        print(f"self-test: a misspelt field is refused in each of the {len(items)} manifests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
