"""Live A/B: the same load at both targets, in short alternating windows, then compare as saved.

Why alternate rather than run one after the other: on a shared machine, noise comes in episodes
(another job's build, a GC storm) lasting seconds. Windows of a second or two, in the order
A B B A A B ..., put both sides through the same episodes and cancel linear drift, so what
remains between them is the targets' difference. All windows run back to back in one generator
process (one RunSpec, one phase per window: benchbox/load's machinery unchanged), and each side's
windows are joined into one phase whose per-second series the bootstrap resamples.

Each side is a run of the pipeline's own stages (benchbox.pipeline: preflight, inputs, eval) with its
own context; the windows are each side's load phase under its own brakes; each side's result.json
comes out of the pipeline's assembler (gates, verdict, secret scrub), so `benchbox compare
a/result.json b/result.json` later re-reads exactly what this comparison used.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchbox import hdr, pipeline
from benchbox.adapters import braked, describe, run_load
from benchbox.compare import gates as compare_gates
from benchbox.compare.model import (
    CompareSettings,
    Comparison,
    Interleave,
    ShadowSection,
)
from benchbox.compare.saved import compare_results
from benchbox.context import RunContext
from benchbox.errors import TargetUnreachable
from benchbox.events import lines
from benchbox.load.merge import merge_phases
from benchbox.load.spec import PhaseSpec, RunSpec
from benchbox.plan import Plan
from benchbox.result import LoadPhase, TimePoint, save

Notify = Callable[[str], None]
# What each side's result.json judges: its load (the interleaved windows) and its evaluation.
COVERED = ("load", "eval")


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


def run_live(
    baseline: Plan,
    candidate: Plan,
    options: LiveOptions,
    settings: CompareSettings,
    gates: compare_gates.CompareGates,
    out_dir: Path,
    notify: Notify | None = None,
) -> LiveOutcome:
    """Each side is a run of the pipeline's stages (preflight, inputs, eval) with its own context;
    the load is both sides' braked phases interleaved in one generator; each side's result comes
    out of the pipeline's assembler (gates, verdict, secret scrub) before it is saved."""
    say = notify or (lambda text: None)
    sides = tuple(
        pipeline.start(plan, "compare", lines(_prefixed(say, role)))
        for plan, role in ((baseline, "baseline"), (candidate, "candidate"))
    )
    for role, ctx in zip(("baseline", "candidate"), sides):
        _drive(sides, pipeline.Preflight(), only=ctx)
        if ctx.preflight is not None and ctx.preflight.error:  # the command's error (exit 3), not a verdict
            raise TargetUnreachable(f"{role}: {ctx.preflight.error}")
    # The load's pool is 100 inputs, as a run's; the shadow wants as many as it is allowed.
    pool_size = max(100 if options.load else 0, options.shadow_cases if options.shadow else 0, 1)
    _drive(sides, pipeline.Inputs(pool_size, discover=True), only=sides[0])
    _same_inputs(sides[0], sides[1])  # both sides get the baseline's bodies: the same requests

    shadow: ShadowSection | None = None
    shadow_skipped = None
    if not options.shadow:
        shadow_skipped = "not checked: the shadow comparison was skipped (--skip shadow)"
    elif _interrupted(sides):
        shadow_skipped = f"not checked: interrupted by {_interrupted(sides)} before the shadow comparison"
    elif sides[0].effective.request.bodies:
        shadow = _shadow(sides[0], sides[1], options.shadow_cases, say)
    else:
        shadow_skipped = (
            "not checked: no inputs to send both sides (give --body, or let the target describe its contract)"
        )

    if options.evaluate:
        _drive(sides, pipeline.Evaluate())

    run = interleaved(_braked_spec(sides[0]), _braked_spec(sides[1]), options.window_s)
    outputs = None
    interrupted = _interrupted(sides)
    if options.load and not interrupted:
        per_side = len(run.phases) // 2
        say(f"load: {per_side} windows of {options.window_s:g}s on each side, alternating ({describe(run.phases[0])})")
        from benchbox.outputs.fanout import open_compare_outputs

        outputs = open_compare_outputs(baseline, candidate, out_dir)  # --output: windows tagged by side
        try:
            phases, interrupted = run_load(
                run, outputs.observe(sides[0].notify) if outputs else sides[0].notify, announce=False
            )
        except BaseException:
            if outputs is not None:
                outputs.end()
            raise
        for ctx, role in zip(sides, ("baseline", "candidate")):
            ctx.ran.append("load")
            ctx.interrupted = ctx.interrupted or interrupted
            joined = join_windows([p for p in phases if p.name.startswith(role)])
            if joined is not None and len(phases) < len(run.phases):  # the brake (or a stop) ended both sides
                joined = dataclasses.replace(joined, partial=True)
            ctx.phases = [joined] if joined is not None else []
    results = [pipeline.assemble(ctx, COVERED) for ctx in sides]
    paths = (
        save(results[0], out_dir / "baseline" / "result.json"),
        save(results[1], out_dir / "candidate" / "result.json"),
    )
    interleave = (
        Interleave(
            window_s=options.window_s,
            windows_per_side=len(run.phases) // 2,
            order="baseline, candidate, candidate, baseline, ...",
        )
        if options.load
        else None
    )
    comparison = compare_results(
        results[0],
        results[1],
        settings,
        gates,
        mode="live",
        sources=(str(paths[0]), str(paths[1])),
        shadow=shadow,
        interleave=interleave,
        shadow_skipped=shadow_skipped,
        load_skipped=not options.load,
    )
    if outputs is not None:  # the verdict goes out too; what a receiver lost is a warning of the comparison
        lost = outputs.finish_compare(results, comparison)
        comparison = dataclasses.replace(comparison, warnings=tuple(comparison.warnings) + tuple(lost))
    return LiveOutcome(_scrubbed(comparison, baseline, candidate), paths[0], paths[1], interrupted)


