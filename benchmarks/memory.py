"""Peak memory of the load generator and of the parent from 10k to 1M requests, in one run.

Why (issue 21, item 4): a long or fast load phase must not grow either process: the generator
keeps one histogram per second until the tick sends it, the phase histogram, and the per-second
series; the parent keeps the series it is sent. Both should stay flat (<= 20 MB growth) from 10k
to 1M requests, and the per-second series grows with the duration, not with the requests.

Each size runs in a fresh child process (a fresh parent and a fresh generator: peak RSS is a
high-water mark), closed loop against tests/servers/fixed.py --service-ms 0, for as long as the
calibrated rate needs to reach the count, and a quarter more. Prints peak RSS (VmHWM) per process
and size, the growth from the smallest size, and the result file's size per second of series. A
script, never a test.

    .venv/bin/python benchmarks/memory.py                        # 10k, 100k, 1M (a few minutes)
    .venv/bin/python benchmarks/memory.py --counts 10000,100000  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.load.process import GeneratorSession  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from benchbox.result import to_dict  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402

USERS = 32
GOAL_MB = 20.0


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process, from /proc (kB -> MB)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def spec(url: str, seconds: float) -> PhaseSpec:
    request = RequestSpec(url=url + "/mem", method="GET", headers=(), bodies=(), timeout_s=10)
    return PhaseSpec(name="mem", mode="closed", duration_s=seconds, request=request, users=USERS)


def child(url: str, seconds: float) -> None:
    """One size: run the phase in a fresh session, then report both peaks as one JSON line."""
    ticks = 0

    def on_tick(_: dict[str, object]) -> None:
        nonlocal ticks
        ticks += 1

    with GeneratorSession() as session:
        phase = session.run(spec(url, seconds), on_tick)
        assert session.pid is not None
        generator_mb = vm_hwm_mb(session.pid)
    result_bytes = len(json.dumps(to_dict(phase)))
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        json.dumps(
            {
                "requests": phase.responses,
                "errors": phase.errors,
                "elapsed_s": phase.elapsed_s,
                "points": len(phase.timeseries),
                "ticks": ticks,
                "generator_mb": generator_mb,
                "parent_mb": parent_mb,
                "result_bytes": result_bytes,
            }
        )
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--counts", default="10000,100000,1000000", help="request counts, comma-separated")
    p.add_argument("--child", nargs=2, metavar=("URL", "SECONDS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]))
        return 0
    counts = [int(c) for c in args.counts.split(",")]
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at start; closed loop, {USERS} users")
    rows = []
    with start_server(FIXED, "--service-ms", "0") as server:
        with GeneratorSession() as session:  # calibrate: how long does a count take here, now?
            rate = session.run(spec(server.url, 2.0)).throughput_rps
        print(f"calibration: {rate:.0f} req/s on this machine now")
        for count in counts:
            # 25 % more seconds than the calibration says: a busier minute must not leave the
            # largest size short of its count (a 1M run once reached only 708k).
            seconds = max(1.0, 1.25 * count / max(rate, 1.0))
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--child", server.url, f"{seconds:.2f}"],
                capture_output=True,
                text=True,
                check=False,
                timeout=seconds + 300,
            )
            if out.returncode != 0:
                print(f"  {count}: child failed: {out.stderr.strip()[-400:]}")
                return 1
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(
                f"  {row['requests']:>9} requests in {row['elapsed_s']:6.1f} s ({row['errors']} errors): "
                f"generator peak RSS {row['generator_mb']:6.1f} MB, parent peak RSS {row['parent_mb']:6.1f} MB, "
                f"series {row['points']} points, result entry {row['result_bytes'] / 1024:.0f} KiB "
                f"({row['result_bytes'] / max(row['points'], 1) / 1024:.1f} KiB per second of series)"
            )
            server.reset()  # the server keeps a latency per request: let it start over too
    first, last = rows[0], rows[-1]
    print()
    for who in ("generator", "parent"):
        growth = last[f"{who}_mb"] - first[f"{who}_mb"]
        print(
            f"{who}: peak RSS {first[f'{who}_mb']:.1f} MB at {first['requests']} requests -> "
            f"{last[f'{who}_mb']:.1f} MB at {last['requests']}: growth {growth:+.1f} MB "
            f"({'within' if growth <= GOAL_MB else 'OVER'} the {GOAL_MB:g} MB goal)"
        )
    per_point = [r["result_bytes"] / max(r["points"], 1) for r in rows]
    print(
        f"result entry per second of series: {min(per_point) / 1024:.1f}-{max(per_point) / 1024:.1f} KiB "
        f"(a 1 h soak: ~{3600 * max(per_point) / 2**20:.0f} MiB of result.json, linear in the duration)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
