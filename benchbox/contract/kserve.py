"""KServe V2 / Open Inference Protocol: metadata, tensors to send, and what an answer must hold.

The protocol's tensor schema is recursive and says nothing about a model's shapes, so inputs are
drawn from the model metadata (`GET v2/models/<name>`: names, datatypes, shapes with -1 for a
free dimension) rather than from a JSON Schema. A free first dimension is the batch: it is
drawn once (1..4) and shared by every input, and checked against every output whose first
dimension is also free. Values are drawn from a modest range ([-10, 10], integers [0, 10]):
the metadata carries no ranges, and extreme values are the adversarial stage's job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from hypothesis import strategies as st

from benchbox.contract.consistency import LABEL_KEYS, SCORE_KEYS, label_problem
from benchbox.contract.invariants import PROB_KEYS, check_vector
from benchbox.contract.model import Contract, Route, TensorSpec
from benchbox.contract.problem import Problem, pointer

INFER_PATH = re.compile(r"^(?P<prefix>.*?)/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer/?$")
DATATYPES = frozenset(
    {
        "BOOL",
        "UINT8",
        "UINT16",
        "UINT32",
        "UINT64",
        "INT8",
        "INT16",
        "INT32",
        "INT64",
        "FP16",
        "FP32",
        "FP64",
        "BF16",
        "BYTES",
    }
)
MAX_FREE_DIM = 4
MAX_ELEMENTS = 65536  # a fixed [1, 3, 224, 224] image is 150k values: too slow as JSON, say so

# Structural response schema of the protocol (what every V2 server must answer).
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model_name", "outputs"],
    "properties": {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "outputs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "shape", "datatype", "data"],
                "properties": {
                    "name": {"type": "string"},
                    "datatype": {"type": "string"},
                    "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                    "parameters": {"type": "object"},
                    "data": {"type": "array"},
                },
            },
        },
    },
}


def metadata_path(path: str) -> str | None:
    """`/v2/models/m[/versions/v]/infer` -> `/v2/models/m[/versions/v]`."""
    m = INFER_PATH.match(path)
    if not m:
        return None
    version = f"/versions/{m['version']}" if m["version"] else ""
    return f"{m['prefix']}/v2/models/{m['name']}{version}"


def health_paths(path: str) -> tuple[str, ...]:
    m = INFER_PATH.match(path)
    if not m:
        return ()
    base = metadata_path(path)
    return (f"{m['prefix']}/v2/health/live", f"{m['prefix']}/v2/health/ready", f"{base}/ready")


def routes(path: str, model_name: str | None = None) -> tuple[Route, ...]:
    """The V2 routes of the target's model besides its infer route: metadata and readiness."""
    base = metadata_path(path)
    if base is None:
        return ()
    why = "KServe V2 (the model's metadata and ready routes)"
    return (Route("GET", base, None, why), Route("GET", f"{base}/ready", None, why))


def face_routes(prefix: str, name: str) -> tuple[Route, ...]:
    """A model's whole V2 face (for a JSON target whose model also answers on V2)."""
    base = f"{prefix}/v2/models/{name}"
    why = "KServe V2 face of the same model"
    return (
        Route("POST", f"{base}/infer", None, why),
        Route("GET", base, None, why),
        Route("GET", f"{base}/ready", None, why),
    )


