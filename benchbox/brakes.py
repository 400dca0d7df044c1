"""Brakes: how hard benchbox may push, and when it gives up on a target that is clearly broken.

A load tool is aimed at systems that are about to fail; it must not become the outage. Three
limits, each a plain value the plan carries to every phase:

- `max_rps`: no phase sends faster (load, saturation probes, contract, adversarial);
- `max_concurrency`: no phase keeps more requests in flight (saturation pools, adversarial bursts,
  load connections or users);
- the abort rule: after a grace period, a load phase whose error share reaches the threshold stops
  (k6's `abortOnFail` with `delayAbortEval`, made a default), and no saturation search follows.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from benchbox.errors import bad_value
from benchbox.units import parse_duration, parse_positive

if TYPE_CHECKING:
    from benchbox.load.spec import PhaseSpec, RunSpec

DEFAULT_ABORT_ERRORS = 0.20
DEFAULT_ABORT_GRACE_S = 5.0
# Below this many finished requests an error share says little (3 failures out of 5 is noise).
ABORT_MIN_REQUESTS = 20

_ABORT_FORM = "errors=PCT[,after=DURATION] (e.g. errors=20%,after=5s) or off"


@dataclass(frozen=True)
class Brakes:
    """The limits every phase respects; None means no limit of that kind."""

    max_rps: float | None = None
    max_concurrency: int | None = None
    abort_error_rate: float | None = DEFAULT_ABORT_ERRORS
    abort_grace_s: float = DEFAULT_ABORT_GRACE_S

    def describe_abort(self) -> str:
        if self.abort_error_rate is None:
            return "off"
        return f"errors >= {100 * self.abort_error_rate:g}% after {self.abort_grace_s:g}s"

    def cap(self, count: int) -> int:
        """A concurrency (connections, users, threads) under the cap."""
        return count if self.max_concurrency is None else max(1, min(count, self.max_concurrency))


def parse_abort_on(value: Any) -> tuple[float | None, float]:
    """`errors=20%`, `errors=0.2,after=10s`, `off` -> (error share or None, grace in seconds)."""
    if value is None:
        return DEFAULT_ABORT_ERRORS, DEFAULT_ABORT_GRACE_S
    text = str(value).strip().lower()
    if text in ("off", "none", "no", "false"):
        return None, DEFAULT_ABORT_GRACE_S
    rate, grace = None, DEFAULT_ABORT_GRACE_S
    for part in text.split(","):
        key, sep, raw = part.strip().partition("=")
        if not sep:
            raise bad_value("--abort-on", value, _ABORT_FORM)
        if key == "errors":
            rate = _share(raw.strip(), value)
        elif key == "after":
            grace = parse_duration("--abort-on after", raw.strip())
        else:
            raise bad_value("--abort-on", value, _ABORT_FORM)
    if rate is None:
        raise bad_value("--abort-on", value, _ABORT_FORM)
    return rate, grace


def _share(raw: str, whole: Any) -> float:
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)(%?)", raw)
    if not match:
        raise bad_value("--abort-on", whole, _ABORT_FORM)
    share = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    if not 0 < share <= 1:
        raise bad_value("--abort-on", whole, "an error share in (0, 100%], e.g. errors=20%")
    return share


def build_brakes(max_rps: Any, max_concurrency: Any, abort_on: Any) -> Brakes:
    """The plan's brakes from the raw flag or config values (strings, numbers or None)."""
    rate, grace = parse_abort_on(abort_on)
    return Brakes(
        max_rps=parse_positive("--max-rps", max_rps) if max_rps is not None else None,
        max_concurrency=(
            int(parse_positive("--max-concurrency", max_concurrency, integer=True))
            if max_concurrency is not None
            else None
        ),
        abort_error_rate=rate,
        abort_grace_s=grace,
    )


class Braked(Protocol):
    """What the braked helpers read from a plan (benchbox.plan.Plan is one). A protocol, not the
    Plan itself: the plan carries Brakes, so brakes must not import the plan back."""

    @property
    def brakes(self) -> Brakes: ...

    @property
    def saturation_budget_s(self) -> float: ...

    def run_spec(self) -> RunSpec: ...


class Pacer:
    """Spaces sends at least 1/max_rps apart (thread-safe; `clock`/`sleep` injectable for gevent).

    A slot is reserved before sleeping, so concurrent callers queue instead of bursting together."""

    def __init__(self, max_rps: float | None, clock: Any = None, sleep: Any = None) -> None:
        import threading
        import time

        self.interval = 1.0 / max_rps if max_rps else 0.0
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def braked_search(plan: Braked) -> Any:
    """The search's settings under the plan's brakes: no probe above --max-rps, no pool (or
    estimate users) above --max-concurrency. Probes stop early on errors by their own rule."""
    from benchbox.saturation import SearchSettings

    settings = SearchSettings(budget_s=plan.saturation_budget_s)
    b = plan.brakes
    changes: dict[str, Any] = {"max_rps": b.max_rps}
    if b.max_concurrency is not None:
        changes.update(
            max_connections=b.max_concurrency, estimate_users=min(settings.estimate_users, b.max_concurrency)
        )
    return dataclasses.replace(settings, **changes)


def braked_run(plan: Braked) -> Any:
    """The load phases under the plan's brakes: rates and connections capped, the abort rule set."""
    b = plan.brakes
    run = plan.run_spec()

    def cap(spec: PhaseSpec) -> PhaseSpec:
        rate = min(spec.rate, b.max_rps) if spec.rate is not None and b.max_rps else spec.rate
        start = (
            min(spec.ramp_from, b.max_rps)
            if spec.ramp_from is not None and b.max_rps and spec.mode == "open"
            else spec.ramp_from
        )
        users = b.cap(spec.users) if spec.users is not None else None
        return dataclasses.replace(
            spec,
            rate=rate,
            ramp_from=start,
            users=users,
            connections=b.cap(spec.connections),
            max_rps=b.max_rps,
            abort_error_rate=b.abort_error_rate,
            abort_grace_s=b.abort_grace_s,
        )

    return dataclasses.replace(run, phases=tuple(cap(p) for p in run.phases))
