"""Did a probe hold its rate? The judgement of one probe, and the step it becomes in the result.

A probe holds when, over its steady windows, it keeps every latency and error gate, its goodput
keeps up with the offered rate, and its latency is not still climbing. A probe the generator may
have limited and that did not hold says nothing about the target: it is inconclusive, never a
failure of the target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from benchbox import gates as gates_mod
from benchbox.result import LoadPhase, TimePoint
from benchbox.saturation import windows as win
from benchbox.saturation.generator_bound import generator_reasons
from benchbox.saturation.model import LimitedBy, Stage, Step
from benchbox.saturation.settings import Criteria, SearchSettings


@dataclass(frozen=True)
class Verdict:
    held: bool | None  # None: inconclusive (generator-bound) or not a rate probe
    limit: LimitedBy | None  # the first criterion broken
    reasons: tuple[str, ...]
    stable: bool
    generator: tuple[str, ...]
    reading: win.Reading
    notes: tuple[str, ...] = ()  # about the reading, for a rate probe (ramp, bisect)


def judge(phase: LoadPhase, criteria: Criteria, settings: SearchSettings) -> Verdict:
    windows = win.steady_windows(phase, settings.warmup_s)
    reading = win.read(phase, windows)
    failures: list[tuple[LimitedBy, str]] = []
    steady = dataclasses.replace(
        phase,
        requests=reading.requests,
        errors=reading.errors,
        error_rate=reading.error_rate,
        latency_ms=reading.latency_ms,
    )
    for result in gates_mod.judge(criteria.gates, steady):
        if result.passed is False:
            failures.append(
                ("errors" if result.metric == "error_rate" else "latency", f"{result.name}: {result.detail}")
            )
    offered = phase.offered_rps
    if offered and reading.goodput_rps < settings.keep_up * offered:
        failures.append(
            (
                "throughput",
                f"achieved {reading.goodput_rps:.1f} req/s, under "
                f"{100 * settings.keep_up:.0f}% of the {offered:g} offered",
            )
        )
    if win.climbing(windows, settings):
        p95 = [w.p95 for w in windows[-(settings.stable_windows + 1) :]]
        failures.append(
            (
                "throughput",
                "latency still climbing (P95 "
                + " -> ".join(f"{v:.0f}" for v in p95 if v is not None)
                + " ms): a backlog is building",
            )
        )
    is_stable = win.stable(windows, settings)
    gen = generator_reasons(phase, criteria)
    if failures:
        held: bool | None = None if gen else False
        reasons = tuple(text for _, text in failures)
        if gen:
            reasons = ("inconclusive: the generator may have been the limit",) + gen + reasons
        return Verdict(held, None if gen else failures[0][0], reasons, is_stable, gen, reading)
    notes = (
        ()
        if is_stable
        else (
            f"no stable reading: the last {settings.stable_windows} windows differ by more "
            f"than {100 * settings.stability:.0f}% (judged as measured)",
        )
    )
    return Verdict(True, None, gen, is_stable, gen, reading, notes)


def should_stop(seen: Sequence[TimePoint], offered: float, criteria: Criteria, settings: SearchSettings) -> bool:
    """Watch a running probe tick by tick: stop once it is stable, or once it clearly cannot hold.

    Clearly: a backlog building over four windows, or two windows in a row far behind the
    offered rate, over the error budget, or over a latency limit. A three-window rise alone is
    not enough: the probe goes on, and a passing hiccup then settles into a stable reading."""
    post = [w for w in seen if w.t >= settings.warmup_s]
    if win.stable(post, settings):
        return True
    if len(post) > settings.stable_windows and win.climbing(post, settings):
        return True
    if len(post) < 2:
        return False
    last = post[-2:]
    far_behind = 1.0 - 3.0 * (1.0 - settings.keep_up)
    if all(win.goodput(w) < far_behind * offered for w in last):
        return True
    error_limit = max(5.0 * criteria.error_budget, 0.05)
    if all(w.requests and w.errors / w.requests > error_limit for w in last):
        return True
    latency = [g for g in criteria.gates if g.metric.startswith("latency_ms.")]
    return any(all(win.window_breaks(w, g.metric, g.threshold) for w in last) for g in latency)


def to_step(index: int, stage: Stage, phase: LoadPhase, verdict: Verdict) -> Step:
    lat = verdict.reading.latency_ms
    concurrency = verdict.reading.concurrency
    return Step(
        index=index,
        stage=stage,
        mode=phase.mode,
        offered_rps=phase.offered_rps,
        users=phase.users,
        achieved_rps=round(verdict.reading.goodput_rps, 3),
        p50_ms=lat.p50 if lat else None,
        p95_ms=lat.p95 if lat else None,
        p99_ms=lat.p99 if lat else None,
        mean_ms=lat.mean if lat else None,
        error_rate=round(verdict.reading.error_rate, 6),
        status_counts=dict(phase.status_counts),
        errors_by_kind=dict(phase.errors_by_kind),
        concurrency=round(concurrency, 4) if concurrency is not None else None,
        load_s=round(load_seconds(phase), 3),
        windows=verdict.reading.windows,
        stable=verdict.stable,
        held=verdict.held if stage in ("ramp", "bisect") else None,
        generator_limited=bool(verdict.generator),
        reasons=verdict.reasons + (verdict.notes if stage in ("ramp", "bisect") else ()),
    )


def load_seconds(phase: LoadPhase) -> float:
    """The time the target was under this probe's load: the schedule, and the drain after it."""
    return max(phase.elapsed_s, phase.duration_s)
