"""ML invariants of a prediction answer that no schema states: one output per input, finite
numbers, probabilities that are probabilities, the same answer twice.

Conservative on purpose: the stage is run against endpoints nobody here wrote, and a false
finding costs more trust than a missed one. So a rule applies only where the answer says so
plainly: probabilities are values under a key *named* like probabilities (or a key whose
documented description says softmax / sums to 1), and batch pairing only for well-known
request/response array names. Each check returns None when it does not apply, else a list of
problems (empty: checked and fine), so the runner can count what each rule really looked at.
Self-consistency (a label against its own scores...) is in consistency.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from benchbox.contract.consistency import check_consistency as check_consistency  # tests import it from here
from benchbox.contract.problem import PROB_NAMES, Problem, is_number, norm_key, pointer, walk
from benchbox.findings import pointer_pattern

PROB_KEYS = frozenset({*PROB_NAMES, "probability_distribution"})
PROB_SCALAR_KEYS = frozenset({"probability", "prob"})
REQUEST_BATCH_KEYS = (
    "instances",
    "inputs",
    "input",
    "examples",
    "samples",
    "rows",
    "batch",
    "texts",
    "sentences",
    "queries",
    "documents",
)
RESPONSE_BATCH_KEYS = ("predictions", "outputs", "results", "embeddings", "data", "scores", "labels")
_SOFTMAX_DOC = re.compile(r"softmax|sums? to (1|one)|probability distribution", re.IGNORECASE)
_NOT_SOFTMAX_DOC = re.compile(r"multi-?label|sigmoid|independent", re.IGNORECASE)
_VOLATILE = re.compile(
    r"^(id|uuid|request_?id|trace_?id|created(_at)?|timestamp|time|date"
    r"|.*_(ms|us|ns|seconds|time|latency|duration|elapsed)|latency.*|duration.*|elapsed.*)$",
    re.IGNORECASE,
)
_RANGE_EPS = 1e-6  # float32 softmax can print 1.0000001


def check_finite(doc: Any) -> list[Problem]:
    """NaN/Infinity: Python's json accepts the tokens, so we can say where they are."""
    for path, value in walk(doc):
        if isinstance(value, float) and not math.isfinite(value):
            return [
                Problem(
                    "contract_violation",
                    "high",
                    "finite",
                    "numbers in the answer must be finite",
                    pointer(path),
                    f"{value!r} at {pointer(path)}",
                )
            ]
    return []


