"""Bad input to benchbox itself: one line naming the problem, exit 2, never a traceback.

Runs the CLI in-process with --dry-run (validate everything, print the plan, send nothing), so a
thousand generated inputs take seconds and no target is ever contacted.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchbox.cli import main

TARGET = "http://127.0.0.1:9/predict"  # port 9 (discard): nothing listens; --dry-run never sends anyway


def invoke(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(list(argv))
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, *names: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchbox: error: "), err
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        "bad.toml": 'target = "http://127.0.0.1:9/x"\nrate = [1, 2\n',
        "unknown.toml": 'target = "http://127.0.0.1:9/x"\nrats = 10\n',
        "typed.toml": 'target = "http://127.0.0.1:9/x"\nheaders = "X-A: b"\n',
        "bad.json": '{"instances": [1, 2,',
        "bad-schema.json": '{"type": 12}',
        "not-json-schema.json": "type: object",
        "syntax_locustfile.py": "from locust import HttpUser\nclass U(HttpUser)\n    pass\n",
        "empty_locustfile.py": "from locust import task\n\ndef helper():\n    return 1\n",
        "a-file": "not a directory",
    }
    for name, text in made.items():
        (tmp_path / name).write_text(text)
    return {name: tmp_path / name for name in made}


@pytest.mark.parametrize(
    "args,names",
    [
        (["--rate", "fast"], ["--rate", "'fast'"]),
        (["--duration", "forever"], ["--duration", "forever"]),
        (["--max-rps", "-3"], ["--max-rps"]),
        (["--max-concurrency", "0"], ["--max-concurrency"]),
        (["--abort-on", "errors=200%"], ["--abort-on", "200%"]),
        (["--abort-on", "whenever"], ["--abort-on", "whenever"]),
        (["--max-body", "4XB"], ["--max-body", "4XB"]),
        (["--body", '{"instances": [1,'], ["--body", "valid JSON"]),
        (["--body", "@does-not-exist.json"], ["--body", "does-not-exist.json"]),
        (["--slo", "p95<2s"], ["p95<2s"]),
        (["--skip", "everything"], ["--skip", "everything"]),
        (["--api-key-env", "BENCHBOX_TEST_SURELY_UNSET"], ["--api-key-env", "BENCHBOX_TEST_SURELY_UNSET"]),
        (["--no-such-flag"], ["--no-such-flag"]),
    ],
)
def test_malformed_flag(args: list[str], names: list[str]) -> None:
    code, _, err = invoke("run", "--target", TARGET, "--dry-run", *args)
    assert_one_line_error(code, err, *names)


@pytest.mark.parametrize(
    "key,names",
    [
        ("bad.toml", ["bad.toml", "TOML"]),
        ("unknown.toml", ["rats"]),
        ("typed.toml", ["headers"]),
    ],
)
def test_malformed_config(files: dict[str, Path], key: str, names: list[str]) -> None:
    code, _, err = invoke("run", "--config", str(files[key]), "--dry-run")
    assert_one_line_error(code, err, *names)


@pytest.mark.parametrize(
    "flag,key,names",
    [
        ("--body", "bad.json", ["bad.json", "valid JSON"]),
        ("--input-schema", "bad-schema.json", ["--input-schema", "bad-schema.json"]),
        ("--output-schema", "not-json-schema.json", ["--output-schema", "not-json-schema.json"]),
        ("--scenario", "syntax_locustfile.py", ["--scenario", "SyntaxError at line 2"]),
        ("--scenario", "empty_locustfile.py", ["--scenario", "no User class"]),
    ],
)
def test_malformed_file(files: dict[str, Path], flag: str, key: str, names: list[str]) -> None:
    value = f"@{files[key]}" if flag == "--body" else str(files[key])
    code, _, err = invoke("run", "--target", TARGET, "--dry-run", flag, value)
    assert_one_line_error(code, err, *names)


@pytest.mark.parametrize("dry", [True, False])
def test_unwritable_out(files: dict[str, Path], dry: bool) -> None:
    """--out under a regular file can be written by nobody, root included; a real run says so
    before it sends anything (the target at port 9 is never contacted: it would be unreachable)."""
    out = files["a-file"] / "reports"
    code, _, err = invoke("run", "--target", TARGET, "--out", str(out), *(["--dry-run"] if dry else []))
    assert_one_line_error(code, err, "--out", str(out))


def test_a_header_without_a_colon_does_not_echo_its_value() -> None:
    code, _, err = invoke("run", "--target", TARGET, "--dry-run", "-H", "Authorization Bearer sk-live-0123456789")
    assert_one_line_error(code, err, "--header")
    assert "sk-live-0123456789" not in err


def test_dry_run_prints_the_validated_plan_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never-made"
    code, stdout, err = invoke(
        "run",
        "--target",
        TARGET,
        "--dry-run",
        "--rate",
        "25",
        "--max-rps",
        "20",
        "--abort-on",
        "errors=50%,after=10s",
        "--out",
        str(out),
        "-H",
        "X-Team: ml",
    )
    assert code == 0, err
    plan = json.loads(stdout)
    assert plan["target"] == TARGET and plan["load"]["rate"] == 25.0
    assert plan["brakes"] == {"max_rps": 20.0, "max_concurrency": None, "abort_on": "errors >= 50% after 10s"}
    assert plan["headers"]["X-Team"] == "ml"
    assert not out.exists()


# -- generated bad input -----------------------------------------------------------------------

FLAGS = [
    "--target",
    "--body",
    "--method",
    "-H",
    "--api-key-env",
    "--rate",
    "--users",
    "--arrival",
    "--duration",
    "--timeout",
    "--connections",
    "--steps",
    "--step-duration",
    "--scenario",
    "--workers",
    "--expect-workers",
    "--master-bind",
    "--master-port",
    "--slo",
    "--skip",
    "--openapi",
    "--input-schema",
    "--output-schema",
    "--protocol",
    "--contract-cases",
    "--tolerance",
    "--accept",
    "--write-accept",
    "--saturation-budget",
    "--adversarial-budget",
    "--adversarial-cases",
    "--expect-rate-limit",
    "--health-path",
    "--ready-path",
    "--ready-timeout",
    "--out",
    "--label",
    "--seed",
    "--max-rps",
    "--max-concurrency",
    "--abort-on",
    "--max-body",
    "--config",
    "--eval",
    "--gate",
    "--eval-input",
    "--eval-label",
    "--eval-slice",
    "--eval-task",
    "--eval-classes",
]
CONFIG_KEYS = [
    "target",
    "method",
    "body",
    "headers",
    "api_key_env",
    "rate",
    "users",
    "arrival",
    "duration",
    "timeout",
    "connections",
    "slo",
    "skip",
    "label",
    "seed",
    "health_paths",
    "ready_paths",
    "ready_timeout",
    "ramp",
    "steps",
    "step_duration",
    "scenario",
    "workers",
    "protocol",
    "contract_cases",
    "tolerance",
    "adversarial_budget",
    "adversarial_cases",
    "expect_rate_limit",
    "saturation_budget",
    "insecure",
    "max_rps",
    "max_concurrency",
    "abort_on",
    "max_body",
    "eval",
    "gate",
    "eval_task",
    "eval_classes",
    "bogus",
]

# Values that look almost right, plus arbitrary text (NUL bytes, odd unicode, huge numbers).
tricky = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1e309",
        "nan",
        "inf",
        "10%",
        "200%",
        "5s",
        "-5s",
        "0s",
        "1e-9",
        "@",
        "@/",
        "@/dev/null",
        "@nope.jsonl",
        "{",
        "[]",
        "null",
        "true",
        "http://",
        "ftp://x",
        "http://[::1",
        "http://h:99999/",
        "x=1",
        "p95=",
        "errors=abc",
        ",",
        "load,",
        "a:b",
        ": v",
        "Name:",
        "/",
        "//",
        "\x00",
        "ß" * 3,
        "1" * 400,
        "errors=20%,after=0s",
    ]
)
value = st.one_of(
    tricky, st.text(max_size=30), st.integers(-(10**20), 10**20).map(str), st.floats(allow_nan=True).map(repr)
)
flag_args = st.lists(st.tuples(st.sampled_from(FLAGS), value), min_size=1, max_size=4)
toml_value = st.one_of(
    value.map(json.dumps),
    st.integers().map(str),
    st.booleans().map(str).map(str.lower),
    st.just("[1, 2]"),
    st.just("{a = 1}"),
    st.just("[[x]]"),
    st.text(max_size=15),
)
config_text = st.one_of(
    st.lists(st.tuples(st.sampled_from(CONFIG_KEYS), toml_value), max_size=5).map(
        lambda kv: "\n".join(f"{k} = {v}" for k, v in kv)
    ),
    st.text(max_size=80),
)


@settings(
    max_examples=800,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(pairs=flag_args)
def test_generated_bad_flags_never_give_a_traceback(pairs: list[tuple[str, str]]) -> None:
    argv = ["run", "--dry-run"] + (["--target", TARGET] if all(f != "--target" for f, _ in pairs) else [])
    for flag, val in pairs:
        argv += [flag, val]
    code, _, err = invoke(*argv)
    assert code in (0, 2), err
    if code == 2:
        assert_one_line_error(code, err)


@settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=config_text)
def test_generated_bad_config_never_gives_a_traceback(tmp_path: Path, text: str) -> None:
    config = tmp_path / "benchbox.toml"
    config.write_text(f'target = "{TARGET}"\n' + text, encoding="utf-8", errors="surrogatepass")
    code, _, err = invoke("run", "--config", str(config), "--dry-run", "--out", str(tmp_path / "out"))
    assert code in (0, 2), err
    if code == 2:
        assert_one_line_error(code, err)


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BENCHBOX_TEST_SURELY_UNSET", raising=False)
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path)))
    monkeypatch.chdir(tmp_path)  # relative --out / --body paths land in the test's own directory
