"""Merging what several generator processes measured into one phase, exactly.

Histograms are added bucket by bucket (HdrHistogram `add`), per second and for the whole phase;
counts are summed. No percentile is ever averaged: every percentile of the merged phase is read
from the merged histogram. A worker that died mid-run still contributes what its ticks carried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchbox import hdr
from benchbox.latency import TimePoint
from benchbox.phase_record import GeneratorHealth, LlmPoint, LlmStats, LoadPhase, NameStats, WorkerReport
from benchbox.traffic.merge import merge_traffic


def merge_phases(parts: Sequence[LoadPhase], workers: Sequence[WorkerReport]) -> LoadPhase:
    """One phase from each worker's part of it (parts in worker order)."""
    first = parts[0]
    phase_hdr = _merged(p.hdr for p in parts)
    service = _merged(p.service_hdr for p in parts)
    requests = sum(p.requests for p in parts)
    responses = sum(p.responses for p in parts)
    errors = sum(p.errors for p in parts)
    elapsed = max(p.elapsed_s for p in parts)
    return LoadPhase(
        name=first.name,
        mode=first.mode,
        duration_s=first.duration_s,
        elapsed_s=elapsed,
        requests=requests,
        responses=responses,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        throughput_rps=round(responses / elapsed, 3) if elapsed else 0.0,
        status_counts=_sum_counts(p.status_counts for p in parts),
        errors_by_kind=_sum_counts(p.errors_by_kind for p in parts),
        generator=_merge_generators(parts),
        offered_rps=_total(p.offered_rps for p in parts),
        arrival=first.arrival,
        users=_total_int(p.users for p in parts),
        connections=_total_int(p.connections for p in parts),
        latency_ms=hdr.summarize(phase_hdr) if phase_hdr else None,
        service_ms=hdr.summarize(service) if service else None,
        service_hdr=hdr.encode(service) if service else None,
        hdr=hdr.encode(phase_hdr) if phase_hdr else None,
        timeseries=_merge_series([p.timeseries for p in parts]),
        error_samples=tuple(s for p in parts for s in p.error_samples)[:5],
        partial=any(p.partial for p in parts) or any(w.state != "ok" for w in workers),
        ramp_from=_total(p.ramp_from for p in parts),
        by_name=_merge_names([p.by_name for p in parts]),
        workers=tuple(workers),
        samples=tuple(s for p in parts for s in p.samples)[:20],
        llm=merge_llm([p.llm for p in parts if p.llm is not None], requests, elapsed),
        traffic=merge_traffic([p.traffic for p in parts], elapsed),
    )


def phase_from_ticks(
    ticks: Sequence[Mapping[str, Any]], template: LoadPhase | None, name: str, mode: str, duration_s: float
) -> LoadPhase:
    """What a lost worker measured, rebuilt from the ticks it sent before it went silent."""
    points = tuple(
        TimePoint(
            t=int(k["t"]), requests=int(k["requests"]), errors=int(k["errors"]), max=k.get("max"), hdr=k.get("hdr")
        )
        for k in ticks
    )
    counters: Mapping[str, Any] = ticks[-1]["counters"] if ticks else {}
    merged = _merged(p.hdr for p in points)
    sent = int(counters.get("sent", 0))
    errors = int(counters.get("errors", 0))
    elapsed = float(len(points)) or 1.0
    return LoadPhase(
        name=name,
        mode=mode,  # type: ignore[arg-type]
        duration_s=duration_s,
        elapsed_s=elapsed,
        requests=sent,
        responses=int(counters.get("responses", 0)),
        errors=errors,
        error_rate=errors / sent if sent else 0.0,
        throughput_rps=round(int(counters.get("responses", 0)) / elapsed, 3),
        status_counts=dict(counters.get("status_counts", {})),
        errors_by_kind=dict(counters.get("errors_by_kind", {})),
        generator=GeneratorHealth(cpu_seconds=0.0, cpu_percent_mean=0.0, cpu_percent_max=0.0),
        latency_ms=hdr.summarize(merged) if merged else None,
        hdr=hdr.encode(merged) if merged else None,
        timeseries=points,
        partial=True,
        offered_rps=template.offered_rps if template else None,
    )


def _merged(encoded: Iterable[str | None]) -> Any:
    texts = [e for e in encoded if e]
    return hdr.merge(texts) if texts else None


def _sum_counts(maps: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for m in maps:
        total.update(m)
    return dict(sorted(total.items()))


def _total(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present), 6) if present else None


