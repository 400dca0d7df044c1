"""Where do an open-loop phase's late sends come from? One phase in-process, every late send blamed.

Why: the generator's schedule lag P99 at a high rate was 4-10x the lag of the same schedule with
no requests; this splits the late sends (> --late-ms after their intended time) by what overlapped
their wait: this process waiting for a CPU (the OS: /proc/<tid>/schedstat's run-queue delay), a
garbage collection (gc.callbacks), the per-second tick (Recorder.flush), or none of these: the hub
itself busy with other users' answers. It runs the same phase driver as the generator
(benchbox.load.phase.run_phase) against tests/servers/fixed.py, as profile_generator.py does.

    .venv/bin/python benchmarks/lag_anatomy.py --rate 16000 --seconds 5
    .venv/bin/python benchmarks/lag_anatomy.py --rate 16000 --no-freeze   # without gc.freeze()

It prints figures, never asserts (a shared machine makes any threshold flaky).
"""

from gevent import monkey

monkey.patch_all()  # as benchbox/load/generator.py does, before anything imports ssl or socket

import argparse  # noqa: E402
import bisect  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

from benchbox.load import dispatch, users  # noqa: E402
from benchbox.load.phase import run_phase  # noqa: E402
from benchbox.load.recorder import Recorder  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402

clock = time.perf_counter
sends: list[tuple[float, float]] = []  # (intended, sent_at)
flushes: list[tuple[float, float]] = []
collections: list[tuple[float, float, int]] = []
samples: list[tuple[float, float]] = []  # (wall, this thread's cumulative run-queue delay, s)
_gc_began = [0.0]


def _run_queue_delay(path: str) -> float:
    with open(path) as f:
        return int(f.read().split()[1]) / 1e9


def _watch_cpu(path: str) -> None:
    """Sample the run-queue delay every ms (a gevent timer: a late sample is itself a stall)."""
    while True:
        samples.append((clock(), _run_queue_delay(path)))
        gevent.sleep(0.001)


def _delay_between(t0: float, t1: float) -> float:
    """Run-queue delay accumulated between t0 and t1, from the samples that bracket them."""
    times = [s[0] for s in samples]
    i = max(0, bisect.bisect_right(times, t0) - 1)
    j = min(len(samples) - 1, bisect.bisect_left(times, t1))
    return samples[j][1] - samples[i][1]


def _instrument() -> None:
    record_lag = dispatch.record_lag

    def recording(recorder: Recorder, intended: float, sent_at: float) -> float:
        sends.append((intended, sent_at))
        return record_lag(recorder, intended, sent_at)

    users.record_lag = recording  # type: ignore[assignment]
    flush = Recorder.flush

    def timed_flush(self: Recorder, now: float) -> object:
        began = clock()
        point = flush(self, now)
        flushes.append((began, clock()))
        return point

    Recorder.flush = timed_flush  # type: ignore[assignment,method-assign]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _gc_began[0] = clock()
        else:
            collections.append((_gc_began[0], clock(), info["generation"]))

    gc.callbacks.append(on_gc)


def _cause(window: tuple[float, float]) -> str:
    """What overlapped a late episode's first stall: the OS, a collection, a tick, or nothing."""
    t0, t1 = window
    first = min(t1, t0 + 0.05)  # its first 50 ms: what started it, not what its catch-up met
    if _delay_between(t0, first) > 0.3 * (first - t0):
        return "OS (waiting for a CPU)"
    if any(a < first and b > t0 and b - a > 0.002 for a, b, _ in collections):
        return "garbage collection"
    if any(a < first and b > t0 for a, b in flushes):
        return "per-second tick"
    return "the hub (busy)"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=16000.0)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--late-ms", type=float, default=5.0, help="a send this late is blamed (default 5)")
    p.add_argument("--no-freeze", action="store_true", help="leave out gc.freeze() (the generator freezes)")
    args = p.parse_args()
    if not args.no_freeze:
        gc.freeze()
    _instrument()
    watcher = gevent.spawn(_watch_cpu, f"/proc/self/task/{threading.get_native_id()}/schedstat")
    with start_server(FIXED, "--service-ms", "0") as server:
        request = RequestSpec(url=server.url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        spec = PhaseSpec(
            name="anatomy",
            mode="open",
            duration_s=args.seconds,
            request=request,
            rate=args.rate,
            connections=args.connections,
        )
        cpu0, wall0, rq0 = time.process_time(), clock(), samples[-1][1] if samples else 0.0
        phase = run_phase(spec, lambda _: None, Event())
        cpu, wall = time.process_time() - cpu0, clock() - wall0
    watcher.kill()
    lag = phase.generator.schedule_lag_ms
    assert lag is not None
    print(
        f"load average {os.getloadavg()[0]:.2f}; {phase.responses} answers at {phase.throughput_rps:.0f} req/s "
        f"(offered {args.rate:g}); this process: CPU {cpu:.2f} s of {wall:.2f} s wall, waited for a CPU "
        f"{samples[-1][1] - rq0:.2f} s; lag p50/p99/max {lag.p50:.2f}/{lag.p99:.2f}/{lag.max:.2f} ms; "
        f"waited for a connection {phase.generator.waited_for_connection}"
    )
    late_s = args.late_ms / 1000.0
    blame = {"OS (waiting for a CPU)": 0, "garbage collection": 0, "per-second tick": 0, "the hub (busy)": 0}
    # An episode: consecutive late sends (in schedule order); the sends that catch up after a stall
    # are late because of it, so the whole episode is blamed on what overlapped its first wait.
    ordered = sorted(sends)
    i = 0
    while i < len(ordered):
        intended, sent = ordered[i]
        if sent - intended <= late_s:
            i += 1
            continue
        j = i
        while j < len(ordered) and ordered[j][1] - ordered[j][0] > late_s:
            j += 1
        window = (intended, max(s for _, s in ordered[i:j]))
        blame[_cause(window)] += j - i
        i = j
    late = sum(blame.values())
    print(f"sends later than {args.late_ms:g} ms: {late} of {len(sends)} ({100 * late / max(1, len(sends)):.2f}%)")
    for cause, n in blame.items():
        print(f"  {cause:<24} {n:8d}  ({100 * n / max(1, late):.0f}% of the late ones)")
    by_gen: dict[int, list[float]] = {}
    for a, b, g in collections:
        by_gen.setdefault(g, []).append(b - a)
    print(
        "collections: "
        + "; ".join(f"gen{g} {len(d)}x, max {1000 * max(d):.1f} ms" for g, d in sorted(by_gen.items()))
        + f"; ticks: max {1000 * max((b - a for a, b in flushes), default=0.0):.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
