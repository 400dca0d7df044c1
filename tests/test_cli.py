"""The CLI end to end: real runs against the demo server, one-line errors, exit codes, reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchbox import result as result_io
from tests.conftest import DEMO_BODY


def run_args(target: str, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--target",
        target,
        "--body",
        DEMO_BODY,
        "--rate",
        "20",
        "--duration",
        "2s",
        "--out",
        str(out),
        "--seed",
        "5",
        "-q",
        "--skip",
        "saturation",
        # Contract and adversarial run, as by default, on fewer cases: their depth is tested in their own files.
        "--contract-cases",
        "20",
        "--adversarial-cases",
        "30",
        *extra,
    ]


def test_help_is_light():
    """`benchbox --help` must not pay for Locust, gevent, Hypothesis or Jinja2."""
    code = (
        "import sys\nfrom benchbox.cli import main\n"
        "for argv in (['--help'], ['run', '--help'], ['--version']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "heavy = ('locust', 'gevent', 'hypothesis', 'jinja2', 'httpx', 'numpy')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["run"], "missing --target"),
        (["run", "--target", "localhost:8000"], "bad --target 'localhost:8000'"),
        (["run", "--target", "http://127.0.0.1:9", "--rate", "-3"], "bad --rate '-3'"),
        (["run", "--target", "http://127.0.0.1:9", "--slo", "p95<200ms"], "bad --slo 'p95<200ms'"),
        (
            ["run", "--target", "http://127.0.0.1:9", "--body", "@/no/such/file.json"],
            "bad --body '@/no/such/file.json'",
        ),
        (["run", "--target", "http://127.0.0.1:9", "--frobnicate"], "No such option"),
        (["run", "--target", "http://127.0.0.1:9", "--out", "/proc/benchbox-cannot-write"], "bad --out"),
        (["report", "/no/such/result.json"], "cannot read result"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(benchbox_cli, args, fragment):
    outcome = benchbox_cli(*args)
    assert outcome.code == 2
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], outcome.err
    assert "Traceback" not in outcome.err


def test_run_writes_a_result_that_reports_re_render_identically(benchbox_cli, demo_server, tmp_path):
    out = tmp_path / "run"
    outcome = benchbox_cli(*run_args(demo_server.predict_url, out, "--slo", "p99=2s"))
    assert outcome.code == 0, outcome.err
    assert "verdict: PASS" in outcome.out
    data = json.loads((out / "result.json").read_text())
    assert data["schema"] == "benchbox.result/v1" and data["verdict"] == "pass"
    assert data["target"]["model_version"] == "v1"
    phase = data["load"]["phases"][0]
    assert phase["requests"] == 40 and phase["responses"] == 40 and phase["status_counts"] == {"200": 40}
    assert {g["name"] for g in data["gates"]} == {"p95", "errors", "p99", "contract", "adversarial"}
    assert data["contract"]["source"] == "openapi" and data["contract"]["passed"] is True
    # A sample of the load phase's answers was checked against the contract too, then dropped.
    assert data["contract"]["notes"][-1].startswith("10 answers from the load phase checked too: 0 findings")
    assert data["load"]["phases"][0]["samples"] == []
    assert data["machine"]["cpu_count"] >= 1 and data["seed"] == 5

    # Round trip: the document parses into the model and serialises back unchanged.
    assert json.loads(result_io.dumps(result_io.load(out / "result.json"))) == data

    again = tmp_path / "again"
    assert benchbox_cli("report", str(out / "result.json"), "--out", str(again)).code == 0
    for name in ("report.html", "summary.md", "junit.xml"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_a_failed_gate_exits_1_and_says_which(benchbox_cli, demo_server, tmp_path):
    outcome = benchbox_cli(*run_args(demo_server.predict_url, tmp_path, "--slo", "p50=10us"))
    assert outcome.code == 1
    assert "[FAIL] p50" in outcome.out
    junit = (tmp_path / "junit.xml").read_text()
    assert 'failures="1"' in junit


def test_unreachable_target_exits_3_and_still_writes_the_result(benchbox_cli, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = benchbox_cli(
        "run", "--target", f"http://127.0.0.1:{port}/predict", "--ready-timeout", "1s", "--out", str(tmp_path), "-q"
    )
    assert outcome.code == 3
    assert "unreachable" in outcome.out
    saved = result_io.load(tmp_path / "result.json")
    assert saved.verdict == "error" and saved.preflight is not None and not saved.preflight.reachable
    assert saved.load is None and all(g.passed is None for g in saved.gates)
    assert (tmp_path / "report.html").exists()


def test_never_ready_target_exits_3(benchbox_cli, tmp_path):
    from benchbox.demo.launcher import DemoServer
    from benchbox.demo.options import DemoOptions

    with DemoServer(DemoOptions(startup_delay_s=60), wait_for="live") as slow:
        outcome = benchbox_cli(*run_args(slow.predict_url, tmp_path, "--ready-timeout", "1s"))
    assert outcome.code == 3
    assert "never became ready" in outcome.out
    saved = result_io.load(tmp_path / "result.json")
    assert saved.preflight is not None and saved.preflight.reachable and saved.preflight.ready.ok is False


def test_api_key_is_used_and_never_written(benchbox_cli, tmp_path, monkeypatch):
    from benchbox.demo.launcher import DemoServer
    from benchbox.demo.options import DemoOptions

    secret = "sk-test-4f9a1c0ffee"
    monkeypatch.setenv("DEMO_KEY", secret)
    with DemoServer(DemoOptions(api_key=secret)) as locked:
        denied = benchbox_cli(*run_args(locked.predict_url, tmp_path / "denied"))
        allowed = benchbox_cli(
            *run_args(
                locked.predict_url, tmp_path / "allowed", "--api-key-env", "DEMO_KEY", "-H", "X-Api-Key: " + secret
            )
        )
    assert denied.code == 1 and "http_401" in (tmp_path / "denied" / "result.json").read_text()
    assert allowed.code == 0, allowed.out + allowed.err
    for outcome in (denied, allowed):
        assert secret not in outcome.out + outcome.err
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path


def test_unknown_result_schema_is_named(benchbox_cli, tmp_path):
    doc = tmp_path / "result.json"
    doc.write_text(json.dumps({"schema": "benchbox.result/v9", "verdict": "pass"}))
    outcome = benchbox_cli("report", str(doc))
    assert outcome.code == 2
    assert "unknown result schema 'benchbox.result/v9'" in outcome.err


def test_smoke_is_run_with_the_ci_profile(benchbox_cli, demo_server, tmp_path):
    from benchbox.cli import SMOKE_PROFILE
    from benchbox.plan import build_plan

    plan = build_plan({"target": demo_server.predict_url}, dict(SMOKE_PROFILE))
    assert plan.load.duration_s + plan.probes.ready_timeout_s <= 45 and "saturation" in plan.skip
    outcome = benchbox_cli(
        "smoke",
        "--target",
        demo_server.predict_url,
        "--body",
        DEMO_BODY,
        "--rate",
        "20",
        "--duration",
        "2s",
        "--out",
        str(tmp_path),
        "-q",
    )
    assert outcome.code == 0, outcome.err
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["command"] == "smoke" and data["plan"]["skip"] == ["saturation"]
    import xml.etree.ElementTree as ET

    cases = ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    assert {c.get("name") for c in cases} >= {"p95", "errors"}


def test_a_kserve_endpoint_is_checked_from_its_url_alone(benchbox_cli, demo_server, tmp_path):
    """No --body, no --method: the contract comes from the V2 metadata, and the load uses its inputs."""
    outcome = benchbox_cli(
        "smoke", "--target", demo_server.infer_url, "--rate", "10", "--duration", "2s", "--out", str(tmp_path), "-q"
    )
    assert outcome.code == 0, outcome.out + outcome.err
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["target"]["protocol"] == "kserve-v2" and data["contract"]["method"] == "POST"
    assert data["load"]["phases"][0]["status_counts"] == {"200": 20}
