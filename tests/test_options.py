"""The one option table (benchbox.options) is what every command, the config check and the
recorded plan are built from: each test here reads the real click commands, the real config
reader and the real `--dry-run` output, and compares them with the table."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import click
import pytest

from benchbox.cli import cli, main
from benchbox.errors import ConfigError, ExitCode
from benchbox.option_kinds import JSON
from benchbox.options import BY_NAME, COMMANDS, CONFIG_KEYS, OPTIONS, for_command
from benchbox.plan import REDACTED, build_plan, read_config

TARGET = "http://127.0.0.1:9/predict"


def invoke(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(list(argv))
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchbox: error: ") and "Traceback" not in err, err
    return lines[0]


def click_options(command: str) -> dict[str, click.Option]:
    params = cli.commands[command].params
    return {p.name: p for p in params if isinstance(p, click.Option) and p.name != "help"}


# -- (a) the commands take exactly the options the table gives them ----------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_takes_exactly_its_options_from_the_table(command: str) -> None:
    declared = click_options(command)
    assert set(declared) == {o.name for o in for_command(command)}
    for option in OPTIONS:
        if command not in option.commands:
            assert option.name not in declared, (option.name, command)
            continue
        param = declared[option.name]
        spelled = [*param.opts, *param.secondary_opts]
        assert option.flag in spelled and (option.short is None or option.short in spelled), spelled
        assert param.help == option.help_of(command)
        assert param.multiple == option.multiple and param.required == option.required
        assert param.is_flag == (option.kind != "value"), option.name


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_lists_its_flags(command: str) -> None:
    code, out, err = invoke(command, "--help")
    assert code == 0, err
    for option in for_command(command):
        assert option.flag in out, (command, option.flag)


def test_compare_takes_the_brakes_and_a_config_file() -> None:
    """#16 item 2: live compare is braked like run, and reads benchbox.toml like run."""
    names = set(click_options("compare"))
    assert {"max_rps", "max_concurrency", "abort_on", "max_body", "insecure", "config"} <= names


def test_flags_are_spelled_once() -> None:
    names = [o.name for o in OPTIONS]
    assert len(names) == len(set(names))
    keys = [o.toml_key for o in OPTIONS if o.toml_key]
    assert len(keys) == len(set(keys))


def test_the_smoke_profile_speaks_the_tables_keys() -> None:
    """smoke layers its profile as a config file would: every key must be one the table knows."""
    from benchbox.cli import SMOKE_PROFILE

    assert set(SMOKE_PROFILE) <= CONFIG_KEYS


# -- (b) the config check follows the table ------------------------------------------------------


def _valid_toml(key: str) -> str:
    option = next(o for o in OPTIONS if o.toml_key == key)
    if option.example:
        return option.example
    return {"true or false": "true"}.get(option.shape.expected, '"x"')


def test_the_config_check_accepts_every_key_in_the_table(tmp_path: Path) -> None:
    config = tmp_path / "all.toml"
    config.write_text("\n".join(f"{key} = {_valid_toml(key)}" for key in sorted(CONFIG_KEYS)), encoding="utf-8")
    data = read_config(config)
    assert {k for k in data if not k.startswith("_")} == CONFIG_KEYS
    assert {"target", "headers", "rate", "max_rps", "abort_on", "eval", "gate", "canary", "window"} <= CONFIG_KEYS
    assert not CONFIG_KEYS & {"dry_run", "quiet", "config", "serve", "master"}  # not settings of a run


@pytest.mark.parametrize(
    "key", sorted(k for k in CONFIG_KEYS if next(o for o in OPTIONS if o.toml_key == k).shape != JSON)
)
def test_a_key_of_the_wrong_shape_is_one_line_naming_it(tmp_path: Path, key: str) -> None:
    config = tmp_path / "bad.toml"
    first = "" if key == "target" else f'target = "{TARGET}"\n'
    config.write_text(f"{first}{key} = {{nested = {{deep = 1}}}}\n", encoding="utf-8")
    line = one_line_error(*invoke("run", "--config", str(config), "--dry-run")[::2])
    assert f"key {key!r} is dict" in line and "expected" in line


@pytest.mark.parametrize("command,args", [("run", ("--dry-run",)), ("compare", ("a.json", "b.json"))])
def test_an_unknown_key_is_one_line_naming_it(tmp_path: Path, command: str, args: tuple[str, ...]) -> None:
    config = tmp_path / "typo.toml"
    config.write_text(f'target = "{TARGET}"\nmax_rsp = 5\n', encoding="utf-8")
    line = one_line_error(*invoke(command, "--config", str(config), *args)[::2])
    assert "unknown key 'max_rsp'" in line and "max_rps" in line
    with pytest.raises(ConfigError, match="unknown key 'max_rsp'"):
        read_config(config)


