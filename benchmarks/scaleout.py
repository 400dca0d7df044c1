"""Requests/s from one generator process vs Locust master + 2 workers, against one server, in one run.

A script that prints figures (never a test). Goal (issue 3): 2 workers >= 1.8x one process when
the server is not the limit. On a 2-core machine the target shares the cores with the workers,
so the script also prints each side's CPU, to say which was the limit.

    .venv/bin/python benchmarks/scaleout.py [--duration 10] [--users 32] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402  (installed with Locust)

from benchbox.load.process import run_phases  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def one_run(url: str, workers: int, args: argparse.Namespace, server_pid: int) -> dict[str, float]:
    request = RequestSpec(url=url + "/scale", method="GET", headers=(), bodies=(), timeout_s=10)
    spec = PhaseSpec(name="scale", mode="closed", duration_s=args.duration, request=request, users=args.users)
    server = psutil.Process(server_pid)
    cpu0 = sum(server.cpu_times()[:2])
    t0 = time.perf_counter()
    (phase,) = run_phases(RunSpec(phases=(spec,), workers=workers))
    wall = time.perf_counter() - t0
    server_cpu = sum(server.cpu_times()[:2]) - cpu0
    return {
        "rps": phase.throughput_rps,
        "requests": phase.responses,
        "gen_cpu": phase.generator.cpu_seconds,
        "gen_cpu_pct": phase.generator.cpu_percent_mean,
        "server_cpu_pct": 100 * server_cpu / wall,
        "errors": phase.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores; target tests/servers/fixed.py --service-ms 0 on the same machine; "
        f"closed loop, {args.users} users, {args.duration:g} s a run"
    )
    results: dict[int, list[dict[str, float]]] = {0: [], 2: []}
    with start_server(FIXED) as server:
        for r in range(args.repeat):
            for workers in (0, 2):
                res = one_run(server.url, workers, args, server.pid)
                results[workers].append(res)
                label = "1 process" if workers == 0 else f"{workers} workers"
                print(
                    f"  run {r + 1} {label:10} {res['rps']:8.0f} req/s  {res['requests']:7.0f} requests  "
                    f"generator CPU {res['gen_cpu']:.1f} s (busiest at {res['gen_cpu_pct']:.0f}% of a core)  "
                    f"server {res['server_cpu_pct']:.0f}% of a core  errors {res['errors']:.0f}"
                )
    one = statistics.median(r["rps"] for r in results[0])
    two = statistics.median(r["rps"] for r in results[2])
    server_busy = statistics.median(r["server_cpu_pct"] for r in results[2])
    print()
    print(
        f"median: 1 process {one:.0f} req/s, 2 workers {two:.0f} req/s -> {two / one:.2f}x (goal >= 1.8x "
        "when the server is not the limit)"
    )
    if server_busy > 80 or os.cpu_count() and os.cpu_count() <= 2:
        print(
            f"note: the server ran at {server_busy:.0f}% of a core beside 2 workers on {os.cpu_count()} cores: "
            "the workers and the target compete for the same cores here, so this ratio understates scale-out."
        )


if __name__ == "__main__":
    main()