def _total_int(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _merge_series(series: Sequence[Sequence[TimePoint]]) -> tuple[TimePoint, ...]:
    length = max((len(s) for s in series), default=0)
    merged: list[TimePoint] = []
    for t in range(length):
        points = [s[t] for s in series if t < len(s)]
        h = _merged(p.hdr for p in points)
        maxes = [p.max for p in points if p.max is not None]
        merged.append(
            hdr.with_percentiles(
                TimePoint(
                    t=t,
                    requests=sum(p.requests for p in points),
                    errors=sum(p.errors for p in points),
                    max=max(maxes) if maxes else None,
                    hdr=hdr.encode(h) if h else None,
                )
            )
        )
    return tuple(merged)


def _merge_names(maps: Sequence[Mapping[str, NameStats]]) -> dict[str, NameStats]:
    names = sorted({n for m in maps for n in m})
    out: dict[str, NameStats] = {}
    for name in names:
        stats = [m[name] for m in maps if name in m]
        h = _merged(s.hdr for s in stats)
        out[name] = NameStats(
            requests=sum(s.requests for s in stats),
            errors=sum(s.errors for s in stats),
            latency_ms=hdr.summarize(h) if h else None,
            hdr=hdr.encode(h) if h else None,
        )
    return out


def _merge_generators(parts: Sequence[LoadPhase]) -> GeneratorHealth:
    """The busiest worker speaks for the fleet: one limited worker limits the whole run."""
    gens = [p.generator for p in parts]
    worst_lag = max((g.schedule_lag_ms for g in gens if g.schedule_lag_ms), key=lambda s: s.p99, default=None)
    reasons = tuple(f"worker {i}: {r}" for i, g in enumerate(gens) for r in g.reasons)
    return GeneratorHealth(
        cpu_seconds=round(sum(g.cpu_seconds for g in gens), 4),
        cpu_percent_mean=max(g.cpu_percent_mean for g in gens),
        cpu_percent_max=max(g.cpu_percent_max for g in gens),
        schedule_lag_ms=worst_lag,
        waited_for_connection=sum(g.waited_for_connection for g in gens),
        peak_in_flight=sum(g.peak_in_flight for g in gens),
        limited=any(g.limited for g in gens),
        reasons=reasons,
    )


def merge_llm(parts: Sequence[LlmStats], requests: int, elapsed_s: float) -> LlmStats | None:
    """The LLM figures of several workers: histograms added, counts and seconds summed."""
    if not parts:
        return None
    first = parts[0]

    def hist(attr: str) -> tuple[Any, str | None]:
        h = _merged(getattr(p, attr) for p in parts)
        return (hdr.summarize(h), hdr.encode(h)) if h else (None, None)

    ttft, ttft_hdr = hist("ttft_hdr")
    itl, itl_hdr = hist("itl_hdr")
    e2e, e2e_hdr = hist("e2e_hdr")
    tps, tps_hdr = hist("tokens_per_s_hdr")
    tokens = sum(p.output_tokens for p in parts)
    prompts = sum(p.prompt_tokens for p in parts)
    inputs = None if first.inputs is None else sum(p.inputs or 0 for p in parts)
    good = None if first.good is None else sum(p.good or 0 for p in parts)
    length = max(len(p.timeseries) for p in parts)
    series = tuple(
        LlmPoint(
            t=t,
            completed=sum(p.timeseries[t].completed for p in parts if t < len(p.timeseries)),
            output_tokens=sum(p.timeseries[t].output_tokens for p in parts if t < len(p.timeseries)),
            good=sum(p.timeseries[t].good for p in parts if t < len(p.timeseries)),
        )
        for t in range(length)
    )
    return LlmStats(
        streamed=first.streamed,
        completed=sum(p.completed for p in parts),
        output_tokens=tokens,
        prompt_tokens=prompts,
        usage_reported=sum(p.usage_reported for p in parts),
        malformed=sum(p.malformed for p in parts),
        output_tokens_per_s=round(tokens / elapsed_s, 3) if elapsed_s > 0 else 0.0,
        ttft_ms=ttft,
        itl_ms=itl,
        e2e_ms=e2e,
        tokens_per_s=tps,
        ttft_hdr=ttft_hdr,
        itl_hdr=itl_hdr,
        e2e_hdr=e2e_hdr,
        tokens_per_s_hdr=tps_hdr,
        good=good,
        goodput=round(good / requests, 6) if good is not None and requests else None,
        goodput_rps=round(good / elapsed_s, 3) if good is not None and elapsed_s > 0 else None,
        good_criteria=first.good_criteria,
        api=first.api,
        inputs=inputs,
        inputs_per_s=round(inputs / elapsed_s, 3) if inputs is not None and elapsed_s > 0 else None,
        prompt_tokens_per_s=(
            round(prompts / elapsed_s, 3) if first.prompt_tokens_per_s is not None and elapsed_s > 0 else None
        ),
        timeseries=series,
    )
