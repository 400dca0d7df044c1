"""Every output file is written by benchbox.atomic, whole, with the mode `open()` would give:
result.json, the three reports and an accept file alike (0644 under umask 022, 0600 under 077).

The umask is process-wide, so each case runs in its own interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITE_ALL = """
import os, sys
from pathlib import Path
os.umask(int(sys.argv[2], 8))
from tests.test_report import make_result
from benchbox.contract.accept import write_accept
from benchbox.report import render_all
from benchbox.result import save

out = Path(sys.argv[1])
result = make_result()
save(result, out / "result.json")
render_all(result, out)
write_accept([], out / "accept.json")
"""


@pytest.mark.parametrize(("umask", "mode"), [("022", 0o644), ("077", 0o600)])
def test_every_output_gets_the_mode_the_umask_gives(tmp_path: Path, umask: str, mode: int) -> None:
    env = {"PATH": "/usr/bin:/bin", "GITHUB_STEP_SUMMARY": ""}
    proc = subprocess.run(
        [sys.executable, "-c", WRITE_ALL, str(tmp_path), umask],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["accept.json", "junit.xml", "report.html", "result.json", "summary.md"]  # no temp file left
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == dict.fromkeys(files, mode)
    assert json.loads((tmp_path / "result.json").read_text())["schema"] == "benchbox.result/v1"
