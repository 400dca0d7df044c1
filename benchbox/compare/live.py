"""Live A/B: the same load at both targets, in short alternating windows, then compare as saved.

Why alternate rather than run one after the other: on a shared machine, noise comes in episodes
(another job's build, a GC storm) lasting seconds. Windows of a second or two, in the order
A B B A A B ..., put both sides through the same episodes and cancel linear drift, so what
remains between them is the targets' difference. All windows run back to back in one generator
process (one RunSpec, one phase per window: benchbox/load's machinery unchanged), and each side's
windows are joined into one phase whose per-second series the bootstrap resamples.

Each side's result.json is written like a run's, so `benchbox compare a/result.json b/result.json`
later re-reads exactly what this comparison used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchbox import __version__, evidence, hdr, target
from benchbox import gates as run_gates
from benchbox.compare import gates as compare_gates
from benchbox.compare.model import CompareSettings, Comparison, Interleave, ShadowSection
from benchbox.compare.saved import compare_results
from benchbox.errors import Interrupted, TargetUnreachable
from benchbox.evaluate.model import EvaluationSection
from benchbox.load.merge import merge_phases
from benchbox.load.spec import PhaseSpec, RunSpec
from benchbox.plan import Plan
from benchbox.result import LoadPhase, LoadSection, Preflight, Result, Target, TimePoint, save

Notify = Callable[[str], None]


@dataclass(frozen=True)
class LiveOptions:
    window_s: float = 2.0
    shadow_cases: int = 200
    load: bool = True
    shadow: bool = True
    evaluate: bool = True  # with --eval FILE: both sides score the labelled set before the load


@dataclass(frozen=True)
class LiveOutcome:
    comparison: Comparison
    baseline_json: Path
    candidate_json: Path
    interrupted: str | None = None


def run_live(baseline: Plan, candidate: Plan, options: LiveOptions, settings: CompareSettings,
             gates: compare_gates.CompareGates, out_dir: Path, notify: Notify | None = None) -> LiveOutcome:
    say = notify or (lambda text: None)
    started = _now()
    say(f"preflight: {baseline.target} and {candidate.target}")
    pre_b, version_b = target.preflight(baseline, say)
    pre_c, version_c = target.preflight(candidate, say)
    for role, pre in (("baseline", pre_b), ("candidate", pre_c)):
        if pre.error:
            raise TargetUnreachable(f"{role}: {pre.error}")
    # The load's pool is 100 inputs, as a run's; the shadow wants as many as it is allowed.
    pool_size = max(100 if options.load else 0, options.shadow_cases if options.shadow else 0, 1)
    baseline, candidate, source = _with_inputs(baseline, candidate, pool_size, say)

    shadow: ShadowSection | None = None
    shadow_skipped = None
    if options.shadow and baseline.request.bodies:
        shadow = _shadow(baseline, candidate, options.shadow_cases, source, say)
    elif options.shadow:
        shadow_skipped = ("not checked: no inputs to send both sides (give --body, or let the target "
                          "describe its contract)")
    else:
        shadow_skipped = "not checked: the shadow comparison was skipped (--skip shadow)"

    evaluations: tuple[EvaluationSection | None, EvaluationSection | None] = (None, None)
    if options.evaluate and baseline.evaluation is not None:
        evaluations = (_evaluate(baseline, "baseline", say), _evaluate(candidate, "candidate", say))

    problems: list[str] = []
    interrupted = None
    phases: tuple[LoadPhase, ...] = ()
    run = interleaved(baseline.phase_spec("baseline"), candidate.phase_spec("candidate"), options.window_s)
    if options.load:
        from benchbox.load.process import run_phases

        per_side = len(run.phases) // 2
        say(f"load: {per_side} windows of {options.window_s:g}s on each side, alternating "
            f"({_describe(baseline.phase_spec())})")
        try:
            phases = tuple(run_phases(run))
        except Interrupted as exc:
            interrupted = exc.signal_name
            phases = tuple(getattr(exc, "phases", ()))
            problems.append(f"interrupted by {interrupted}: the figures cover the windows until then")
    by_side = (join_windows([p for p in phases if p.name.startswith("baseline")]),
               join_windows([p for p in phases if p.name.startswith("candidate")]))
    results = [
        _result(plan, pre, version, phase, started, problems, interrupted, evaluation)
        for plan, pre, version, phase, evaluation in ((baseline, pre_b, version_b, by_side[0], evaluations[0]),
                                                       (candidate, pre_c, version_c, by_side[1], evaluations[1]))
    ]
    paths = (save(results[0], out_dir / "baseline" / "result.json"), save(results[1], out_dir / "candidate" / "result.json"))
    interleave = Interleave(window_s=options.window_s, windows_per_side=len(run.phases) // 2,
                            order="baseline, candidate, candidate, baseline, ...") if options.load else None
    comparison = compare_results(results[0], results[1], settings, gates, mode="live",
                                 sources=(str(paths[0]), str(paths[1])), shadow=shadow, interleave=interleave,
                                 shadow_skipped=shadow_skipped, load_skipped=not options.load)
    return LiveOutcome(comparison, paths[0], paths[1], interrupted)


def interleaved(base: PhaseSpec, cand: PhaseSpec, window_s: float) -> RunSpec:
    """Windows A B B A A B ...: as many per side as fit the planned duration, at least two."""
    windows = max(2, round(base.duration_s / window_s))
    phases = []
    for i in range(windows):
        pair = [(base, "baseline"), (cand, "candidate")]
        if i % 2:
            pair.reverse()
        for spec, role in pair:
            phases.append(dataclasses.replace(spec, name=f"{role} {i + 1}", duration_s=window_s,
                                              seed=spec.seed + i, ramp_from=None))
    return RunSpec(phases=tuple(phases))


def join_windows(windows: Sequence[LoadPhase]) -> LoadPhase | None:
    """One side's windows as one phase: histograms merged exactly, seconds concatenated, each
    window's last (partial) second marked with its own length so throughput stays honest."""
    if not windows:
        return None
    merged = merge_phases(list(windows), [])
    series: list[TimePoint] = []
    for window in windows:
        series.extend(dataclasses.replace(p, t=len(series) + i) for i, p in enumerate(window_seconds(window)))
    elapsed = sum(w.elapsed_s for w in windows)
    first = windows[0]
    return dataclasses.replace(
        merged, name="interleaved", duration_s=sum(w.duration_s for w in windows), elapsed_s=round(elapsed, 4),
        throughput_rps=round(merged.responses / elapsed, 3) if elapsed else 0.0,
        offered_rps=first.offered_rps, users=first.users, connections=first.connections, ramp_from=None,
        timeseries=tuple(series), workers=(), samples=())