def probability_keys(schema: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(extra keys documented as a distribution, keys documented as NOT summing to 1)."""
    extra, excluded = set(), set()
    for _, node in walk(schema):
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping):
            continue
        for name, sub in props.items():
            text = " ".join(str(sub.get(k, "")) for k in ("description", "title")) if isinstance(sub, Mapping) else ""
            if _NOT_SOFTMAX_DOC.search(text):
                excluded.add(norm_key(name))
            elif _SOFTMAX_DOC.search(text):
                extra.add(norm_key(name))
    return frozenset(extra), frozenset(excluded)


def check_probabilities(
    doc: Any, tolerance: float, extra: frozenset[str] = frozenset(), excluded: frozenset[str] = frozenset()
) -> list[Problem] | None:
    found: list[Problem] | None = None
    for path, value in walk(doc):
        if not path or not isinstance(path[-1], str):
            continue
        key = norm_key(path[-1])
        if key in excluded:
            continue
        if key in PROB_KEYS or key in extra:
            for sub, vec in _vectors(value):
                found = found if found is not None else []
                found += check_vector(vec, pointer((*path, *sub)), tolerance)
        elif key in PROB_SCALAR_KEYS and is_number(value) and math.isfinite(value):
            found = found if found is not None else []
            if not -_RANGE_EPS <= value <= 1 + _RANGE_EPS:
                found.append(_range_problem(pointer(path), value))
    return found


def _vectors(value: Any) -> Iterator[tuple[tuple[Any, ...], list[float]]]:
    if isinstance(value, Mapping) and len(value) >= 2 and all(is_number(v) for v in value.values()):
        yield (), list(value.values())
    elif isinstance(value, list) and len(value) >= 2 and all(is_number(v) for v in value):
        yield (), value
    elif isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        for i, row in enumerate(value):
            if len(row) >= 2 and all(is_number(v) for v in row):
                yield (i,), row


def check_vector(values: Sequence[float], where: str, tolerance: float) -> list[Problem]:
    """Range and sum of one distribution. Non-finite values are the `finite` rule's business."""
    if not all(math.isfinite(v) for v in values):
        return []
    for i, v in enumerate(values):
        if not -_RANGE_EPS <= v <= 1 + _RANGE_EPS:
            return [_range_problem(f"{where}/{i}", v)]
    total = math.fsum(values)
    allowed = tolerance + _rounding_allowance(values)
    if abs(total - 1.0) > allowed:
        return [
            Problem(
                "contract_violation",
                "high",
                "probability_sum",
                f"probabilities at {pointer_pattern(where)} must sum to 1 (within {allowed:.3g})",
                where,
                f"they sum to {total:.6g} at {where}",
            )
        ]
    return []


def _range_problem(where: str, value: float) -> Problem:
    return Problem(
        "contract_violation",
        "high",
        "probability_range",
        f"probabilities at {pointer_pattern(where)} must lie in [0, 1]",
        where,
        f"{value!r} at {where}",
    )


def _rounding_allowance(values: Sequence[float]) -> float:
    """A server that prints 4 decimals cannot sum to 1 better than n * 0.00005: allow that.
    One decimal is not taken as rounding: exact values like 0.5 print that way too."""
    decimals = 0
    for v in values:
        text = repr(float(v))
        if "e" in text or "E" in text:
            return 0.0
        decimals = max(decimals, len(text.partition(".")[2]))
    return len(values) * 0.5 * 10.0**-decimals if 2 <= decimals <= 6 else 0.0


def batch_arrays(request: Any, response: Any) -> tuple[str, int, str, int] | None:
    """(request key, its length, response key, its length) when both sides are plainly batches."""
    if isinstance(request, list) and isinstance(response, list):
        return "", len(request), "", len(response)
    if not isinstance(request, Mapping) or not isinstance(response, Mapping):
        return None
    req = [k for k in REQUEST_BATCH_KEYS if isinstance(request.get(k), list)]
    resp = [k for k in RESPONSE_BATCH_KEYS if isinstance(response.get(k), list)]
    if len(req) != 1 or len(resp) != 1:
        return None
    return req[0], len(request[req[0]]), resp[0], len(response[resp[0]])


def check_batch(request: Any, response: Any) -> list[Problem] | None:
    pair = batch_arrays(request, response)
    if pair is None:
        return None
    req_key, n_in, resp_key, n_out = pair
    if n_in == n_out:
        return []
    where = pointer([resp_key]) if resp_key else ""
    return [
        Problem(
            "contract_violation",
            "high",
            "batch_size",
            f"one prediction per input: {where or 'the answer'} must be as long as "
            f"{pointer([req_key]) or 'the request'}",
            where,
            f"{n_in} inputs, {n_out} predictions",
        )
    ]


def compare(a: Any, b: Any, tolerance: float, path: tuple[Any, ...] = ()) -> tuple[str, str] | None:
    """First difference between two answers to the same input, as (pointer, detail), or None.
    Numbers may differ by `tolerance` relative; keys that name ids, times and latencies are skipped."""
    if is_number(a) and is_number(b):
        if a == b or (math.isfinite(a) and math.isfinite(b) and math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-12)):
            return None
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return None
        return pointer(path), f"{a!r} then {b!r} at {pointer(path)}"
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = [k for k in dict.fromkeys([*a, *b]) if not _VOLATILE.match(str(k))]
        for k in keys:
            if k not in a or k not in b:
                return pointer((*path, k)), f"key {k!r} present in only one answer"
            diff = compare(a[k], b[k], tolerance, (*path, k))
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return pointer(path), f"{len(a)} items then {len(b)} at {pointer(path) or '/'}"
        for i, (x, y) in enumerate(zip(a, b)):
            diff = compare(x, y, tolerance, (*path, i))
            if diff:
                return diff
        return None
    if a != b:
        return pointer(path), f"{str(a)[:60]!r} then {str(b)[:60]!r} at {pointer(path) or '/'}"
    return None
