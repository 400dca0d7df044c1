"""benchbox.hdr.record_us counts exactly as HdrHistogram's own record_value does.

Why: the generator's hot path indexes the histogram's counts itself (faster than hdrh's pure-Python
arithmetic); one value in the wrong bucket would shift a percentile, so every bucket boundary of the
whole range, and values in between, must land where hdrh puts them, with the same total, minimum,
maximum and encoding.
"""

from __future__ import annotations

import random

from benchbox import hdr


def test_record_us_fills_the_same_buckets_as_hdrh() -> None:
    ours, theirs = hdr.new(), hdr.new()
    values: list[float] = [0, -3.5, 0.4, 1, 1.9, hdr.HIGHEST_US, hdr.HIGHEST_US + 1e6]
    for power in range(33):  # every bucket edge: 2^k - 1, 2^k, 2^k + 1
        values += [2**power - 1, 2**power, 2**power + 1]
    rng = random.Random(3)
    values += [rng.uniform(0, 10 ** rng.randint(1, 10)) for _ in range(20000)]
    for value in values:
        hdr.record_us(ours, value)
        clamped = min(max(int(value), hdr.LOWEST_US), hdr.HIGHEST_US)
        assert theirs.record_value(clamped)
    assert list(ours.counts) == list(theirs.counts)
    assert (ours.get_total_count(), ours.get_min_value(), ours.get_max_value()) == (
        theirs.get_total_count(),
        theirs.get_min_value(),
        theirs.get_max_value(),
    )
    assert hdr.encode(ours) == hdr.encode(theirs)
    assert ours.get_value_at_percentile(99.9) == theirs.get_value_at_percentile(99.9)