def parse_metadata(doc: Any) -> tuple[str, tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    """(model name, inputs, outputs); ValueError says what is missing."""
    if not isinstance(doc, Mapping):
        raise ValueError("metadata is not a JSON object")

    def tensors(key: str) -> tuple[TensorSpec, ...]:
        items = doc.get(key)
        if not isinstance(items, list) or (key == "inputs" and not items):
            raise ValueError(f"metadata has no {key!r} list")
        out = []
        for t in items:
            if not (
                isinstance(t, Mapping)
                and isinstance(t.get("name"), str)
                and t.get("datatype") in DATATYPES
                and isinstance(t.get("shape"), list)
                and all(isinstance(d, int) for d in t["shape"])
            ):
                raise ValueError(f"metadata {key} entry {t!r} is not {{name, datatype, shape}}")
            out.append(TensorSpec(t["name"], t["datatype"], tuple(t["shape"])))
        return tuple(out)

    return str(doc.get("name", "")), tensors("inputs"), tensors("outputs") if "outputs" in doc else ()


def _element(datatype: str) -> st.SearchStrategy[Any]:
    if datatype == "BOOL":
        return st.booleans()
    if datatype == "BYTES":
        return st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=16)
    if datatype.startswith(("INT", "UINT")):
        return st.integers(0, 10)
    width: Literal[16, 32, 64] = 16 if datatype == "FP16" else 64 if datatype == "FP64" else 32
    return st.floats(-10, 10, width=width, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def request_strategy(inputs: tuple[TensorSpec, ...]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        batch = draw(st.integers(1, MAX_FREE_DIM))
        tensors = []
        for spec in inputs:
            shape = [
                d if d >= 0 else batch if i == 0 else draw(st.integers(1, MAX_FREE_DIM))
                for i, d in enumerate(spec.shape)
            ]
            n = math.prod(shape)
            data = draw(st.lists(_element(spec.datatype), min_size=n, max_size=n))
            tensors.append({"name": spec.name, "shape": shape, "datatype": spec.datatype, "data": data})
        return {"id": f"benchbox-{draw(st.integers(0, 999_999))}", "inputs": tensors}

    return build()


def too_large(inputs: tuple[TensorSpec, ...]) -> bool:
    return sum(math.prod(max(d, 1) for d in t.shape) for t in inputs) > MAX_ELEMENTS


def invalid_requests(base: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Requests the protocol itself rules out, derived from a valid one."""
    first = dict(base["inputs"][0])
    out: list[tuple[str, Any]] = []
    if first.get("data"):
        out.append(
            (
                "data one value shorter than its shape",
                {**base, "inputs": [{**first, "data": first["data"][:-1]}, *base["inputs"][1:]]},
            )
        )
    out.append(("unknown datatype", {**base, "inputs": [{**first, "datatype": "NOT_A_DATATYPE"}, *base["inputs"][1:]]}))
    out.append(("no 'inputs'", {k: v for k, v in base.items() if k != "inputs"}))
    return out


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [x for item in data for x in _flat(item)]
    return [data]


def check_answer(contract: Contract, request: Any, doc: Any, prob_tolerance: float) -> dict[str, list[Problem]]:
    """V2 rules for one answer, keyed by rule (a rule absent from the dict did not apply)."""
    results: dict[str, list[Problem]] = {}
    outputs = doc.get("outputs") if isinstance(doc, Mapping) else None
    if not isinstance(outputs, list):
        return results
    declared = {t.name: t for t in contract.outputs}
    batch = _request_batch(contract, request)
    for i, out in enumerate(outputs):
        if not isinstance(out, Mapping) or not isinstance(out.get("shape"), list):
            continue
        name, shape, where = out.get("name"), out["shape"], pointer(["outputs", i])
        flat = _flat(out.get("data", []))
        ok_shape = all(isinstance(d, int) and d >= 0 for d in shape) and math.prod(shape) == len(flat)
        results.setdefault("kserve_shape", [])
        if not ok_shape:
            results["kserve_shape"].append(
                Problem(
                    "contract_violation",
                    "high",
                    "kserve_shape",
                    "an output's data must hold as many values as the product of its shape",
                    f"{where}/data",
                    f"output {name!r} has shape {shape} but {len(flat)} values",
                )
            )
            continue
        spec = declared.get(name) if isinstance(name, str) else None
        if declared:
            results.setdefault("kserve_metadata", []).extend(_against_metadata(spec, out, where))
        if spec is not None and batch is not None and spec.shape[:1] == (-1,) and shape:
            results.setdefault("batch_size", [])
            if shape[0] != batch:
                results["batch_size"].append(
                    Problem(
                        "contract_violation",
                        "high",
                        "batch_size",
                        "one prediction per input: an output's first dimension must equal the input batch",
                        f"{where}/shape/0",
                        f"output {name!r}: batch {batch} in, {shape[0]} out",
                    )
                )
        if isinstance(name, str) and name.lower().replace("-", "_") in PROB_KEYS and len(shape) >= 1 and shape[-1] >= 2:
            row, found = shape[-1], []
            for r in range(len(flat) // row):
                found = check_vector(flat[r * row : (r + 1) * row], f"{where}/data/{r * row}", prob_tolerance)
                if found:
                    break
            for rule in ("probability_range", "probability_sum"):
                results.setdefault(rule, []).extend(p for p in found if p.rule == rule)
    consistent = _label_vs_scores(outputs)
    if consistent is not None:
        results["self_consistent"] = consistent
    if isinstance(request, Mapping) and "id" in request:
        results["kserve_id"] = (
            []
            if doc.get("id") == request["id"]
            else [
                Problem(
                    "contract_violation",
                    "medium",
                    "kserve_id",
                    "the request's id must be echoed in the answer",
                    "/id",
                    f"sent id {request['id']!r}, got {doc.get('id')!r}",
                )
            ]
        )
    return results


def _label_vs_scores(outputs: list[Any]) -> list[Problem] | None:
    """A label output ([n]) against a scores output ([n, k]) of the same answer: row-wise argmax."""

    def find(names: tuple[str, ...], rank: int) -> tuple[int, Mapping[str, Any]] | None:
        for i, out in enumerate(outputs):
            if (
                isinstance(out, Mapping)
                and str(out.get("name", "")).lower().replace("-", "_") in names
                and isinstance(out.get("shape"), list)
                and len(out["shape"]) == rank
            ):
                return i, out
        return None

    label, scores = find(LABEL_KEYS + ("labels", "predicted_labels", "classes"), 1), find(SCORE_KEYS, 2)
    if label is None or scores is None:
        return None
    (li, lab), (si, sc) = label, scores
    n, k = sc["shape"]
    values, labels = _flat(sc.get("data", [])), _flat(lab.get("data", []))
    if lab["shape"][0] != n or len(labels) != n or len(values) != n * k or k < 2:
        return None
    for r in range(n):
        row = values[r * k : (r + 1) * k]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in row):
            return None
        top = max(range(k), key=lambda c: row[c])
        got = labels[r]
        if not (isinstance(got, int) and not isinstance(got, bool)):
            return None
        if not 0 <= got < k or not math.isclose(row[got], row[top], rel_tol=1e-9, abs_tol=1e-12):
            return [
                label_problem(pointer(["outputs", li, "data", r]), got, top, pointer(["outputs", si, "data", r * k]))
            ]
    return []


def _request_batch(contract: Contract, request: Any) -> int | None:
    if not contract.inputs or contract.inputs[0].shape[:1] != (-1,) or not isinstance(request, Mapping):
        return None
    try:
        return int(request["inputs"][0]["shape"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _against_metadata(spec: TensorSpec | None, out: Mapping[str, Any], where: str) -> list[Problem]:
    name, shape = out.get("name"), out["shape"]
    if spec is None:
        return [
            Problem(
                "contract_violation",
                "medium",
                "kserve_metadata",
                "every output must be one the model metadata declares",
                f"{where}/name",
                f"output {name!r} is not in the metadata",
            )
        ]
    if out.get("datatype") != spec.datatype:
        return [
            Problem(
                "contract_violation",
                "medium",
                "kserve_metadata",
                "an output's datatype must match the model metadata",
                f"{where}/datatype",
                f"output {name!r}: metadata says {spec.datatype}, answer says {out.get('datatype')}",
            )
        ]
    if len(shape) != len(spec.shape) or any(d != -1 and d != s for d, s in zip(spec.shape, shape)):
        return [
            Problem(
                "contract_violation",
                "medium",
                "kserve_metadata",
                "an output's shape must match the model metadata",
                f"{where}/shape",
                f"output {name!r}: metadata says {list(spec.shape)}, answer says {shape}",
            )
        ]
    return []
