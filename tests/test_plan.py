"""The Plan: flags over benchbox.toml over defaults, and one-line errors for bad values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchbox.errors import ConfigError, UsageError
from benchbox.plan import DEFAULT_RATE, REDACTED, build_plan, read_config

TARGET = "http://127.0.0.1:9/predict"


def plan(**flags):
    return build_plan({"target": TARGET, **flags}, env={"MY_KEY": "s3cr3t-value"})


def test_defaults_are_open_loop_at_the_documented_rate():
    p = plan()
    assert p.load.mode == "open" and p.load.rate == DEFAULT_RATE and p.load.duration_s == 20.0
    assert p.request.method == "GET" and p.request.bodies == ()
    assert [g.name for g in p.gates] == ["p95", "errors"]
    assert p.gates[0].threshold == 2000.0 and p.gates[1].threshold == pytest.approx(0.01)


def test_body_makes_a_json_post_and_jsonl_gives_one_body_per_line(tmp_path: Path):
    f = tmp_path / "bodies.jsonl"
    f.write_text('{"a": 1}\n\n{"a": 2}\n')
    p = plan(body=f"@{f}")
    assert p.request.method == "POST"
    assert p.request.bodies == ('{"a":1}', '{"a":2}')
    assert ("Content-Type", "application/json") in p.request.headers


def test_bad_jsonl_line_is_named(tmp_path: Path):
    f = tmp_path / "b.jsonl"
    f.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(UsageError, match="line 2"):
        plan(body=f"@{f}")


def test_users_mean_closed_loop_and_exclude_rate():
    assert plan(users="4").load.mode == "closed"
    with pytest.raises(UsageError, match="--rate .* --users"):
        plan(users="4", rate="10")


@pytest.mark.parametrize(
    "flag,value,fragment",
    [
        ("rate", "0", "--rate '0'"),
        ("rate", "fast", "--rate 'fast'"),
        ("users", "2.5", "--users '2.5'"),
        ("duration", "10 parsecs", "--duration"),
        ("timeout", "0s", "--timeout"),
        ("arrival", "bursty", "--arrival"),
        ("method", "FETCH", "--method"),
        ("seed", "-1", "--seed"),
        ("skip", "warmup", "--skip 'warmup'"),
    ],
)
def test_bad_values_name_the_flag_and_the_value(flag, value, fragment):
    with pytest.raises(UsageError) as err:
        plan(**{flag: value})
    assert fragment in str(err.value) and "expected" in str(err.value)
    assert "\n" not in str(err.value)


def test_api_key_is_sent_but_never_recorded():
    p = plan(api_key_env="MY_KEY", header=("X-Team: ml", "X-Api-Key: other-secret"))
    assert ("Authorization", "Bearer s3cr3t-value") in p.request.headers
    recorded = json.dumps(p.redacted())
    assert "s3cr3t-value" not in recorded and "other-secret" not in recorded
    assert p.redacted()["headers"]["Authorization"] == REDACTED
    assert p.redacted()["headers"]["X-Team"] == "ml"
    assert "s3cr3t" not in repr(p.redacted())


def test_config_file_is_layered_under_flags(tmp_path: Path):
    cfg = tmp_path / "benchbox.toml"
    cfg.write_text(
        'target = "http://127.0.0.1:9/x"\nrate = 25\nduration = "5s"\nbody = {instances = [[1, 2]]}\n'
        'skip = ["saturation"]\n[slo]\np99 = "300ms"\nerrors = "2%"\n[headers]\nX-Team = "ml"\n'
    )
    p = build_plan({"duration": "7s", "slo": ("p99=250ms",)}, read_config(cfg), env={})
    assert p.target == "http://127.0.0.1:9/x" and p.load.rate == 25 and p.load.duration_s == 7.0
    assert p.request.bodies == ('{"instances":[[1,2]]}',)
    gates = {g.name: g.threshold for g in p.gates}
    assert gates == {"p95": 2000.0, "errors": pytest.approx(0.02), "p99": 250.0}
    assert p.skip == frozenset({"saturation"})
    assert ("X-Team", "ml") in p.request.headers
    # --users on the command line switches a config's open loop to closed loop.
    assert build_plan({"users": "3"}, read_config(cfg), env={}).load.mode == "closed"


def test_config_rejects_unknown_keys_and_bad_toml(tmp_path: Path):
    cfg = tmp_path / "benchbox.toml"
    cfg.write_text('target = "http://x"\nrat = 5\n')
    with pytest.raises(ConfigError, match="unknown key 'rat'"):
        read_config(cfg)
    cfg.write_text("target = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config(cfg)


def test_out_dir_defaults_to_timestamp_and_label():
    p = plan(label="my model/v2")
    assert p.label == "my-model-v2"
    assert p.out_dir.parent == Path("reports") and p.out_dir.name.endswith("-my-model-v2")
