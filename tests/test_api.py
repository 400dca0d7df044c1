"""The Python API and the pytest plugin, against the real demo server.

`benchbox.run(...)` from a plain script must pass and fail exactly as `benchbox run` does on the
same plan; a pytest test using the `benchbox` fixture must show the report path when it fails,
keep its reports under --benchbox-out, and put the key figures in the JUnit XML.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import benchbox
from benchbox import result as result_io
from benchbox.errors import UsageError
from tests.conftest import DEMO_BODY

# Tiny loads: 2 s at 15 req/s, only the load stage (and the gates) after preflight.
QUICK = {"rate": 15, "duration": "2s", "skip": ["contract", "adversarial", "saturation"], "seed": 7}
PASS_SLO = {"p99": "2s", "errors": "1%"}
FAIL_SLO = {"p50": "0.1ms"}  # the demo serves in 2 ms: this gate cannot hold

SCRIPT = """
import json, sys
import benchbox

target, body, out = sys.argv[1], sys.argv[2], sys.argv[3]
quick = json.loads(sys.argv[4])
report = {}
for name, slo in json.loads(sys.argv[5]).items():
    r = benchbox.run(target=target, body=json.loads(body), slo=slo, out=f"{out}/{name}", **quick)
    report[name] = {"verdict": r.verdict, "exit_code": int(r.exit_code), "passed": r.passed,
                    "gates": [[g.name, g.passed] for g in r.gates]}
print(json.dumps(report))
"""


def _cli_args(target: str, out: Path, slo: dict[str, str]) -> list[str]:
    return [
        "run",
        "--target",
        target,
        "--body",
        DEMO_BODY,
        "--rate",
        "15",
        "--duration",
        "2s",
        "--seed",
        "7",
        "--skip",
        "contract,adversarial,saturation",
        "--out",
        str(out),
        "-q",
        *(arg for k, v in slo.items() for arg in ("--slo", f"{k}={v}")),
    ]


def test_a_script_passes_and_fails_as_the_cli_does(demo_server, benchbox_cli, tmp_path):
    sides = {"passing": PASS_SLO, "failing": FAIL_SLO}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            demo_server.predict_url,
            DEMO_BODY,
            str(tmp_path / "api"),
            json.dumps(QUICK),
            json.dumps(sides),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the API prints nothing unless given an observer
    api = json.loads(done.stdout)
    assert api["passing"]["verdict"] == "pass" and api["passing"]["passed"] and api["passing"]["exit_code"] == 0
    assert api["failing"]["verdict"] == "fail" and not api["failing"]["passed"] and api["failing"]["exit_code"] == 1
    for name, slo in sides.items():
        outcome = benchbox_cli(*_cli_args(demo_server.predict_url, tmp_path / "cli" / name, slo))
        cli = result_io.load(tmp_path / "cli" / name / "result.json")
        assert outcome.code == api[name]["exit_code"], outcome.err
        assert cli.verdict == api[name]["verdict"]
        assert [[g.name, g.passed] for g in cli.gates] == api[name]["gates"]
        # The API wrote the same record and reports the CLI does.
        saved = tmp_path / "api" / name
        assert {"result.json", "report.html", "summary.md", "junit.xml"} <= {p.name for p in saved.iterdir()}
        assert result_io.load(saved / "result.json").plan["gates"] == cli.plan["gates"]

    # benchbox.check(result): the failed gates and the report path as the assertion message.
    from benchbox.pytest_plugin import BenchboxRuns

    failed = result_io.load(tmp_path / "api" / "failing" / "result.json")
    with pytest.raises(AssertionError) as raised:
        BenchboxRuns.check(failed)
    assert "benchbox verdict: FAIL" in str(raised.value) and "[FAIL] p50:" in str(raised.value)
    assert f"report: {tmp_path / 'api' / 'failing' / 'report.html'}" in str(raised.value)

    # Saved compare: the API's Comparison and the CLI's compare.json agree, gate by gate.
    pair = (tmp_path / "api" / "passing" / "result.json", tmp_path / "cli" / "passing" / "result.json")
    comparison = benchbox.compare(*pair, max_regression={"p95": "10%"}, out=str(tmp_path / "cmp-api"))
    outcome = benchbox_cli(
        "compare", *map(str, pair), "--max-regression", "p95=10%", "--out", str(tmp_path / "cmp-cli")
    )
    cli_doc = json.loads((tmp_path / "cmp-cli" / "compare.json").read_text())
    assert outcome.code == (0 if comparison.passed else 1)
    assert comparison.verdict == cli_doc["verdict"]
    assert [[g.name, g.passed] for g in comparison.gates] == [[g["name"], g["passed"]] for g in cli_doc["gates"]]
    assert (tmp_path / "cmp-api" / "report.html").is_file()


@pytest.mark.parametrize(
    "options,flag_args",
    [
        ({"rate": "abc"}, ["--rate", "abc"]),
        ({"rate": -3}, ["--rate", "-3"]),
        ({"slo": {"p95": "fast"}}, ["--slo", "p95=fast"]),
        ({"slo": ["p95<200ms"]}, ["--slo", "p95<200ms"]),
        ({"skip": ["contract", "bogus"]}, ["--skip", "contract,bogus"]),
        ({"duration": "10 parsecs"}, ["--duration", "10 parsecs"]),
    ],
)
def test_a_bad_value_raises_the_clis_one_line_message(benchbox_cli, tmp_path, options, flag_args):
    target = "http://127.0.0.1:9/predict"  # never reached: validation comes first
    with pytest.raises(UsageError) as raised:
        benchbox.run(target=target, out=str(tmp_path / "api"), **options)
    outcome = benchbox_cli("run", "--target", target, "--out", str(tmp_path / "cli"), *flag_args)
    assert outcome.code == 2 == raised.value.exit_code
    assert outcome.err.strip() == f"benchbox: error: {raised.value.message}"
    assert not (tmp_path / "api").exists()


def test_an_unknown_keyword_names_it_and_the_close_ones():
    with pytest.raises(UsageError, match=r"unknown option 'rte' for benchbox.run\(\): did you mean 'rate'"):
        benchbox.run(target="http://127.0.0.1:9/predict", rte=5)
    with pytest.raises(UsageError, match=r"unknown option 'quiet'"):  # a CLI-only switch
        benchbox.smoke(target="http://127.0.0.1:9/predict", quiet=True)
    with pytest.raises(UsageError, match=r"bad --insecure 'yes': expected True or False"):
        benchbox.run(target="http://127.0.0.1:9/predict", insecure="yes")
    # benchbox.compare is also the package benchbox.compare: callable as the API's compare even
    # after its modules are imported (which makes the package the attribute of benchbox).
    importlib.import_module("benchbox.compare.options")

    with pytest.raises(UsageError, match=r"missing --candidate: expected two result files"):
        benchbox.compare(baseline="http://127.0.0.1:9/predict")


def test_import_benchbox_stays_light():
    code = (
        "import sys, benchbox, benchbox.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('benchbox') or m in "
        "('locust', 'gevent', 'hypothesis', 'jinja2', 'httpx', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().replace("'", '"'))
    assert loaded == ["benchbox", "benchbox.pytest_plugin", "benchbox.version"]  # version.py: one constant


USER_TESTS = """
import json
import pytest

