"""How close the saturation search gets to a known capacity, and what it costs (a script: it prints).

Targets are tests/servers/capacity.py, whose capacity is slots / service time by construction
(the server and loopback add ~0.5 ms a request, so the real figure is a few % lower; the error
below is against the nominal one, as the issue states it). For each target the search runs at
its default settings; printed: found vs true capacity, load seconds used (the budget counts
these), probes, wall time (load, drains and settle pauses: one generator process serves every
probe), the overload grade, the knee and the USL fit. Also one run against fixed.py with no
service time, a target faster than one generator process: it must come out generator-bound.

    .venv/bin/python benchmarks/saturation.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.load.spec import RequestSpec  # noqa: E402
from benchbox.saturation.model import Saturation  # noqa: E402
from benchbox.saturation.runner import run_search  # noqa: E402
from benchbox.saturation.settings import SearchSettings  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402

CAPACITY = ROOT / "tests" / "servers" / "capacity.py"
# (label, server args, nominal capacity in req/s)
TARGETS = [
    ("1 slot x 20 ms, queues", ["--slots", "1", "--service-ms", "20"], 50.0),
    ("4 slots x 20 ms, queues", ["--slots", "4", "--service-ms", "20"], 200.0),
    ("10 slots x 20 ms, queues", ["--slots", "10", "--service-ms", "20"], 500.0),
    # A queue of 2 before refusing: with none at all, arrival jitter alone brings a third request
    # now and then, and the 1 % error budget then binds at ~80 % of nominal (measured 78-89 %).
    (
        "2 x 20 ms, queue 2, sheds 429",
        ["--slots", "2", "--service-ms", "20", "--overload", "shed", "--queue-limit", "2"],
        100.0,
    ),
    (
        "2 x 20 ms, queue 2, fails",
        ["--slots", "2", "--service-ms", "20", "--overload", "fail", "--queue-limit", "2"],
        100.0,
    ),
]
QUICK = (0, 2)


def run_one(script: Path, args: list[str], settings: SearchSettings) -> tuple[Saturation, float]:
    with start_server(script, *args) as server:
        request = RequestSpec(url=server.url + "/predict", method="GET", headers=(), bodies=(), timeout_s=10.0)
        t0 = time.perf_counter()
        sat = run_search(request, settings=settings)
        return sat, time.perf_counter() - t0


def describe(label: str, true: float | None, sat: Saturation, wall: float) -> str:
    found = sat.max_sustainable_rps if sat.found else sat.capacity_floor_rps
    shown = f"{found:8.1f}" if found is not None else f"{'-':>8}"
    error = f"{100 * (found - true) / true:+6.1f}%" if found is not None and true and sat.found else f"{'-':>7}"
    knee = f"{sat.knee.offered_rps:.0f} ({sat.knee.method})" if sat.knee else "-"
    r2 = f"{sat.usl.r_squared:.2f}" if sat.usl and sat.usl.r_squared is not None else "-"
    grade = sat.overload.grade if sat.overload else "-"
    true_text = f"{true:6.0f}" if true else f"{'-':>6}"
    return (
        f"{label:30} {true_text} {shown} {error} {sat.load_s_used:6.1f} {len(sat.steps):6d} {wall:6.1f} "
        f"{grade:9} {knee:22} {r2:>5}  {sat.limited_by}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the 50 and 500 req/s targets")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--budget", type=float, default=SearchSettings().budget_s, help="seconds of load a search may use"
    )
    args = parser.parse_args()
    settings = dataclasses.replace(SearchSettings(), budget_s=args.budget)
    targets = [TARGETS[i] for i in QUICK] if args.quick else TARGETS
    print(
        f"{'target':30} {'true':>6} {'found':>8} {'error':>7} {'load s':>6} {'probes':>6} {'wall s':>6} "
        f"{'overload':9} {'knee req/s':22} {'USL R²':>5}  limited by"
    )
    errors: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for label, server_args, true in targets:
            sat, wall = run_one(CAPACITY, server_args, settings)
            print(describe(label, true, sat, wall), flush=True)
            if sat.found and sat.max_sustainable_rps is not None:
                errors.setdefault(label, []).append(abs(sat.max_sustainable_rps - true) / true)
        if not args.quick:
            sat, wall = run_one(FIXED, ["--service-ms", "0"], settings)
            print(describe("fixed.py, no service time", None, sat, wall) + f"  -> {sat.statement}", flush=True)
    if args.repeat > 1:
        print()
        for label, errs in errors.items():
            print(
                f"{label:30} |error| median {100 * statistics.median(errs):.1f}%, worst {100 * max(errs):.1f}% "
                f"over {len(errs)} runs"
            )


if __name__ == "__main__":
    main()
