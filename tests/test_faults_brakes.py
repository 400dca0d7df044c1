"""Brakes: --max-rps and --max-concurrency cap every phase; --abort-on parses to its rule.

(The abort brake against a target that fails everything is in test_faults.py: `all-500`, and
the target killed mid-load.) Rate checks here are upper bounds from benchbox's own record: a busy
machine can only make a run slower, never push it past a cap that holds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchbox.brakes import Brakes, Pacer, build_brakes, parse_abort_on
from benchbox.errors import UsageError
from tests.servers.harness import FIXED, start_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spaces_sends_and_queues_concurrent_callers() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(5):
        pacer.wait()
        sent.append(clock.now)
    assert [round(b - a, 9) for a, b in zip(sent, sent[1:])] == [0.1] * 4
    clock.now += 5.0  # idle: no burst of catch-up sends afterwards, the next one just goes
    pacer.wait()
    pacer.wait()
    assert clock.slept[-1] == pytest.approx(0.1)


def test_no_cap_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        pacer.wait()
    assert clock.slept == []


@pytest.mark.parametrize(
    "text,expected",
    [
        (None, (0.2, 5.0)),
        ("off", (None, 5.0)),
        ("errors=50%", (0.5, 5.0)),
        ("errors=0.1,after=30s", (0.1, 30.0)),
        ("after=2s,errors=100%", (1.0, 2.0)),
    ],
)
def test_abort_on_forms(text, expected) -> None:
    assert parse_abort_on(text) == expected


@pytest.mark.parametrize("text", ["errors", "errors=0", "errors=150%", "after=5s", "errors=20%,after=x", "p95=1s"])
def test_abort_on_rejects(text) -> None:
    with pytest.raises(UsageError, match="--abort-on"):
        parse_abort_on(text)


def test_brakes_cap_counts() -> None:
    assert build_brakes("50", "4", None) == Brakes(max_rps=50.0, max_concurrency=4)
    assert Brakes(max_concurrency=4).cap(256) == 4 and Brakes().cap(256) == 256


def test_max_rps_paces_the_contract_and_adversarial_client() -> None:
    """The httpx client every non-load phase uses sends no faster than --max-rps."""
    from benchbox import bounded

    with start_server(FIXED) as server, bounded.client(timeout_s=5, max_rps=40, trust_env=False) as client:
        t0 = time.monotonic()
        for _ in range(9):
            assert client.get(server.url + "/x").status_code == 200
        took = time.monotonic() - t0
    assert took >= 8 / 40 * 0.99  # 9 sends, 8 gaps of at least 25 ms: a lower bound, never flaky


def test_max_rps_and_max_concurrency_cap_load_and_saturation(tmp_path: Path) -> None:
    with start_server(FIXED, "--service-ms", "1") as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                server.url + "/predict",
                "--users",
                "16",
                "--duration",
                "3s",
                "--max-rps",
                "25",
                "--max-concurrency",
                "4",
                "--skip",
                "contract,adversarial",
                "--saturation-budget",
                "8s",
                "--out",
                str(tmp_path),
                "--seed",
                "2",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert "Traceback" not in proc.stderr, proc.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["plan"]["brakes"]["max_rps"] == 25.0
    phase = result["load"]["phases"][0]
    assert phase["users"] == 4  # --users 16 under --max-concurrency 4
    assert phase["requests"] <= 25 * phase["elapsed_s"] + 2, phase  # closed-loop users paced under the cap
    steps = result["saturation"]["steps"]
    assert steps and all((s["offered_rps"] or 0) <= 25.0 for s in steps), steps
    assert all(s["achieved_rps"] <= 25 * 1.1 + 1 for s in steps), steps  # the closed-loop estimate too