TARGET, BODY = {target!r}, json.loads({body!r})
QUICK = {quick!r}

@pytest.mark.benchbox
def test_ready(benchbox):
    result = benchbox.run(target=TARGET, body=BODY, slo={{"p99": "2s"}}, **QUICK)
    benchbox.check(result)
    assert result.passed

@pytest.mark.benchbox
def test_too_slow(benchbox):
    result = benchbox.run(target=TARGET, body=BODY, slo={{"p50": "0.1ms"}}, **QUICK)
    assert result.passed

@pytest.mark.benchbox
def test_versus(benchbox, pytestconfig):
    kept = pytestconfig.getoption("--benchbox-out")
    comparison = benchbox.compare(f"{{kept}}/test_ready/result.json", f"{{kept}}/test_too_slow/result.json",
                                  max_regression="none")
    assert comparison.passed

def test_not_an_acceptance_test():  # left out by -m benchbox
    assert False
"""


def test_the_pytest_plugin_runs_reports_and_records(demo_server, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")  # its own rootdir: none of benchbox's settings
    (project / "test_release.py").write_text(
        USER_TESTS.format(target=demo_server.predict_url, body=DEMO_BODY, quick=QUICK)
    )
    kept, junit = tmp_path / "kept", tmp_path / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-m",
            "benchbox",
            "--benchbox-out",
            str(kept),
            f"--junitxml={junit}",
            "test_release.py",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test failed, through the entry point's fixture
    assert "1 failed, 2 passed, 1 deselected" in done.stdout, done.stdout
    ready, slow = kept / "test_ready", kept / "test_too_slow"
    assert result_io.load(ready / "result.json").verdict == "pass"
    assert result_io.load(slow / "result.json").verdict == "fail"
    failure = done.stdout[done.stdout.index("test_too_slow") :]
    # The assertion itself names the report, and so does the benchbox section of the failure.
    assert f"failed=[p50], report='{slow / 'report.html'}'" in failure, failure
    assert f"report: {slow / 'report.html'}" in failure
    assert str(ready / "report.html") not in failure
    assert "PytestWarning" not in done.stdout

    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    props = {name: {p.get("name"): p.get("value") for p in case.iter("property")} for name, case in cases.items()}
    saved = result_io.load(ready / "result.json").main_phase
    assert saved is not None and saved.latency_ms is not None
    assert props["test_ready"]["benchbox.verdict"] == "pass"
    assert props["test_too_slow"]["benchbox.verdict"] == "fail"
    assert float(props["test_ready"]["benchbox.p95_ms"]) == pytest.approx(saved.latency_ms.p95, abs=1e-3)
    assert float(props["test_ready"]["benchbox.throughput_rps"]) == pytest.approx(saved.throughput_rps, abs=1e-3)
    assert {"benchbox.p50_ms", "benchbox.p99_ms", "benchbox.error_rate", "benchbox.report"} <= set(props["test_ready"])
    assert props["test_versus"] == {"benchbox.compare.verdict": "pass"}
    assert (kept / "test_versus" / "compare.json").is_file() and (kept / "test_versus" / "report.html").is_file()
