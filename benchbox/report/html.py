"""report.html: one self-contained page a reviewer can open offline, years later.

Everything shown is read from the Result (including its encoded histograms), so re-rendering a
saved result.json gives the same page. Jinja2 is imported here only, and this module is imported
only when a report is rendered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from benchbox import hdr
from benchbox.report import charts
from benchbox.report import fmt
from benchbox.result import LatencySummary, LoadPhase, Result, TimePoint
from benchbox.units import format_ms

TEMPLATE = "report.html.j2"

# (label, LatencySummary attribute), in the order people read a latency distribution.
LATENCY_ROWS = (
    ("min", "min"), ("mean", "mean"), ("P50", "p50"), ("P90", "p90"), ("P95", "p95"),
    ("P99", "p99"), ("P99.9", "p99_9"), ("P99.99", "p99_99"), ("max", "max"),
)


@dataclass(frozen=True)
class LatencyRow:
    label: str
    latency: str
    service: str | None


@dataclass(frozen=True)
class PhaseView:
    """A load phase plus what the template cannot compute itself."""

    phase: LoadPhase
    mode: str
    latency_rows: tuple[LatencyRow, ...]
    seconds: tuple[TimePoint, ...]
    time_charts: tuple[charts.Chart, ...]
    distribution: charts.Chart | None


def _latency_rows(latency: LatencySummary | None, service: LatencySummary | None) -> tuple[LatencyRow, ...]:
    if latency is None and service is None:
        return ()
    rows = [LatencyRow("samples", fmt.count(latency.count if latency else None),
                       fmt.count(service.count) if service else None)]
    for label, attr in LATENCY_ROWS:
        rows.append(LatencyRow(
            label,
            format_ms(getattr(latency, attr)) if latency else "n/a",
            format_ms(getattr(service, attr)) if service else None,
        ))
    return tuple(rows)


def _distribution(phase: LoadPhase) -> charts.Chart | None:
    """Read from the phase's own histogram, which the result keeps for exactly this."""
    if not phase.hdr:
        return None
    histogram = hdr.decode(phase.hdr)
    if not histogram.get_total_count():
        return None
    return charts.latency_by_percentile(hdr.percentile_distribution(histogram), histogram.get_total_count())


def phase_view(phase: LoadPhase) -> PhaseView:
    # The parent process fills each second's percentiles; a result saved without them still has
    # the second's histogram, so the chart is read from that rather than left blank.
    seconds = tuple(hdr.with_percentiles(t) if t.p99 is None else t for t in phase.timeseries)
    found = (charts.latency_over_time(seconds), charts.throughput_over_time(seconds))
    return PhaseView(phase=phase, mode=fmt.mode(phase),
                     latency_rows=_latency_rows(phase.latency_ms, phase.service_ms), seconds=seconds,
                     time_charts=tuple(c for c in found if c is not None), distribution=_distribution(phase))


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("benchbox.report", "templates"),
        # Every string in a result may come from the target or the user; none is trusted markup.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        ms=format_ms, count=fmt.count, rps=fmt.rps, pct=fmt.percent, cpu=fmt.cpu,
        seconds=fmt.seconds, clean=fmt.clean, verdict=fmt.verdict_label,
        status=fmt.gate_status, in_unit=fmt.in_unit, threshold=fmt.threshold,
    )
    return env


def render(result: Result) -> str:
    """The page as text; writing it is the caller's job."""
    context = {
        "r": result,
        "partial_notice": fmt.partial_notice(result),
        "limited": fmt.limited_phases(result),
        "limited_warning": fmt.LIMITED_WARNING,
        "run_seconds": fmt.run_seconds(result),
        "phases": [phase_view(p) for p in (result.load.phases if result.load else ())],
        "plan_json": json.dumps(result.plan, indent=2, sort_keys=False, ensure_ascii=False, default=str),
        "extra_json": json.dumps(result.extra, indent=2, ensure_ascii=False, default=str) if result.extra else None,
        "counts": {
            "pass": sum(g.passed is True for g in result.gates),
            "fail": sum(g.passed is False for g in result.gates),
            "unchecked": sum(g.passed is None for g in result.gates),
        },
    }
    return _environment().get_template(TEMPLATE).render(**context)
