#!/usr/bin/env python3
"""Writes the JSON schemas `validate_manifests.py` checks deploy/ against, into deploy/schemas/.

Kubernetes: from the `kubernetes-validate` wheel (PyPI), its strict schemas (unknown fields are
errors) for the kinds deploy/ uses, each made self-contained: the `$defs` it reaches, and no
others, copied in from `_definitions.json`, descriptions dropped. KServe: the CRD schemas of
datreeio/CRDs-catalog (KServe v0.16.0, extracted from the CRDs' openAPIV3Schema, strict).
Both minified and gzipped. Regenerate with:

    pip download --no-deps kubernetes-validate==1.37.0 -d /tmp/kv
    git clone https://github.com/datreeio/CRDs-catalog /tmp/crds
    python3 tools/deploy/vendor_schemas.py /tmp/kv/kubernetes_validate-1.37.0-py3-none-any.whl /tmp/crds
"""
import gzip
import json
import pathlib
import sys
import zipfile

KUBERNETES_VERSION = "v1.33.0"
KINDS = ["deployment-apps-v1", "service-v1", "horizontalpodautoscaler-autoscaling-v2"]
KSERVE = ["servingruntime_v1alpha1", "inferenceservice_v1beta1"]
OUT = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "schemas"


def strip(node):
    """Drops descriptions (documentation, not constraints) everywhere in a schema."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def local_refs(node, found):
    """Rewrites `/api/_definitions.json#/$defs/X` to `#/$defs/X`, collecting each X."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and "#/$defs/" in v:
                name = v.split("#/$defs/", 1)[1]
                found.add(name)
                out[k] = "#/$defs/" + name
            else:
                out[k] = local_refs(v, found)
        return out
    if isinstance(node, list):
        return [local_refs(v, found) for v in node]
    return node


def write(name, schema):
    data = json.dumps(schema, separators=(",", ":"), sort_keys=True).encode()
    path = OUT / f"{name}.json.gz"
    # mtime=0: the same input gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(data)
    print(f"{path.relative_to(OUT.parents[1])}: {len(data)} bytes of JSON, {path.stat().st_size} gzipped")


def main(wheel, crds):
    OUT.mkdir(parents=True, exist_ok=True)
    base = f"kubernetes_validate/kubernetes-json-schema/{KUBERNETES_VERSION}-local-strict/"
    with zipfile.ZipFile(wheel) as archive:
        definitions = json.loads(archive.read(base + "_definitions.json"))["$defs"]
        for kind in KINDS:
            found = set()
            schema = local_refs(strip(json.loads(archive.read(base + kind + ".json"))), found)
            defs, pending = {}, list(found)
            while pending:
                name = pending.pop()
                if name in defs:
                    continue
                more = set()
                defs[name] = local_refs(strip(definitions[name]), more)
                pending.extend(more - defs.keys())
            schema.pop("$id", None)
            schema["$defs"] = defs
            write(f"kubernetes-{KUBERNETES_VERSION}-{kind}", schema)
    for name in KSERVE:
        schema = strip(json.loads((pathlib.Path(crds) / "serving.kserve.io" / f"{name}.json").read_text()))
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        write(f"kserve-{name}", schema)


if __name__ == "__main__":
    main(*sys.argv[1:3])
