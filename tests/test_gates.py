"""Gates parse SLOs into objects and judge a measured phase; no phase means 'not checked'."""

from __future__ import annotations

import pytest

from benchbox import hdr
from benchbox.errors import UsageError
from benchbox.gates import judge, merge_slos, parse_slo
from benchbox.result import GeneratorHealth, LoadPhase


def phase(latencies_ms, errors=0, limited=False):
    h = hdr.new()
    for v in latencies_ms:
        hdr.record_us(h, v * 1000)
    n = len(latencies_ms)
    return LoadPhase(
        name="steady",
        mode="open",
        duration_s=1.0,
        elapsed_s=1.0,
        requests=n,
        responses=n - errors,
        errors=errors,
        error_rate=errors / n,
        throughput_rps=float(n),
        status_counts={"200": n - errors},
        errors_by_kind={},
        generator=GeneratorHealth(1.0, 50.0, 60.0, limited=limited, reasons=("x",) if limited else ()),
        latency_ms=hdr.summarize(h),
    )


def test_parse_units():
    assert parse_slo("p95=200ms").threshold == 200.0
    assert parse_slo("p99=2s").threshold == 2000.0
    assert parse_slo("p99.9=750").threshold == 750.0  # bare number: milliseconds
    assert parse_slo("errors=0.5%").threshold == pytest.approx(0.005)
    assert parse_slo("min_rps=100").op == ">="
    with pytest.raises(UsageError):
        parse_slo("p95")
    with pytest.raises(UsageError):
        parse_slo("errors=150%")


def test_later_layers_override_gate_by_gate():
    gates = merge_slos([("p95=2s", "errors=1%"), ("p95=100ms",)])
    assert [(g.name, g.threshold) for g in gates] == [("p95", 100.0), ("errors", 0.01)]


def test_judge_pass_and_fail_from_the_histogram():
    ph = phase([10.0] * 96 + [500.0] * 4, errors=2)
    results = {g.name: g for g in judge(merge_slos([("p95=50ms", "p99=50ms", "errors=1%", "min_rps=50")]), ph)}
    assert results["p95"].passed is True and results["p95"].observed == pytest.approx(10.0, rel=0.01)
    assert results["p99"].passed is False and results["p99"].observed == pytest.approx(500.0, rel=0.01)
    assert results["errors"].passed is False and results["errors"].observed == pytest.approx(0.02)
    assert results["min_rps"].passed is True


def test_no_phase_is_not_checked_and_generator_limit_is_said():
    (g,) = judge(merge_slos([("p95=50ms",)]), None, "not checked: skipped")
    assert g.passed is None and "skipped" in g.detail
    (g,) = judge(merge_slos([("p95=50ms",)]), phase([1.0] * 10, limited=True))
    assert g.passed is True and "generator-limited" in g.detail
