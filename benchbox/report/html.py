"""report.html: one self-contained page a reviewer can open offline, years later.

Everything shown is read from the Result (including its encoded histograms), so re-rendering a
saved result.json gives the same page. Jinja2 is imported here only, and this module is imported
only when a report is rendered.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

from benchbox import hdr
from benchbox.report import charts, checklist, fmt, scaling_charts, server_metrics
from benchbox.result import GateResult, LatencySummary, LoadPhase, Result, TimePoint
from benchbox.units import format_ms

TEMPLATE = "report.html.j2"

# (label, LatencySummary attribute), in the order people read a latency distribution.
LATENCY_ROWS = (
    ("min", "min"),
    ("mean", "mean"),
    ("P50", "p50"),
    ("P90", "p90"),
    ("P95", "p95"),
    ("P99", "p99"),
    ("P99.9", "p99_9"),
    ("P99.99", "p99_99"),
    ("max", "max"),
)

# Latency gates as the charts draw them: metric -> (label, percentile). Labels are benchbox's own,
# never the gate's name from the result.
GATE_PERCENTILES = {
    "latency_ms.p50": ("P50", 50.0),
    "latency_ms.p90": ("P90", 90.0),
    "latency_ms.p95": ("P95", 95.0),
    "latency_ms.p99": ("P99", 99.0),
    "latency_ms.p99_9": ("P99.9", 99.9),
    "latency_ms.p99_99": ("P99.99", 99.99),
    "latency_ms.max": ("max", 100.0),
}


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
    anchor: str
    llm: Any = None  # report.llm.LlmView for an LLM target's phase


def _latency_rows(latency: LatencySummary | None, service: LatencySummary | None) -> tuple[LatencyRow, ...]:
    if latency is None and service is None:
        return ()
    rows = [
        LatencyRow(
            "samples", fmt.count(latency.count if latency else None), fmt.count(service.count) if service else None
        )
    ]
    for label, attr in LATENCY_ROWS:
        rows.append(
            LatencyRow(
                label,
                format_ms(getattr(latency, attr)) if latency else "n/a",
                format_ms(getattr(service, attr)) if service else None,
            )
        )
    return tuple(rows)


def thresholds(gates: tuple[GateResult, ...], judged: bool) -> list[charts.Threshold]:
    """The latency gates a chart can draw; their pass/fail colour only where they were judged."""
    out = []
    for g in gates:
        if g.metric in GATE_PERCENTILES and g.unit == "ms" and g.op == "<=" and math.isfinite(g.threshold):
            label, pct = GATE_PERCENTILES[g.metric]
            out.append(charts.Threshold(label, pct, float(g.threshold), g.passed if judged else None))
    return out


def _distribution(phase: LoadPhase, gates: list[charts.Threshold], key: str) -> charts.Chart | None:
    """Read from the phase's own histograms, which the result keeps for exactly this."""
    if not phase.hdr:
        return None
    histogram = hdr.decode(phase.hdr)
    if not histogram.get_total_count():
        return None
    curves = [("latency", hdr.percentile_distribution(histogram))]
    if phase.service_hdr:
        curves.append(("service time", hdr.percentile_distribution(hdr.decode(phase.service_hdr))))
    return charts.latency_by_percentile(curves, histogram.get_total_count(), gates, key)


def _offered(phase: LoadPhase) -> tuple[float, float] | None:
    if phase.mode != "open" or phase.offered_rps is None:
        return None
    end = float(phase.offered_rps)
    return (end if phase.ramp_from is None else float(phase.ramp_from), end)


def phase_view(phase: LoadPhase, index: int = 0, gates: tuple[GateResult, ...] = (), main: bool = True) -> PhaseView:
    # The parent process fills each second's percentiles; a result saved without them still has
    # the second's histogram, so the chart is read from that rather than left blank.
    seconds = tuple(hdr.with_percentiles(t) if t.p99 is None else t for t in phase.timeseries)
    lines = thresholds(gates, judged=main)
    found = (
        charts.latency_over_time(seconds, lines, f"p{index}-latency"),
        charts.throughput_over_time(seconds, _offered(phase), f"p{index}-rps"),
    )
    return PhaseView(
        phase=phase,
        mode=fmt.mode(phase),
        latency_rows=_latency_rows(phase.latency_ms, phase.service_ms),
        seconds=seconds,
        time_charts=tuple(c for c in found if c is not None),
        distribution=_distribution(phase, lines, f"p{index}-distribution"),
        anchor=f"phase-{index + 1}",
        llm=_llm_view(phase, index),
    )


