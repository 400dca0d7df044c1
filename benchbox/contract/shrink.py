"""Shrink a failing batch to the one item the finding names, else the shortest failing prefix.

Cheap and predictable on purpose: when the finding points at one item of the answer
(`/predictions/3/class_index`), that item's row alone is re-sent first (one request); otherwise,
or when the row alone passes, one bisection over the batch length (at most ~log2(n) requests),
not Hypothesis' shrinker replaying hundreds of requests against a live server. A row or a prefix
of a batch is a batch of the same kind, so the shrunk input is still a plausible request; a
candidate that no longer validates against the request schema (e.g. below minItems) counts as
not failing, and the input we report is one that was re-sent and failed again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from benchbox.contract.invariants import REQUEST_BATCH_KEYS
from benchbox.contract.model import Contract
from benchbox.shrinking import Fails, Shrunk, W, bisect_prefix

MAX_STEPS = 8


@dataclass(frozen=True)
class BatchView:
    """A body seen as a batch: its length, and how to cut it to its first k items."""

    size: int
    take: Callable[[int], Any]
    one: Callable[[int], Any] | None = None  # the batch holding only item i (slow-input shrinking)


def batch_view(contract: Contract, body: Any) -> BatchView | None:
    if contract.protocol == "kserve-v2":
        return _kserve_view(contract, body)
    if isinstance(body, list):
        return BatchView(len(body), lambda k: body[:k], lambda i: body[i : i + 1])
    if isinstance(body, Mapping):
        keys = [k for k in REQUEST_BATCH_KEYS if isinstance(body.get(k), list)]
        if len(keys) == 1:
            key = keys[0]
            return BatchView(
                len(body[key]), lambda k: {**body, key: body[key][:k]}, lambda i: {**body, key: body[key][i : i + 1]}
            )
    return None


def _kserve_view(contract: Contract, body: Any) -> BatchView | None:
    if not contract.inputs or contract.inputs[0].shape[:1] != (-1,) or not isinstance(body, Mapping):
        return None
    try:
        inputs = list(body["inputs"])
        n = int(inputs[0]["shape"][0])
        rows = [math.prod(t["shape"][1:]) for t in inputs]
        if any(t["shape"][0] != n or len(t["data"]) != n * r for t, r in zip(inputs, rows)):
            return None  # nested data or mixed batches: not a shape we can cut safely
    except (KeyError, IndexError, TypeError, ValueError):
        return None

    def take(k: int) -> Any:
        cut = [{**t, "shape": [k, *t["shape"][1:]], "data": t["data"][: k * r]} for t, r in zip(inputs, rows)]
        return {**body, "inputs": cut}

    def one(i: int) -> Any:
        cut = [
            {**t, "shape": [1, *t["shape"][1:]], "data": t["data"][i * r : (i + 1) * r]} for t, r in zip(inputs, rows)
        ]
        return {**body, "inputs": cut}

    return BatchView(n, take, one)


def shrink(view: BatchView, fails: Fails[Any, W], pointer: str = "") -> Shrunk[Any, W]:
    """The failing item alone, or the smallest failing prefix of the batch (benchbox.shrinking's
    interface: `fails` re-sends a candidate and returns what it got if it failed the same way).
    Witness None: nothing shorter failed; `minimal` with no witness means the input was already
    the shortest. `pointer` is where the finding points in the answer: a per-item rule (a label
    that contradicts its own scores) can sit in any row, so a prefix would keep every row before it."""
    item = item_index(pointer)
    if view.one is not None and view.size > 1 and item is not None and item < view.size:
        alone = view.one(item)
        got = fails(alone)
        if got is not None:
            return Shrunk(alone, got, True)
    return bisect_prefix(view.take(view.size), view.size, view.take, fails, MAX_STEPS)


_ITEM = re.compile(r"^/[^/]+/(\d+)(?:/|$)")


def item_index(pointer: str) -> int | None:
    """The item a JSON pointer into a batch answer names (`/predictions/3/label` -> 3), if any."""
    match = _ITEM.match(pointer)
    return int(match.group(1)) if match else None
