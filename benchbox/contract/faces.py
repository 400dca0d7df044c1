"""The same model on two faces must give the same answer.

Model servers often serve one model twice: a JSON route (`/v1/models/m/predict`) and a KServe V2
route (`/v2/models/m/infer`). A release that fixes one face and not the other (another
preprocessing, a stale model file behind one route) is invisible to a check of either face alone.
So, for a JSON target whose model also answers `GET /v2/models/<name>` with usable metadata, a
few inputs already answered on the JSON face are sent as V2 tensors, and every V2 output whose
name the JSON answer also carries (per row or as a top-level list) must agree within
--tolerance, plus the rounding of the printed decimals (a face that prints 4 decimals cannot do
better than 5e-5). Values of different kinds (a class name against a class index) are not
compared: that is a different encoding, not a different answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from benchbox.contract import kserve
from benchbox.contract.invariants import REQUEST_BATCH_KEYS, RESPONSE_BATCH_KEYS, compare
from benchbox.contract.model import Contract
from benchbox.contract.problem import Problem, pointer
from benchbox.contract.session import Exchange, Session

MAX_INPUTS = 3


def compare_faces(
    contract: Contract,
    session: Session,
    answered: Sequence[tuple[Any, Any, Exchange]],
    tolerance: float,
    notes: list[str],
) -> list[tuple[list[Problem], Exchange]]:
    """[(problems, the V2 exchange)] for each input compared; empty when there is no second face."""
    if contract.protocol != "json" or not answered:
        return []
    parts = urlsplit(contract.url)
    segments = parts.path.strip("/").split("/")
    name = segments[segments.index("models") + 1] if "models" in segments[:-1] else contract.model_name
    if not name or "/v2/" in parts.path:
        return []
    origin = f"{parts.scheme}://{parts.netloc}"
    prefix = parts.path[: parts.path.find("/models/")] if "/models/" in parts.path else ""
    prefix = prefix.removesuffix("/v1")
    meta = session.get(f"{origin}{prefix}/v2/models/{name}")
    if meta.status != 200:
        return []
    try:
        _, inputs, _ = kserve.parse_metadata(json.loads(meta.content))
    except ValueError:
        return []
    if len(inputs) != 1 or inputs[0].shape[:1] != (-1,) or any(d < 0 for d in inputs[0].shape[1:]):
        return []
    spec = inputs[0]
    width = math.prod(spec.shape[1:])
    out: list[tuple[list[Problem], Exchange]] = []
    for body, doc, _ in answered[:MAX_INPUTS]:
        rows = _rows(body, width)
        if rows is None:
            continue
        narrowed = _narrowed(rows, spec.datatype)
        if narrowed != rows:  # the V2 face reads the inputs at its tensor's precision: so must the JSON face
            rows = narrowed
            body = _with_rows(body, rows)
            again = session.send(body)
            try:
                doc = json.loads(again.content) if again.answered and 200 <= (again.status or 0) < 300 else None
            except ValueError:
                doc = None
            if doc is None:
                continue
        request = {
            "inputs": [
                {
                    "name": spec.name,
                    "shape": [len(rows), *spec.shape[1:]],
                    "datatype": spec.datatype,
                    "data": [x for r in rows for x in r],
                }
            ]
        }
        ex = session.post(f"{origin}{prefix}/v2/models/{name}/infer", request)
        if not (ex.answered and 200 <= (ex.status or 0) < 300):
            continue
        try:
            answer = json.loads(ex.content)
        except ValueError:
            continue
        problems = _differences(doc, answer, len(rows), tolerance)
        if problems and not _steady(session, body, doc, tolerance):
            continue  # the JSON face does not repeat itself: the determinism rule's finding, not this one
        if problems is not None:
            out.append((problems, ex))
    if out:
        notes.append(
            f"the model also answers on KServe V2 ({prefix}/v2/models/{name}/infer): "
            f"{len(out)} inputs compared across both faces"
        )
    return out


def _steady(session: Session, body: Any, doc: Any, tolerance: float) -> bool:
    again = session.send(body)
    try:
        return bool(again.answered and compare(doc, json.loads(again.content), tolerance) is None)
    except ValueError:
        return False


def _rows(body: Any, width: int) -> list[list[Any]] | None:
    batch = (
        body
        if isinstance(body, list)
        else next(
            (body[k] for k in REQUEST_BATCH_KEYS if isinstance(body, Mapping) and isinstance(body.get(k), list)), None
        )
    )
    if not batch:
        return None
    rows = [r if isinstance(r, list) else [r] for r in batch]
    if not all(
        len(r) == width and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r) for r in rows
    ):
        return None
    return rows


# A float tensor holds its values at its own precision: FP32 turns 22.957365943753175 into
# 22.95736694335937, and a model's answer to the two can differ past --tolerance (seen: 1.2e-6
# relative on the demo's probabilities). Both faces are asked about the value the tensor can hold.
_NARROW = {"FP32": "f", "FP16": "e"}


def _narrowed(rows: list[list[Any]], datatype: str) -> list[list[Any]]:
    code = _NARROW.get(datatype.upper())
    if code is None:
        return rows
    import struct

    def narrow(x: Any) -> Any:
        if isinstance(x, int) or not math.isfinite(x):
            return x
        try:
            return struct.unpack(code, struct.pack(code, x))[0]
        except OverflowError:  # past the type's range: the V2 face refuses or saturates it; leave it
            return x

    return [[narrow(x) for x in r] for r in rows]


def _with_rows(body: Any, rows: list[list[Any]]) -> Any:
    """`body` with its batch's rows replaced (a scalar row stays a scalar)."""

    def fit(old: list[Any]) -> list[Any]:
        return [new if isinstance(item, list) else new[0] for item, new in zip(old, rows)]

    if isinstance(body, list):
        return fit(body)
    key = next(k for k in REQUEST_BATCH_KEYS if isinstance(body.get(k), list))
    return {**body, key: fit(body[key])}


