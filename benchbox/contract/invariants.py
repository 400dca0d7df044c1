"""ML invariants of a prediction answer that no schema states: one output per input, finite
numbers, probabilities that are probabilities, the same answer twice.

Conservative on purpose: the stage is run against endpoints nobody here wrote, and a false
finding costs more trust than a missed one. So a rule applies only where the answer says so
plainly: probabilities are values under a key *named* like probabilities (or a key whose
documented description says softmax / sums to 1), and batch pairing only for well-known
request/response array names. Each check returns None when it does not apply, else a list of
problems (empty: checked and fine), so the runner can count what each rule really looked at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchbox.findings import Severity

PROB_KEYS = frozenset(
    {
        "probabilities",
        "probs",
        "proba",
        "probas",
        "class_probabilities",
        "class_probs",
        "softmax",
        "predict_proba",
        "probability_distribution",
    }
)
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


@dataclass(frozen=True)
class Problem:
    """A broken rule before it becomes a Finding (no request/response attached yet)."""

    kind: str
    severity: Severity
    rule: str
    message: str
    pointer: str = ""
    detail: str = ""


def pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _norm(key: str) -> str:
    return key.lower().replace("-", "_")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _walk(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, doc
    if isinstance(doc, Mapping):
        for k, v in doc.items():
            yield from _walk(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _walk(v, (*path, i))


def check_finite(doc: Any) -> list[Problem]:
    """NaN/Infinity: Python's json accepts the tokens, so we can say where they are."""
    for path, value in _walk(doc):
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
    for _, node in _walk(schema):
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping):
            continue
        for name, sub in props.items():
            text = " ".join(str(sub.get(k, "")) for k in ("description", "title")) if isinstance(sub, Mapping) else ""
            if _NOT_SOFTMAX_DOC.search(text):
                excluded.add(_norm(name))
            elif _SOFTMAX_DOC.search(text):
                extra.add(_norm(name))
    return frozenset(extra), frozenset(excluded)


def check_probabilities(
    doc: Any, tolerance: float, extra: frozenset[str] = frozenset(), excluded: frozenset[str] = frozenset()
) -> list[Problem] | None:
    found: list[Problem] | None = None
    for path, value in _walk(doc):
        if not path or not isinstance(path[-1], str):
            continue
        key = _norm(path[-1])
        if key in excluded:
            continue
        if key in PROB_KEYS or key in extra:
            for sub, vec in _vectors(value):
                found = found if found is not None else []
                found += check_vector(vec, pointer((*path, *sub)), tolerance)
        elif key in PROB_SCALAR_KEYS and _is_number(value) and math.isfinite(value):
            found = found if found is not None else []
            if not -_RANGE_EPS <= value <= 1 + _RANGE_EPS:
                found.append(_range_problem(pointer(path), value))
    return found


def _vectors(value: Any) -> Iterator[tuple[tuple[Any, ...], list[float]]]:
    if isinstance(value, Mapping) and len(value) >= 2 and all(_is_number(v) for v in value.values()):
        yield (), list(value.values())
    elif isinstance(value, list) and len(value) >= 2 and all(_is_number(v) for v in value):
        yield (), value
    elif isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        for i, row in enumerate(value):
            if len(row) >= 2 and all(_is_number(v) for v in row):
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
                f"probabilities at {_pattern(where)} must sum to 1 (within {allowed:.3g})",
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
        f"probabilities at {_pattern(where)} must lie in [0, 1]",
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


def _pattern(where: str) -> str:
    return re.sub(r"/\d+(?=/|$)", "/*", where)


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
    if _is_number(a) and _is_number(b):
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


# -- self-consistency: values of one answer that can be derived from each other must agree --------
LABEL_KEYS = (
    "label",
    "predicted_label",
    "class",
    "predicted_class",
    "class_id",
    "label_id",
    "class_index",
    "prediction",
    "predicted",
)
SCORE_KEYS = (
    "probabilities",
    "probs",
    "proba",
    "probas",
    "class_probabilities",
    "class_probs",
    "predict_proba",
    "softmax",
    "scores",
    "logits",
    "confidences",
)
CLASS_LIST_KEYS = ("classes", "class_names", "labels_list", "label_names", "categories")
RANKED_KEYS = re.compile(
    r"^(top_?\d*|top_?k|topk|ranked|ranking|top_classes|top_labels|top_predictions)$", re.IGNORECASE
)
ITEM_SCORE_KEYS = ("score", "probability", "prob", "confidence")
_PAGING = frozenset(
    {
        "next",
        "previous",
        "prev",
        "page",
        "pages",
        "offset",
        "limit",
        "cursor",
        "next_page",
        "total",
        "page_size",
        "has_more",
    }
)
_COUNT_KEY = re.compile(r"^(count|num_(?P<a>\w+)|n_(?P<b>\w+)|(?P<c>\w+)_count)$", re.IGNORECASE)


def check_consistency(doc: Any) -> list[Problem] | None:
    """A label against the scores it comes from (argmax), a ranked list against its scores' order,
    a count against its list. None: nothing in the answer is derivable from anything else."""
    found: list[Problem] | None = None
    for path, node in _walk(doc):
        if not isinstance(node, Mapping):
            continue
        for problems in (_label_vs_scores(node, path), _ranked(node, path), _count_vs_list(node, path)):
            if problems is not None:
                found = (found or []) + problems
    return found


