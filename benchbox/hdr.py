"""HDR histograms as benchbox uses them: microseconds, 3 significant digits, 1 µs to 1 hour.

Percentiles are only ever read from a histogram (never averaged across seconds or workers);
histograms travel in HdrHistogram's standard compressed base64 encoding, which is lossless, so
a saved result can be re-read, merged and re-summarised exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from benchbox.latency import LatencySummary, TimePoint

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
SIGNIFICANT_DIGITS = 3

# Percentiles in the summary; the report's distribution chart reads the histogram itself.
SUMMARY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9, 99.99)


def new() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


# HdrHistogram's bucket layout for this range and precision (its counts index, computed inline).
_LAYOUT = new()
assert _LAYOUT.unit_magnitude == 0  # LOWEST_US == 1: values are not scaled down before indexing
_HALF_MAGNITUDE = _LAYOUT.sub_bucket_half_count_magnitude
_HALF_COUNT = _LAYOUT.sub_bucket_half_count
_SUB_BUCKET_MASK = _LAYOUT.sub_bucket_mask
_BUCKET_SHIFT = _HALF_MAGNITUDE + 1
del _LAYOUT


def record_us(histogram: HdrHistogram, value_us: float) -> None:
    """Record one value, clamped into range: a value is never silently dropped.

    The same count HdrHistogram.record_value makes (tests/test_hdr.py holds them equal), in about a
    third of its time: the generator records two or three values per request, and hdrh's pure-Python
    index arithmetic (five method calls, a bin() string per value) was the largest of its own costs
    on the hot path (profiled: 2.4 us a value against 0.8 here)."""
    v = int(value_us)
    if v < LOWEST_US:
        v = LOWEST_US
    elif v > HIGHEST_US:
        v = HIGHEST_US
    bucket = (v | _SUB_BUCKET_MASK).bit_length() - _BUCKET_SHIFT
    histogram.counts[((bucket + 1) << _HALF_MAGNITUDE) + (v >> bucket) - _HALF_COUNT] += 1
    histogram.total_count += 1
    if v < histogram.min_value:
        histogram.min_value = v
    if v > histogram.max_value:
        histogram.max_value = v


def encode(histogram: HdrHistogram) -> str:
    return histogram.encode().decode("ascii")


def decode(text: str) -> HdrHistogram:
    return HdrHistogram.decode(text.encode("ascii"))


def release(histogram: HdrHistogram) -> None:
    """Free a histogram we are done with now: hdrh's histogram and its encoder refer to each other,
    so its ~190 KB of counts otherwise wait for a full garbage collection. A parent that decodes a
    histogram a second and allocates little else grew by ~120 KB a second (benchmarks/memory.py)."""
    encoder = getattr(histogram, "encoder", None)
    if encoder is not None:
        encoder.histogram = None


def merge(encoded: Iterable[str]) -> HdrHistogram:
    """Exact merge of encoded histograms (per-second buckets, workers, repeated runs)."""
    total = new()
    for text in encoded:
        part = decode(text)
        total.add(part)
        release(part)
    return total


def value_ms(histogram: HdrHistogram, percentile: float) -> float:
    return histogram.get_value_at_percentile(percentile) / 1000.0


def summarize(histogram: HdrHistogram) -> LatencySummary | None:
    """The percentile summary of DESIGN.md's `latency_ms`; None for an empty histogram."""
    count = histogram.get_total_count()
    if count == 0:
        return None
    p = histogram.get_percentile_to_value_dict(list(SUMMARY_PERCENTILES))
    mean, stdev = _moments(histogram)
    return LatencySummary(
        count=count,
        min=histogram.get_min_value() / 1000.0,
        mean=round(mean / 1000.0, 4),
        stdev=round(stdev / 1000.0, 4),
        p50=p[50.0] / 1000.0,
        p90=p[90.0] / 1000.0,
        p95=p[95.0] / 1000.0,
        p99=p[99.0] / 1000.0,
        p99_9=p[99.9] / 1000.0,
        p99_99=p[99.99] / 1000.0,
        max=histogram.get_max_value() / 1000.0,
    )


def _moments(histogram: HdrHistogram) -> tuple[float, float]:
    """Mean and standard deviation over the non-empty buckets only.

    hdrh's own get_mean_value/get_stddev walk every bucket in Python (~0.3 s per call on a
    1 µs..1 h histogram); the same sums over the few hundred non-empty buckets take ~10 ms."""
    import numpy as np

    counts = np.ctypeslib.as_array(histogram.counts)
    nonzero = np.nonzero(counts)[0]
    weights = counts[nonzero].astype(np.float64)
    values = np.array(
        [_median_equivalent(histogram, histogram.get_value_from_index(int(i))) for i in nonzero], dtype=np.float64
    )
    total = weights.sum()
    mean = float((values * weights).sum() / total)
    stdev = float(np.sqrt((weights * (values - mean) ** 2).sum() / total))
    return mean, stdev


def _median_equivalent(histogram: HdrHistogram, value: int) -> int:
    low = histogram.get_lowest_equivalent_value(value)
    return low + (histogram.get_highest_equivalent_value(value) - low + 1) // 2


def percentile_distribution(histogram: HdrHistogram, ticks_per_half: int = 5) -> list[tuple[float, float]]:
    """(percentile, value_ms) pairs as HdrHistogram's plotter draws them, for the report's chart."""
    points: list[tuple[float, float]] = []
    for item in histogram.get_percentile_iterator(ticks_per_half):
        points.append((item.percentile_level_iterated_to, item.value_iterated_to / 1000.0))
        if item.percentile_level_iterated_to >= 100.0:
            break
    return points


def with_percentiles(point: TimePoint) -> TimePoint:
    """Fill a second's P50/P95/P99 from its encoded histogram (the generator leaves them out)."""
    if point.hdr is None:
        return point
    h = decode(point.hdr)
    p = h.get_percentile_to_value_dict([50.0, 95.0, 99.0])
    release(h)
    return dataclasses.replace(point, p50=p[50.0] / 1000.0, p95=p[95.0] / 1000.0, p99=p[99.0] / 1000.0)