def _llm_view(phase: LoadPhase, index: int) -> Any:
    if phase.llm is None:
        return None
    from benchbox.report.llm import llm_view

    return llm_view(phase, index)


def batch_chart(result: Result) -> charts.Chart | None:
    c = getattr(result, "contract", None)
    points = [(p.size, p.ms, p.status) for p in (c.batch_latency if c is not None else ())]
    return scaling_charts.latency_by_batch_size(points, "batch-latency") if points else None


def saturation_chart(result: Result) -> charts.Chart | None:
    """The search's open-loop probes as a load curve: where achieved leaves offered, capacity ends."""
    if result.saturation is None:
        return None
    points = [
        scaling_charts.LoadPoint(
            offered=float(st.offered_rps),
            achieved_rps=st.achieved_rps,
            p50=st.p50_ms,
            p95=st.p95_ms,
            p99=st.p99_ms,
            error_rate=st.error_rate,
        )
        for st in result.saturation.steps
        if st.mode == "open" and st.offered_rps is not None
    ]
    return (
        scaling_charts.load_curve(points, "req/s", thresholds(result.gates, judged=False), "saturation")
        if points
        else None
    )


def usl_chart(result: Result) -> charts.Chart | None:
    s = result.saturation
    if s is None or s.usl is None or not s.usl.fitted:
        return None
    sigma, kappa, lambda_ = s.usl.sigma, s.usl.kappa, s.usl.lambda_
    if sigma is None or kappa is None or lambda_ is None:
        return None
    points = [(st.concurrency, st.achieved_rps) for st in s.steps if st.concurrency is not None]
    return scaling_charts.usl_curve(
        points,
        float(sigma),
        float(kappa),
        float(lambda_),
        s.usl.peak_concurrency,
        "usl",
    )


def load_levels(phases: tuple[LoadPhase, ...]) -> list[tuple[LoadPhase, scaling_charts.LoadPoint]]:
    """The steady phases of a stepped run, as load levels: same mode as the judged phase, no ramps."""
    if len(phases) < 2:
        return []
    mode = phases[-1].mode
    out = []
    for p in phases:
        level = p.offered_rps if mode == "open" else p.users
        if p.mode != mode or level is None or p.ramp_from is not None or p.name == "warm-up":
            continue
        lat = p.latency_ms
        out.append(
            (
                p,
                scaling_charts.LoadPoint(
                    float(level),
                    p.throughput_rps,
                    lat.p50 if lat else None,
                    lat.p95 if lat else None,
                    lat.p99 if lat else None,
                    p.error_rate,
                ),
            )
        )
    return out if len({pt.offered for _, pt in out}) >= 2 else []


def headline(result: Result) -> list[str]:
    """Why the verdict is what it is, in a line or three, for the top of the page."""
    if result.verdict == "error":
        return [fmt.clean(p) for p in result.problems[:3]] or ["the run ended in error"]
    failed = [g for g in result.gates if g.passed is False]
    cost = [fmt.clean(f"cost: {result.cost.statement}")] if result.cost is not None and result.cost.statement else []
    if failed:
        return [
            f"{fmt.clean(g.name)}: {fmt.in_unit(g.observed, g.unit)} breaks {fmt.threshold(g)}" for g in failed
        ] + cost
    checked = sum(g.passed is True for g in result.gates)
    if not checked:
        return ["no gate was checked"] + cost
    return [f"all {checked} checked gates passed"] + cost


