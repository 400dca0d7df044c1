"""The checklist's answers that rest on the gates (latency, errors, throughput, CI, evaluation,
fairness, cost, sizing) and on the load phase's own figures."""

from __future__ import annotations

from collections.abc import Sequence

from benchbox.report import fmt
from benchbox.report.checklist_answer import Answer, failing, gate_words, not_run
from benchbox.result import GateResult, LoadPhase, Result


def _unchecked(detail: str) -> str:
    """A gate's detail without the 'not checked:' its badge already says."""
    return detail.split(":", 1)[1].strip() if detail.startswith("not checked:") else detail


def _judge(gates: Sequence[GateResult], unset: str, result: Result) -> Answer:
    """One answer from the gates an item rests on: any failure fails it, none checked leaves it open."""
    if result.main_phase is None:
        missed = not_run(result, "load")
        if missed:
            return missed
    if not gates:
        return Answer("not checked", unset, "gates")
    passed = [g for g in gates if g.passed is True]
    if broken := failing(gates, "gates"):
        return broken
    if not passed:
        return Answer("not checked", _unchecked(gates[0].detail), "gates")
    where = _at(result.main_phase)
    rest = f"; {len(gates) - len(passed)} not checked" if len(passed) < len(gates) else ""
    return Answer("passed", "; ".join(gate_words(g) for g in passed) + where + rest, "gates")


def _at(phase: LoadPhase | None) -> str:
    """The load a figure was measured at, in a few words."""
    if phase is None:
        return ""
    ramp = f"{phase.ramp_from:g}→" if phase.ramp_from is not None else ""
    if phase.mode == "open" and phase.offered_rps is not None:
        return f" at {ramp}{phase.offered_rps:g} req/s"
    if phase.users is not None:
        return f" with {ramp}{phase.users} users"
    return ""


def latency(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric.startswith("latency_ms.")]
    return _judge(gates, "no latency gate set (--slo p95=2s, p99=200ms, ...)", result)


def errors(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric == "error_rate"]
    return _judge(gates, "no error-rate gate set (--slo errors=1%)", result)


def throughput(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric == "throughput_rps"]
    answer = _judge(gates, "no throughput gate set (--slo min_rps=N)", result)
    phase = result.main_phase
    if answer.status == "not checked" and phase is not None and phase.timeseries:
        return Answer(
            "not checked",
            f"{answer.why}; measured {fmt.rps(phase.throughput_rps)}, second by second in the Load section",
            "load",
        )
    return answer


def load(result: Result) -> Answer:
    phase = result.main_phase
    if phase is None:
        return not_run(result, "load") or Answer("not checked", "no load phase ran", "load")
    if phase.latency_ms is None:
        return Answer("failed", f"no request got an answer ({fmt.count(phase.requests)} sent)", "load")
    if phase.generator.limited:
        reasons = "; ".join(phase.generator.reasons) or "generator-limited"
        return Answer("not checked", f"the load generator was the limit ({reasons}): {fmt.LIMITED_WARNING}", "load")
    part = "; partial run" if phase.partial else ""
    loop = "open loop" if phase.mode == "open" else "closed loop"
    return Answer(
        "passed",
        f"{fmt.count(phase.requests)} requests in {fmt.seconds(phase.elapsed_s)}, "
        f"{loop}{_at(phase)}, achieved {fmt.rps(phase.throughput_rps)}{part}",
        "load",
    )


def ci(result: Result) -> Answer:
    failed = [g.name for g in result.gates if g.passed is False]
    if result.verdict == "error":
        first = result.problems[0] if result.problems else "see Problems"
        return Answer("failed", f"the run ended in error ({first}): a CI job running benchbox fails here", "gates")
    if failed:
        return Answer(
            "failed",
            f"{len(failed)} of {len(result.gates)} gates failed ({', '.join(failed)}): "
            "benchbox exits non-zero, a CI job stops here",
            "gates",
        )
    if not any(g.passed for g in result.gates):
        return Answer("not checked", "no gate was checked, so nothing would block a bad version", "gates")
    return Answer("passed", f"every checked gate passed ({len(result.gates)} set): benchbox exits 0", "gates")


def evaluation(result: Result) -> Answer:
    e = result.evaluation
    if e is None:
        if (result.plan or {}).get("evaluation") is None:
            return Answer("not checked", "no labelled set given (--eval FILE with --gate thresholds)")
        return not_run(result, "eval") or Answer("not checked", "this result has no evaluation section")
    gates = [
        g for g in result.gates if g.metric.startswith("evaluation.") and not g.metric.startswith("evaluation.gaps[")
    ]  # gaps answer the fairness row
    scored = f"{e.rows} rows" + (f", {len(e.slices)} slices" if e.slices else "")
    if broken := failing(gates, "evaluation", f" ({scored})"):
        return broken
    if not gates:
        return Answer(
            "not checked", f"scored on {scored}, but no threshold was set (--gate accuracy>=0.9)", "evaluation"
        )
    return Answer("passed", "; ".join(gate_words(g) for g in gates) + f" ({scored})", "evaluation")


def fairness(result: Result) -> Answer:
    """Gap gates across slices (`--gate slice_gap:...`) answer it; measured gaps with no threshold leave it open."""
    e = result.evaluation
    if e is None:
        return (
            evaluation(result)
            if (result.plan or {}).get("evaluation") is not None
            else Answer("not checked", "no labelled set given (--eval FILE --eval-slice COLUMN)")
        )
    if not e.slice_columns:
        return Answer("not checked", "no slice column to compare (--eval-slice COLUMN, e.g. region)", "evaluation")
    gates = [g for g in result.gates if g.metric.startswith("evaluation.gaps[")]
    if broken := failing(gates, "evaluation"):
        return broken
    if gates:
        return Answer("passed", "; ".join(gate_words(g) for g in gates), "evaluation")
    from benchbox.report.gaps import lines

    seen = "; ".join(lines(e)[:3]) or "no slice column has two slices with a figure"
    return Answer("not checked", f"{seen}; no threshold set (--gate slice_gap:COLUMN:accuracy<=3%)", "evaluation")


def cost(result: Result) -> Answer:
    c = result.cost
    if c is None or c.cost_per_hour is None:
        return Answer("not checked", "no price given (--cost-per-hour PRICE of one serving instance)")
    gates = [g for g in result.gates if g.metric.startswith("cost.")]
    if broken := failing(gates, "cost"):
        return broken
    if c.at_capacity is None:
        return Answer("not checked", c.statement + "; " + "; ".join(c.notes), "cost")
    return Answer("passed", c.statement, "cost")


def sizing(result: Result) -> Answer:
    sizing = result.cost.sizing if result.cost is not None else None
    if sizing is None:
        return Answer("not checked", "no expected load given (--expected-rps R, with --headroom, default 30%)")
    gates = [g for g in result.gates if g.metric.startswith("sizing.")]
    if broken := failing(gates, "cost", f" ({sizing.statement})"):
        return broken
    if sizing.replicas is None:
        return Answer("not checked", sizing.statement, "cost")
    return Answer("passed", sizing.statement, "cost")
