"""Acceptance gates: SLOs parsed into objects, judged against a result.

A gate is data (`GateSpec`) until it meets a measured phase; judging it gives a `GateResult`,
which is what result.json, the report and the exit code are made from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from benchbox.adversarial.model import AdversarialSection
from benchbox.contract.model import ContractSection
from benchbox.errors import bad_value
from benchbox.findings import Finding
from benchbox.gate_spec import GateSpec, Op
from benchbox.gate_spec import show as _show
from benchbox.result import GateResult, LoadPhase
from benchbox.units import parse_duration, parse_percent, parse_positive

if TYPE_CHECKING:
    from benchbox.capacity import CostSection
    from benchbox.coldstart.model import ColdStart
    from benchbox.servermetrics.model import ServerMetricsSection

# key -> (metric path in the phase, op, unit, what a value looks like)
_KEYS: dict[str, tuple[str, Op, str, str]] = {
    "p50": ("latency_ms.p50", "<=", "ms", "a latency like 200ms or 2s"),
    "p90": ("latency_ms.p90", "<=", "ms", "a latency like 200ms or 2s"),
    "p95": ("latency_ms.p95", "<=", "ms", "a latency like 200ms or 2s"),
    "p99": ("latency_ms.p99", "<=", "ms", "a latency like 200ms or 2s"),
    "p99_9": ("latency_ms.p99_9", "<=", "ms", "a latency like 200ms or 2s"),
    "max": ("latency_ms.max", "<=", "ms", "a latency like 200ms or 2s"),
    "errors": ("error_rate", "<=", "ratio", "a percentage like 1% or 0.5%"),
    "min_rps": ("throughput_rps", ">=", "req/s", "a throughput in requests/s, like 100"),
    # LLM targets (--protocol openai-chat): time to first token, inter-token latency, goodput.
    **{f"ttft_{p}": (f"llm.ttft_ms.{p}", "<=", "ms", "a latency like 500ms") for p in ("p50", "p90", "p95", "p99")},
    **{f"itl_{p}": (f"llm.itl_ms.{p}", "<=", "ms", "a latency like 50ms") for p in ("p50", "p90", "p95", "p99")},
    "goodput": ("llm.goodput", ">=", "ratio", "a percentage like 90% (share of requests meeting every ttft/itl SLO)"),
    "min_tps": ("llm.output_tokens_per_s", ">=", "tokens/s", "output tokens/s, like 500"),
    # Cost per decision at the capacity found within the SLO (needs --cost-per-hour), and the
    # replicas the expected load needs (needs --expected-rps): benchbox.capacity.
    "cost_per_1k": ("cost.at_capacity.per_1k", "<=", "cost", "a price per 1,000 requests, like 0.05"),
    "cost_per_1m": ("cost.at_capacity.per_1m", "<=", "cost", "a price per 1M requests, like 50"),
    "cost_per_1m_tokens": (
        "cost.at_capacity.per_1m_output_tokens",
        "<=",
        "cost",
        "a price per 1M output tokens, like 2.50",
    ),
    "replicas": ("sizing.replicas", "<=", "replicas", "a whole number of replicas, like 4"),
}
SLO_KEYS = tuple(_KEYS)

# The checklist's defaults: "P95 > 2 s is generally unacceptable"; "alert when errors exceed 1 %".
DEFAULT_SLOS = ("p95=2s", "errors=1%")


_SLO = re.compile(r"^\s*(?P<key>[A-Za-z0-9_.]+)\s*(?P<op><=|>=|=)(?P<value>.*)$")


def parse_slo(text: str) -> GateSpec:
    """'p95=200ms', 'errors=0.5%', 'min_rps=100' -> GateSpec. `KEY<=VALUE` or `KEY>=VALUE` also
    reads, when the comparison is the key's own (p95<=200ms, cost_per_1k<=0.05, min_rps>=100)."""
    from benchbox.servermetrics.judge import is_trend_gate

    if is_trend_gate(text):  # server.<series>.<stat>, p99_slope: benchbox.servermetrics.judge
        from benchbox.servermetrics.judge import parse_gate

        return parse_gate(text)
    match = _SLO.match(str(text))
    key = match["key"].strip().lower().replace(".", "_") if match else ""
    if match and key in ("time_to_ready", "first_request"):  # benchbox.coldstart
        from benchbox.coldstart.stage import parse_gate as parse_cold_gate

        return parse_cold_gate(key, match["op"], match["value"], str(text))
    if not match or key not in _KEYS:
        raise bad_value("--slo", text, f"KEY=VALUE with KEY one of {', '.join(SLO_KEYS)} (e.g. p95=200ms)")
    metric, op, unit, expected = _KEYS[key]
    if match["op"] != "=" and match["op"] != op:
        raise bad_value("--slo", text, f"{key}{op}VALUE or {key}=VALUE ({key} is bounded with {op})")
    value = match["value"].strip()
    if unit == "ms":
        threshold = parse_duration(f"--slo {key}", value, default_unit="ms") * 1000.0
    elif unit == "ratio":
        threshold = parse_percent(f"--slo {key}", value)
    elif unit == "replicas":
        threshold = parse_positive(f"--slo {key}", value, integer=True)
    else:
        threshold = parse_positive(f"--slo {key}", value)
    return GateSpec(name=key, metric=metric, op=op, threshold=threshold, unit=unit)