def test_a_config_key_reaches_the_plan_like_its_flag(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'target = "{TARGET}"\nmax_rps = 7\nhealth_paths = ["/up"]\ninsecure = true\n'
        'abort_on = "off"\nconnections = 3\n',
        encoding="utf-8",
    )
    code, out, err = invoke("run", "--config", str(config), "--dry-run", "--out", str(tmp_path / "o"))
    assert code == 0, err
    plan = json.loads(out)
    assert plan["brakes"] == {"max_rps": 7.0, "max_concurrency": None, "abort_on": "off"}
    assert plan["probes"]["health_paths"] == ["/up"] and plan["insecure"] is True
    assert plan["load"]["connections"] == 3 and plan["config"] == str(config)


def test_compare_sides_carry_the_brakes_from_flags_and_config(tmp_path: Path) -> None:
    from benchbox.compare.options import build_request

    config = tmp_path / "c.toml"
    config.write_text('max_concurrency = 3\nwindow = "1s"\nskip = ["shadow"]\nsteps = [1, 2]\n', encoding="utf-8")
    flags = {
        "baseline": "http://127.0.0.1:1/p",
        "candidate": "http://127.0.0.1:2/p",
        "max_rps": "5",
        "abort_on": "errors=50%",
        "max_body": "1MiB",
        "insecure": True,
        "config": str(config),
        "out": str(tmp_path / "o"),
    }
    request = build_request((), flags)
    for side in (request.baseline, request.candidate):
        assert side is not None
        assert (side.brakes.max_rps, side.brakes.max_concurrency, side.brakes.abort_error_rate) == (5.0, 3, 0.5)
        assert side.request.max_body_bytes == 1024 * 1024 and side.insecure and side.request.insecure
        assert side.load.steps == ()  # a run-only key of a shared file is not compare's
    assert request.live.window_s == 1.0 and not request.live.shadow


@pytest.mark.parametrize(
    "flag,value",
    [("--max-rps", "fast"), ("--max-concurrency", "0"), ("--abort-on", "sometimes"), ("--max-body", "huge")],
)
def test_a_bad_brake_on_compare_is_one_line_before_any_request(tmp_path: Path, flag: str, value: str) -> None:
    # Ports 1 and 2: nothing listens, so a request sent before the check would be exit 3, not 2.
    code, _, err = invoke(
        "compare",
        "--baseline",
        "http://127.0.0.1:1/p",
        "--candidate",
        "http://127.0.0.1:2/p",
        flag,
        value,
        "--out",
        str(tmp_path / "o"),
    )
    assert f"bad {flag} '{value}'" in one_line_error(code, err)


# -- (c) secrets never reach the recorded plan ------------------------------------------------

SECRET_OPTIONS = [o for o in OPTIONS if o.secret]


def test_the_table_marks_the_chat_secrets() -> None:
    assert {o.name for o in SECRET_OPTIONS} == {"system_prompt", "canary"}


@pytest.mark.parametrize("option", SECRET_OPTIONS, ids=lambda o: o.name)
def test_a_secret_option_is_never_in_dry_run_or_the_redacted_plan(tmp_path: Path, option) -> None:
    secret = "Zq9SecretWord"
    code, out, err = invoke("run", "--target", TARGET, "--dry-run", "--out", str(tmp_path / "o"), option.flag, secret)
    assert code == 0, err
    assert secret not in out + err
    shown = json.loads(out)
    for part in option.record.split("."):
        shown = shown[part]
    assert shown == REDACTED
    config = tmp_path / "s.toml"
    config.write_text(f'target = "{TARGET}"\n{option.toml_key} = "{secret}"\n', encoding="utf-8")
    code, out, err = invoke("run", "--config", str(config), "--dry-run", "--out", str(tmp_path / "o"))
    assert code == 0 and secret not in out + err, err
    plan = build_plan({"target": TARGET, option.name: secret, "body": '{"messages": []}'}, env={})
    assert secret not in json.dumps(plan.redacted()) and secret not in repr(plan)


def test_credential_headers_and_the_api_key_stay_out_of_dry_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BENCHBOX_TEST_KEY", "Zq9KeyValue")
    code, out, err = invoke(
        "run",
        "--target",
        TARGET,
        "--dry-run",
        "--out",
        str(tmp_path / "o"),
        "--api-key-env",
        "BENCHBOX_TEST_KEY",
        "-H",
        "X-Api-Key: Zq9HeaderValue",
    )
    assert code == 0, err
    assert "Zq9" not in out + err
    assert json.loads(out)["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED}


# -- the help tells the whole pipeline and every exit code -----------------------------------------


def test_run_help_names_every_stage_and_exit_code() -> None:
    code, out, _ = invoke("run", "--help")
    assert code == 0
    text = " ".join(out.split())
    for stage in ("preflight", "contract", "adversarial", "evaluation", "load", "saturation", "gates"):
        assert stage in text
    for exit_code in ExitCode:
        assert f" {int(exit_code)} " in text, exit_code
    assert BY_NAME["dry_run"].help in text
