"""Scale-out on Locust's master/worker engine: exact merges, lost workers, remote workers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from benchbox import hdr
from benchbox.load.process import GeneratorSession, run_phases
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec
from tests.servers.harness import FIXED, HERE, start_server

SLOW_WORKER = HERE / "slow_worker.py"


def open_phase(url: str, rate: float, duration: float) -> PhaseSpec:
    request = RequestSpec(url=url + "/w", method="GET", headers=(), bodies=(), timeout_s=5)
    return PhaseSpec(
        name="steady", mode="open", duration_s=duration, request=request, rate=rate, connections=32, seed=3
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.alone
def test_two_workers_split_the_schedule_and_merge_exactly():
    """Both workers are held off the CPU for 2 s right after the master accepts them (as a busy
    machine does): the phase must still reach them. It used to be sent on Locust's accept alone,
    arrive before the worker had registered its handlers, be dropped, and the worker be lost."""
    port = free_port()
    slow = [
        subprocess.Popen(
            [sys.executable, str(SLOW_WORKER), "--master", f"127.0.0.1:{port}", "--hold", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        with start_server(FIXED, "--service-ms", "10") as server:
            (phase,) = run_phases(
                RunSpec(phases=(open_phase(server.url, 100, 3.0),), expect_workers=2, master_port=port)
            )
            stats = server.stats()
        for proc in slow:
            assert proc.wait(timeout=20) == 0  # the master told it to quit
    finally:
        for proc in slow:
            if proc.poll() is None:
                proc.kill()
    assert [w.state for w in phase.workers] == ["ok", "ok"], [(w.state, w.detail) for w in phase.workers]
    assert phase.requests == 300 == stats.count  # 50 req/s on each worker: the requested total
    assert [w.requests for w in phase.workers] == [150, 150]
    merged = hdr.decode(phase.hdr)
    assert merged.get_total_count() == phase.responses == 300
    assert sum(p.requests for p in phase.timeseries) == 300
    # The merged percentiles describe the server: never below its own clock, not far above it
    # (how close is a wall-clock figure: benchmarks/accuracy.py, benchmarks/scaleout.py).
    measured, reference = phase.latency_ms.p50, stats.percentile_ms(50)
    assert reference * 0.999 <= measured <= reference + max(10.0, 0.5 * reference), (measured, reference)


def _worker_pids() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if "--worker" in " ".join(p.cmdline())}


def test_workers_stay_up_from_one_run_to_the_next():
    notes: list[str] = []
    with start_server(FIXED, "--service-ms", "5") as server, GeneratorSession() as gen:
        run = RunSpec(phases=(open_phase(server.url, 40, 2.0),), workers=2)
        (first,) = gen.run_phases(run, on_note=notes.append)
        workers = _worker_pids()
        (second,) = gen.run_phases(run, on_note=notes.append)
        again = _worker_pids()
        served = server.stats().count
    assert len(workers) == 2 and again == workers
    assert [w.state for w in first.workers] == [w.state for w in second.workers] == ["ok", "ok"]
    assert first.requests == second.requests == 80 and first.requests + second.requests == served
    assert sum("waiting for 2 workers" in n for n in notes) == 1  # they joined once


def test_a_worker_killed_mid_run_is_reported_and_the_run_finishes():
    def kill_one_worker(server) -> None:
        """Once load flows (the server has counted 150 requests), kill one worker."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.stats().count < 150:
            time.sleep(0.1)
        workers = [p for p in psutil.Process().children(recursive=True) if "--worker" in " ".join(p.cmdline())]
        workers[0].kill()

    with start_server(FIXED, "--service-ms", "2") as server:
        killer = threading.Thread(target=kill_one_worker, args=(server,), daemon=True)
        killer.start()
        (phase,) = run_phases(RunSpec(phases=(open_phase(server.url, 100, 6.0),), workers=2))
        killer.join()
    states = sorted(w.state for w in phase.workers)
    assert states == ["lost", "ok"] and phase.partial
    lost = next(w for w in phase.workers if w.state == "lost")
    assert 0 < lost.requests < 300 and "heartbeat" in lost.detail
    assert phase.responses > 300  # the survivor's whole share plus what the lost one reported


def test_a_remote_worker_joins_with_benchbox_worker(benchbox_cli, tmp_path):
    port = free_port()
    with start_server(FIXED, "--service-ms", "2") as server:
        remote = subprocess.Popen(
            [sys.executable, "-m", "benchbox", "worker", "--master", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            outcome = benchbox_cli(
                "run",
                "--target",
                server.url + "/r",
                "--rate",
                "40",
                "--duration",
                "2s",
                "--skip",
                "contract,adversarial,saturation",
                "--expect-workers",
                "1",
                "--master-port",
                str(port),
                "--out",
                str(tmp_path),
                "-q",
            )
        finally:
            remote.wait(timeout=20)
    assert outcome.code == 0, outcome.out + outcome.err
    phase = json.loads((tmp_path / "result.json").read_text())["load"]["phases"][0]
    assert phase["requests"] == 80 and [w["state"] for w in phase["workers"]] == ["ok"]
    assert remote.returncode == 0  # the master told it to quit


def test_a_rate_beyond_one_process_is_flagged_with_the_way_out():
    with start_server(FIXED) as server:
        (phase,) = run_phases(RunSpec(phases=(open_phase(server.url, 50_000, 2.0),)))
    assert phase.generator.limited
    assert any("--workers" in r for r in phase.generator.reasons)