def _json_values(doc: Any, name: str, n: int) -> list[Any] | None:
    """The JSON face's per-row values for output `name`: doc[name][i] or doc[<batch>][i][name]."""
    if not isinstance(doc, Mapping):
        return None
    want = name.lower().replace("-", "_")
    for key, value in doc.items():
        if str(key).lower().replace("-", "_") == want and isinstance(value, list) and len(value) == n:
            return value
    for key in RESPONSE_BATCH_KEYS:
        rows = doc.get(key)
        if isinstance(rows, list) and len(rows) == n and all(isinstance(r, Mapping) for r in rows):
            found = [next((v for k, v in r.items() if str(k).lower().replace("-", "_") == want), None) for r in rows]
            if all(v is not None for v in found):
                return found
    return None


def _differences(doc: Any, answer: Any, n: int, tolerance: float) -> list[Problem] | None:
    outputs = answer.get("outputs") if isinstance(answer, Mapping) else None
    if not isinstance(outputs, list):
        return None
    compared = False
    for i, out in enumerate(outputs):
        if not isinstance(out, Mapping) or not isinstance(out.get("shape"), list) or not out["shape"]:
            continue
        name, shape, data = str(out.get("name", "")), out["shape"], _flat(out.get("data", []))
        theirs = _json_values(doc, name, n)
        if theirs is None or shape[0] != n or len(data) != math.prod(shape):
            continue
        per = len(data) // n if n else 0
        for r in range(n):
            mine = _flat(theirs[r]) if isinstance(theirs[r], list) else [theirs[r]]
            v2 = data[r * per : (r + 1) * per]
            if len(mine) != len(v2) or not all(_same_kind(a, b) for a, b in zip(mine, v2)):
                break
            compared = True
            for c, (a, b) in enumerate(zip(mine, v2)):
                if not _close(a, b, tolerance):
                    where = pointer(["outputs", i, "data", r * per + c])
                    return [
                        Problem(
                            "contract_violation",
                            "high",
                            "same_model",
                            f"the same model must answer alike on its JSON and KServe V2 faces "
                            f"(output {name!r}, relative tolerance {tolerance:g} plus printed rounding)",
                            where,
                            f"row {r}, {name}[{c}]: JSON face {a!r}, V2 face {b!r}",
                        )
                    ]
    return [] if compared else None


def _flat(data: Any) -> list[Any]:
    return [x for item in data for x in _flat(item)] if isinstance(data, list) else [data]


def _same_kind(a: Any, b: Any) -> bool:
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return (isinstance(a, number) and isinstance(b, number)) or (isinstance(a, str) and isinstance(b, str))


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, (str, bool)):
        return a == b
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    allowance = max(_rounding(a), _rounding(b))
    return abs(a - b) <= max(tolerance * max(abs(a), abs(b)), allowance, 1e-12)


def _rounding(v: float) -> float:
    """Half a unit of the last printed decimal when a face rounds (2 to 6 decimals), else 0; float32
    on one face and float64 on the other also differ by ~1e-7 relative, allowed as well."""
    text = repr(float(v))
    if "e" in text or "E" in text:
        return abs(v) * 2e-7
    decimals = len(text.partition(".")[2])
    return max(0.5 * 10.0**-decimals if 2 <= decimals <= 6 else 0.0, abs(v) * 2e-7)
