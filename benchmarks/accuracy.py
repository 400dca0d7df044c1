"""How close benchbox's latencies are to the target's own clock (a script: it prints, never asserts).

The target is tests/servers/fixed.py with a fixed service time; for every request it records the
time from parsing it to writing the answer. benchbox measures from the intended send time (open
loop) or the send (closed loop), so it also sees loopback and client costs. The goal (issue 2):
within max(2 ms, 5 %) of the server's clock at P50, P95 and P99, below capacity. A bare
sequential httpx client is measured the same way: the floor of what any client sees here.

    .venv/bin/python benchmarks/accuracy.py [--service-ms 20] [--rate 100] [--duration 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchbox.load.process import run_phase  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402

PERCENTILES = (50, 95, 99)
Measure = Callable[[str], dict[int, float]]


def benchbox_phase(mode: str, args: argparse.Namespace) -> Measure:
    def measure(url: str) -> dict[int, float]:
        request = RequestSpec(url=url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        spec = PhaseSpec(
            name="accuracy",
            mode=mode,
            duration_s=args.duration,
            request=request,  # type: ignore[arg-type]
            rate=args.rate if mode == "open" else None,
            users=2 if mode == "closed" else None,
        )
        lat = run_phase(spec).latency_ms
        assert lat is not None
        return {50: lat.p50, 95: lat.p95, 99: lat.p99}

    return measure


def httpx_sequential(args: argparse.Namespace) -> Measure:
    def measure(url: str) -> dict[int, float]:
        values: list[float] = []
        deadline = time.perf_counter() + args.duration
        with httpx.Client() as client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                client.get(url + "/bench")
                values.append((time.perf_counter() - t0) * 1000.0)
        values.sort()
        return {p: values[max(0, -(-len(values) * p // 100) - 1)] for p in PERCENTILES}

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service-ms", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    contenders = {
        f"benchbox open loop {args.rate:g}/s": benchbox_phase("open", args),
        "benchbox closed loop 2 users": benchbox_phase("closed", args),
        "httpx sequential": httpx_sequential(args),
    }
    print(
        f"target: fixed.py --service-ms {args.service_ms:g}; {args.duration:g} s a run, {args.repeat} runs each, "
        "each contender against a fresh server, compared with that server's own clock"
    )
    offsets: dict[str, list[dict[int, float]]] = {name: [] for name in contenders}
    for run in range(args.repeat):
        for name, measure in contenders.items():
            with start_server(FIXED, "--service-ms", str(args.service_ms)) as server:
                client = measure(server.url)
                stats = server.stats()
            own = {p: stats.percentile_ms(p) for p in PERCENTILES}
            offsets[name].append({p: client[p] - own[p] for p in PERCENTILES})
            print(
                f"  run {run + 1} {name:30} "
                + "  ".join(
                    f"P{p} {client[p]:7.2f} vs {own[p]:7.2f} ms (+{client[p] - own[p]:.2f})" for p in PERCENTILES
                )
            )
    print()
    print(
        f"{'client minus server clock, median':36} | "
        + " | ".join(f"{'P' + str(p):>8}" for p in PERCENTILES)
        + " | within max(2 ms, 5 %)"
    )
    for name, runs in offsets.items():
        med = {p: statistics.median(r[p] for r in runs) for p in PERCENTILES}
        ok = all(abs(med[p]) <= max(2.0, 0.05 * args.service_ms) for p in PERCENTILES)
        print(f"{name:36} | " + " | ".join(f"{med[p]:8.2f}" for p in PERCENTILES) + f" | {'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
