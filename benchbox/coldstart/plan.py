"""`--start CMD` and `--first-requests N`: checked when the plan is built."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchbox.errors import bad_value
from benchbox.units import parse_duration

DEFAULT_FIRST_REQUESTS = 3  # with --start or a first_request gate, unless --first-requests says otherwise


@dataclass(frozen=True)
class ColdPlan:
    start: tuple[str, ...] = ()  # the command, split as a shell would (never run through a shell)
    first_requests: int = 0
    gated: bool = False  # a time_to_ready or first_request gate is set
    warmup_s: float = 0.0  # --warmup: a first load phase ("warm-up") kept out of the gates

    @property
    def active(self) -> bool:
        return bool(self.start) or self.first_requests > 0 or self.gated


def cold_plan(pick: Callable[..., Any], gates: Sequence[Any], rate: float | None = None) -> ColdPlan:
    raw = pick("start")
    try:
        start = tuple(shlex.split(str(raw))) if raw else ()
    except ValueError as exc:
        raise bad_value("--start", raw, f"a command line with balanced quotes ({exc})") from None
    if raw is not None and not start:
        raise bad_value("--start", raw, "a command that starts the target, e.g. 'python -m myserver --port 8000'")
    asked = pick("first_requests")
    gated = any(g.metric.startswith("cold.") for g in gates)
    if asked is None:
        n = DEFAULT_FIRST_REQUESTS if (start or gated) else 0
    else:
        try:
            n = int(str(asked))
        except ValueError:
            n = -1
        if not 0 <= n <= 100:
            raise bad_value("--first-requests", asked, "a whole number from 0 to 100")
    return ColdPlan(start=start, first_requests=n, gated=gated, warmup_s=_warmup(pick("warmup"), rate))


def _warmup(raw: Any, rate: float | None) -> float:
    """`--warmup 30s` (a duration) or `--warmup 200` (requests, at the open-loop rate) -> seconds."""
    if raw is None:
        return 0.0
    text = str(raw).strip()
    if text.isdigit():
        if rate is None:
            raise bad_value("--warmup", raw, "a duration like 30s (a number of requests needs an open-loop --rate)")
        return int(text) / rate
    return parse_duration("--warmup", text)
