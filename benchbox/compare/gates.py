"""Compare's gates: `--max-regression p95=10%`, `--max-regression rps=5%`, `--min-agreement 99%`.

Parsed into objects up front (a typo is exit 2 before any request), judged against a comparison's
metrics into the same `GateResult` a run's gates give, so JUnit and the report treat them alike.
A regression gate fails only when the change is significant (its confidence interval excludes
zero) AND beyond the threshold: noise never fails a build, and neither does a real but tolerated
slowdown.

With no `--max-regression`, a release gate's defaults apply: a significant regression beyond
`--min-effect` in P50, P95, P99 or throughput, or beyond the error-rate change the comparison calls
at all, fails (a candidate 30 % slower must not pass). `--max-regression none` only reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from benchbox.compare.model import MetricDiff, ShadowSection
from benchbox.errors import UsageError, bad_value
from benchbox.result import GateResult
from benchbox.units import parse_percent

DEFAULT_MIN_EFFECT = 0.05  # CompareSettings' own default: changes smaller are not called

REGRESSION_KEYS = ("p50", "p90", "p95", "p99", "rps", "errors")
DEFAULT_KEYS = ("p50", "p95", "p99", "rps", "errors")
_FORM = f"KEY=PERCENT with KEY one of {', '.join(REGRESSION_KEYS)} (e.g. p95=10%), or none"


@dataclass(frozen=True)
class RegressionGate:
    """The candidate may be at most `limit` worse on `metric` (relative; absolute for errors)."""

    metric: str
    limit: float
    default: bool = False  # set by benchbox, not by --max-regression: left out when nothing was measured

    def describe(self) -> str:
        worse = "lower" if self.metric == "rps" else "higher"
        unit = " points" if self.metric == "errors" else ""
        return f"{self.metric} at most {100 * self.limit:g}%{unit} {worse} than baseline"


@dataclass(frozen=True)
class AgreementGate:
    """At least `minimum` of shadow answers must agree."""

    minimum: float

    def describe(self) -> str:
        return f"shadow agreement >= {100 * self.minimum:g}%"


@dataclass(frozen=True)
class CompareGates:
    regressions: tuple[RegressionGate, ...] = ()
    agreement: AgreementGate | None = None


def parse_regression(text: str) -> RegressionGate:
    key, sep, value = text.partition("=")
    key = key.strip().lower()
    if not sep or key not in REGRESSION_KEYS:
        raise bad_value("--max-regression", text, _FORM)
    value = value.strip()
    try:
        if not value.endswith("%"):
            raise ValueError
        limit = parse_percent(f"--max-regression {key}", value)
    except (ValueError, UsageError):
        raise bad_value("--max-regression", text, _FORM + ", PERCENT from 0% to 100%") from None
    return RegressionGate(metric=key, limit=limit)


def parse_gates(
    regressions: Iterable[str], min_agreement: str | None, min_effect: float = DEFAULT_MIN_EFFECT
) -> CompareGates:
    """Later `--max-regression` for the same metric wins, as `--slo` does. None given: the default
    gates (`default_gates`); `none`: no regression gate at all."""
    given = list(regressions)
    if any(text.strip().lower() == "none" for text in given):
        if len(given) > 1:
            raise bad_value("--max-regression", "none", "alone (none turns every regression gate off)")
        gates: tuple[RegressionGate, ...] = ()
    elif not given:
        gates = default_gates(min_effect)
    else:
        by_metric: dict[str, RegressionGate] = {}
        for text in given:
            gate = parse_regression(text)
            by_metric[gate.metric] = gate
        gates = tuple(by_metric.values())
    agreement = None
    if min_agreement is not None:
        agreement = AgreementGate(parse_percent("--min-agreement", min_agreement))
    return CompareGates(gates, agreement)


def default_gates(min_effect: float) -> tuple[RegressionGate, ...]:
    """What fails a release with no --max-regression: exactly the metrics the comparison calls a
    regression (significant, and beyond --min-effect; for errors, beyond the change it calls at all)."""
    from benchbox.compare.stats import MIN_ERROR_EFFECT

    return tuple(
        RegressionGate(key, MIN_ERROR_EFFECT if key == "errors" else min_effect, default=True) for key in DEFAULT_KEYS
    )


def judge(
    gates: CompareGates,
    metrics: Sequence[MetricDiff],
    shadow: ShadowSection | None,
    shadow_skipped: str = "not checked: no shadow comparison ran",
) -> tuple[GateResult, ...]:
    measured = {m.name: m for m in metrics if m.verdict != "not measured"}
    out = [
        _judge_regression(g, measured.get(g.metric)) for g in gates.regressions if not g.default or g.metric in measured
    ]
    if gates.agreement is not None:
        out.append(_judge_agreement(gates.agreement, shadow, shadow_skipped))
    return tuple(out)


def _judge_regression(gate: RegressionGate, metric: MetricDiff | None) -> GateResult:
    def result(observed: float | None, passed: bool | None, detail: str) -> GateResult:
        return GateResult(
            name=f"max-regression {gate.metric}",
            metric=f"compare.{gate.metric}",
            op="<=",
            threshold=gate.limit,
            unit="ratio",
            observed=observed,
            passed=passed,
            detail=detail,
        )

    if metric is None or metric.verdict == "not measured":
        return result(None, None, "not checked: no load was measured on both sides")
    change = metric.difference if metric.name == "errors" else metric.relative
    assert change is not None
    worse = -change if metric.name == "rps" else change  # positive = worse, in every metric
    beyond = worse > gate.limit
    failed = metric.significant and beyond
    shown = f"{_signed(change)}{' points' if metric.name == 'errors' else ''}"
    ci = f" (CI {_signed(metric.ci_low)} .. {_signed(metric.ci_high)})" if metric.ci_low is not None else ""
    if failed:
        detail = f"{metric.name} {shown}{ci}: significant and beyond the {100 * gate.limit:g}% allowed"
        if gate.default:
            detail += " (the default gate: set --max-regression KEY=PCT, or none to only report)"
    elif beyond:
        detail = f"{metric.name} {shown}{ci}: beyond {100 * gate.limit:g}% but not significant (noise)"
    else:
        detail = f"{metric.name} {shown}{ci}: within {100 * gate.limit:g}%"
    return result(worse, not failed, detail)


def _judge_agreement(gate: AgreementGate, shadow: ShadowSection | None, skipped: str) -> GateResult:
    def result(observed: float | None, passed: bool | None, detail: str) -> GateResult:
        return GateResult(
            name="min-agreement",
            metric="shadow.agreement",
            op=">=",
            threshold=gate.minimum,
            unit="ratio",
            observed=observed,
            passed=passed,
            detail=detail,
        )

    if shadow is None or shadow.agreement is None:
        return result(None, None, skipped if shadow is None else "not checked: no input got an answer from both sides")
    passed = shadow.agreement >= gate.minimum
    return result(
        shadow.agreement,
        passed,
        f"{shadow.agreed} of {shadow.compared} answers agree ({100 * shadow.agreement:.2f}%), "
        f"{'within' if passed else 'breaks'} >= {100 * gate.minimum:g}%",
    )


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f}%"
