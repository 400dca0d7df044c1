"""Requests/s of N Locust workers against one generator process, and where every CPU-second went.

A script that prints figures (never a test). For each N (0 = benchbox's single generator process,
then N workers under the generator as master), closed loop against one tests/servers/fixed.py,
in a fresh generator session, alternating per round. Printed per run: requests/s, the CPU of the
master and of the workers (psutil, over the whole run), the server's CPU, the rest of the machine's,
and requests per generator CPU-second, the figure that says how many cores a target needs.

On a 2-core machine the target shares the cores with the workers (and here, with other people's
work), so N workers can only add what the cores have left: the script says which was the limit.

    .venv/bin/python benchmarks/scaleout.py [--workers 0,1,2] [--duration 10] [--users 32] [--repeat 3]
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

from benchbox.load.process import GeneratorSession  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def tree_cpu(pid: int) -> tuple[float, float]:
    """(the process's CPU, its descendants' CPU) in seconds, user+sys, of the live tree."""
    proc = psutil.Process(pid)
    own = sum(proc.cpu_times()[:2])
    kids = 0.0
    for child in proc.children(recursive=True):
        try:
            kids += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return own, kids


def machine_busy() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq


def one_run(url: str, workers: int, args: argparse.Namespace, server_pid: int) -> dict[str, float]:
    request = RequestSpec(url=url + "/scale", method="GET", headers=(), bodies=(), timeout_s=10)
    spec = PhaseSpec(name="scale", mode="closed", duration_s=args.duration, request=request, users=args.users)
    server = psutil.Process(server_pid)
    with GeneratorSession() as session:
        session.start()
        time.sleep(1.0)  # the interpreter's start-up is not the phase's CPU
        assert session.pid is not None
        master0, _ = tree_cpu(session.pid)
        cpu0, busy0, t0 = sum(server.cpu_times()[:2]), machine_busy(), time.perf_counter()
        (phase,) = session.run_phases(RunSpec(phases=(spec,), workers=workers))
        wall = time.perf_counter() - t0
        master1, kids = tree_cpu(session.pid)  # workers start with the run: all their CPU is this run's
        server_cpu, busy = sum(server.cpu_times()[:2]) - cpu0, machine_busy() - busy0
    gen_cpu = master1 - master0 + kids
    return {
        "rps": phase.throughput_rps,
        "requests": phase.responses,
        "master_cpu": master1 - master0,
        "workers_cpu": kids,
        "gen_cpu": gen_cpu,
        "per_cpu": phase.responses / gen_cpu if gen_cpu else 0.0,
        "server_pct": 100 * server_cpu / wall,
        "other_pct": 100 * max(0.0, busy - gen_cpu - server_cpu) / wall,
        "wall": wall,
        "errors": phase.errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="0,1,2", help="worker counts, 0 = one process (default 0,1,2)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; target "
        f"tests/servers/fixed.py --service-ms 0 on the same machine; closed loop, {args.users} users, "
        f"{args.duration:g} s a run; CPU over the whole run (worker start-up included)"
    )
    results: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    with start_server(FIXED, "--service-ms", "0") as server:
        for r in range(args.repeat):
            for n in counts:
                res = one_run(server.url, n, args, server.pid)
                results[n].append(res)
                label = "1 process" if n == 0 else f"{n} worker{'s' if n > 1 else ''}"
                print(
                    f"  run {r + 1} {label:10} {res['rps']:7.0f} req/s ({res['errors']:.0f} errors) | CPU s: "
                    f"master {res['master_cpu']:5.2f}, workers {res['workers_cpu']:5.2f} -> "
                    f"{res['per_cpu']:6.0f} req per generator CPU-s | server {res['server_pct']:3.0f}% of a core, "
                    f"other processes {res['other_pct']:3.0f}% (of {100 * (os.cpu_count() or 1)}%)"
                )
    print()
    base = statistics.median(r["rps"] for r in results[counts[0]])
    for n in counts:
        rps = [r["rps"] for r in results[n]]
        per = statistics.median(r["per_cpu"] for r in results[n])
        srv = statistics.median(r["server_pct"] for r in results[n])
        other = statistics.median(r["other_pct"] for r in results[n])
        label = "1 process" if n == 0 else f"{n} worker{'s' if n > 1 else ''}"
        print(
            f"{label:10}: median {statistics.median(rps):7.0f} req/s [{min(rps):.0f}-{max(rps):.0f}], "
            f"{statistics.median(rps) / base:.2f}x {('1 process' if counts[0] == 0 else 'the first')}; "
            f"{per:.0f} req per generator CPU-s; server {srv:.0f}% of a core; other processes {other:.0f}%"
        )
    print()
    print(
        "read: workers add req/s only while cores are free; once the server or other processes hold the "
        "cores, N workers split the same CPU (req per CPU-s falls by the master's and Locust's messaging share)."
    )


if __name__ == "__main__":
    main()
