"""No secret given to benchbox reaches any output: result.json, the reports, curl lines, the
terminal (stdout/stderr), a re-rendered report, or an error message.

The target is the worst case: it answers 500 with the request's own headers echoed in the body
(a debug error page), so the secrets come back in the very answers benchbox records as evidence.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers.harness import MISBEHAVE, start_server

API_KEY = "sk-live-4f9a0c3b7e1d2a8f"
COOKIE = "session=c00k1e-9b8a7f6e5d4c"
X_API_KEY = "xk-31337-deadbeefcafe"
SECRETS = (API_KEY, COOKIE.split("=", 1)[1], X_API_KEY)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "BENCHBOX_API_KEY": API_KEY}
    with start_server(MISBEHAVE, "--mode", "echo-500", "--healthy", "/health", "--healthy", "/ready") as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                server.url + "/v1/predict",
                "--body",
                '{"x": 1}',
                "--api-key-env",
                "BENCHBOX_API_KEY",
                "-H",
                f"Cookie: {COOKIE}",
                "-H",
                f"X-Api-Key: {X_API_KEY}",
                "--rate",
                "20",
                "--duration",
                "2s",
                "--skip",
                "saturation",
                "--contract-cases",
                "3",
                "--adversarial-cases",
                "6",
                "--adversarial-budget",
                "4s",
                "--out",
                str(out),
                "--seed",
                "5",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        # What the target saw proves the secrets were really sent (so the grep below means something).
        assert server.stats().count > 0
    assert proc.returncode == 1, proc.stderr
    assert not _leaks(proc.stdout + proc.stderr), "a secret on the terminal"
    rerendered = tmp_path / "again"
    again = subprocess.run(
        [sys.executable, "-m", "benchbox", "report", str(out / "result.json"), "--out", str(rerendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    files = _files(out) + _files(rerendered)
    assert {"result.json", "report.html", "summary.md", "junit.xml"} <= {p.name for p in files}
    for path in files:
        assert not _leaks(path.read_text(encoding="utf-8", errors="replace")), f"a secret in {path}"

    result = json.loads((out / "result.json").read_text())
    findings = result["contract"]["violations"] + result["adversarial"]["findings"]
    assert findings, "the echoing 500s should have produced findings with curl lines"
    # The secrets came back in the recorded answers, and were scrubbed there.
    assert any("<redacted>" in (f["response"]["body"] or "") for f in findings)
    # Curl lines stay runnable: each credential comes from an environment variable. (Probes that
    # send no key, or a wrong one on purpose, say so in their own lines.)
    with_key = [f["curl"] for f in findings if 'Authorization: Bearer \'"$BENCHBOX_API_KEY"' in f["curl"]]
    assert with_key, [f["curl"] for f in findings]
    assert all('"$BENCHBOX_COOKIE"' in c and '"$BENCHBOX_X_API_KEY"' in c for c in with_key)


def test_no_secret_in_an_error_message(tmp_path: Path) -> None:
    """A secret in a bad flag value is not echoed back."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchbox",
            "run",
            "--target",
            "http://127.0.0.1:9/x",
            "--dry-run",
            "-H",
            f"Authorization: Bearer {API_KEY}",
            "-H",
            f"X-Api-Key {X_API_KEY}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert not _leaks(proc.stdout + proc.stderr)


def test_a_secret_echoed_anywhere_in_the_record_is_scrubbed() -> None:
    """Defence in depth: even text no phase thought of redacting (a problem, a note, an error
    sample) loses the secret before result.json exists."""
    from benchbox import evidence, redact
    from benchbox.plan import build_plan
    from benchbox.result import Result, Target

    plan = build_plan(
        {"target": "http://127.0.0.1:9/x", "api_key_env": "K", "seed": "1", "header": (f"Cookie: {COOKIE}",)},
        env={"K": API_KEY},
    )
    raw = Result(
        benchbox_version="t",
        started_at="t",
        finished_at="t",
        command="run",
        plan=plan.redacted(),
        target=Target(url=plan.target, protocol="http", label="x"),
        verdict="error",
        gates=(),
        machine=evidence.machine(),
        seed=1,
        problems=(f"target said: invalid token Bearer {API_KEY} for {COOKIE}",),
        notes=(f'echo: {{"auth": "{API_KEY}"}}',),
    )
    clean = redact.scrub_result(plan.request.headers, raw)
    text = json.dumps([clean.problems, clean.notes])
    assert not _leaks(text) and text.count("<redacted>") >= 3
    assert clean.problems[0].startswith("target said: invalid token")


def test_live_compare_writes_no_secret_on_either_side(tmp_path: Path) -> None:
    """#16: each side of a live compare goes through the run's assembler and its scrub. The
    baseline echoes every request's headers back in a 500 (so the keys come back in the answers
    the shadow comparison records), the candidate answers 200."""
    from tests.servers.harness import FIXED

    out = tmp_path / "cmp"
    env = {**os.environ, "BENCHBOX_API_KEY": API_KEY}
    with (
        start_server(MISBEHAVE, "--mode", "echo-500", "--healthy", "/health", "--healthy", "/ready") as echo,
        start_server(FIXED, "--service-ms", "1") as honest,
    ):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchbox",
                "compare",
                "--baseline",
                echo.url + "/v1/predict",
                "--candidate",
                honest.url + "/v1/predict",
                "--body",
                '{"x": 1}',
                "--api-key-env",
                "BENCHBOX_API_KEY",
                "-H",
                f"Cookie: {COOKIE}",
                "-H",
                f"X-Api-Key: {X_API_KEY}",
                "--rate",
                "20",
                "--duration",
                "2s",
                "--window",
                "0.5s",
                "--shadow-cases",
                "3",
                "--max-regression",
                "none",
                "--out",
                str(out),
                "--seed",
                "5",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
        )
        assert echo.stats().count > 0 and honest.stats().count > 0  # the secrets were really sent to both
    assert proc.returncode == 0, proc.stdout + proc.stderr  # --max-regression none: reported, not gated
    assert not _leaks(proc.stdout + proc.stderr), "a secret on the terminal"
    files = _files(out)
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"baseline/result.json", "candidate/result.json", "compare.json", "report.html"} <= names, names
    for path in files:
        assert not _leaks(path.read_text(encoding="utf-8", errors="replace")), f"a secret in {path}"
    # The echo came back (the shadow keeps the baseline's answer) and was scrubbed there.
    shadow = json.loads((out / "compare.json").read_text())["shadow"]
    echoed = shadow["disagreements"][0]["baseline"]
    assert "Authorization: <redacted>" in echoed and "X-Api-Key: <redacted>" in echoed, echoed
    for side in ("baseline", "candidate"):
        result = json.loads((out / side / "result.json").read_text())
        assert result["plan"]["headers"]["Authorization"] == "<redacted>"
        assert result["ran"]["headers"]["Cookie"] == "<redacted>"
        assert result["ran"]["stages"] == ["preflight", "load"] and result["ran"]["bodies_from"] == "--body"
