"""Scale-out on Locust's master/worker engine: exact merges, lost workers, remote workers."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import psutil

from benchbox import hdr
from benchbox.load.process import run_phases
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec
from tests.servers.harness import FIXED, start_server


def open_phase(url: str, rate: float, duration: float) -> PhaseSpec:
    request = RequestSpec(url=url + "/w", method="GET", headers=(), bodies=(), timeout_s=5)
    return PhaseSpec(name="steady", mode="open", duration_s=duration, request=request, rate=rate, connections=32,
                     seed=3)


def test_two_workers_split_the_schedule_and_merge_exactly():
    with start_server(FIXED, "--service-ms", "10") as server:
        (phase,) = run_phases(RunSpec(phases=(open_phase(server.url, 100, 3.0),), workers=2))
        served = server.stats().count
        (single,) = run_phases(RunSpec(phases=(open_phase(server.url, 100, 3.0),)))
    assert [w.state for w in phase.workers] == ["ok", "ok"], [(w.state, w.detail) for w in phase.workers]
    assert phase.requests == 300 == served  # 50 req/s on each worker: the requested total
    assert [w.requests for w in phase.workers] == [150, 150]
    merged = hdr.decode(phase.hdr)
    assert merged.get_total_count() == phase.responses == 300
    assert sum(p.requests for p in phase.timeseries) == 300
    # Same load, one process: the merged percentiles describe the same server.
    assert abs(phase.latency_ms.p50 - single.latency_ms.p50) < 3.0


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
    with socket.socket() as s:  # a free port for the master to bind
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with start_server(FIXED, "--service-ms", "2") as server:
        remote = subprocess.Popen([sys.executable, "-m", "benchbox", "worker", "--master", f"127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            outcome = benchbox_cli("run", "--target", server.url + "/r", "--rate", "40", "--duration", "2s",
                                   "--skip", "contract,adversarial,saturation",
                                   "--expect-workers", "1", "--master-port", str(port), "--out", str(tmp_path), "-q")
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
