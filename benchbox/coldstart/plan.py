"""`--start CMD` and `--first-requests N`: checked when the plan is built."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchbox.errors import bad_value

DEFAULT_FIRST_REQUESTS = 3  # with --start or a first_request gate, unless --first-requests says otherwise


@dataclass(frozen=True)
class ColdPlan:
    start: tuple[str, ...] = ()  # the command, split as a shell would (never run through a shell)
    first_requests: int = 0
    gated: bool = False  # a time_to_ready or first_request gate is set

    @property
    def active(self) -> bool:
        return bool(self.start) or self.first_requests > 0 or self.gated


def cold_plan(pick: Callable[..., Any], gates: Sequence[Any]) -> ColdPlan:
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
    return ColdPlan(start=start, first_requests=n, gated=gated)