def _prefixed(say: Notify, role: str) -> Notify:
    """A side's progress lines, named by side."""
    return lambda text: say(f"{role}: {text}")


def _scrubbed(comparison: Comparison, *plans: Plan) -> Comparison:
    """The shadow answers are the targets' own words: one that echoes a key back must not get it
    into compare.json or the reports (each side's result.json is scrubbed by the assembler)."""
    from benchbox.compare.model import dumps, from_dict
    from benchbox.redact import scrub_text, secrets_of

    secrets = set().union(*(secrets_of(plan.request.headers) for plan in plans))
    if not secrets:
        return comparison
    return from_dict(json.loads(scrub_text(secrets, dumps(comparison))))


def _drive(sides: Sequence[RunContext], stage: pipeline.Stage, only: RunContext | None = None) -> None:
    """One stage on each side (or `only` one), in turn; after an interrupt on either side, on
    neither (the results are still written)."""
    for ctx in sides:
        if (only is None or ctx is only) and not _interrupted(sides):
            pipeline.drive(ctx, (stage,))


def _interrupted(sides: Sequence[RunContext]) -> str | None:
    signal = next((ctx.interrupted for ctx in sides if ctx.interrupted), None)
    for ctx in sides:
        ctx.interrupted = ctx.interrupted or signal
    return signal


def interleaved(base: PhaseSpec, cand: PhaseSpec, window_s: float) -> RunSpec:
    """Windows A B B A A B ...: as many per side as fit the planned duration, at least two."""
    windows = max(2, round(base.duration_s / window_s))
    token = uuid.uuid4().hex[:8]  # each side's windows share one abort rule: together they are its load
    phases = []
    for i in range(windows):
        pair = [(base, "baseline"), (cand, "candidate")]
        if i % 2:
            pair.reverse()
        for spec, role in pair:
            phases.append(
                dataclasses.replace(
                    spec,
                    name=f"{role} {i + 1}",
                    duration_s=window_s,
                    seed=spec.seed + i,
                    ramp_from=None,
                    brake_group=f"{role} {token}",
                )
            )
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
        merged,
        name="interleaved",
        duration_s=sum(w.duration_s for w in windows),
        elapsed_s=round(elapsed, 4),
        throughput_rps=round(merged.responses / elapsed, 3) if elapsed else 0.0,
        offered_rps=first.offered_rps,
        users=first.users,
        connections=first.connections,
        ramp_from=None,
        timeseries=tuple(series),
        workers=(),
        samples=(),
        aborted=next((w.aborted for w in windows if w.aborted), None),
    )


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
        last = hdr.with_percentiles(
            dataclasses.replace(
                before,
                requests=before.requests + last.requests,
                errors=before.errors + last.errors,
                max=max(maxes) if maxes else None,
                hdr=merged,
                duration_s=round(1.0 + tail, 4),
                p50=None,
                p95=None,
                p99=None,
            )
        )
    return sized + [last]


def _braked_spec(ctx: RunContext) -> PhaseSpec:
    """One side's load phase under its own brakes (--max-rps, --max-concurrency, --abort-on)."""
    return braked(ctx.effective, ctx.notify).phases[0]


def _same_inputs(source: RunContext, other: RunContext) -> None:
    """The other side sends the source side's bodies, method and content type (its own credentials)."""
    if other.effective.request.bodies or not source.effective.request.bodies:
        return
    request = source.effective.request
    headers = {
        **dict(other.effective.request.headers),
        **{n: v for n, v in request.headers if n.lower() == "content-type"},
    }
    other.learn_request(bodies=request.bodies, method=request.method, headers=tuple(headers.items()))
    other.found, other.inputs = source.found, source.inputs


def _shadow(baseline: RunContext, candidate: RunContext, cases: int, say: Notify) -> ShadowSection:
    from benchbox.compare.shadow import http_sender, run_shadow

    b = baseline.effective
    bodies = _spread(b.request.bodies, cases)
    say(f"shadow: {len(bodies)} inputs to both sides")
    headers = dict(b.request.headers)
    send, close = http_sender(b.request.method, headers, b.request.timeout_s)
    if b.target.startswith(("grpc://", "grpcs://")):  # KServe V2 over gRPC: the same V2 bodies, as protobuf
        from benchbox.grpc_v2.shadow import grpc_sender

        close()
        send, close = grpc_sender(headers, b.request.timeout_s, insecure=b.insecure)
    try:
        return run_shadow(
            bodies,
            send,
            b.target,
            candidate.effective.target,
            tolerance=b.contract.tolerance,
            source=baseline.inputs,
            headers=headers,
        )
    finally:
        close()


def _spread(bodies: Sequence[str], n: int) -> list[str]:
    """Up to n distinct bodies (a single --body is sent once: the same input twice proves nothing)."""
    seen: dict[str, None] = {}
    for body in bodies:
        seen.setdefault(body, None)
        if len(seen) >= n:
            break
    return list(seen)


__all__ = ["LiveOptions", "LiveOutcome", "interleaved", "join_windows", "run_live"]
