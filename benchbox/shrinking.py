"""One interface for shrinking a failing input, whichever room found it.

Three rooms shrink: the contract phase cuts a failing batch to its shortest failing prefix
(`bisect_prefix`), the chat probes cut a failing prompt with delta debugging (`ddmin`), and the
adversarial phase lets Hypothesis shrink, then re-sends the result (`confirm`). They share the
one rule the field notes ask for (Schemathesis' false positives came from breaking it): an input
is only reported as smaller, or minimal, once it was *re-sent* and failed *the same way*. So every
shrinker takes a `Fails` test, a function that re-sends a candidate and returns what it got when
the failure is the same (the witness: an exchange, a problem) or None, and returns a `Shrunk`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
W = TypeVar("W")

# Re-send `candidate`; what it got if it failed the same way, else None.
Fails = Callable[[T], W | None]


@dataclass(frozen=True)
class Shrunk(Generic[T, W]):
    """The smallest input that was re-sent and failed the same way, and what it got.

    `witness` None: no smaller input failed (and `value` is the input as given). `minimal`: the
    search finished, so nothing smaller fails by this shrinker's moves; False when a step or time
    budget cut it short, or the re-check did not fail the same way."""

    value: T
    witness: W | None
    minimal: bool


class Shrinker(Protocol[T, W]):
    def __call__(self, value: T, fails: Fails[T, W], /) -> Shrunk[T, W]: ...


def bisect_prefix(
    value: T, size: int, take: Callable[[int], T], fails: Fails[T, W], max_steps: int = 8
) -> Shrunk[T, W]:
    """The shortest failing prefix (`take(k)`: the first k items), by bisection: at most
    `max_steps` re-sends. Assumes failing is monotone in the length, which holds when one item
    (or the batch size itself) is the cause."""
    lo, hi, steps = 1, size, 0
    best: T = value
    witness: W | None = None
    while lo < hi and steps < max_steps:
        mid = (lo + hi) // 2
        steps += 1
        candidate = take(mid)
        got = fails(candidate)
        if got is not None:
            hi, best, witness = mid, candidate, got
        else:
            lo = mid + 1
    return Shrunk(best, witness, lo >= hi)


def ddmin(value: str, fails: Fails[str, W]) -> Shrunk[str, W]:
    """Zeller's delta debugging on a string's characters: drop ever smaller pieces
    while the failure stays. The result is 1-minimal (no single piece can go) as far as `fails`
    answered; a `fails` that stops answering (its own step or time budget) ends the search early."""
    text = value
    witness: W | None = None
    n = 2
    while len(text) >= 2:
        size = -(-len(text) // n)
        for start in range(0, len(text), size):
            candidate = text[:start] + text[start + size :]
            if candidate and (got := fails(candidate)) is not None:
                text, witness, n = candidate, got, max(n - 1, 2)
                break
        else:
            if n >= len(text):
                break
            n = min(len(text), 2 * n)
    return Shrunk(text, witness, True)


def confirm(value: T, fails: Fails[T, W], shrunk: bool = True) -> Shrunk[T, W]:
    """Re-send an input another shrinker (Hypothesis) produced: minimal only if it fails the same
    way again, and only if that shrinker was allowed to shrink (`shrunk`)."""
    got = fails(value)
    return Shrunk(value, got, shrunk and got is not None)