def window_seconds(window: LoadPhase) -> list[TimePoint]:
    """A window's seconds, each with its length. The last one holds only the drain (the answers
    still in flight when the window closed): under half a second, it joins the second before, so
    a handful of requests never pose as a second of their own."""
    points = list(window.timeseries)
    if not points:
        return []
    tail = min(1.0, max(window.elapsed_s - (len(points) - 1), 1e-3))
    sized = [dataclasses.replace(p, duration_s=1.0) for p in points[:-1]]
    last = dataclasses.replace(points[-1], duration_s=round(tail, 4))
    if sized and tail < 0.5:
        before = sized.pop()
        encoded = [h for h in (before.hdr, last.hdr) if h]
        merged = hdr.encode(hdr.merge(encoded)) if encoded else None
        maxes = [m for m in (before.max, last.max) if m is not None]
        last = hdr.with_percentiles(dataclasses.replace(
            before, requests=before.requests + last.requests, errors=before.errors + last.errors,
            max=max(maxes) if maxes else None, hdr=merged, duration_s=round(1.0 + tail, 4), p50=None, p95=None,
            p99=None))
    return sized + [last]


def _with_inputs(baseline: Plan, candidate: Plan, pool_size: int, say: Notify) -> tuple[Plan, Plan, str]:
    """Both sides get the same bodies: the user's, else valid inputs from the baseline's contract."""
    if baseline.request.bodies:
        return baseline, candidate, "--body"
    if "contract" in baseline.skip:
        return baseline, candidate, "none"
    from benchbox.contract import ContractOptions, body_text, discover, valid_inputs

    c = baseline.contract
    options = ContractOptions(seed=baseline.seed, timeout_s=baseline.request.timeout_s, protocol=c.protocol,  # type: ignore[arg-type]
                              openapi=c.openapi, input_schema=c.input_schema, output_schema=c.output_schema)
    headers = dict(baseline.request.headers)
    found = discover(baseline.target, baseline.request.method, headers, options, notify=say)
    if (found.source is None or found.protocol == "kserve-v2") and not baseline.method_given:
        post = discover(baseline.target, "POST", headers, options, notify=say)
        found = post if post.source is not None else found
    pool = tuple(body_text(b) for b in valid_inputs(found, pool_size, baseline.seed)) if found.source else ()
    if not pool:
        say("no contract found: the load sends the plain request and shadow is skipped (give --body)")
        return baseline, candidate, "none"
    say(f"inputs: {len(pool)} valid inputs generated from the baseline's contract ({found.source})")
    headers.setdefault("Content-Type", "application/json")

    def use(plan: Plan) -> Plan:
        request = dataclasses.replace(plan.request, bodies=pool, method=found.method,
                                      headers=tuple({**dict(plan.request.headers), **headers}.items()))
        return dataclasses.replace(plan, request=request)

    return use(baseline), use(candidate), f"contract ({found.source})"


