"""How promptly benchbox stops when it should (a script: it prints figures, never asserts).

These are wall-clock claims, so they live here rather than in the tests (which check what the
stop leaves behind: a partial result, the exit code, nothing measured lost):

1. The adversarial phase keeps to `--adversarial-budget`: elapsed seconds against the budget,
   for the demo and for tests/servers/faulty_api.py's slowest fault (a request that hangs).
   Goal: elapsed <= budget + a few seconds (the after-check's reserve and the last case's timeout).
2. A run stops soon after SIGINT/SIGTERM during load: seconds from the signal to the exit
   (goal: a few seconds; the generator hands over its partial phase, then reports are written).

    .venv/bin/python benchmarks/stops.py [--budget 15] [--repeat 2]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.adversarial import AdversarialOptions, run_adversarial  # noqa: E402
from benchbox.contract import ContractOptions, discover  # noqa: E402
from benchbox.demo.launcher import DemoServer  # noqa: E402
from benchbox.demo.options import DemoOptions  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402

GOOD = {"instances": [[5.1, 3.5, 1.4, 0.2]]}


def adversarial_elapsed(url: str, budget: float) -> float:
    contract = discover(url, "POST", {}, ContractOptions())
    options = AdversarialOptions(seed=3, budget_s=budget, max_cases=120, timeout_s=1.5)
    return run_adversarial(url, "POST", {}, [GOOD], contract, options).elapsed_s


def seconds_to_stop(sig: signal.Signals) -> float:
    """Start a 60 s load, wait for two progress ticks, send `sig`, time the exit."""
    with start_server(FIXED, "--service-ms", "5") as server, tempfile.TemporaryDirectory() as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                server.url + "/predict",
                "--rate",
                "40",
                "--duration",
                "60s",
                "--out",
                out,
                "--seed",
                "1",
                "--skip",
                "contract,adversarial,saturation",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        ticks = 0
        while ticks < 2:
            line = proc.stderr.readline()
            if not line:
                raise SystemExit(f"the run ended before its load started (exit {proc.wait()})")
            ticks += " req/s " in line
        sent = time.perf_counter()
        proc.send_signal(sig)
        proc.communicate(timeout=120)
        return time.perf_counter() - sent


def show(name: str, elapsed: float, budget: float) -> None:
    print(f"  {name:28} {elapsed:6.2f} s  ({elapsed / budget:.2f})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=15.0, help="adversarial budget, seconds")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()

    print(f"adversarial phase, budget {args.budget:g} s (median elapsed, and elapsed / budget):")
    with DemoServer(DemoOptions()) as demo:
        runs = [adversarial_elapsed(demo.predict_url, args.budget) for _ in range(args.repeat)]
    show("demo", statistics.median(runs), args.budget)
    with start_server("faulty_api", "--fault", "large-batch-hang") as srv:
        url = srv.url + "/v1/models/faulty/predict"
        runs = [adversarial_elapsed(url, args.budget) for _ in range(args.repeat)]
    show("faulty_api large-batch-hang", statistics.median(runs), args.budget)

    print("signal during load -> exit (seconds):")
    for sig in (signal.SIGINT, signal.SIGTERM):
        runs = [seconds_to_stop(sig) for _ in range(args.repeat)]
        print(f"  {sig.name}: median {statistics.median(runs):5.2f} s, max {max(runs):5.2f} s")


if __name__ == "__main__":
    main()
