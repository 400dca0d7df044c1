"""Per-class figures of several workers as one: histograms added bucket by bucket, per second
and per phase, counts summed; no percentile is ever averaged (as benchbox.load.merge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchbox import hdr
from benchbox.latency import TimePoint
from benchbox.traffic.model import ClassStats, TrafficStats


def merge_traffic(parts: Sequence[TrafficStats | None], elapsed_s: float) -> TrafficStats | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    classes = _merge_maps([p.classes for p in present], elapsed_s)
    sizes = _merge_maps([p.sizes for p in present], elapsed_s)
    return TrafficStats(kind=present[0].kind, scale=present[0].scale, classes=classes, sizes=sizes)


def _merge_maps(maps: Sequence[Mapping[str, ClassStats]], elapsed_s: float) -> dict[str, ClassStats]:
    names = sorted({n for m in maps for n in m}, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
    total = sum(s.requests for m in maps for s in m.values())
    out: dict[str, ClassStats] = {}
    for name in names:
        stats = [m[name] for m in maps if name in m]
        h = _merged([s.hdr for s in stats])
        requests = sum(s.requests for s in stats)
        errors = sum(s.errors for s in stats)
        out[name] = ClassStats(
            requests=requests,
            errors=errors,
            error_rate=errors / requests if requests else 0.0,
            share=requests / total if total else 0.0,
            throughput_rps=round((requests - errors) / elapsed_s, 3) if elapsed_s > 0 else 0.0,
            weight=stats[0].weight,
            latency_ms=hdr.summarize(h) if h is not None else None,
            hdr=hdr.encode(h) if h is not None else None,
            timeseries=_merge_series([s.timeseries for s in stats]),
        )
    return out


def _merged(encoded: Sequence[str | None]) -> Any:
    texts = [e for e in encoded if e]
    return hdr.merge(texts) if texts else None


def _merge_series(series: Sequence[Sequence[TimePoint]]) -> tuple[TimePoint, ...]:
    length = max((len(s) for s in series), default=0)
    merged = []
    for t in range(length):
        points = [s[t] for s in series if t < len(s)]
        h = _merged([p.hdr for p in points])
        maxes = [p.max for p in points if p.max is not None]
        merged.append(
            TimePoint(
                t=t,
                requests=sum(p.requests for p in points),
                errors=sum(p.errors for p in points),
                max=max(maxes) if maxes else None,
                hdr=hdr.encode(h) if h is not None else None,
            )
        )
    return tuple(merged)
