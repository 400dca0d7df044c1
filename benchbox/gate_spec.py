"""A gate as data: what it measures, which way, and its threshold, until it meets a result.

Its own module, below `benchbox.gates` (which parses and judges), so that the rooms that parse and
judge their own gates (server metrics, cold start) depend on the value, not on the judge that
calls them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchbox.result import GateResult
from benchbox.units import format_ms

Op = Literal["<=", ">="]


@dataclass(frozen=True)
class GateSpec:
    name: str
    metric: str
    op: Op
    threshold: float
    unit: str

    def describe(self) -> str:
        return f"{self.metric} {self.op} {show(self.threshold, self.unit)}"

    def judged(self, observed: float | None, passed: bool | None, detail: str) -> GateResult:
        """This gate's verdict on what was observed (None: not checked, with the reason in detail)."""
        return GateResult(
            name=self.name,
            metric=self.metric,
            op=self.op,
            threshold=self.threshold,
            unit=self.unit,
            observed=observed,
            passed=passed,
            detail=detail,
        )


def show(value: float, unit: str) -> str:
    if unit == "ms":
        return format_ms(value)
    if unit == "ratio":
        return f"{100 * value:.2f}%"
    if unit == "cost":
        from benchbox.capacity import money

        return money(value)
    return f"{value:g} {unit}"