def label_problem(where: str, label: Any, expected: Any, scores_at: str) -> Problem:
    return Problem(
        "contract_violation",
        "high",
        "self_consistent",
        f"a label must be the class its own scores rank first ({_pattern(where)} vs {_pattern(scores_at)})",
        where,
        f"label {label!r} at {where}, but {scores_at} ranks {expected!r} first",
    )


def _argmax(values: Sequence[float]) -> tuple[int, float] | None:
    if len(values) < 2 or not all(_is_number(v) and math.isfinite(v) for v in values):
        return None
    best = max(range(len(values)), key=lambda i: values[i])
    return best, values[best]


def _agrees(label: Any, scores: Any, classes: Any) -> tuple[bool, Any] | None:
    """(label agrees with the scores' argmax, the argmax's name) or None when not comparable."""
    if isinstance(scores, Mapping) and len(scores) >= 2 and all(_is_number(v) for v in scores.values()):
        if not isinstance(label, str) or label not in scores:
            return None
        top = max(scores.values())
        winner = max(scores, key=lambda k: scores[k])
        return math.isclose(scores[label], top, rel_tol=1e-9, abs_tol=1e-12), winner
    if not isinstance(scores, list):
        return None
    best = _argmax(scores)
    if best is None:
        return None
    index, top = best
    if _is_number(label) and float(label).is_integer() and not isinstance(label, bool):
        i = int(label)
        if not 0 <= i < len(scores):
            return False, index
        return math.isclose(scores[i], top, rel_tol=1e-9, abs_tol=1e-12), index
    if isinstance(label, str) and isinstance(classes, list) and len(classes) == len(scores) and label in classes:
        i = classes.index(label)
        return math.isclose(scores[i], top, rel_tol=1e-9, abs_tol=1e-12), classes[index]
    return None


def _label_vs_scores(node: Mapping[str, Any], path: tuple[Any, ...]) -> list[Problem] | None:
    norm = {_norm(str(k)): k for k in node}
    score_key = next((norm[k] for k in SCORE_KEYS if k in norm), None)
    if score_key is None:
        return None
    classes = next((node[norm[k]] for k in CLASS_LIST_KEYS if k in norm), None)
    out: list[Problem] | None = None
    for label_key in (norm[k] for k in LABEL_KEYS if k in norm):  # e.g. a class name and a class index
        label, scores = node[label_key], node[score_key]
        if (
            isinstance(label, list)
            and isinstance(scores, list)
            and len(label) == len(scores)
            and label
            and all(isinstance(r, (list, Mapping)) for r in scores)
        ):
            rows: list[tuple[Any, Any, tuple[Any, ...], tuple[Any, ...]]] = [
                (label[i], scores[i], (*path, label_key, i), (*path, score_key, i)) for i in range(len(label))
            ]
        else:
            rows = [(label, scores, (*path, label_key), (*path, score_key))]
        for lab, sc, lpath, spath in rows:
            verdict = _agrees(lab, sc, classes)
            if verdict is None:
                continue
            out = out if out is not None else []
            if not verdict[0]:
                return [label_problem(pointer(lpath), lab, verdict[1], pointer(spath))]
    return out


def _ranked(node: Mapping[str, Any], path: tuple[Any, ...]) -> list[Problem] | None:
    out: list[Problem] | None = None
    for key, value in node.items():
        if not (
            isinstance(key, str)
            and RANKED_KEYS.match(key)
            and isinstance(value, list)
            and len(value) >= 2
            and all(isinstance(v, Mapping) for v in value)
        ):
            continue
        score_key = next((k for k in ITEM_SCORE_KEYS if all(_is_number(v.get(k)) for v in value)), None)
        if score_key is None:
            continue
        out = out if out is not None else []
        scores = [v[score_key] for v in value]
        for i in range(1, len(scores)):
            if scores[i] > scores[i - 1] * (1 + 1e-9) + 1e-12:
                where = pointer((*path, key, i, score_key))
                out.append(
                    Problem(
                        "contract_violation",
                        "high",
                        "self_consistent",
                        f"a ranked list must be in the order of its own scores ({_pattern(where)})",
                        where,
                        f"{key}[{i}] scores {scores[i]!r}, above {key}[{i - 1}]'s {scores[i - 1]!r}",
                    )
                )
                break
    return out


def _count_vs_list(node: Mapping[str, Any], path: tuple[Any, ...]) -> list[Problem] | None:
    lists = {k: v for k, v in node.items() if isinstance(v, list)}
    if any(_norm(str(k)) in _PAGING for k in node):
        return None  # {"count": 120, "next": ..., "results": [...]}: a total over pages, not this list's length
    out: list[Problem] | None = None
    for key, value in node.items():
        m = _COUNT_KEY.match(str(key)) if _is_number(value) and not isinstance(value, bool) else None
        if m is None:
            continue
        named = m.group("a") or m.group("b") or m.group("c")
        target = named if named in lists else (next(iter(lists)) if named is None and len(lists) == 1 else None)
        if target is None:
            continue
        out = out if out is not None else []
        if value != len(lists[target]):
            where = pointer((*path, key))
            out.append(
                Problem(
                    "contract_violation",
                    "high",
                    "self_consistent",
                    f"a count must equal the length of its list ({_pattern(where)})",
                    where,
                    f"{key} = {value!r} but {target} has {len(lists[target])} items",
                )
            )
    return out
