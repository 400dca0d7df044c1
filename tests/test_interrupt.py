"""An interrupted run stops within seconds and still writes what it measured, marked partial."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers.harness import FIXED, MISBEHAVE, start_server


def default_sigint() -> None:
    """In the child, before exec: SIGINT as a terminal delivers it. A test run started in the
    background of a non-interactive shell inherits SIGINT ignored, and Python keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(url: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchbox",
            "run",
            "--target",
            url + "/predict",
            "--rate",
            "40",
            "--duration",
            "60s",
            "--out",
            str(out),
            "--seed",
            "1",
            "--skip",
            "contract,adversarial,saturation",
            "--server-metrics",
            "none",  # the server's count is compared with the phase's: no GET /metrics beside them
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
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
        proc.send_signal(sig)
        # How soon it stops is a wall-clock figure (benchmarks/stops.py); here: long before the 60 s.
        out, err = proc.communicate(timeout=30)
        served = server.stats().count
    assert proc.returncode == code, err
    assert "Traceback" not in err
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


PHASES = {
    # phase: (server, server args, run args, the progress line that says the phase has begun)
    "preflight": (MISBEHAVE, ("--mode", "hang"), ("--ready-timeout", "60s"), "preflight:"),
    "contract": (
        FIXED,
        ("--service-ms", "300"),
        ("--skip", "adversarial,load,saturation", "--input-schema", "{schema}", "--contract-cases", "100"),
        "contract:",
    ),
    "adversarial": (FIXED, ("--service-ms", "300"), ("--skip", "contract,load,saturation"), "adversarial:"),
    "saturation": (FIXED, ("--service-ms", "2"), ("--skip", "contract,adversarial,load"), "saturation:"),
}


@pytest.mark.parametrize(
    "phase,sig,code",
    [
        ("preflight", signal.SIGTERM, 143),
        ("contract", signal.SIGINT, 130),
        ("adversarial", signal.SIGTERM, 143),
        ("saturation", signal.SIGINT, 130),
    ],
)
def test_signal_in_any_phase_writes_a_partial_report(tmp_path, phase, sig, code):
    script, server_args, run_args, marker = PHASES[phase]
    schema = tmp_path / "input.schema.json"  # a contract to generate 100 valid inputs from: a long phase
    schema.write_text('{"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}')
    out_dir = tmp_path / "out"
    run_args = tuple(a.replace("{schema}", str(schema)) for a in run_args)
    with start_server(script, *server_args) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                server.url + "/predict",
                "--body",
                '{"x": 1}',
                "--out",
                str(out_dir),
                "--seed",
                "1",
                *run_args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        assert proc.stderr is not None
        seen = []
        while not any(line.startswith(marker) for line in seen):
            line = proc.stderr.readline()
            assert line, f"the run ended before its {phase} phase: {''.join(seen)}"
            seen.append(line)
        time.sleep(1.5)  # well inside the phase (each lasts far longer than this)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err + out, err
    assert proc.returncode == code, "".join(seen) + err + out
    data = json.loads((out_dir / "result.json").read_text())
    assert data["partial"] is True and data["interrupted"] == sig.name
    html = (out_dir / "report.html").read_text()
    assert "partial" in html.lower() and (out_dir / "summary.md").exists() and (out_dir / "junit.xml").exists()
    assert not list(out_dir.glob(".result-*")), "a temporary result file was left behind"
    if phase == "saturation":
        assert data["saturation"] is not None and any("interrupted" in n for n in data["saturation"]["notes"])


def test_result_json_is_written_to_a_temp_file_and_renamed(tmp_path, monkeypatch):
    """A reader never sees half a document: save() writes beside the target and renames."""
    import os

    from benchbox import result as result_io

    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((Path(src), Path(dst), Path(src).read_text()))
        return real_replace(src, dst)

    saved = result_io.load(_a_saved_result(tmp_path))
    from benchbox import atomic

    monkeypatch.setattr(atomic.os, "replace", spy)  # result.save writes through the one atomic writer
    path = tmp_path / "result.json"
    path.write_text("an older result")
    result_io.save(saved, path)
    ((src, dst, text),) = calls
    assert dst == path and src.parent == path.parent and src.name.startswith(".result.json-")
    assert json.loads(text)["schema"] == "benchbox.result/v1" and not src.exists()


def _a_saved_result(tmp_path: Path) -> Path:
    from benchbox import evidence
    from benchbox.engine import write_outputs
    from benchbox.plan import build_plan
    from benchbox.result import Preflight, ProbeOutcome, Result, Target

    plan = build_plan({"target": "http://127.0.0.1:9/predict", "seed": "1"})
    outcome = ProbeOutcome(ok=None, path=None, detail="not probed")
    result = Result(
        benchbox_version="test",
        started_at="t",
        finished_at="t",
        command="run",
        plan=plan.redacted(),
        target=Target(url=plan.target, protocol="http", label=plan.label),
        verdict="error",
        gates=(),
        machine=evidence.machine(),
        seed=1,
        preflight=Preflight(reachable=False, health=outcome, ready=outcome, waited_s=0.0),
    )
    out = tmp_path / "first"
    out.mkdir()
    return write_outputs(result, out).result_json


def test_a_signal_inside_a_gc_callback_is_neither_printed_nor_lost():
    """Raised inside a garbage collector callback (Hypothesis registers one), an Interrupted is
    printed as "Exception ignored in ..." with a traceback, and dropped. The signal must instead
    wait for the next check (the request layer's, before every request)."""
    import gc
    import os

    from benchbox import interrupts
    from benchbox.errors import Interrupted

    unraisable: list[object] = []
    sent: list[bool] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs here, between two bytecodes of this callback
                pass

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    gc.callbacks.append(callback)
    try:
        with interrupts.catching():
            gc.collect()
            assert sent and not unraisable
            with pytest.raises(Interrupted, match="SIGINT"):
                interrupts.check()
            # Outside a callback the handler still raises at once.
            with pytest.raises(Interrupted):
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):
                    pass
    finally:
        gc.callbacks.remove(callback)
        sys.unraisablehook = previous_hook
