"""A long load phase at a modest rate, as a user runs it: does anything grow but the result file?

Why (issue 21, item 4): a soak must keep the per-second series bounded and both processes flat:
result.json grows linearly with the duration and stays readable by `benchbox report`, and the
parent's and the generator's resident memory do not climb with the seconds.

Starts the demo server (with its /metrics, so the server-metrics scraper runs too), then
`benchbox run --skip contract,adversarial,saturation --rate R --duration D` in a child process,
and samples the resident memory of the run's parent and of its generator every --every seconds
from /proc. Afterwards: the RSS at the start, at the end and its least-squares slope (MB per hour)
over the second half, result.json's size per second of load, and how long `benchbox report`
took to re-render it. A script that prints figures, never a test.

    .venv/bin/python benchmarks/soak.py                        # 1 h at 20 req/s
    .venv/bin/python benchmarks/soak.py --duration 600 --rate 50
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.demo.launcher import DemoOptions, DemoServer  # noqa: E402

BODY = '{"instances": [[5.1, 3.5, 1.4, 0.2]]}'


def rss_mb(pid: int) -> float | None:
    """Resident memory now (VmRSS), None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    if len(points) < 3:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return 3600.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else float("nan")


def describe(name: str, series: list[tuple[float, float]]) -> str:
    settled = [p for p in series if p[0] >= min(60.0, series[-1][0] / 4)]  # past start-up and imports
    series = settled or series
    if not series:
        return f"{name}: no samples"
    half = [p for p in series if p[0] >= series[-1][0] / 2]
    peak = max(mb for _, mb in series)
    return (
        f"{name}: RSS {series[0][1]:.1f} MB at {series[0][0]:.0f} s -> {series[-1][1]:.1f} MB at {series[-1][0]:.0f} s "
        f"(peak {peak:.1f} MB); slope over the second half {slope_per_hour(half):+.2f} MB/h"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=3600.0, help="seconds of load (default 3600)")
    p.add_argument("--rate", type=float, default=20.0, help="open-loop requests/s (default 20)")
    p.add_argument("--every", type=float, default=10.0, help="seconds between memory samples")
    p.add_argument("--out", default=None, help="where the run writes (default: a temporary directory)")
    args = p.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="benchbox-soak-"))
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{args.rate:g} req/s for {args.duration:g} s"
    )
    parent: list[tuple[float, float]] = []
    generator: list[tuple[float, float]] = []
    with DemoServer(DemoOptions(service_ms=2.0, concurrency=8)) as server:
        argv = [
            sys.executable, "-m", "benchbox", "run", "--target", server.predict_url,
            "--skip", "contract,adversarial,saturation", "--body", BODY, "--rate", f"{args.rate:g}",
            "--duration", f"{args.duration:g}s", "--out", str(out),
        ]  # fmt: skip
        t0 = time.monotonic()
        with open(out / "soak.log", "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            gen_pid: int | None = None
            while proc.poll() is None:
                now = time.monotonic() - t0
                mb = rss_mb(proc.pid)
                if mb is not None:
                    parent.append((now, mb))
                kids = children(proc.pid)
                gen_pid = kids[0] if kids else gen_pid
                if gen_pid is not None and (gmb := rss_mb(gen_pid)) is not None:
                    generator.append((now, gmb))
                try:
                    proc.wait(timeout=args.every)
                except subprocess.TimeoutExpired:
                    pass
        wall = time.monotonic() - t0
    print(f"run: exit {proc.returncode} after {wall:.0f} s (log: {out / 'soak.log'})")
    print(describe("parent   ", parent))
    print(describe("generator", generator))
    result = out / "result.json"
    if not result.exists():
        print("no result.json written")
        return 1
    data = json.loads(result.read_text())
    load = next((ph for ph in data["load"]["phases"] if ph.get("timeseries")), None)
    scraped = data.get("server_metrics") or {}
    points = len(load["timeseries"]) if load else 0
    size = result.stat().st_size
    print(
        f"result.json: {size / 2**20:.2f} MiB, {points} per-second points, {load['responses'] if load else 0} answers: "
        f"{size / max(points, 1) / 1024:.2f} KiB per second of load; server metrics: "
        f"{scraped.get('scrapes', 0)} scrapes, {len(scraped.get('series') or ())} series"
    )
    t1 = time.perf_counter()
    rendered = subprocess.run(
        [sys.executable, "-m", "benchbox", "report", str(result), "--out", str(out / "re-rendered")],
        capture_output=True,
        text=True,
        check=False,
    )
    print(
        f"benchbox report result.json: exit {rendered.returncode} in {time.perf_counter() - t1:.1f} s"
        + (f": {rendered.stderr.strip()[-300:]}" if rendered.returncode not in (0, 1) else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
