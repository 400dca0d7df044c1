"""How often `benchbox compare` cries wolf, how often it catches a real change, and what it costs
(a script: it prints, never asserts).

Two sources of runs, both compared by the same code as `benchbox compare`:
- recorded (default): seconds of lognormal latencies around 10 ms with, now and then, a stalled
  second (x1.5, as a shared box gives them), written into real per-second HDR histograms;
- live (--live N): N live A/A comparisons of two tests/servers/fixed.py instances (10 ms), and N
  against one with 13 ms (30 % longer service), with interleaved windows, as the tests run them.

For each, the share of comparisons where some metric was called a change: by the bootstrap interval
alone (excludes zero and beyond the minimum effect), and by benchbox's rule (interval AND
permutation test AND stable figure). A/A should be near 0; the shifted pairs near 1.

    .venv/bin/python benchmarks/compare.py [--pairs 40] [--seconds 30] [--rate 200] [--shift 0.10]
    .venv/bin/python benchmarks/compare.py --live 5
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox import hdr  # noqa: E402
from benchbox.compare.model import CompareSettings, MetricDiff  # noqa: E402
from benchbox.compare.stats import compare_phases  # noqa: E402
from benchbox.result import GeneratorHealth, LoadPhase, TimePoint  # noqa: E402


def recorded(scale: float, seconds: int, rate: int, rnd: random.Random) -> LoadPhase:
    total, points = hdr.new(), []
    for t in range(seconds):
        h = hdr.new()
        stall = 1.5 if rnd.random() < 0.1 else 1.0
        for _ in range(rate):
            hdr.record_us(h, scale * stall * rnd.lognormvariate(9.2, 0.3))
        total.add(h)
        points.append(TimePoint(t=t, requests=rate, errors=0, hdr=hdr.encode(h)))
    return LoadPhase(
        name="s",
        mode="open",
        duration_s=seconds,
        elapsed_s=float(seconds),
        requests=rate * seconds,
        responses=rate * seconds,
        errors=0,
        error_rate=0.0,
        throughput_rps=float(rate),
        status_counts={},
        errors_by_kind={},
        generator=GeneratorHealth(0.0, 0.0, 0.0),
        hdr=hdr.encode(total),
        timeseries=tuple(points),
    )


def calls(metrics: tuple[MetricDiff, ...], min_effect: float) -> tuple[bool, bool]:
    """(called by the interval alone, called by benchbox's rule) for any latency metric."""
    by_interval = any(
        m.ci_low is not None
        and m.ci_high is not None
        and (m.ci_low > 0 or m.ci_high < 0)
        and abs(m.relative or 0.0) >= min_effect
        for m in metrics
        if m.unit == "ms"
    )
    by_rule = any(m.verdict in ("regression", "improvement") for m in metrics if m.unit == "ms")
    return by_interval, by_rule


def run_recorded(args: argparse.Namespace) -> None:
    settings = CompareSettings(resamples=args.resamples)
    rnd = random.Random(args.seed)
    for label, scale in (("A/A (same distribution)", 1.0), (f"A/B (+{100 * args.shift:g}% latency)", 1.0 + args.shift)):
        interval = rule = 0
        spent = 0.0
        for i in range(args.pairs):
            a = recorded(1.0, args.seconds, args.rate, rnd)
            b = recorded(scale, args.seconds, args.rate, rnd)
            started = time.perf_counter()
            metrics = compare_phases(a, b, CompareSettings(resamples=settings.resamples, seed=i))
            spent += time.perf_counter() - started
            x, y = calls(metrics, settings.min_effect)
            interval += x
            rule += y
        print(
            f"{label:32s} pairs {args.pairs:3d}  called by interval alone {interval / args.pairs:5.0%}  "
            f"by benchbox's rule {rule / args.pairs:5.0%}  ({1000 * spent / args.pairs:.0f} ms per comparison, "
            f"{args.seconds} s x {args.rate} req/s per side)"
        )


def run_live(n: int) -> None:
    from benchbox.compare.live import run_live as live
    from benchbox.compare.options import build_request
    from tests.servers.harness import FIXED, start_server

    flags = {
        "body": '{"x": 1}',
        "rate": "300",
        "duration": "4s",
        "window": "0.5s",
        "connections": "32",
        "skip": "shadow",
    }
    with (
        start_server(FIXED, "--service-ms", "10") as a,
        start_server(FIXED, "--service-ms", "10") as twin,
        start_server(FIXED, "--service-ms", "13") as slow,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for label, other in (("live A/A (twin servers)", twin), ("live A/B (+30% service time)", slow)):
            interval = rule = 0
            for i in range(n):
                request = build_request(
                    (),
                    {**flags, "baseline": f"{a.url}/p", "candidate": f"{other.url}/p", "out": str(Path(tmp) / f"{i}")},
                )
                assert request.baseline is not None and request.candidate is not None
                c = live(
                    request.baseline, request.candidate, request.live, request.settings, request.gates, request.out_dir
                ).comparison
                x, y = calls(c.metrics, c.settings.min_effect)
                interval += x
                rule += y
            print(
                f"{label:32s} runs {n:3d}  called by interval alone {interval / n:5.0%}  "
                f"by benchbox's rule {rule / n:5.0%}"
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=40)
    p.add_argument("--seconds", type=int, default=30)
    p.add_argument("--rate", type=int, default=200)
    p.add_argument("--shift", type=float, default=0.10)
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--live", type=int, default=0, help="also N live comparisons against real servers")
    args = p.parse_args()
    run_recorded(args)
    if args.live:
        run_live(args.live)


if __name__ == "__main__":
    main()
