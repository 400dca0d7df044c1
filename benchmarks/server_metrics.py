"""What scraping the target's metrics costs the load (a script: it prints, never asserts).

The same closed-loop phase against tests/servers/fixed.py (0 ms service: the generator is the
bottleneck), alternately without and with --server-metrics scraping a real prometheus_client page
(tests/servers/metered.py with the process collector) every `--interval` seconds. The scraper is a
thread of the parent; the generator is another process, so the goal (issue 17) is a throughput
ratio within 5 % of 1.0, measured in the same run. Also printed: the parent's CPU per second of
load, and its resident memory before and after the rounds; `--soak S` then runs one scraped
phase of S seconds and prints the parent's memory trend (a soak run must not grow it).

    .venv/bin/python benchmarks/server_metrics.py [--users 8] [--duration 8] [--repeat 3] [--interval 1] [--soak 120]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.adapters import run_load  # noqa: E402
from benchbox.events import ignore  # noqa: E402
from benchbox.load.process import GeneratorSession  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec  # noqa: E402
from benchbox.servermetrics.plan import ServerMetricsPlan  # noqa: E402
from benchbox.servermetrics.series import trend  # noqa: E402
from benchbox.servermetrics.session import Watch  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def one(session: object, spec: PhaseSpec) -> tuple[float, float]:
    cpu = time.process_time()
    phases, _ = run_load(RunSpec(phases=(spec,)), ignore, announce=False, session=session)
    return phases[0].throughput_rps, (time.process_time() - cpu) * 1000 / spec.duration_s


def soak(watched: object, spec: PhaseSpec) -> None:
    """One long scraped phase; the parent's resident memory every 2 s, as a trend per minute."""
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        start = time.perf_counter()
        while not done.wait(2.0):
            samples.append((time.perf_counter() - start, rss_mb()))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    rps, _ = one(watched, spec)
    done.set()
    thread.join()
    fit = trend([t for t, _ in samples], [m for _, m in samples])
    low, high = (fit.low or 0.0) * 60, (fit.high or 0.0) * 60
    print(
        f"soak {spec.duration_s:g}s at {rps:.0f} req/s, scraped: "
        f"parent RSS {samples[0][1]:.1f} -> {samples[-1][1]:.1f} MB, "
        f"trend {(fit.slope_per_s or 0.0) * 60:+.3f} MB/min (95% interval {low:+.3f} to {high:+.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument(
        "--soak", type=float, default=0.0, help="then one phase this long, scraped, with the parent's RSS trend"
    )
    args = parser.parse_args()
    off: list[float] = []
    on: list[float] = []
    with (
        start_server(FIXED, "--service-ms", "0") as server,
        start_server("metered") as metrics,
        GeneratorSession() as session,
    ):
        plan = ServerMetricsPlan(urls=(metrics.url + "/metrics",), interval_s=args.interval)
        watch = Watch(plan, server.url, {}, False, lambda text: print(text))
        watched = watch.wrap(session)
        request = RequestSpec(url=server.url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        spec = PhaseSpec(name="bench", mode="closed", duration_s=args.duration, request=request, users=args.users)
        one(session, spec)  # warm the generator and the target once, outside the rounds
        before = rss_mb()
        for rnd in range(1, args.repeat + 1):
            order = (True, False) if rnd % 2 == 0 else (False, True)  # a busy machine's drift hits both
            results = {flag: one(watched if flag else session, spec) for flag in order}
            (rps_off, cpu_off), (rps_on, cpu_on) = results[False], results[True]
            off.append(rps_off)
            on.append(rps_on)
            print(
                f"round {rnd}: without {rps_off:8.0f} req/s (parent {cpu_off:5.1f} CPU-ms/s)   "
                f"scraping {rps_on:8.0f} req/s (parent {cpu_on:5.1f} CPU-ms/s)   ratio {rps_on / rps_off:.3f}"
            )
        if args.soak:
            soak(watched, dataclasses.replace(spec, duration_s=args.soak))
        watch.close()
        scraper = watch.scraper
        scrapes = sum(len(s.snapshots) for s in scraper.sources) if scraper else 0
        failed = sum(s.failed for s in scraper.sources) if scraper else 0
        print(
            f"{scrapes} scrapes, {failed} failed; parent RSS {before:.1f} MB before the rounds, {rss_mb():.1f} MB after"
        )
    ratio = statistics.median(on) / statistics.median(off)
    print(
        f"median: without {statistics.median(off):.0f} req/s, scraping {statistics.median(on):.0f} req/s, "
        f"ratio {ratio:.3f} (goal: within 5 %, i.e. >= 0.95)"
    )


if __name__ == "__main__":
    main()
