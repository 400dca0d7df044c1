"""Edge cases, chosen on purpose rather than drawn by luck: they run first in every contract run.

Random generation finds a bound only by chance; a server that hangs on batches above 32 or
rejects a value at its documented maximum is found every time by sending exactly those inputs:

- each array of the request schema with a documented size, and the batch array (or a KServe
  input's free first dimension): sizes 0, 1, maxItems - 1, maxItems, maxItems + 1, and each
  power of two and its successor up to the bound, plus the first power of two past it (no
  maxItems: up to `UNBOUNDED_CAP`, and sizes past `UNBOUNDED_VALID` need not be accepted);
- each bounded number: its minimum and maximum, and just outside each (1e-3 relative, an integer
  step for integers; an exclusive bound is itself outside);
- each string with maxLength (and no pattern/format/enum, which a run of "a" would break):
  maxLength and maxLength + 1 characters, and minLength - 1 when minLength > 0.

Every case is one change from a valid base body and is re-validated against the schema, so its
expectation ("valid": a 2xx; "invalid": a 4xx) is the schema's word, not a guess. The batch
sizes are marked, so each size's latency is kept for the report's latency-vs-batch-size chart.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchbox.contract.model import Contract
from benchbox.contract.shrink import batch_view

UNBOUNDED_CAP = 256  # largest size tried for an array or a batch dimension with no documented bound
# Past this size an undocumented bound is the server's right: a clean 4xx is no finding ("any"),
# a 2xx is judged like any answer and timed (a 2xx that takes seconds is still a slow input).
UNBOUNDED_VALID = 64
MAX_EDGE_BYTES = 1_000_000  # a size whose body would pass this is skipped: a heavy request is not an edge
MAX_NODES = 12  # distinct schema places edged per run (a wide schema must not explode the count)
Classify = Callable[[Any], str]  # body -> "valid" | "invalid" | "any"


@dataclass(frozen=True)
class Edge:
    """One edge input: what it is, the body, what the contract says it must get, and its batch size
    when it varies the batch (None otherwise)."""

    what: str
    body: Any
    expect: str
    batch: int | None = None


def sizes(low: int, high: int | None) -> list[int]:
    """0, 1, the powers of two and their successors up to the bound, the bound's neighbours, and
    past the bound once; ascending, distinct."""
    top = high if high is not None else UNBOUNDED_CAP
    found = {0, 1, max(low - 1, 0), low}
    p = 2
    while p <= top:
        found.update((p, p + 1))
        p *= 2
    if high is not None:
        found.update((high - 1, high, high + 1, p))  # p: the first power of two past the bound
    return sorted(s for s in found if s >= 0)


def edge_inputs(contract: Contract, base: Any, classify: Classify) -> list[Edge]:
    """The edge cases for `contract`, each one change from the valid `base`."""
    if contract.inputs:
        return _kserve_edges(contract, base, classify)
    schema = contract.request_schema
    if not isinstance(schema, Mapping) or base is None:
        return []
    batch = batch_view(contract, base)
    batch_path = _batch_path(base) if batch is not None else None
    out: list[Edge] = []
    for path, node, value in _places(schema, base, ())[:MAX_NODES]:
        unbounded = isinstance(value, list) and not isinstance(node.get("maxItems"), int)
        if unbounded and path != batch_path and not isinstance(node.get("minItems"), int):
            continue  # an array with no documented size: its sizes say nothing (the batch array aside)
        for what, body in _cases(node, value, path, base):
            got = get_at(body, path)
            size = len(got) if path == batch_path and isinstance(got, list) else None
            expect = classify(body)
            if unbounded and isinstance(got, list) and len(got) > UNBOUNDED_VALID and expect == "valid":
                expect = "any"
            out.append(Edge(what, body, expect, size))
    return out


def _batch_path(body: Any) -> tuple[Any, ...] | None:
    if isinstance(body, list):
        return ()
    from benchbox.contract.invariants import REQUEST_BATCH_KEYS

    keys = [k for k in REQUEST_BATCH_KEYS if isinstance(body, Mapping) and isinstance(body.get(k), list)]
    return (keys[0],) if len(keys) == 1 else None


def _places(schema: Any, value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Mapping[str, Any], Any]]:
    """(path in the base body, its schema node, its value) for every array, bounded number and
    bounded string, the first item of each array standing for all of them."""
    if not isinstance(schema, Mapping):
        return []
    nodes = [schema, *[b for b in schema.get("allOf", []) if isinstance(b, Mapping)]]
    merged: dict[str, Any] = {}
    for n in nodes:
        merged.update({k: v for k, v in n.items() if k != "allOf"})
    out: list[tuple[tuple[Any, ...], Mapping[str, Any], Any]] = []
    if isinstance(value, list):
        if value:
            out.append((path, merged, value))
            items = merged.get("items")
            sub = items[0] if isinstance(items, list) and items else items
            out += _places(sub, value[0], (*path, 0))
    elif isinstance(value, Mapping):
        for key, sub in (merged.get("properties") or {}).items():
            if key in value:
                out += _places(sub, value[key], (*path, key))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if any(
            isinstance(merged.get(k), (int, float))
            for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        ):
            out.append((path, merged, value))
    elif isinstance(value, str) and isinstance(merged.get("maxLength"), int):
        if not any(k in merged for k in ("pattern", "format", "enum", "const")):
            out.append((path, merged, value))
    return out


def _cases(node: Mapping[str, Any], value: Any, path: tuple[Any, ...], base: Any) -> list[tuple[str, Any]]:
    where = "".join(f"/{p}" for p in path) or "/"
    if isinstance(value, list):
        low = least if isinstance(least := node.get("minItems"), int) else 0
        high = most if isinstance(most := node.get("maxItems"), int) else None
        item_bytes = max(len(json.dumps(v, default=str)) for v in value) + 1
        return [
            (f"{where} with {n} items", put_at(base, path, [copy.deepcopy(value[i % len(value)]) for i in range(n)]))
            for n in sizes(low, high)
            if n * item_bytes <= MAX_EDGE_BYTES
        ]
    if isinstance(value, str):
        longest, shortest = node["maxLength"], node.get("minLength", 0)
        lengths = [longest, longest + 1] + ([shortest - 1] if isinstance(shortest, int) and shortest > 0 else [])
        return [(f"{where} with {n} characters", put_at(base, path, "a" * n)) for n in lengths]
    integer = node.get("type") == "integer" or (isinstance(value, int) and node.get("type") != "number")
    out: list[tuple[str, Any]] = []
    for key, sign in (("minimum", -1), ("maximum", 1), ("exclusiveMinimum", -1), ("exclusiveMaximum", 1)):
        bound = node.get(key)
        if not isinstance(bound, (int, float)) or isinstance(bound, bool) or not math.isfinite(bound):
            continue
        step = 1 if integer else max(abs(bound) * 1e-3, 1e-3)
        at = bound if key.startswith("exclusive") else None
        outside = bound + sign * step if at is None else bound
        if at is None:
            out.append((f"{where} = {bound!r} ({key})", put_at(base, path, bound)))
        outside = int(outside) if integer else float(outside)
        out.append((f"{where} = {outside!r} (just outside {key} {bound!r})", put_at(base, path, outside)))
    return out


def _kserve_edges(contract: Contract, base: Any, classify: Classify) -> list[Edge]:
    """The free batch dimension of a V2 model: sizes 0 .. UNBOUNDED_CAP. The metadata documents no
    bound, so only 1..4 (what the generator draws too) must be accepted; other sizes are "any": a
    clean refusal is the server's right, an acceptance is judged and timed like any answer."""
    view = batch_view(contract, base)
    if view is None or view.size < 1 or view.one is None:
        return []
    rows = [view.one(i) for i in range(view.size)]
    row_bytes = max(len(json.dumps(r, default=str)) for r in rows)
    out = []
    for n in (n for n in sizes(0, None) if n * row_bytes <= MAX_EDGE_BYTES):
        body = _kserve_batch(rows, n)
        out.append(Edge(f"a batch of {n}", body, classify(body) if 1 <= n <= 4 else "any", n))
    return out


def _kserve_batch(rows: list[Any], n: int) -> Any:
    first = rows[0]
    tensors = []
    for t_index, tensor in enumerate(first["inputs"]):
        data = [x for i in range(n) for x in rows[i % len(rows)]["inputs"][t_index]["data"]]
        tensors.append({**tensor, "shape": [n, *tensor["shape"][1:]], "data": data})
    return {**first, "inputs": tensors}


def get_at(doc: Any, path: tuple[Any, ...]) -> Any:
    """The value at a JSON path (keys and indexes)."""
    for p in path:
        doc = doc[p]
    return doc


def put_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of `doc` with the value at `path` replaced (the original stays as it was)."""
    if not path:
        return value
    out = copy.deepcopy(doc)
    get_at(out, path[:-1])[path[-1]] = value
    return out
