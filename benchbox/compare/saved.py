"""Two results in, one comparison out: the path both saved and live comparisons take.

Live mode saves each side's result.json first and then comes here too, so comparing the saved
files later gives the same verdicts (the bootstrap is seeded).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from benchbox.compare import gates as compare_gates
from benchbox.compare.model import CompareSettings, Comparison, Interleave, MetricDiff, ShadowSection, Side
from benchbox.compare.stats import compare_phases, compare_seconds
from benchbox.result import GateResult, LoadPhase, Result
from benchbox.version import __version__

# Loads whose level differs by more than this are different loads, and latency depends on load.
LOAD_TOLERANCE = 0.10


def side_of(result: Result, role: Literal["baseline", "candidate"], source: str) -> Side:
    load = dict(result.plan.get("load", {})) if isinstance(result.plan, dict) else {}
    return Side(
        role=role,
        label=result.target.label,
        url=result.target.url,
        protocol=result.target.protocol,
        source=source,
        started_at=result.started_at,
        model_version=result.target.model_version,
        machine=result.machine,
        load=load,
        phase=result.main_phase,
    )


def compare_results(
    baseline: Result,
    candidate: Result,
    settings: CompareSettings,
    gates: compare_gates.CompareGates,
    *,
    mode: Literal["live", "saved"] = "saved",
    sources: tuple[str, str] = ("", ""),
    shadow: ShadowSection | None = None,
    interleave: Interleave | None = None,
    shadow_skipped: str | None = None,
    load_skipped: bool = False,
) -> Comparison:
    base, cand = side_of(baseline, "baseline", sources[0]), side_of(candidate, "candidate", sources[1])
    metrics = _metrics(base.phase, cand.phase, settings)
    warnings = [w for w in differences(baseline, candidate) if not (load_skipped and w.startswith("no load phase"))]
    problems = tuple(
        f"{role}: {p}" for role, r in (("baseline", baseline), ("candidate", candidate)) for p in r.problems
    )
    skipped = shadow_skipped or (
        "not checked: comparing saved results, which hold no answers to compare"
        if mode == "saved"
        else "not checked: no shadow comparison ran"
    )
    judged = compare_gates.judge(gates, metrics, shadow, skipped)
    sections, notes = evaluation_section(baseline, candidate, settings.seed)
    warnings += notes
    from benchbox.compare.cost import cost_comparison

    cost, notes = cost_comparison(baseline, candidate)
    warnings += notes
    if cost is not None:
        sections["cost"] = cost
    return Comparison(
        benchbox_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        mode=mode,
        baseline=base,
        candidate=cand,
        settings=settings,
        metrics=metrics,
        gates=judged,
        verdict=verdict_of(judged, problems, any(m.verdict != "not measured" for m in metrics) or shadow is not None),
        warnings=tuple(warnings),
        shadow=shadow,
        interleave=interleave,
        problems=problems,
        sections=sections,
    )


def evaluation_section(baseline: Result, candidate: Result, seed: int) -> tuple[dict[str, Any], list[str]]:
    """When both results scored a labelled set (`run --eval`), the two versions row by row
    (benchbox.evaluate.versus: paired bootstrap, McNemar) under sections["eval"]."""
    a, b = getattr(baseline, "evaluation", None), getattr(candidate, "evaluation", None)
    if a is None or b is None:
        return {}, ([] if a is None and b is None else ["only one result has an evaluation: answers not compared"])
    import dataclasses

    from benchbox.errors import UsageError
    from benchbox.evaluate.versus import versus

    try:
        found = versus(a, b, seed=seed)
    except UsageError as exc:
        return {}, [f"evaluations not compared: {exc.message}"]
    return {"eval": _json_safe(dataclasses.asdict(found))}, []


def _json_safe(value: Any) -> Any:
    """compare.json is strict JSON: a NaN figure (a metric with no data) becomes null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def verdict_of(
    gates: tuple[GateResult, ...], problems: tuple[str, ...], measured: bool
) -> Literal["pass", "fail", "error"]:
    """A failed gate fails. A side's problems (listed in the report) make an error only when they
    left nothing to compare: a run cut short still compares what it measured."""
    if any(g.passed is False for g in gates):
        return "fail"
    return "error" if problems and not measured else "pass"


def _metrics(base: LoadPhase | None, cand: LoadPhase | None, settings: CompareSettings) -> tuple[MetricDiff, ...]:
    if base is None or cand is None:
        return compare_seconds([], [], settings)
    return compare_phases(base, cand, settings)


def differences(baseline: Result, candidate: Result) -> list[str]:
    """What makes two runs not like for like: said up front, since it can explain any difference."""
    out: list[str] = []
    mb, mc = baseline.machine, candidate.machine
    changed = [
        f"{name} {a!r} vs {b!r}"
        for name, a, b in (
            ("host", mb.hostname, mc.hostname),
            ("CPU", mb.cpu_model, mc.cpu_model),
            ("cores", mb.cpu_count, mc.cpu_count),
            ("platform", mb.platform, mc.platform),
        )
        if a != b
    ]
    if changed:
        out.append("the runs were measured on different machines (" + "; ".join(changed) + ")")
    if baseline.target.protocol != candidate.target.protocol:
        out.append(
            f"the targets speak different protocols ({baseline.target.protocol} vs "
            f"{candidate.target.protocol}): the requests were not the same"
        )
    pb, pc = baseline.main_phase, candidate.main_phase
    if pb is None or pc is None:
        missing = [role for role, p in (("baseline", pb), ("candidate", pc)) if p is None]
        out.append(f"no load phase in the {' and '.join(missing)} result: latency and throughput are not compared")
        return out
    load = _load_differences(pb, pc)
    if load:
        out.append("the runs had different loads (" + "; ".join(load) + "): latency depends on load")
    for role, phase in (("baseline", pb), ("candidate", pc)):
        if phase.partial:
            out.append(f"the {role} run was cut short: its figures cover part of the planned load")
        if phase.generator.limited:
            out.append(
                f"the {role} run was limited by its generator, not its target: " + "; ".join(phase.generator.reasons)
            )
    return out


def _load_differences(a: LoadPhase, b: LoadPhase) -> list[str]:
    out = []
    if a.mode != b.mode:
        out.append(f"{a.mode} loop vs {b.mode} loop")
    pairs: list[tuple[str, Any, Any]] = [
        ("rate", a.offered_rps, b.offered_rps),
        ("users", a.users, b.users),
        ("duration", a.duration_s, b.duration_s),
    ]
    for name, x, y in pairs:
        if x is None and y is None:
            continue
        if x is None or y is None or abs(float(x) - float(y)) > LOAD_TOLERANCE * max(abs(float(x)), abs(float(y))):
            unit = {"rate": " req/s", "duration": " s"}.get(name, "")
            out.append(f"{name} {_num(x)}{unit} vs {_num(y)}{unit}")
    if a.arrival != b.arrival and a.mode == b.mode == "open":
        out.append(f"{a.arrival} vs {b.arrival} arrivals")
    return out


def _num(value: Any) -> str:
    return "none" if value is None else f"{float(value):g}"
