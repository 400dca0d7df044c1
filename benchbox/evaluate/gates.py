"""Evaluation gates: `accuracy>=0.9`, `f1_macro>=85%`, `slice:region=eu:accuracy>=0.85` as objects,
and gap gates across slices: `slice_gap:region:accuracy<=3%` (highest minus lowest slice),
`slice_gap:region:demographic_parity<=10%`, `slice_gap:region:equal_opportunity<=5%`.

A gate passes on the point estimate, as a threshold is usually meant; its detail also says when
the bootstrap interval straddles the threshold, because then this set cannot tell a pass from a
fail and a bigger held-out set (or a wider margin) is what would.
"""

from __future__ import annotations

import re

from benchbox.errors import bad_value
from benchbox.evaluate.model import (
    CLASSIFICATION_METRICS,
    FAIRNESS_METRICS,
    GAP_METRICS,
    HIGHER_IS_BETTER,
    REGRESSION_METRICS,
    EvalGate,
    EvaluationSection,
    Metric,
    SliceGap,
)
from benchbox.result import GateResult

METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
FORM = (
    "METRIC>=X or METRIC<=X, optionally prefixed slice:COLUMN=VALUE:, with METRIC one of "
    f"{', '.join(METRICS)} (e.g. accuracy>=0.9, slice:region=eu:accuracy>=85%); or a gap across slices, "
    f"slice_gap:COLUMN:METRIC<=X with METRIC one of {', '.join(GAP_METRICS + FAIRNESS_METRICS)} "
    "(e.g. slice_gap:region:accuracy<=3%)"
)
_GAP = re.compile(
    r"^\s*slice_gap:(?P<col>[^:]+):(?P<metric>[a-z0-9_]+)\s*(?P<op><=|>=)\s*"
    r"(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<pct>%)?\s*$"
)
_EXPR = re.compile(
    r"^\s*(?:slice:(?P<col>[^=:]+)=(?P<val>[^:]+):)?(?P<metric>[a-z0-9_]+)\s*(?P<op><=|>=)\s*"
    r"(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<pct>%)?\s*$"
)
_UNIT = {"mae": "", "rmse": "", "log_loss": ""}  # the rest are proportions, shown as percentages


def parse_gate(text: str) -> EvalGate:
    """One `--gate` expression, or a one-line usage error naming it and the form."""
    if str(text).strip().startswith("slice_gap:"):
        return _parse_gap(str(text))
    match = _EXPR.match(str(text))
    if not match or match["metric"] not in METRICS:
        raise bad_value("--gate", text, FORM)
    threshold = float(match["num"]) / (100.0 if match["pct"] else 1.0)
    metric = match["metric"]
    if metric not in _UNIT and not 0.0 <= threshold <= 1.0:
        raise bad_value("--gate", text, f"a {metric} threshold from 0 to 1 (or 0% to 100%)")
    col, val = match["col"], match["val"]
    return EvalGate(
        text=str(text).strip(),
        metric=metric,
        op=match["op"],  # type: ignore[arg-type]
        threshold=threshold,
        slice_column=col.strip() if col else None,
        slice_value=val.strip() if val else None,
    )


def _parse_gap(text: str) -> EvalGate:
    match = _GAP.match(text)
    if not match or match["metric"] not in GAP_METRICS + FAIRNESS_METRICS:
        raise bad_value("--gate", text, FORM)
    if match["op"] != "<=":
        raise bad_value(
            "--gate",
            text,
            "a gap bounded from above, slice_gap:COLUMN:METRIC<=X (a gap is never better for being larger)",
        )
    threshold = float(match["num"]) / (100.0 if match["pct"] else 1.0)
    if match["metric"] not in _UNIT and not 0.0 <= threshold <= 1.0:
        raise bad_value("--gate", text, f"a {match['metric']} gap from 0 to 1 (or 0% to 100%)")
    if threshold < 0:
        raise bad_value("--gate", text, "a gap of 0 or more")
    return EvalGate(
        text=text.strip(),
        metric=match["metric"],
        op="<=",
        threshold=threshold,
        slice_column=match["col"].strip(),
        gap=True,
    )


def judge(gates: tuple[EvalGate, ...], section: EvaluationSection | None, skipped: str) -> tuple[GateResult, ...]:
    """Each gate against the section; without a section every gate is 'not checked', with the reason."""
    return tuple(_judge_one(g, section, skipped) for g in gates)


