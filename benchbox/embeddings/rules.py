"""The rules an embeddings answer must keep, as pure functions of the request and the answer.

One vector per input, in `index` order; the same dimension for every vector (and every request);
finite numbers; `usage` that adds up (OpenAI's `CreateEmbeddingResponse`: prompt_tokens ==
total_tokens, and each non-empty input is at least one token). Determinism: the same text must
get the same vector, whatever else is in its batch, within --tolerance (relative L2 distance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from benchbox.llm.stream import Problem

BODY = "embeddings.body"
COUNT = "embeddings.count"
INDEX = "embeddings.index"
DIMENSION = "embeddings.dimension"
FINITE = "embeddings.finite"
USAGE = "embeddings.usage"
USAGE_MISSING = "embeddings.usage_missing"  # low: OpenAI's schema requires it, but clients rarely read it
DETERMINISTIC = "embeddings.deterministic"
RULES = (BODY, COUNT, INDEX, DIMENSION, FINITE, USAGE, USAGE_MISSING, DETERMINISTIC)
HIGH = frozenset({BODY, COUNT, FINITE, DIMENSION})  # a client cannot use the answer at all

Vector = tuple[float, ...]


def inputs_of(body: Any) -> list[str] | None:
    """The texts a request body asks to embed (a string is one input), or None if it is not that."""
    value = body.get("input") if isinstance(body, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def check_answer(body: Any, inputs: Sequence[str], dimension: int | None = None) -> tuple[list[Problem], list[Vector]]:
    """Every rule this answer breaks, and its vectors in input order (empty when unreadable)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        return [Problem(BODY, "the answer has no `data` list of objects", repr(body)[:160])], []
    out: list[Problem] = []
    if len(data) != len(inputs):
        out.append(
            Problem(
                COUNT, "the answer does not have one vector per input", f"{len(inputs)} inputs, {len(data)} vectors"
            )
        )
    indexes = [d.get("index") for d in data]
    if sorted(i for i in indexes if isinstance(i, int)) != list(range(len(data))):
        out.append(Problem(INDEX, "data[].index is not 0..n-1, one each", f"indexes {indexes[:12]}"))
        ordered = data
    else:
        ordered = sorted(data, key=lambda d: d["index"])
    vectors: list[Vector] = []
    for i, item in enumerate(ordered):
        vec = item.get("embedding")
        if not isinstance(vec, list) or not vec:
            out.append(
                Problem(
                    BODY, "an embedding is not a non-empty list of numbers", f"data[{i}].embedding = {repr(vec)[:80]}"
                )
            )
            return out, []
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vec):
            out.append(Problem(FINITE, "an embedding holds something other than numbers", f"data[{i}]"))
            return out, []
        if not all(math.isfinite(x) for x in vec):
            bad = next(x for x in vec if not math.isfinite(x))
            out.append(Problem(FINITE, "an embedding holds a non-finite number", f"data[{i}] holds {bad!r}"))
        vectors.append(tuple(float(x) for x in vec))
    dims = sorted({len(v) for v in vectors})
    if len(dims) > 1:
        out.append(Problem(DIMENSION, "the vectors of one answer differ in dimension", f"dimensions {dims}"))
    elif dims and dimension is not None and dims[0] != dimension:
        out.append(
            Problem(
                DIMENSION, "this answer's dimension differs from an earlier answer's", f"{dims[0]}, earlier {dimension}"
            )
        )
    out += usage_problems(body.get("usage"), inputs)
    return out, vectors


def usage_problems(usage: Any, inputs: Sequence[str]) -> list[Problem]:
    if usage is None:
        return [Problem(USAGE_MISSING, "the answer has no `usage` (OpenAI's schema requires it)")]
    fields = {k: usage.get(k) if isinstance(usage, dict) else None for k in ("prompt_tokens", "total_tokens")}
    bad = [k for k, v in fields.items() if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0)]
    if bad:
        return [Problem(USAGE, "usage has a missing or non-integer count", f"{bad[0]} = {fields[bad[0]]!r}")]
    prompt, total = fields["prompt_tokens"], fields["total_tokens"]
    if total != prompt:
        return [Problem(USAGE, "usage.total_tokens is not usage.prompt_tokens", f"{total} != {prompt}")]
    non_empty = sum(1 for text in inputs if text.strip())
    if prompt is not None and prompt < non_empty:
        return [
            Problem(
                USAGE, "usage.prompt_tokens is fewer than the non-empty inputs", f"{prompt} tokens, {non_empty} inputs"
            )
        ]
    return []


def distance(a: Vector, b: Vector) -> float:
    """Relative L2 distance: |a - b| / max(|a|, |b|) (0 for two zero vectors)."""
    if len(a) != len(b):
        return math.inf
    norm = max(math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b)))
    diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    return diff / norm if norm else diff
