"""How long the default verdict takes, and what capacity it finds (a script: it prints).

Runs, each as the user would (`python -m benchbox ...`, wall time around the whole command):
  demo    the default `benchbox run` against the demo server (`benchbox demo --serve`, 20 ms x 4)
  profile `benchbox demo` (the demo server and its own short profile)
  run     the default `benchbox run` against tests/servers/capacity.py, 8 slots x 50 ms (160 req/s)
  smoke   `benchbox smoke --rate 20` against the same server
and prints wall seconds and the capacity the saturation search found against the nominal one.

`--tree DIR` runs another checkout of benchbox (e.g. the commit before a change, unpacked with
`git archive`) so before and after can be measured back to back on the same busy machine.

    .venv/bin/python benchmarks/verdict.py [--tree DIR] [--only demo,run,smoke] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.demo.launcher import DemoServer  # noqa: E402
from benchbox.demo.options import DemoOptions  # noqa: E402
from benchbox.demo.profile import DEMO_CONCURRENCY, DEMO_SERVICE_MS  # noqa: E402
from tests.servers.harness import start_server  # noqa: E402

CAPACITY = ROOT / "tests" / "servers" / "capacity.py"
NOMINAL = 160.0  # 8 slots / 50 ms


def timed(tree: Path, args: list[str], out: Path) -> tuple[float, dict | None, int]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchbox", *args, "--out", str(out)],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wall = time.perf_counter() - t0
    path = out / "result.json"
    data = json.loads(path.read_text()) if path.exists() else None
    if proc.returncode not in (0, 1):
        print(proc.stderr[-1500:], file=sys.stderr)
    return wall, data, proc.returncode


def capacity(data: dict | None) -> str:
    sat = (data or {}).get("saturation") or {}
    found = sat.get("max_sustainable_rps")
    if found is None:
        return f"capacity -        ({sat.get('statement', 'no search')})"
    probes = len(sat.get("steps", ()))
    return f"capacity {found:7.1f} req/s, {probes} probes, {sat.get('load_s_used', 0):.0f}s of load"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the benchbox checkout to run")
    parser.add_argument("--only", default="demo,run,smoke")
    parser.add_argument("--repeat", type=int, default=1)
    opts = parser.parse_args()
    which = opts.only.split(",")
    print(f"tree {opts.tree}")
    for _ in range(opts.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            if "demo" in which:
                with DemoServer(DemoOptions(service_ms=DEMO_SERVICE_MS, concurrency=DEMO_CONCURRENCY)) as demo:
                    wall, data, rc = timed(opts.tree, ["run", "--target", demo.predict_url], Path(tmp) / "demo")
                print(f"demo   {wall:6.1f}s exit {rc}  {capacity(data)} (nominal 200)")
            if "profile" in which:
                wall, data, rc = timed(opts.tree, ["demo"], Path(tmp) / "profile")
                print(f"profile {wall:5.1f}s exit {rc}  {capacity(data)} (`benchbox demo`)")
            if "run" in which or "smoke" in which:
                with start_server(CAPACITY, "--slots", "8", "--service-ms", "50") as server:
                    url = server.url + "/predict"
                    if "run" in which:
                        wall, data, rc = timed(opts.tree, ["run", "--target", url], Path(tmp) / "run")
                        print(f"run    {wall:6.1f}s exit {rc}  {capacity(data)} (nominal {NOMINAL:g})")
                    if "smoke" in which:
                        wall, data, rc = timed(
                            opts.tree, ["smoke", "--target", url, "--rate", "20"], Path(tmp) / "smoke"
                        )
                        print(f"smoke  {wall:6.1f}s exit {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
