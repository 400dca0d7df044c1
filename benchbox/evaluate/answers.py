"""What the endpoint answered for one input: a label, a value, probabilities.

Model servers spell a prediction in a few common ways; these are read, in this order:
- KServe V2 / Open Inference Protocol: `outputs` tensors; probabilities from a tensor named like
  `probabilities`/`probs`/`scores`, the label from one named like `label`/`class`/`predictions`;
- `{"predictions": [...]}` (KServe V1, TF Serving, the demo), `{"prediction": ...}`, or the document;
- a prediction object with `label`/`class`/`prediction`, `class_index`, `probabilities`/`probs`/
  `scores`, or `value`/`score`/`output` for regression; a bare string, number or probability list.
Anything else is "no usable answer" with the reason, counted as wrong, never skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_LABEL_KEYS = ("label", "class", "predicted_label", "predicted_class", "category", "prediction")
_INDEX_KEYS = ("class_index", "index", "class_id")
_PROBA_KEYS = ("probabilities", "probs", "probability", "scores", "proba")
_VALUE_KEYS = ("value", "prediction", "score", "output", "y", "predicted_value")


@dataclass(frozen=True)
class Answer:
    label: str | None = None
    index: int | None = None
    probabilities: tuple[float, ...] | None = None
    value: float | None = None
    error: str | None = None


def read_answer(doc: Any, regression: bool) -> Answer:
    """One input's answer from a response document."""
    if isinstance(doc, Mapping) and isinstance(doc.get("outputs"), list):
        return _from_v2(doc["outputs"], regression)
    item = doc
    if isinstance(doc, Mapping):
        for key in ("predictions", "prediction", "results", "outputs"):
            if key in doc:
                item = doc[key]
                break
        if isinstance(item, list) and item and not all(_is_number(v) for v in item):
            item = item[0]
        elif isinstance(item, list) and len(item) == 1:
            item = item[0] if regression else item
    return _from_item(item, regression)


def _from_item(item: Any, regression: bool) -> Answer:
    if isinstance(item, Mapping):
        if regression:
            value = next((item[k] for k in _VALUE_KEYS if _is_number(item.get(k))), None)
            return (
                Answer(value=float(value))
                if value is not None
                else _missing(item, "a number (value, prediction, score)")
            )
        label = next(
            (item[k] for k in _LABEL_KEYS if isinstance(item.get(k), (str, int)) and not isinstance(item.get(k), bool)),
            None,
        )
        index = next((int(item[k]) for k in _INDEX_KEYS if _is_int(item.get(k))), None)
        proba = next((p for p in (_vector(item.get(k)) for k in _PROBA_KEYS) if p is not None), None)
        if label is None and index is None and proba is None:
            return _missing(item, "a label, class index or probabilities")
        return Answer(label=None if label is None else str(label), index=index, probabilities=proba)
    if regression:
        if _is_number(item):
            return Answer(value=float(item))
        return Answer(error="expected a number in the answer")
    if isinstance(item, str):
        return Answer(label=item)
    if _is_int(item):
        return Answer(index=int(item), label=str(int(item)))
    proba = _vector(item)
    if proba is not None:
        return Answer(probabilities=proba)
    return Answer(error="expected a label, a class index or a list of probabilities in the answer")


def _from_v2(outputs: list[Any], regression: bool) -> Answer:
    named = {str(o.get("name", "")).lower(): o for o in outputs if isinstance(o, Mapping)}

    def first(names: Sequence[str]) -> Mapping[str, Any] | None:
        return next((named[n] for n in named if any(key in n for key in names)), None)

    if regression:
        tensor = first(_VALUE_KEYS) or (next(iter(named.values())) if len(named) == 1 else None)
        data = _flat(tensor.get("data")) if tensor else []
        return (
            Answer(value=float(data[0]))
            if data and _is_number(data[0])
            else Answer(error="expected a number in the V2 outputs")
        )
    proba_t, label_t = first(_PROBA_KEYS), first(("label", "class", "prediction"))
    proba = None
    if proba_t is not None:
        data, shape = _flat(proba_t.get("data")), proba_t.get("shape") or []
        width = int(shape[-1]) if shape and _is_int(shape[-1]) and int(shape[-1]) > 0 else len(data)
        proba = _vector(data[:width])
    label, index = None, None
    if label_t is not None:
        data = _flat(label_t.get("data"))
        if data and _is_int(data[0]):
            index = int(data[0])
        elif data and isinstance(data[0], str):
            label = data[0]
    if proba is None and label is None and index is None:
        return Answer(error="expected a probabilities or label tensor in the V2 outputs")
    return Answer(label=label, index=index, probabilities=proba)


def _flat(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return []
    out: list[Any] = []
    for v in data:
        out.extend(_flat(v) if isinstance(v, list) else [v])
    return out


def _vector(value: Any) -> tuple[float, ...] | None:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    if isinstance(value, list) and len(value) >= 2 and all(_is_number(v) for v in value):
        return tuple(float(v) for v in value)
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _missing(item: Mapping[str, Any], what: str) -> Answer:
    keys = ", ".join(sorted(map(str, item))[:8])
    return Answer(error=f"expected {what} in the answer; it has {keys or 'no keys'}")
