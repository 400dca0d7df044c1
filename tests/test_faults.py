"""Faults at the target, met as a new user meets them: `benchbox run` as a process against a real
purpose-built server on 127.0.0.1 (tests/servers/misbehave.py), or a name that cannot resolve.

Every fault must end with result.json and every report written, the documented exit code, the
cause said in words, and no traceback. The runs are independent, so they all start at once in
one module fixture (wall time: the slowest run, not the sum); each test then reads its own run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers.harness import FIXED, MISBEHAVE, ServerProcess, start_server

HEALTHY = ("--healthy", "/health", "--healthy", "/ready")  # preflight passes: the fault meets the later phases
QUICK = ("--rate", "20", "--duration", "2s", "--ready-timeout", "2s", "--seed", "7", "-q")
ONLY_LOAD = ("--skip", "contract,adversarial,saturation")
SMALL_PHASES = (
    "--skip",
    "saturation",
    "--contract-cases",
    "3",
    "--adversarial-cases",
    "6",
    "--adversarial-budget",
    "4s",
)
BODY = ("--body", '{"x": [1, 2, 3]}')


@dataclass(frozen=True)
class Fault:
    name: str
    mode: str | None  # misbehave.py --mode; None: no server (an unresolvable name)
    server_args: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    exit_code: int = 1
    tls: bool = False


FAULTS = [
    # The target fails every request, health checks included: preflight says so, exit 3.
    Fault("hang", "hang", args=ONLY_LOAD, exit_code=3),
    Fault("reset", "reset", args=ONLY_LOAD, exit_code=3),
    Fault("garbage", "garbage", args=ONLY_LOAD, exit_code=3),
    Fault("dns", None, args=ONLY_LOAD, exit_code=3),
    Fault("tls-untrusted", "ok", args=ONLY_LOAD, exit_code=3, tls=True),
    # Healthy, then the fault on the endpoint: the load (and contract, adversarial) meet it.
    Fault("hang-on-predict", "hang", HEALTHY, ("--timeout", "1s", *ONLY_LOAD)),
    Fault("reset-on-predict", "reset", HEALTHY, ONLY_LOAD),
    Fault("garbage-on-predict", "garbage", HEALTHY, ONLY_LOAD),
    Fault("huge", "huge", HEALTHY, SMALL_PHASES),
    Fault("slow-body", "slow-body", HEALTHY, ("--timeout", "1s", *SMALL_PHASES)),
    Fault("bad-json", "bad-json", HEALTHY, ("--skip", "load,adversarial,saturation", "--contract-cases", "3")),
    Fault("wrong-type", "wrong-type", HEALTHY, ("--skip", "load,adversarial,saturation", "--contract-cases", "3")),
    Fault(
        "tls-insecure",
        "ok",
        HEALTHY,
        ("--insecure", "--skip", "adversarial,saturation", "--contract-cases", "3"),
        exit_code=0,
        tls=True,
    ),
    # Everything answers 500: the brake abandons the 30 s load after its 5 s grace period.
    Fault("all-500", "status-500", HEALTHY, ("--skip", "contract,adversarial", "--duration", "30s", "--rate", "40")),
]


@dataclass
class Run:
    fault: Fault
    out: Path
    returncode: int
    stdout: str
    stderr: str
    server: ServerProcess | None = None
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> dict[str, Any]:
        return self.result["load"]["phases"][0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tls_cert: tuple[str, str]) -> Iterator[dict[str, Run]]:
    servers: dict[str, ServerProcess] = {}
    procs: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    try:
        for fault in FAULTS:
            if fault.mode is None:
                url = "http://benchbox-fault-test.invalid:8000"
            else:
                tls = ("--tls-cert", tls_cert[0], "--tls-key", tls_cert[1]) if fault.tls else ()
                servers[fault.name] = start_server(MISBEHAVE, "--mode", fault.mode, *fault.server_args, *tls)
                url = servers[fault.name].url
            out = tmp_path_factory.mktemp(fault.name)
            argv = [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                url + "/predict",
                *BODY,
                *QUICK,
                *fault.args,
                "--out",
                str(out),
            ]
            procs[fault.name] = (subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out)
        done: dict[str, Run] = {}
        for name, (proc, out) in procs.items():
            stdout, stderr = proc.communicate(timeout=240)
            fault = next(f for f in FAULTS if f.name == name)
            run = Run(fault, out, proc.returncode, stdout, stderr, servers.get(name))
            if (out / "result.json").exists():
                run.result = json.loads((out / "result.json").read_text())
            done[name] = run
        yield done
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
        for server in servers.values():
            server.stop()


def _kinds(run: Run) -> dict[str, int]:
    return run.phase["errors_by_kind"]


def _findings(run: Run, section: str, key: str) -> str:
    return json.dumps(run.result[section][key])


# What each fault must be reported as, in the result (the report renders the same words).
CHECKS: dict[str, Callable[[Run], None]] = {
    "hang": lambda r: ("timeout" in r.result["problems"][0]) or pytest.fail(r.result["problems"]),
    "reset": lambda r: ("reset" in r.result["problems"][0].lower()) or pytest.fail(r.result["problems"]),
    "garbage": lambda r: ("protocol" in r.result["problems"][0]) or pytest.fail(r.result["problems"]),
    "dns": lambda r: ("dns" in r.result["problems"][0]) or pytest.fail(r.result["problems"]),
    "tls-untrusted": lambda r: (
        ("tls" in r.result["problems"][0] and "--insecure" in r.result["problems"][0])
        or pytest.fail(r.result["problems"])
    ),
    "hang-on-predict": lambda r: _kinds(r).get("timeout") == r.phase["requests"] or pytest.fail(_kinds(r)),
    "reset-on-predict": lambda r: _kinds(r).get("reset") == r.phase["requests"] or pytest.fail(_kinds(r)),
    "garbage-on-predict": lambda r: (
        set(_kinds(r)) <= {"protocol", "reset"} and r.phase["responses"] == 0 or pytest.fail(_kinds(r))
    ),
    "huge": lambda r: (
        (
            _kinds(r).get("too_large") == r.phase["requests"]
            and "too_large" in _findings(r, "contract", "violations")
            and r.result["adversarial"]["cases"] > 0
        )
        or pytest.fail(_kinds(r))
    ),
    "slow-body": lambda r: (
        (_kinds(r).get("timeout") == r.phase["requests"] and "timeout" in _findings(r, "contract", "violations"))
        or pytest.fail(_kinds(r))
    ),
    "bad-json": lambda r: '"json"' in _findings(r, "contract", "violations") or pytest.fail(r.result["contract"]),
    "wrong-type": lambda r: (
        "content_type" in _findings(r, "contract", "violations") or pytest.fail(r.result["contract"])
    ),
    "tls-insecure": lambda r: r.phase["status_counts"] == {"200": r.phase["requests"]} or pytest.fail(r.phase),
    "all-500": lambda r: None,  # test_brake_abandons_a_target_that_fails_everything
}


@pytest.mark.parametrize("name", [f.name for f in FAULTS])
def test_fault_ends_with_a_report_and_its_exit_code(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert run.returncode == run.fault.exit_code, run.stderr + run.stdout
    assert run.result["schema"] == "benchbox.result/v1"
    for report in ("report.html", "summary.md", "junit.xml"):
        assert (run.out / report).stat().st_size > 0
    html = (run.out / "report.html").read_text()
    for problem in run.result["problems"]:  # the cause is said in the report, not only in the JSON
        assert problem.split(":")[0] in html
    CHECKS[name](run)


def test_brake_abandons_a_target_that_fails_everything(runs: dict[str, Run]) -> None:
    run = runs["all-500"]
    phase = run.phase
    assert phase["aborted"] and "brake" in phase["aborted"], phase
    assert phase["requests"] < 40 * 30 / 2  # stopped long before the planned 30 s at 40 req/s
    assert phase["status_counts"] == {"500": phase["responses"]}
    assert run.result["saturation"] is None and any("brake" in n for n in run.result["notes"])
    assert "stopped by the brake" in (run.out / "report.html").read_text()
    assert "Brakes" in (run.out / "summary.md").read_text()
    assert "note: load: stopped by the brake" in run.stdout


def test_tls_insecure_reaches_every_phase(runs: dict[str, Run]) -> None:
    run = runs["tls-insecure"]
    assert run.result["preflight"]["reachable"] and run.result["contract"]["requests"] > 0
    assert run.phase["responses"] == run.phase["requests"] > 0


def test_target_killed_mid_load(tmp_path: Path) -> None:
    """The target process dies while the load runs: connection errors are counted by kind, the
    brake stops the load, and the result and reports are still written."""
    server = start_server(FIXED, "--service-ms", "2")
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchbox",
                "run",
                "--target",
                server.url + "/predict",
                *BODY,
                "--rate",
                "40",
                "--duration",
                "40s",
                "--abort-on",
                "errors=20%,after=2s",
                "--out",
                str(tmp_path),
                "--seed",
                "3",
                *ONLY_LOAD,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        ticks = 0
        while ticks < 2 and time.monotonic() < deadline:
            line = proc.stderr.readline()
            ticks += " req/s " in line
        assert ticks == 2, "the load never started"
        server.kill()
        out, err = proc.communicate(timeout=120)
    finally:
        server.stop()
    assert "Traceback" not in err + out
    assert proc.returncode == 1, err
    result = json.loads((tmp_path / "result.json").read_text())
    phase = result["load"]["phases"][0]
    assert phase["status_counts"].get("200", 0) > 0  # answers from before the kill are kept
    assert set(phase["errors_by_kind"]) & {"connect", "reset"}, phase["errors_by_kind"]
    assert phase["aborted"], "the brake should have stopped a load at a dead target"
    assert phase["requests"] < 40 * 40 / 2
    assert (tmp_path / "report.html").exists()
