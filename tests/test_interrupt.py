"""An interrupted run stops within seconds and still writes what it measured, marked partial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers.harness import FIXED, start_server


def start_run(url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchbox", "run", "--target", url + "/predict", "--rate", "40",
         "--duration", "60s", "--out", str(out), "--seed", "1", "--skip", "contract,adversarial,saturation"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for_ticks(proc: subprocess.Popen[str], count: int, timeout: float = 20.0) -> None:
    """Read progress lines until `count` per-second ticks were printed: load is really running."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < count and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if " req/s " in line:
            seen += 1
    assert seen >= count, "the run never reported load progress"


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_load_writes_a_partial_result(tmp_path, sig, code):
    with start_server(FIXED, "--service-ms", "5") as server:
        proc = start_run(server.url, tmp_path)
        wait_for_ticks(proc, 2)
        sent_at = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent_at
        served = server.stats().count
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert took < 15, f"took {took:.1f}s to stop"
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["partial"] is True and data["interrupted"] == sig.name and data["verdict"] == "error"
    phase = data["load"]["phases"][0]
    assert phase["partial"] is True
    assert 40 <= phase["requests"] < 40 * 60
    pre = data["preflight"]
    probes = len(pre["health"]["probes"]) + len(pre["ready"]["probes"])
    assert phase["responses"] == served - probes  # nothing measured was lost
    assert (tmp_path / "report.html").exists() and (tmp_path / "junit.xml").exists()
    assert "partial" in out
