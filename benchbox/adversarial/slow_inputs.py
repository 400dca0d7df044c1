"""The slow-input rule among hostile inputs: how long the known-good body typically takes, which
case is far slower, and the re-check that says the slowness is the input's, not the moment's."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from benchbox.adversarial import probes
from benchbox.adversarial.cases import Case
from benchbox.adversarial.judge import Outcome, Problem
from benchbox.contract import slow
from benchbox.contract.model import SlowRule

TYPICAL_SENDS = 5  # the known-good body, timed before the classes: the slow-input rule's base
# A megabyte body may take its time (not a cheap request); batch sizes are the contract's edge
# cases' job, where growth in proportion to the size is told from a cliff.
NOT_TIMED = frozenset({"huge_body", "batch_size"})


class SlowInputs:
    """`send` sends one case (and counts it); the typical time is unknown until `time_typical`."""

    def __init__(self, rule: SlowRule, send: Callable[[Case], Outcome]) -> None:
        self.rule, self.send = rule, send
        self.typical_ms: float | None = None
        self.base_case: Case | None = None

    def time_typical(self, method: str, base: Any, stop: Callable[[], bool]) -> None:
        """Time the known-good body a few times: what a typical answer takes, here and now."""
        self.base_case = probes.good_case(method, base, "typical")
        times = []
        for _ in range(TYPICAL_SENDS):
            if stop():
                break
            out = self.send(self.base_case)
            if out.status is not None and out.status != 429:
                times.append(out.latency_ms)
        self.typical_ms = statistics.median(times) if len(times) >= 3 else None

    def problem(self, case: Case, out: Outcome) -> Problem | None:
        """A slow_input problem when this answered case took far longer than the typical one."""
        if (
            out.status is None
            or self.typical_ms is None
            or case.cls in NOT_TIMED
            or out.latency_ms < self.rule.threshold_ms(self.typical_ms)
        ):
            return None
        return self._problem(f"{case.what}: {out.latency_ms:.0f} ms")

    def confirm(self, case: Case, out: Outcome, deadline: float, notes: list[str]) -> tuple[Outcome, Problem] | None:
        """Re-send a slow case (it must be slow every time) and its neighbour, the known-good body it
        differs from in one part only (it must be fast): then the slowness is the input's."""
        assert self.typical_ms is not None and self.base_case is not None
        base_case = self.base_case

        def probe(c: Case) -> tuple[float | None, Outcome]:
            got = self.send(c)
            return (got.latency_ms if got.status is not None and got.status != 429 else None), got

        found = slow.investigate(
            case,
            out.latency_ms,
            probe,
            self.rule,
            self.typical_ms,
            deadline,
            neighbours=lambda _c: [(f"the changed part ({case.what})", base_case, "")],
        )
        if found is None:
            notes.append(
                f"{case.cls}: one input took {out.latency_ms:.0f} ms but was fast when re-sent: noise, not reported"
            )
            return None
        return found.handle, self._problem(f"{case.what}: {found.detail()}")

    def _problem(self, detail: str) -> Problem:
        return Problem(
            "slow_input",
            "input_latency",
            f"no single input may take far longer than the typical answer ({self.rule.describe()})",
            detail,
        )
