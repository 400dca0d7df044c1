"""compare's report.html: both sides side by side, rendered from the compare document alone.

Same environment as the run report (Jinja2 autoescape, StrictUndefined, the same filters and
stylesheet), so a string from either target is escaped the same way. Extra comparison sections
(issue #11's evaluation) render through `_compare_sections.html.j2`: a known key gets its own
include there, any other is listed as data.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from benchbox.compare.model import Comparison, MetricDiff
from benchbox.report import compare_charts, fmt
from benchbox.report.evaluation import versus_headline, versus_rows
from benchbox.units import format_ms

TEMPLATE = "compare.html.j2"


def show_value(m: MetricDiff, value: float | None) -> str:
    if value is None:
        return "n/a"
    if m.unit == "ms":
        return format_ms(value)
    if m.unit == "req/s":
        return fmt.rps(value)
    return fmt.percent(value)


def show_change(m: MetricDiff) -> str:
    """The difference as people read it: +12.3% (+1.20 ms), or +0.40 points for the error rate."""
    if m.difference is None:
        return "n/a"
    if m.unit == "ratio":
        return f"{100 * m.difference:+.2f} points"
    absolute = f"{m.difference:+.3g} {'ms' if m.unit == 'ms' else 'req/s'}"
    return f"{100 * m.relative:+.1f}% ({absolute})" if m.relative is not None else absolute


def show_ci(m: MetricDiff) -> str:
    if m.ci_low is None or m.ci_high is None:
        return "n/a"
    if m.unit == "ratio":
        return f"{100 * m.ci_low:+.2f} .. {100 * m.ci_high:+.2f} points"
    return f"{100 * m.ci_low:+.1f}% .. {100 * m.ci_high:+.1f}%"


def metric_label(name: str) -> str:
    return {"rps": "throughput", "errors": "error rate"}.get(name, name.upper())


def headline(c: Comparison) -> list[str]:
    failed = [g for g in c.gates if g.passed is False]
    if failed:
        return [f"{g.name}: {g.detail}" for g in failed] + _cost_line(c)
    moved = [m for m in c.metrics if m.verdict in ("regression", "improvement")]
    lines = [f"{metric_label(m.name)}: {m.verdict}, {show_change(m)}" for m in moved]
    if c.shadow is not None and c.shadow.agreement is not None:
        lines.append(
            f"shadow: {100 * c.shadow.agreement:.2f}% of answers agree"
            + ("; the output distribution shifted" if c.shadow.shifted else "")
        )
    if "eval" in c.sections:
        lines.append("evaluation: " + versus_headline(c.sections["eval"]))
    lines += _cost_line(c)
    measured = [m for m in c.metrics if m.verdict != "not measured"]
    if measured and not moved:
        lines.insert(0, "no significant change on any latency or throughput metric")
    return lines or ["nothing was measured on both sides"]


def _cost_line(c: Comparison) -> list[str]:
    """The cost per request change (compare.json's sections["cost"]), beside the latency verdicts."""
    if "cost" not in c.sections:
        return []
    from benchbox.compare.cost import headline as cost_headline

    return [cost_headline(c.sections["cost"])]


def context(c: Comparison) -> dict[str, Any]:
    found = (
        compare_charts.distributions(c),
        compare_charts.differences(c.metrics, c.settings.min_effect),
        compare_charts.latency_over_time(c),
        compare_charts.throughput_over_time(c),
    )
    return {
        "c": c,
        "headline": headline(c),
        "charts": [chart for chart in found if chart is not None],
        "sections_json": {k: json.dumps(v, indent=2, ensure_ascii=False, default=str) for k, v in c.sections.items()},
        "eval_rows": versus_rows(c.sections["eval"]) if "eval" in c.sections else (),
        "counts": {
            "pass": sum(g.passed is True for g in c.gates),
            "fail": sum(g.passed is False for g in c.gates),
            "unchecked": sum(g.passed is None for g in c.gates),
        },
    }


@functools.cache
def _environment() -> Any:
    """One per process, with the comparison's filters (built once: compiling is the slow part)."""
    from benchbox.report.html import new_environment

    env = new_environment()
    env.filters.update(change=show_change, ci=show_ci, metric=metric_label, value=show_value)
    return env


def render(c: Comparison) -> str:
    return _environment().get_template(TEMPLATE).render(**context(c))
