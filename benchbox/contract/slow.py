"""Input-tied latency outliers: one input answered far slower than the endpoint's typical answer.

Why one input and not a class median: a single input that holds a worker for seconds is a cheap
denial of service, and it hides inside any average. The rule (`SlowRule`, tunable with
--slow-input): an answer at least `factor` x the median answer AND at least `min_ms` is a suspect.
A suspect becomes a `slow_input` finding only once it is tied to the input, not to the machine:

1. confirm: it is sent again `CONFIRM_TRIES` times and every try is slow again, while a typical
   input sent right after is still fast (a busy machine slows both);
2. shrink: a batch is cut to its shortest still-slow prefix (bisection), then to the one item
   alone when that item is what is slow;
3. neighbour: inputs that differ from the suspect in one part only (one leaf set back to the
   typical input's value, or one item fewer) are sent until one is fast: that part is the cause.

Everything runs through a `probe(body) -> (ms or None, handle)` callback, so the contract and
adversarial phases share it with their own clients, and stops at `deadline` (a slow input costs
its slowness on every try).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchbox.contract.edges import get_at, put_at
from benchbox.contract.model import SlowRule
from benchbox.contract.shrink import BatchView

CONFIRM_TRIES = 2
# A batch slower than a smaller one in proportion to its size is cost, not a defect (256 items may
# take 256x one item). Only a slowdown at least this many times beyond the size ratio counts (a cliff).
BEYOND_SIZE = 2.0
MAX_NEIGHBOURS = 6
MIN_SAMPLES = 5  # fewer answers than this: no median worth comparing with
SMALL_BATCH = 4
MAX_CAUSES = 3  # slow inputs reported per run (each investigation costs its slowness on every try)

Probe = Callable[[Any], tuple[float | None, Any]]
Valid = Callable[[Any], bool | None]
Neighbours = Callable[[Any], Iterable[tuple[str, Any, str]]]  # (what it changes, body, JSON pointer)


@dataclass
class SlowCase:
    """A confirmed slow input: the smallest still-slow body and everything the finding says."""

    body: Any
    handle: Any  # the exchange/outcome of its last slow try (the finding's response)
    tries_ms: list[float]  # the first answer, then each re-send (of the original input)
    median_ms: float
    threshold_ms: float
    reference_ms: float | None = None
    shrunk: str = ""  # "from 17 items to 1", empty when nothing was cut
    batch_cause: int | None = None  # the batch size from which answers are slow, when that is the cause
    shrunk_ms: list[float] = field(default_factory=list)  # the tries of the shrunk body, when shrunk
    neighbour: str = ""  # what the fast neighbour changed
    neighbour_ms: float | None = None
    neighbour_body: Any = None
    pointer: str = ""  # where the cause is, when a neighbour isolated it ("" for the batch size)
    finished: bool = True  # the shrinking ran to its end (not cut by the deadline)
    proportional: str = ""  # why the slowness is explained by the input's size (then: no finding)

    def detail(self) -> str:
        tries = ", ".join(f"{ms:.0f}" for ms in self.tries_ms)
        parts = [
            (
                f"answered in {tries} ms over {len(self.tries_ms)} tries; the typical answer takes "
                f"{self.median_ms:.1f} ms (threshold {self.threshold_ms:.0f} ms)"
            )
        ]
        if self.reference_ms is not None:
            parts.append(f"a typical input re-sent meanwhile: {self.reference_ms:.1f} ms")
        if self.shrunk:
            parts.append(
                f"shrunk {self.shrunk} (still slow: " + ", ".join(f"{ms:.0f}" for ms in self.shrunk_ms) + " ms)"
            )
        if self.neighbour:
            parts.append(f"neighbour differing only in {self.neighbour}: {self.neighbour_ms:.1f} ms")
        else:
            parts.append("no one-part neighbour was fast: the cause is the input as a whole")
        return "; ".join(parts)


def median_of(latencies: Sequence[float]) -> float | None:
    return statistics.median(latencies) if len(latencies) >= MIN_SAMPLES else None


def suspects(
    timed: Sequence[tuple[float, Any]], rule: SlowRule, limit: int = 8, median: float | None = None
) -> tuple[float | None, list[tuple[float, Any]]]:
    """(median, the slowest items over the threshold, slowest first, at most `limit`)."""
    median = median if median is not None else median_of([ms for ms, _ in timed])
    if median is None:
        return None, []
    cut = rule.threshold_ms(median)
    over = sorted((t for t in timed if t[0] >= cut), key=lambda t: -t[0])
    return median, over[:limit]


def find_causes(
    timed: Sequence[tuple[float, Any]],
    rule: SlowRule,
    budget_s: float,
    probe: Probe,
    *,
    view_of: Callable[[Any], BatchView | None],
    valid: Valid,
    size_of: Callable[[Any], int],
    notes: list[str],
) -> tuple[float | None, list[SlowCase]]:
    """(the median answer, the confirmed slow inputs) among `timed` (ms, body) answers: each suspect
    investigated against the smallest fast input, one report per cause (a batch size found slow by
    itself explains every larger batch), everything inside `budget_s`."""
    # The typical answer is that of a small input (a batch of at most SMALL_BATCH items) when there
    # are enough of them: slow large batches must not raise the bar they are measured against.
    small = [ms for ms, b in timed if (v := view_of(b)) is None or v.size <= SMALL_BATCH]
    median, found = suspects(timed, rule, median=median_of(small))
    if median is None:
        return None, []
    deadline = time.monotonic() + budget_s
    reference = min((b for ms, b in timed if ms < rule.threshold_ms(median)), key=size_of, default=None)
    seen: set[str] = set()
    explained: list[int] = []
    out: list[SlowCase] = []
    for ms, body in found:
        view = view_of(body)
        key = json.dumps(body, sort_keys=True, default=str)
        if (
            key in seen
            or len(out) >= MAX_CAUSES
            or time.monotonic() >= deadline
            or (view is not None and any(view.size >= k for k in explained))
        ):
            continue
        seen.add(key)
        case = investigate(
            body,
            ms,
            probe,
            rule,
            median,
            deadline,
            reference=reference,
            view=view,
            valid=valid,
            neighbours=lambda cur: leaf_neighbours(cur, reference) if reference is not None else [],
            size_of=size_of,
        )
        if case is None:
            notes.append(
                f"an input answered in {ms:.0f} ms (median {median:.1f} ms) was fast when re-sent: noise, not reported"
            )
            continue
        if case.batch_cause is not None:
            explained.append(case.batch_cause)
        if case.proportional:
            notes.append(f"a slow input not reported: {case.proportional} (see latency against batch size)")
            continue
        out.append(case)
    return median, out


def investigate(
    body: Any,
    first_ms: float,
    probe: Probe,
    rule: SlowRule,
    median_ms: float,
    deadline: float,
    *,
    reference: Any = None,
    view: BatchView | None = None,
    valid: Valid | None = None,
    neighbours: Neighbours | None = None,
    size_of: Callable[[Any], int] | None = None,
) -> SlowCase | None:
    """Confirm, shrink and explain one suspect; None when it was not slow again (noise) or the
    typical input is slow too right now (the machine, not the input)."""
    threshold = rule.threshold_ms(median_ms)
    ok_valid = valid or (lambda _b: True)

    def slow(candidate: Any) -> tuple[bool, float | None, Any]:
        ms, handle = probe(candidate)
        return ms is not None and ms >= threshold, ms, handle

    def time_left(cost_ms: float) -> bool:
        return time.monotonic() + cost_ms / 1000 < deadline

    tries, handle = [first_ms], None
    for _ in range(CONFIRM_TRIES):
        if not time_left(first_ms):
            return None  # not confirmed: never report an unconfirmed suspect
        is_slow, ms, handle = slow(body)
        if ms is not None:
            tries.append(ms)
        if not is_slow:
            return None
    case = SlowCase(body=body, handle=handle, tries_ms=tries, median_ms=median_ms, threshold_ms=threshold)
    if reference is not None:
        ref_slow, case.reference_ms, _ = slow(reference)
        if ref_slow:
            return None
    current = body
    if view is not None and view.size > 1:
        current = _shrink_batch(case, view, slow, ok_valid, time_left, first_ms)
    if neighbours is not None and not case.neighbour:
        for what, candidate, where in list(neighbours(current))[:MAX_NEIGHBOURS]:
            if not time_left(first_ms):
                case.finished = False
                break
            if ok_valid(candidate) is False:
                continue
            is_slow, ms, _ = slow(candidate)
            if ms is not None and not is_slow:
                case.neighbour, case.neighbour_ms, case.pointer = what, ms, where
                case.neighbour_body = candidate
                break
    # Proportional cost is a fair excuse for batches only: n items may take n times one item, but one
    # value (a long string, a number) that costs seconds is the cheap request that holds a worker.
    if size_of is not None and (
        case.batch_cause is not None or (view is not None and view.size > 1 and not case.neighbour)
    ):
        _proportion(case, current, reference, size_of)
    return case


def _proportion(case: SlowCase, current: Any, reference: Any, size_of: Callable[[Any], int]) -> None:
    """Mark the case proportional when its fast comparison input explains it by size alone."""
    other, other_ms = (case.neighbour_body, case.neighbour_ms) if case.neighbour else (reference, case.reference_ms)
    if other is None or not other_ms:
        return
    slow_ms = min(case.shrunk_ms or case.tries_ms[1:] or case.tries_ms)
    size_ratio = max(size_of(current), 1) / max(size_of(other), 1)
    if slow_ms <= BEYOND_SIZE * max(size_ratio, 1.0) * other_ms:
        case.proportional = (
            f"{slow_ms:.0f} ms against {other_ms:.1f} ms for an input {size_ratio:.3g}x smaller: "
            "slower in proportion to its size"
        )


def _shrink_batch(
    case: SlowCase,
    view: BatchView,
    slow: Callable[[Any], tuple[bool, float | None, Any]],
    valid: Valid,
    time_left: Callable[[float], bool],
    cost_ms: float,
) -> Any:
    """The shortest still-slow prefix, then its last item alone if that is slow by itself."""
    lo, hi, best, fast_ms = 1, view.size, None, {}
    while lo < hi:
        if not time_left(cost_ms):
            case.finished = False
            break
        mid = (lo + hi) // 2
        candidate = view.take(mid)
        if valid(candidate) is False:
            lo = mid + 1
            continue
        is_slow, ms, handle = slow(candidate)
        if is_slow:
            hi, best = mid, (candidate, handle, ms)
        else:
            lo = mid + 1
            if ms is not None:
                fast_ms[mid] = ms
    size, current = view.size, case.body
    if best is not None:
        current, case.handle, size = best[0], best[1], hi
        case.shrunk_ms = [best[2]] if best[2] is not None else []
    if size > 1 and view.one is not None and time_left(cost_ms):
        alone = view.one(size - 1)
        if valid(alone) is not False:
            is_slow, ms, handle = slow(alone)
            if is_slow:
                case.shrunk = f"from {view.size} items to 1 (item {size - 1} alone)"
                case.shrunk_ms = [ms or 0.0]
                case.handle = handle
                return alone
    if size < view.size:
        case.shrunk = f"from {view.size} items to {size}"
    if size > 1 and case.finished:
        # The item alone is fast: the batch size is the cause; one item fewer is the neighbour.
        below = fast_ms.get(size - 1)
        if below is None and time_left(cost_ms):
            is_slow, below, _ = slow(view.take(size - 1))
            below = None if is_slow else below
        if below is not None:
            case.neighbour, case.neighbour_ms = f"the batch size ({size - 1} items instead of {size})", below
            case.neighbour_body, case.batch_cause = view.take(size - 1), size
    return current


def leaf_neighbours(current: Any, reference: Any) -> list[tuple[str, Any, str]]:
    """`current` with one scalar set back to the reference's value at the same place, for each
    place where they differ (a batch item stands against the reference's item at the same index)."""
    out: list[tuple[str, Any, str]] = []
    for path, value in _leaves(current, ()):
        try:
            other = get_at(reference, path)
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(other, (dict, list)) or other == value:
            continue
        where = "".join(f"/{p}" for p in path) or "/"
        out.append((f"{where} ({other!r:.40} instead of {value!r:.40})", put_at(current, path, other), where))
    return out


def _leaves(doc: Any, path: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], Any]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:16]):
            yield from _leaves(v, (*path, i))
    else:
        yield path, doc
