"""A broken contract rule before it becomes a Finding, and the walk over an answer that every
rule (invariants, self-consistency, KServe) shares."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from benchbox.findings import Severity

# The keys an answer plainly names its class probabilities by (the invariants' and the
# self-consistency rule's, in the order the latter looks for scores).
PROB_NAMES = (
    "probabilities",
    "probs",
    "proba",
    "probas",
    "class_probabilities",
    "class_probs",
    "predict_proba",
    "softmax",
)


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


def norm_key(key: str) -> str:
    return key.lower().replace("-", "_")


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def walk(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, doc
    if isinstance(doc, Mapping):
        for k, v in doc.items():
            yield from walk(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from walk(v, (*path, i))
