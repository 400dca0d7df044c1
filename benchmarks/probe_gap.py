"""How soon a saturation probe begins after the search decided to run it (a script: it prints).

Runs the real search (benchbox.saturation.runner.GeneratorProbe) against tests/servers/capacity.py
(4 slots x 20 ms, 200 req/s) twice in one run: with one generator process for the whole search
(GeneratorSession, the default) and with a fresh process per probe (how it was before). For each
probe it prints the gap from the decision (the probe being asked for, right after the previous
verdict) to the probe's own clock starting (its first per-second tick, less one tick), and the
time from the probe's end or early stop to its result being back with the search.

    .venv/bin/python benchmarks/probe_gap.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchbox.load.process import GeneratorSession, OnTick  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from benchbox.result import LoadPhase  # noqa: E402
from benchbox.saturation.runner import GeneratorProbe  # noqa: E402
from benchbox.saturation.search import ProbeOrder, ProbeRun, Watch, search  # noqa: E402
from benchbox.saturation.settings import SearchSettings  # noqa: E402
from tests.servers.harness import start_server  # noqa: E402

CAPACITY = ROOT / "tests" / "servers" / "capacity.py"


class TimedSession(GeneratorSession):
    """A session that notes when each run was asked for and when its first tick came."""

    def __init__(self, log: list[tuple[str, float, float | None]]) -> None:
        super().__init__()
        self.log = log

    def run(self, spec: PhaseSpec, on_tick: OnTick | None = None) -> LoadPhase:
        asked = time.perf_counter()
        first: list[float] = []

        def tick(message: dict[str, Any]) -> None:
            if not first:
                first.append(time.perf_counter())
            if on_tick is not None:
                on_tick(message)

        try:
            return super().run(spec, tick)
        finally:
            self.log.append((spec.name, asked, first[0] - spec.tick_s if first else None))


def measure(request: RequestSpec, shared: bool) -> tuple[list[float], float, Any]:
    log: list[tuple[str, float, float | None]] = []
    settings = SearchSettings()
    session = TimedSession(log) if shared else None

    def probe(order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        if session is not None:
            return GeneratorProbe(request, settings, 0, session)(order, watch)
        with TimedSession(log) as own:
            return GeneratorProbe(request, settings, 0, own)(order, watch)

    t0 = time.perf_counter()
    try:
        sat = search(probe, None, settings, timeout_s=request.timeout_s)
    finally:
        if session is not None:
            session.close()
    wall = time.perf_counter() - t0
    # The first probe's gap includes the process start in both modes; the later ones show the difference.
    gaps = [start - asked for _, asked, start in log[1:] if start is not None]
    return gaps, wall, sat


def main() -> int:
    with start_server(CAPACITY, "--slots", "4", "--service-ms", "20") as server:
        request = RequestSpec(url=server.url + "/predict", method="GET", headers=(), bodies=(), timeout_s=10.0)
        for label, shared in (("one process per search", True), ("one process per probe ", False)):
            gaps, wall, sat = measure(request, shared)
            ms = [1000 * g for g in gaps]
            print(
                f"{label}: {len(sat.steps)} probes, search wall {wall:5.1f}s ({sat.load_s_used:.0f}s of load), "
                f"capacity {sat.max_sustainable_rps}; decision -> probe start: "
                f"median {statistics.median(ms):.0f} ms, "
                f"max {max(ms):.0f} ms over {len(ms)} probes (settle pauses after failed probes excluded: "
                f"{', '.join(f'{m:.0f}' for m in ms)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
