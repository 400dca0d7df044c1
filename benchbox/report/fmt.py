"""Words and numbers every renderer shows the same way.

The HTML page, summary.md and junit.xml must never disagree about a figure, so each figure is
turned into text here, once. Pure functions only: no I/O, no Jinja.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from benchbox.result import GateResult, LoadPhase, Result
from benchbox.units import format_ms

VERDICT_LABEL = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}

# Characters XML 1.0 forbids outright; error samples can carry them (a binary body, an ANSI colour
# code) and a single one makes junit.xml unparseable for every CI viewer.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_OP_SYMBOL = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "==": "="}


def clean(text: object) -> str:
    """Text safe to put in any of the three documents (escaping is each renderer's own job)."""
    return _XML_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", str(text))


def clip(text: object, limit: int) -> str:
    """Text cut for display, saying how much was left out (result.json keeps it whole)."""
    value = str(text)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value) - limit:,} more characters in result.json)"


def verdict_label(verdict: str) -> str:
    return VERDICT_LABEL.get(verdict, verdict.upper())


def count(n: int | float | None) -> str:
    """12,345: thousands separators, because request counts run to millions."""
    if n is None:
        return "n/a"
    return f"{int(n):,}"


def rps(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{float(value):,.1f} req/s"


def percent(fraction: float | None) -> str:
    """An error rate: never round a non-zero rate down to a reassuring 0.00%."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    value = 100.0 * float(fraction)
    if value == 0.0:
        return "0%"
    if value < 0.01:
        return "<0.01%"
    return f"{value:.2f}%"


def cpu(value: float) -> str:
    return f"{float(value):.0f}%"


def seconds(value: float | None) -> str:
    """A duration for people: 30 s, 1.5 s, 2 m 5 s."""
    if value is None or not math.isfinite(value):
        return "n/a"
    value = float(value)
    if value < 60:
        return f"{value:.3g} s" if value < 10 else f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} m {rest} s" if rest else f"{minutes} m"


def in_unit(value: float | None, unit: str) -> str:
    """A gate figure in its own unit (the units gates.py writes: ms, ratio, req/s)."""
    if value is None:
        return "n/a"
    if unit == "ms":
        return format_ms(float(value))
    if unit == "ratio":
        return percent(value)
    if unit == "req/s":
        return rps(value)
    if unit == "cost":
        from benchbox.capacity import money

        return money(float(value))
    return f"{float(value):g} {unit}".strip()


def op_symbol(op: str) -> str:
    return _OP_SYMBOL.get(op, op)


def threshold(gate: GateResult) -> str:
    """'≤ 200 ms': the op belongs with the threshold, that is how people say an SLO."""
    return f"{op_symbol(gate.op)} {in_unit(gate.threshold, gate.unit)}"


def gate_status(passed: bool | None) -> str:
    if passed is None:
        return "not checked"
    return "pass" if passed else "fail"


def mode(phase: LoadPhase) -> str:
    """How the load was offered, which decides how to read its latencies."""
    ramp = f"ramping from {phase.ramp_from:g} to " if phase.ramp_from is not None else ""
    workers = f", on {len(phase.workers)} workers" if phase.workers else ""
    if phase.mode == "open":
        rate = f"{ramp}{float(phase.offered_rps):g} req/s" if phase.offered_rps is not None else "an unknown rate"
        arrival = f", {phase.arrival} arrivals" if phase.arrival else ""
        conns = f", up to {phase.connections} connections" if phase.connections else ""
        return f"open loop at {rate}{arrival}{conns}{workers}"
    users = f"{ramp}{phase.users} users" if phase.users is not None else "an unknown number of users"
    return f"closed loop with {users}{workers}"


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def run_seconds(result: Result) -> float | None:
    """Wall time of the run from its own timestamps; None when they do not parse."""
    start, end = _parse_time(result.started_at), _parse_time(result.finished_at)
    if start is None or end is None or (start.tzinfo is None) != (end.tzinfo is None):
        return None
    return max((end - start).total_seconds(), 0.0)


def partial_notice(result: Result) -> str | None:
    """One sentence saying the run is incomplete, or None when it is whole."""
    if not result.partial and not result.interrupted:
        return None
    why = f"interrupted ({result.interrupted})" if result.interrupted else "cut short"
    return f"Partial result: the run was {why}; its figures cover only what was measured before it stopped."


def limited_phases(result: Result) -> list[LoadPhase]:
    return [p for p in (result.load.phases if result.load else ()) if p.generator.limited]


LIMITED_WARNING = "the figures describe the load generator, not the target"
