"""What a live output sends: one record per second of load, one per phase, one for the run.

Built in the parent from the ticks the generator already sends (with --workers: the master's
merged ticks), never in the generator. Percentiles come from that second's HDR histogram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchbox import hdr

QUANTILES = (50.0, 90.0, 95.0, 99.0)


@dataclass(frozen=True)
class Record:
    """One point set: `kind` is 'second', 'phase' (whole-phase figures) or 'run' (the verdict).
    `values` holds numbers (None: not measured that second); `tags` the labels every point carries."""

    kind: str
    ts_ms: int
    tags: Mapping[str, str]
    values: Mapping[str, float | None]

    @property
    def size(self) -> int:
        """How many points this record is: one per measured value."""
        return sum(1 for k, v in self.values.items() if v is not None and k != "t")


def side_and_phase(phase: str) -> tuple[str | None, str]:
    """A live compare's windows are named 'baseline N' / 'candidate N' (benchbox.compare.live):
    the side is the first word."""
    for side in ("baseline", "candidate"):
        if phase.startswith((side + " ", side + "-")):
            return side, phase
    return None, phase


def tags_for(
    base: Mapping[str, str], phase: str, by_side: Mapping[str, Mapping[str, str]] | None = None, side: str | None = None
) -> dict[str, str]:
    """The run's tags, the phase, and in a live compare the side with that side's label and target."""
    named, phase = side_and_phase(phase)
    side = side or named
    tags = {**base, **((by_side or {}).get(side or "", {})), "phase": phase}
    if side:
        tags["side"] = side
    return tags


def second(
    tick: Mapping[str, Any], base: Mapping[str, str], ts_ms: int, by_side: Mapping[str, Mapping[str, str]] | None = None
) -> Record:
    """One tick -> the second's figures."""
    values: dict[str, float | None] = {
        "t": float(tick.get("t", 0)),
        "requests": float(tick.get("requests", 0)),
        "errors": float(tick.get("errors", 0)),
        "in_flight": float(tick.get("in_flight", 0)),
        "cpu_percent": float(tick.get("cpu_percent", 0.0)),
        "lag_max_ms": _num(tick.get("lag_max_ms")),
    }
    encoded = tick.get("hdr")
    h = hdr.decode(encoded) if encoded else None
    found = h.get_percentile_to_value_dict(list(QUANTILES)) if h is not None else {}
    for q in QUANTILES:
        values[f"p{q:g}_ms"] = found[q] / 1000.0 if q in found else None
    if tick.get("workers"):
        values["workers"] = float(tick["workers"])
    return Record("second", ts_ms, tags_for(base, str(tick.get("phase", "")), by_side), values)


def phase_summary(
    phase: Any,
    base: Mapping[str, str],
    ts_ms: int,
    by_side: Mapping[str, Mapping[str, str]] | None = None,
    side: str | None = None,
) -> Record:
    """A finished phase's whole-phase figures (a benchbox.result.LoadPhase)."""
    latency = phase.latency_ms
    values: dict[str, float | None] = {
        "requests": float(phase.requests),
        "errors": float(phase.errors),
        "error_rate": float(phase.error_rate),
        "throughput_rps": float(phase.throughput_rps),
        "duration_s": float(phase.duration_s),
    }
    for q in QUANTILES:
        values[f"p{q:g}_ms"] = _num(getattr(latency, f"p{q:g}", None))
    for kind, count in sorted(phase.errors_by_kind.items()):
        values[f"errors:{kind}"] = float(count)  # by kind: whole-phase only (a tick carries totals)
    return Record("phase", ts_ms, tags_for(base, phase.name, by_side, side), values)


def run_summary(verdict: str, passed_gates: int, failed_gates: int, base: Mapping[str, str], ts_ms: int) -> Record:
    return Record(
        "run",
        ts_ms,
        {**base, "verdict": verdict},
        {
            "passed": 1.0 if verdict == "pass" else 0.0,
            "gates_passed": float(passed_gates),
            "gates_failed": float(failed_gates),
        },
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
