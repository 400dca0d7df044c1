"""The text summary the CLI prints when a run or a compare ends, as lines (cli.py prints them:
it stays the only module that prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchbox.units import format_ms

if TYPE_CHECKING:
    from benchbox.compare.model import Comparison
    from benchbox.engine import Written
    from benchbox.result import GateResult, Result


def run_summary(result: Result, written: Written) -> list[str]:
    """What a run prints at its end: the verdict, problems, gates, headline figures, files."""
    out = ["", f"verdict: {result.verdict.upper()}" + (" (partial run)" if result.partial else "")]
    for problem in result.problems:
        out.append(f"  problem: {problem}")
    for note in result.notes:
        out.append(f"  note: {note}")
    for gate in result.gates:
        out.append(_gate_line(gate))
    phase = result.main_phase
    if phase is not None:
        lat = phase.latency_ms
        out.append(
            f"  {phase.requests} requests, {phase.throughput_rps:.1f} req/s, errors {100 * phase.error_rate:.2f}%"
        )
        if lat is not None:
            out.append(
                f"  latency p50 {format_ms(lat.p50)}  p95 {format_ms(lat.p95)}  p99 {format_ms(lat.p99)}  "
                f"p99.9 {format_ms(lat.p99_9)}  max {format_ms(lat.max)}"
            )
        lost = [w for w in phase.workers if w.state != "ok"]
        if phase.workers:
            out.append(f"  {len(phase.workers)} workers" + (f", {len(lost)} lost" if lost else ""))
        for w in lost:
            out.append(
                f"  warning: worker {w.index} lost: {w.detail}; its {w.requests} requests up to then are counted"
            )
        for reason in phase.generator.reasons:
            out.append(f"  warning: {reason}: these figures describe the generator, not the target")
    if result.evaluation is not None:
        from benchbox.report.evaluation import headline as evaluation_headline

        out.append(f"  evaluation: {evaluation_headline(result.evaluation)}")
        from benchbox.report.gaps import lines as gap_lines

        for line in gap_lines(result.evaluation):
            out.append(f"  {line}")
        for note in result.evaluation.notes:
            out.append(f"  evaluation note: {note}")
    if result.saturation is not None:
        out.append(f"  saturation: {result.saturation.statement}")
        if result.saturation.overload is not None:
            out.append(f"  past capacity: {result.saturation.overload.grade}: {result.saturation.overload.finding}")
    if result.cost is not None:
        for label, line in (
            ("cost", result.cost.statement),
            ("expected load", result.cost.sizing.statement if result.cost.sizing else ""),
            *(("cost note", n) for n in result.cost.notes),
        ):
            if line:
                out.append(f"  {label}: {line}")
    for warning in written.warnings:
        out.append(f"  warning: {warning}")
    out.append(f"report: {written.report_html}")
    out.append(f"result: {written.result_json}")
    return out


def compare_summary(c: Comparison) -> list[str]:
    """What `benchbox compare` prints: the verdict, then each metric, section and gate."""
    from benchbox.report.compare_html import metric_label, show_change, show_ci, show_value

    out = ["", f"verdict: {c.verdict.upper()}"]
    for warning in c.warnings:
        out.append(f"  warning: {warning}")
    for problem in c.problems:
        out.append(f"  problem: {problem}")
    if all(m.verdict == "not measured" for m in c.metrics):
        out.append("  latency and throughput: not compared (no load measured on both sides)")
    for m in (m for m in c.metrics if m.verdict != "not measured"):
        note = "" if m.stable else "  (unstable: too little data)"
        out.append(
            f"  {metric_label(m.name):>10}: {show_value(m, m.baseline)} -> {show_value(m, m.candidate)}  "
            f"{show_change(m)}  [{show_ci(m)}]  {m.verdict}{note}"
        )
    s = c.shadow
    if s is not None:
        agreement = "n/a" if s.agreement is None else f"{100 * s.agreement:.2f}%"
        out.append(
            f"  shadow: {agreement} of {s.compared} answers agree"
            + ("; output distribution SHIFTED" if s.shifted else "; no distribution shift")
        )
    if "eval" in c.sections:
        from benchbox.report.evaluation import versus_headline

        out.append(f"  evaluation: {versus_headline(c.sections['eval'])}")
    if "cost" in c.sections:
        from benchbox.compare.cost import headline as cost_headline

        out.append(f"  {'cost':>10}: {cost_headline(c.sections['cost'])}")
    for gate in c.gates:
        out.append(_gate_line(gate))
    return out


def _gate_line(gate: GateResult) -> str:
    mark = {True: "pass", False: "FAIL", None: "skip"}[gate.passed]
    return f"  [{mark}] {gate.name}: {gate.detail}"