def merge_slos(layers: Iterable[Iterable[str]]) -> tuple[GateSpec, ...]:
    """Later layers (config, then flags) override earlier ones gate by gate, keeping first-seen order."""
    gates: dict[str, GateSpec] = {}
    for layer in layers:
        for text in layer:
            spec = parse_slo(text)
            gates[spec.name] = spec
    return tuple(gates.values())


def judge(
    specs: Iterable[GateSpec],
    phase: LoadPhase | None,
    skipped_reason: str | None = None,
    capacity_rps: float | None = None,
    cost: CostSection | None = None,
    server: ServerMetricsSection | None = None,
    cold: ColdStart | None = None,
) -> tuple[GateResult, ...]:
    """Judge every gate against the phase; without a phase a gate is 'not checked', not passed.

    When the saturation search found a capacity, `min_rps` is judged against it: the question
    is whether the endpoint can carry that much, not whether this run happened to offer it.
    Cost and replica gates are judged against the cost section (benchbox.capacity)."""
    results = []
    for spec in specs:
        if spec.metric.startswith(("cost.", "sizing.")):
            results.append(judge_cost(spec, cost))
        elif spec.metric.startswith(("server.", "slope.")):
            from benchbox.servermetrics.judge import judge_gate

            results.append(judge_gate(spec, phase, server, skipped_reason))
        elif spec.metric.startswith("cold."):
            from benchbox.coldstart.stage import judge_gate as judge_cold_gate

            results.append(judge_cold_gate(spec, cold, None))
        elif spec.metric == "throughput_rps" and capacity_rps is not None:
            passed = capacity_rps >= spec.threshold
            results.append(
                GateResult(
                    name=spec.name,
                    metric="saturation.max_sustainable_rps",
                    op=spec.op,
                    threshold=spec.threshold,
                    unit=spec.unit,
                    observed=capacity_rps,
                    passed=passed,
                    detail=f"capacity {_show(capacity_rps, spec.unit)} {'within' if passed else 'breaks'} "
                    f"{spec.op} {_show(spec.threshold, spec.unit)}",
                )
            )
        else:
            results.append(_judge_one(spec, phase, skipped_reason))
    return tuple(results)


def _judge_one(spec: GateSpec, phase: LoadPhase | None, skipped_reason: str | None) -> GateResult:
    result = spec.judged
    if phase is None:
        return result(None, None, skipped_reason or "not checked: no load phase ran")
    if spec.metric.startswith("llm.") and phase.llm is None:
        return result(None, None, "not checked: the target was not load-tested as an LLM (--protocol openai-chat)")
    if spec.metric == "llm.goodput" and phase.llm is not None and phase.llm.goodput is None:
        return result(None, None, "not checked: goodput needs a per-request SLO (ttft_* or itl_*)")
    observed = _observe(spec.metric, phase)
    if observed is None:
        return result(None, False, "no request got an answer, so there is nothing to measure")
    passed = observed <= spec.threshold if spec.op == "<=" else observed >= spec.threshold
    detail = (
        f"{_show(observed, spec.unit)} {'within' if passed else 'breaks'} {spec.op} {_show(spec.threshold, spec.unit)}"
    )
    if phase.generator.limited and spec.unit != "ratio":
        detail += " (generator-limited: this figure may describe the generator, not the target)"
    if phase.partial:
        detail += " (partial run)"
    return result(observed, passed, detail)


def _observe(metric: str, phase: LoadPhase) -> float | None:
    if metric.startswith("llm."):
        return observe_llm(metric, phase)
    if metric.startswith("latency_ms."):
        if phase.latency_ms is None:
            return None
        return float(getattr(phase.latency_ms, metric.split(".", 1)[1]))
    if metric == "error_rate":
        return phase.error_rate if phase.requests else None
    return float(getattr(phase, metric))


