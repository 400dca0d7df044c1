"""Self-consistency of one answer: values that can be derived from each other must agree (a label
and the scores it comes from, a ranked list and its scores' order, a count and its list).

As conservative as the other invariants: a rule applies only under keys named plainly for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from benchbox.contract.problem import PROB_NAMES, Problem, is_number, norm_key, pointer, walk
from benchbox.findings import pointer_pattern

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
SCORE_KEYS = (*PROB_NAMES, "scores", "logits", "confidences")
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
    for path, node in walk(doc):
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
        "a label must be the class its own scores rank first "
        f"({pointer_pattern(where)} vs {pointer_pattern(scores_at)})",
        where,
        f"label {label!r} at {where}, but {scores_at} ranks {expected!r} first",
    )


def _argmax(values: Sequence[float]) -> tuple[int, float] | None:
    if len(values) < 2 or not all(is_number(v) and math.isfinite(v) for v in values):
        return None
    best = max(range(len(values)), key=lambda i: values[i])
    return best, values[best]


def _agrees(label: Any, scores: Any, classes: Any) -> tuple[bool, Any] | None:
    """(label agrees with the scores' argmax, the argmax's name) or None when not comparable."""
    if isinstance(scores, Mapping) and len(scores) >= 2 and all(is_number(v) for v in scores.values()):
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
    if is_number(label) and float(label).is_integer() and not isinstance(label, bool):
        i = int(label)
        if not 0 <= i < len(scores):
            return False, index
        return math.isclose(scores[i], top, rel_tol=1e-9, abs_tol=1e-12), index
    if isinstance(label, str) and isinstance(classes, list) and len(classes) == len(scores) and label in classes:
        i = classes.index(label)
        return math.isclose(scores[i], top, rel_tol=1e-9, abs_tol=1e-12), classes[index]
    return None


def _label_vs_scores(node: Mapping[str, Any], path: tuple[Any, ...]) -> list[Problem] | None:
    norm = {norm_key(str(k)): k for k in node}
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
        score_key = next((k for k in ITEM_SCORE_KEYS if all(is_number(v.get(k)) for v in value)), None)
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
                        f"a ranked list must be in the order of its own scores ({pointer_pattern(where)})",
                        where,
                        f"{key}[{i}] scores {scores[i]!r}, above {key}[{i - 1}]'s {scores[i - 1]!r}",
                    )
                )
                break
    return out


def _count_vs_list(node: Mapping[str, Any], path: tuple[Any, ...]) -> list[Problem] | None:
    lists = {k: v for k, v in node.items() if isinstance(v, list)}
    if any(norm_key(str(k)) in _PAGING for k in node):
        return None  # {"count": 120, "next": ..., "results": [...]}: a total over pages, not this list's length
    out: list[Problem] | None = None
    for key, value in node.items():
        m = _COUNT_KEY.match(str(key)) if is_number(value) and not isinstance(value, bool) else None
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
                    f"a count must equal the length of its list ({pointer_pattern(where)})",
                    where,
                    f"{key} = {value!r} but {target} has {len(lists[target])} items",
                )
            )
    return out