def _judge_one(gate: EvalGate, section: EvaluationSection | None, skipped: str) -> GateResult:
    if gate.gap:
        return _judge_gap(gate, section, skipped)
    unit = _UNIT.get(gate.metric, "ratio")
    path = (
        f"evaluation.{gate.metric}"
        if gate.slice_column is None
        else f"evaluation.slices[{gate.slice_column}={gate.slice_value}].{gate.metric}"
    )

    def result(observed: float | None, passed: bool | None, detail: str) -> GateResult:
        return GateResult(
            name=gate.name,
            metric=path,
            op=gate.op,
            threshold=gate.threshold,
            unit=unit,
            observed=observed,
            passed=passed,
            detail=detail,
        )

    if section is None:
        return result(None, None, skipped)
    where = "" if gate.slice_column is None else f" on {gate.slice_column}={gate.slice_value}"
    if gate.slice_column is not None and gate.slice_column not in section.slice_columns:
        return result(
            None,
            False,
            f"no slice column {gate.slice_column!r} in this evaluation "
            f"(--eval-slice gives {', '.join(section.slice_columns) or 'none'})",
        )
    metric = section.metric(gate.metric, gate.slice_column, gate.slice_value)
    if (
        metric is None
        and gate.slice_column is not None
        and not any(s.column == gate.slice_column and s.value == gate.slice_value for s in section.slices)
    ):
        values = sorted(s.value for s in section.slices if s.column == gate.slice_column)
        return result(None, False, f"no row has {gate.slice_column}={gate.slice_value!r} (values: {', '.join(values)})")
    if metric is None or metric.value is None:
        return result(None, False, f"{gate.metric} could not be computed{where} ({_why_missing(gate.metric, section)})")
    value = metric.value
    passed = value >= gate.threshold if gate.op == ">=" else value <= gate.threshold
    detail = (
        f"{gate.metric}{where} {_show(value, unit)}{_ci(metric, unit, section)} "
        f"{'within' if passed else 'breaks'} {gate.op} {_show(gate.threshold, unit)}"
    )
    if metric.low is not None and metric.high is not None and metric.low < gate.threshold < metric.high:
        detail += (
            f"; the {round(100 * section.confidence)}% interval straddles the threshold, so this set cannot "
            f"tell a pass from a fail (a larger set or a wider margin would)"
        )
    return result(value, passed, detail)


def _judge_gap(gate: EvalGate, section: EvaluationSection | None, skipped: str) -> GateResult:
    """Passes on the point estimate, like every evaluation gate; the detail names the slices at
    either end, the interval, whether it straddles the threshold, and any small slice."""
    unit = _UNIT.get(gate.metric, "ratio")
    column = str(gate.slice_column)

    def result(observed: float | None, passed: bool | None, detail: str) -> GateResult:
        return GateResult(
            name=gate.name,
            metric=f"evaluation.gaps[{column}].{gate.metric}",
            op="<=",
            threshold=gate.threshold,
            unit=unit,
            observed=observed,
            passed=passed,
            detail=detail,
        )

    if section is None:
        return result(None, None, skipped)
    if column not in section.slice_columns:
        return result(
            None,
            False,
            f"no slice column {column!r} in this evaluation "
            f"(--eval-slice gives {', '.join(section.slice_columns) or 'none'})",
        )
    gap = section.gap(column, gate.metric)
    if gap is None or gap.value is None:
        why = "; ".join(gap.notes) if gap is not None else _why_no_gap(gate.metric, section)
        return result(None, False, f"{gate.metric} gap across {column} could not be computed ({why})")
    passed = gap.value <= gate.threshold
    detail = (
        f"{gate.metric} gap across {column} {_show(gap.value, unit)}{_ci(gap, unit, section)} "
        f"({gap.highest} highest, {gap.lowest} lowest) {'within' if passed else 'breaks'} "
        f"<= {_show(gate.threshold, unit)}"
    )
    if gap.low is not None and gap.high is not None and gap.low < gate.threshold < gap.high:
        detail += (
            f"; the {round(100 * section.confidence)}% interval straddles the threshold, so this set cannot "
            f"tell a pass from a fail (larger slices or a wider margin would)"
        )
    detail += "".join(f"; {note}" for note in gap.notes)
    return result(gap.value, passed, detail)


def _why_no_gap(metric: str, section: EvaluationSection) -> str:
    if metric in FAIRNESS_METRICS:
        hint = next((n for n in section.notes if "positive" in n), "no positive class was chosen")
        return hint
    if (metric in REGRESSION_METRICS) != (section.task == "regression"):
        return f"it is not a {section.task} metric"
    return "the column has fewer than two slices"


def _why_missing(metric: str, section: EvaluationSection) -> str:
    if metric in ("log_loss", "ece"):
        return "the endpoint returned no probabilities"
    if (metric in REGRESSION_METRICS) != (section.task == "regression"):
        return f"it is not a {section.task} metric"
    return "no row got a usable answer"


def _ci(metric: Metric | SliceGap, unit: str, section: EvaluationSection) -> str:
    if metric.low is None or metric.high is None:
        return ""
    return f" ({round(100 * section.confidence)}% CI {_show(metric.low, unit)}–{_show(metric.high, unit)})"


def _show(value: float, unit: str) -> str:
    return f"{100 * value:.2f}%" if unit == "ratio" else f"{value:.4g}"


def better(metric: str) -> bool:
    """True when a higher value of the metric is better."""
    return HIGHER_IS_BETTER[metric]
