"""What the target does past its capacity, graded from one short probe above it.

- sheds: it refuses the excess at once (429, or 503 as proxies do), ideally saying when to come
  back (Retry-After), and the requests it accepts keep their latency. The behaviour to want.
- queues: it refuses nothing and lets requests wait; latency grows for as long as the overload
  lasts, until clients time out. Nobody is told to back off.
- fails: the excess ends in timeouts, resets or 5xx other than a fast 503.
- keeps_up: the probe did not overload it (the capacity found was set by latency, not throughput).

The load generator keeps status codes, not headers, so Retry-After comes from a few responses read
directly during the probe (`samples`); without samples the finding says it was not checked.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchbox.result import LoadPhase
from benchbox.saturation import windows as win
from benchbox.saturation.model import Grade, Overload, ResponseSample
from benchbox.saturation.settings import Criteria, SearchSettings

SHED_KINDS = ("http_429", "http_503")
MIN_SHARE = 0.05  # a share of refusals or failures this small is noise, not a behaviour
GROWTH = 2.0  # P95 doubling within a few seconds of overload is a queue, not jitter
_SEVERITY = {"sheds": "low", "keeps_up": "low", "queues": "medium", "unclear": "medium", "fails": "high"}


def grade(
    phase: LoadPhase,
    capacity_rps: float,
    criteria: Criteria,
    settings: SearchSettings,
    samples: Sequence[ResponseSample] = (),
) -> Overload:
    windows = win.steady_windows(phase, 0)  # the first second too: a queue shows from the start
    reading = win.read(phase, windows)
    total = max(phase.requests, 1)
    shed = sum(phase.errors_by_kind.get(k, 0) for k in SHED_KINDS) / total
    failed = sum(v for k, v in phase.errors_by_kind.items() if k not in SHED_KINDS) / total
    p95s = [w.p95 for w in windows if w.p95 is not None]
    first, last = (p95s[0], p95s[-1]) if p95s else (None, None)
    lat = phase.latency_ms  # the whole probe, drain included: a queue's last requests wait longest
    growing = bool(
        first
        and last
        and (win.climbing(windows, settings) or (last > GROWTH * first and last - first > settings.stability_floor_ms))
    )
    within_slo = lat is not None and lat.p95 <= max(criteria.latency_limits_ms)
    offered = phase.offered_rps or 0.0
    g: Grade
    if shed >= MIN_SHARE and shed >= failed and not growing and within_slo:
        g = "sheds"
    elif failed >= MIN_SHARE or shed >= MIN_SHARE:
        g = "fails"
    elif growing or not within_slo:
        g = "queues"
    elif reading.goodput_rps >= settings.keep_up * offered:
        g = "keeps_up"
    else:
        g = "unclear"
    retry_after = next((s.retry_after for s in samples if s.retry_after), None)
    finding = _finding(
        g,
        offered,
        capacity_rps,
        phase,
        shed,
        failed,
        first,
        last,
        len(windows),
        reading.goodput_rps,
        retry_after,
        samples,
    )
    return Overload(
        grade=g,
        severity=_SEVERITY[g],  # type: ignore[arg-type]
        finding=finding,
        offered_rps=offered,
        achieved_rps=round(reading.goodput_rps, 3),
        error_rate=round(phase.error_rate, 6),
        shed_share=round(shed, 6),
        fail_share=round(failed, 6),
        p50_ms=lat.p50 if lat else None,
        p95_ms=lat.p95 if lat else None,
        p95_first_ms=first,
        p95_last_ms=last,
        status_counts=dict(phase.status_counts),
        errors_by_kind=dict(phase.errors_by_kind),
        retry_after=retry_after,
        samples=tuple(samples),
    )


def _finding(
    g: Grade,
    offered: float,
    capacity: float,
    phase: LoadPhase,
    shed: float,
    failed: float,
    first: float | None,
    last: float | None,
    seconds: int,
    goodput: float,
    retry_after: str | None,
    samples: Sequence[ResponseSample],
) -> str:
    where = f"At {offered:g} req/s ({offered / capacity:.2g}x the {capacity:.4g} req/s it sustains)"
    p95 = f"{phase.latency_ms.p95:.1f} ms" if phase.latency_ms else "n/a"
    if g == "sheds":
        kinds = ", ".join(
            f"{phase.errors_by_kind[k]} x {k.removeprefix('http_')}" for k in SHED_KINDS if phase.errors_by_kind.get(k)
        )
        return (
            f"{where} the target sheds load: {100 * shed:.0f}% of requests were refused at once ({kinds}), "
            f"{_retry_after_text(retry_after, samples)}, and P95 stayed at {p95} while it served "
            f"{goodput:.4g} req/s."
        )
    if g == "fails":
        kinds = ", ".join(f"{v} x {k}" for k, v in sorted(phase.errors_by_kind.items(), key=lambda kv: -kv[1]))
        how = "timeouts, resets or server errors" if failed >= shed else "refusals that were not fast"
        return (
            f"{where} the target fails rather than sheds: {100 * (failed + shed):.0f}% of requests ended in "
            f"{how} ({kinds}); P95 {p95}. A fast 429/503 with Retry-After would let clients back off."
        )
    if g == "queues":
        growth = f"P95 grew from {first:.0f} ms to {last:.0f} ms in {seconds} s" if first and last else f"P95 {p95}"
        return (
            f"{where} the target queues: it refused {100 * (shed + failed):.1f}% of requests and {growth}; "
            "latency keeps growing while the overload lasts, until clients time out, and nobody is told "
            "to back off."
        )
    if g == "keeps_up":
        return (
            f"{where} the target still kept up ({goodput:.4g} req/s, P95 {p95}): the capacity found is set "
            "by the latency SLO, not by throughput."
        )
    return (
        f"{where} the picture is unclear: {goodput:.4g} req/s served, {100 * shed:.1f}% refused, "
        f"{100 * failed:.1f}% failed, P95 {p95}."
    )


def _retry_after_text(retry_after: str | None, samples: Sequence[ResponseSample]) -> str:
    if retry_after:
        return f"with Retry-After: {retry_after}"
    if any(s.status in (429, 503) for s in samples):
        return "without a Retry-After header on the refusals sampled"
    return "Retry-After not checked (no refusal among the responses sampled)"