def _evaluation_context(result: Result) -> dict[str, Any]:
    """The evaluation section's view (report/evaluation.py), or why there is none."""
    from benchbox.report import evaluation as ev
    from benchbox.report import gaps

    e = result.evaluation
    return {
        "evaluation": e,
        "evaluation_absent": (
            ""
            if e is not None
            else checklist.absent(result, "eval")
            if (result.plan or {}).get("evaluation")
            else "No labelled set was given (--eval FILE, with --gate thresholds), so the answers were not scored."
        ),
        "evaluation_metrics": ev.metric_rows(e) if e else (),
        "evaluation_classes": ev.class_rows(e) if e else (),
        "evaluation_slices": ev.slice_rows(e) if e else (),
        "evaluation_slice_header": ev.slice_header(e) if e else (),
        "evaluation_charts": [c for c in (ev.confusion_chart(e), ev.calibration_chart(e)) if c] if e else [],
        "evaluation_gaps": gaps.gap_rows(e) if e else (),
        "evaluation_gap_charts": gaps.charts(e) if e else [],
    }


@functools.cache
def _environment() -> Any:
    """One per process: a new environment compiles every template again (a third of a render)."""
    return new_environment()


def _bytecode_cache() -> Any:
    """Compiled templates kept between processes, or None where the temp dir is unusable.

    Jinja's own cache: a private (0700, owner-checked) directory under the temp dir, one file per
    template keyed by its source, written by rename. Compiling the templates is 0.25 s of every
    `benchbox run`'s CPU, a sixth of what the parent spends; a cache that cannot be written must
    never cost a report, so a failed write is dropped."""
    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return QuietCache()
    except (OSError, RuntimeError):
        return None


def new_environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("benchbox.report", "templates"),
        # Every string in a result may come from the target or the user; none is trusted markup.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )
    from benchbox.capacity import money

    env.globals["money"] = money
    env.globals["server_value"] = server_metrics.show
    env.filters.update(
        ms=format_ms,
        count=fmt.count,
        rps=fmt.rps,
        pct=fmt.percent,
        cpu=fmt.cpu,
        seconds=fmt.seconds,
        clean=fmt.clean,
        verdict=fmt.verdict_label,
        status=fmt.gate_status,
        in_unit=fmt.in_unit,
        threshold=fmt.threshold,
        clip=fmt.clip,
    )
    return env


def render(result: Result) -> str:
    """The page as text; writing it is the caller's job."""
    phases = result.load.phases if result.load else ()
    levels = load_levels(phases)
    unit = "req/s" if phases and phases[-1].mode == "open" else "users"
    rows = checklist.rows(result)
    context = {
        "r": result,
        "partial_notice": fmt.partial_notice(result),
        "limited": fmt.limited_phases(result),
        "limited_warning": fmt.LIMITED_WARNING,
        "run_seconds": fmt.run_seconds(result),
        "phases": [phase_view(p, i, result.gates, main=i == len(phases) - 1) for i, p in enumerate(phases)],
        "levels": levels,
        "levels_unit": unit,
        "levels_chart": scaling_charts.load_curve(
            [pt for _, pt in levels], unit, thresholds(result.gates, judged=False), "levels"
        )
        if levels
        else None,
        "contract": getattr(result, "contract", None),
        "batch_chart": batch_chart(result),
        "contract_absent": checklist.absent(result, "contract"),
        "adversarial": result.adversarial,
        "saturation": result.saturation,
        "saturation_chart": saturation_chart(result),
        "usl_chart": usl_chart(result),
        "server": server_metrics.view(result),
        "saturation_absent": checklist.absent(result, "saturation"),
        "adversarial_absent": checklist.absent(result, "adversarial"),
        **_evaluation_context(result),
        "checklist": rows,
        "checklist_tally": checklist.tally(rows),
        "headline": headline(result),
        "plan_json": json.dumps(result.plan, indent=2, sort_keys=False, ensure_ascii=False, default=str),
        "ran_json": json.dumps(result.ran, indent=2, ensure_ascii=False, default=str) if result.ran else "",
        "extra_json": json.dumps(result.extra, indent=2, ensure_ascii=False, default=str) if result.extra else None,
        "counts": {
            "pass": sum(g.passed is True for g in result.gates),
            "fail": sum(g.passed is False for g in result.gates),
            "unchecked": sum(g.passed is None for g in result.gates),
        },
    }
    return _environment().get_template(TEMPLATE).render(**context)
