"""The CI action (action.yml) outside GitHub: its script runs benchbox, hands the workflow the exit
code and verdict, and leaves the failing of the job to the step after the report upload."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml

from tests.conftest import DEMO_BODY

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".github" / "benchbox-action.sh"


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def _run_action(tmp_path: Path, python: str, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs = tmp_path / "github_output"
    outputs.touch()
    bindir = str(Path(python).parent)  # the venv's benchbox and python, as setup-python would give
    full = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(outputs), **env}
    done = subprocess.run(["bash", str(SCRIPT)], env=full, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    return done, _outputs(outputs)


def test_action_yml_runs_the_script_uploads_always_and_fails_last():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    names = [s.get("name", s.get("uses", "")) for s in steps]
    run_at = next(i for i, s in enumerate(steps) if ".github/benchbox-action.sh" in s.get("run", ""))
    upload_at = next(i for i, s in enumerate(steps) if "upload-artifact" in s.get("uses", ""))
    fail_at = names.index("Fail the job on a failed gate")
    assert run_at < upload_at < fail_at, names
    assert steps[upload_at]["if"] == "always()" and steps[fail_at]["if"] == "always()"
    # Inputs reach the script through the environment, never pasted into shell text.
    assert "${{ inputs" not in steps[run_at]["run"]


def test_failed_gate_gives_exit_1_verdict_fail_and_the_step_summary(tmp_path, demo_server, python):
    summary = tmp_path / "step_summary.md"
    args = f"--body '{DEMO_BODY}' --rate 10 --duration 2s --skip contract,adversarial,saturation --slo p50=1us -q"
    done, out = _run_action(
        tmp_path,
        python,
        BENCHBOX_COMMAND="smoke",
        BENCHBOX_TARGET=demo_server.predict_url,
        BENCHBOX_ARGS=args,
        BENCHBOX_OUT="rep",
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert done.returncode == 0, done.stderr  # the job fails in the last step, after the upload
    assert out == {"exit-code": "1", "verdict": "fail"}, (out, done.stdout, done.stderr)
    result = json.loads((tmp_path / "rep" / "result.json").read_text())
    assert result["verdict"] == "fail" and result["command"] == "smoke"
    assert "p50" in summary.read_text()


def test_bad_command_is_exit_2_without_running(tmp_path, python):
    done, out = _run_action(tmp_path, python, BENCHBOX_COMMAND="deploy")
    assert out == {"exit-code": "2"}
    assert "bad command 'deploy'" in done.stdout
    assert not (tmp_path / "benchbox-report").exists()