def judge_cost(spec: GateSpec, cost: CostSection | None) -> GateResult:
    """A cost gate on the cost at capacity, a replica gate on the sizing. When the capacity is only a
    floor (the generator or the budget stopped the search first), the figure is an upper bound:
    within the threshold it passes; beyond it, it says nothing (not checked): the capacity may be higher."""

    result = spec.judged
    limit = f"{spec.op} {_show(spec.threshold, spec.unit)}"
    if spec.metric.startswith("sizing."):
        sizing = cost.sizing if cost is not None else None
        if sizing is None or sizing.replicas is None:
            return result(
                None, None, "not checked: " + (sizing.statement if sizing else "no expected load to size for")
            )
        observed, upper = float(sizing.replicas), sizing.at_most
        shown = f"{sizing.replicas} replicas for {sizing.expected_rps:g} req/s with {100 * sizing.headroom:g}% headroom"
    else:
        figures = cost.at_capacity if cost is not None else None
        value = getattr(figures, spec.metric.rsplit(".", 1)[1], None) if figures is not None else None
        if figures is None or value is None:
            at_load = getattr(cost.at_load, spec.metric.rsplit(".", 1)[1], None) if cost and cost.at_load else None
            seen = f"; at the load run it is {_show(at_load, spec.unit)}" if at_load is not None else ""
            return result(
                None,
                None,
                "not checked: no capacity within the SLO was measured (the saturation "
                f"search did not run or nothing held){seen}",
            )
        observed, upper = float(value), figures.basis == "capacity_floor"
        shown = f"{_show(observed, spec.unit)} at {figures.rps:g} req/s"
    passed = observed <= spec.threshold
    if upper and not passed:
        return result(
            observed,
            None,
            f"not checked: at most {shown} (the capacity is a floor: the search stopped "
            f"before the target failed), which cannot show whether it is within {limit}",
        )
    return result(observed, passed, f"{'at most ' if upper else ''}{shown} {'within' if passed else 'breaks'} {limit}")


def observe_llm(metric: str, phase: LoadPhase) -> float | None:
    """An LLM figure by path: llm.ttft_ms.p95, llm.goodput, llm.output_tokens_per_s."""
    value: object = phase.llm
    for part in metric.split(".")[1:]:
        value = getattr(value, part, None)
        if value is None:
            return None
    return float(value) if isinstance(value, int | float) else None


def goodput_thresholds(specs: Iterable[GateSpec]) -> tuple[float | None, float | None]:
    """The per-request bounds goodput counts against (vLLM's/genai-perf's --goodput): a request
    is good when its TTFT is within every ttft_* SLO and its mean ITL within every itl_* SLO."""
    specs = tuple(specs)
    ttft = [g.threshold for g in specs if g.metric.startswith("llm.ttft_ms.")]
    itl = [g.threshold for g in specs if g.metric.startswith("llm.itl_ms.")]
    return (min(ttft) if ttft else None), (min(itl) if itl else None)


def _findings_gate(
    name: str,
    metric: str,
    findings: Sequence[Finding],
    accepted: Sequence[Finding],
    label: Callable[[Finding], str],
    clean: str,
    tail: str = "",
) -> GateResult:
    """Any high or medium finding fails; accepted ones (--accept) and low-severity ones (advice,
    such as an unversioned path) are shown but never fail the gate."""
    blocking = [f for f in findings if f.severity != "low"]
    advice = len(findings) - len(blocking)
    extra = (f"; {len(accepted)} accepted" if accepted else "") + (
        f"; {advice} low-severity (advice)" if advice else ""
    )
    if not blocking:
        return _findings_result(name, metric, 0.0, True, f"{clean}{extra}")
    kinds = ", ".join(sorted({label(f) for f in blocking}))
    return _findings_result(
        name, metric, float(len(blocking)), False, f"{len(blocking)} findings ({kinds}){extra}{tail}"
    )


def _findings_result(name: str, metric: str, observed: float | None, passed: bool | None, detail: str) -> GateResult:
    return GateResult(
        name=name,
        metric=metric,
        op="<=",
        threshold=0.0,
        unit="findings",
        observed=observed,
        passed=passed,
        detail=detail,
    )


def contract_gate(section: ContractSection | None, skipped_reason: str) -> GateResult:
    """Contract findings, by rule."""
    if section is None or section.skipped:
        why = skipped_reason if section is None else f"not checked: {section.skipped}"
        return _findings_result("contract", "contract.violations", None, None, why)
    return _findings_gate(
        "contract",
        "contract.violations",
        section.violations,
        section.accepted,
        lambda f: f.rule,
        f"{section.requests} requests, no finding",
    )


def adversarial_gate(section: AdversarialSection | None, skipped_reason: str) -> GateResult:
    """Adversarial findings, by kind; a target left unhealthy says so."""
    if section is None or section.skipped:
        why = skipped_reason if section is None else f"not checked: {section.skipped}"
        return _findings_result("adversarial", "adversarial.findings", None, None, why)
    tail = "; the target was not healthy afterwards" if section.healthy_after is False else ""
    return _findings_gate(
        "adversarial",
        "adversarial.findings",
        section.findings,
        section.accepted,
        lambda f: f.kind,
        f"{section.cases} malformed or hostile inputs, no finding",
        tail,
    )
