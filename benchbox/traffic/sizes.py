"""Batch sizes: bodies whose size varies as production's does, and the bucket each request counts in.

A body's batch is its first top-level list under a key model servers use for one (instances,
inputs, data, ...); resizing cycles that list's items to the wanted length, so every variant is a
request the endpoint already accepts, only bigger or smaller.
"""

from __future__ import annotations

import json
from typing import Any

from benchbox.errors import bad_value

MAX_SIZE = 4096  # a batch bigger than this is a different test (and a body of megabytes per request)
BATCH_KEYS = ("instances", "inputs", "data", "input", "texts", "prompts", "prompt", "examples", "rows")


def parse_batch_sizes(flag: str, text: Any) -> tuple[tuple[int, float], ...]:
    """'1:70,8:25,64:5' -> ((1, 0.70), (8, 0.25), (64, 0.05)): sizes and their shares."""
    items = [t.strip() for t in str(text).split(",") if t.strip()] if not isinstance(text, list) else text
    expected = f"SIZE[:WEIGHT] items like 1:70,8:25,64:5 or 1,8 (whole sizes 1..{MAX_SIZE}, weights > 0)"
    out: dict[int, float] = {}
    for item in items:
        size_text, sep, weight_text = str(item).partition(":")
        try:
            size, weight = int(size_text), float(weight_text) if sep else 1.0
        except ValueError:
            raise bad_value(flag, str(item), expected) from None
        if not 1 <= size <= MAX_SIZE or not 0 < weight < float("inf") or size in out:
            raise bad_value(flag, str(item), expected + ", each size once")
        out[size] = weight
    if not out:
        raise bad_value(flag, str(text), expected)
    total = sum(out.values())
    return tuple((s, w / total) for s, w in out.items())


def _batch_list(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, list):
        return value, None
    if isinstance(value, dict):
        for key in BATCH_KEYS:
            items = value.get(key)
            if isinstance(items, list) and items and not (key == "inputs" and isinstance(items[0], dict)):
                return items, key  # (KServe V2 "inputs" are tensors, not rows)
    return None, None


def batch_of(body: str | None) -> int:
    """The batch size of a JSON body (0: it has no batch list)."""
    if not body:
        return 0
    try:
        items, _ = _batch_list(json.loads(body))
    except (json.JSONDecodeError, RecursionError):
        return 0
    return len(items) if items else 0


def resized(body: str, size: int) -> str | None:
    """The body with its batch list cycled to `size` items (None: it has no batch list)."""
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        return None
    items, key = _batch_list(value)
    if not items:
        return None
    new = [items[i % len(items)] for i in range(size)]
    out = new if key is None else {**value, key: new}
    return json.dumps(out, separators=(",", ":"))