def _shadow(baseline: Plan, candidate: Plan, cases: int, source: str, say: Notify) -> ShadowSection:
    from benchbox.compare.shadow import http_sender, run_shadow

    bodies = _spread(baseline.request.bodies, cases)
    say(f"shadow: {len(bodies)} inputs to both sides")
    headers = dict(baseline.request.headers)
    send, close = http_sender(baseline.request.method, headers, baseline.request.timeout_s)
    try:
        return run_shadow(bodies, send, baseline.target, candidate.target, tolerance=baseline.contract.tolerance,
                          source=source, headers=headers)
    finally:
        close()


def _evaluate(plan: Plan, role: str, say: Notify) -> EvaluationSection:
    """One side scored on the labelled set, as `run --eval` scores it, so the saved side results
    compare row by row (compare.saved.evaluation_section) exactly as this live comparison does."""
    from benchbox.evaluate.runner import evaluate

    assert plan.evaluation is not None
    say(f"evaluation: {role} scores {plan.evaluation.path}")
    return evaluate(plan.evaluation, plan.target, plan.request, None, plan.seed, say, plan.contract.protocol)


def _spread(bodies: Sequence[str], n: int) -> list[str]:
    """Up to n distinct bodies (a single --body is sent once: the same input twice proves nothing)."""
    seen: dict[str, None] = {}
    for body in bodies:
        seen.setdefault(body, None)
        if len(seen) >= n:
            break
    return list(seen)


def _result(plan: Plan, pre: Preflight, version: str | None, phase: LoadPhase | None, started: str,
            problems: list[str], interrupted: str | None, evaluation: EvaluationSection | None = None) -> Result:
    judged = run_gates.judge(plan.gates, phase, "not checked: the load was skipped (--skip load)")
    verdict = "error" if problems else ("fail" if any(g.passed is False for g in judged) else "pass")
    protocol = "json" if plan.request.bodies else "http"
    if plan.request.bodies and plan.contract.protocol != "auto":
        protocol = plan.contract.protocol
    return Result(
        benchbox_version=__version__, started_at=started, finished_at=_now(), command="compare",
        plan=plan.redacted(), target=Target(url=plan.target, protocol=protocol, label=plan.label, model_version=version),
        verdict=verdict, gates=judged, machine=evidence.machine(), seed=plan.seed, preflight=pre,  # type: ignore[arg-type]
        load=LoadSection(phases=(phase,)) if phase is not None else None, commit=evidence.commit(),
        partial=interrupted is not None, interrupted=interrupted, problems=tuple(problems), evaluation=evaluation)


def _describe(spec: PhaseSpec) -> str:
    from benchbox.engine import describe

    return describe(spec)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


__all__ = ["LiveOptions", "LiveOutcome", "run_live", "interleaved", "join_windows"]
