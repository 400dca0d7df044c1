"""Shape checks for benchbox.toml values and the JSON files flags name, before any request.

TOML gives typed values (a table, a list, a boolean) where a flag gives a string: a key of the
wrong shape is named with the shape expected, instead of failing deep inside a parser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchbox.errors import ConfigError, bad_value

_SCALAR = (str, int, float)
# The TOML shape of each key that is not a plain scalar; a wrong shape is named, not crashed on.
_CONFIG_SHAPES: dict[str, tuple[tuple[type, ...], str]] = {
    "headers": ((dict,), 'a table like headers = {X-Team = "ml"}'),
    "slo": ((dict, list), 'a table like slo = {p95 = "200ms"}'),
    "skip": ((str, list), 'a list like skip = ["saturation"]'),
    "health_paths": ((str, list), 'a list of paths like health_paths = ["/health"]'),
    "ready_paths": ((str, list), 'a list of paths like ready_paths = ["/ready"]'),
    "public_paths": ((str, list), 'a list of paths like public_paths = ["/version"]'),
    "steps": ((str, list), "a list of levels like steps = [10, 20, 40]"),
    "body": ((str, dict, list, int, float, bool), "JSON as TOML, or \"@file.json\""),
    "ramp": ((bool,), "true or false"),
    "gate": ((str, list), 'a list like gate = ["accuracy>=0.9"]'),
    "eval_input": ((str, list), "a column name or a list of them"),
    "eval_slice": ((str, list), "a column name or a list of them"),
    "eval_classes": ((str, list), "a list of class names"),
    "insecure": ((bool,), "true or false"),
    "stream": ((bool,), "true or false"),
}
_BOOLEAN_KEYS = ("ramp", "insecure", "stream", "body")


def check_config_type(path: str, key: str, value: Any) -> None:
    types, expected = _CONFIG_SHAPES.get(key, (_SCALAR, "a string or a number"))
    ok = isinstance(value, types) and (key in _BOOLEAN_KEYS or not isinstance(value, bool))
    if ok and isinstance(value, list) and key != "body":
        ok = all(isinstance(item, _SCALAR) and not isinstance(item, bool) for item in value)
    if ok and isinstance(value, dict) and key != "body":
        ok = all(isinstance(item, _SCALAR) and not isinstance(item, bool) for item in value.values())
    if not ok:
        shown = "" if key in ("headers", "body") else f" {_clip_value(value)}"  # headers may hold a secret
        raise ConfigError(f"bad config {path!r}: key {key!r} is {type(value).__name__}{shown}; "
                          f"expected {expected}")


def _clip_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def check_json_file(flag: str, path: str, expected: str) -> None:
    """Read now, so a missing or broken file fails before any request, not mid-run."""
    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_value(flag, path, f"{expected} ({getattr(exc, 'strerror', None) or exc})") from None
    except json.JSONDecodeError as exc:
        raise bad_value(flag, path, f"{expected} (not JSON: {exc.msg} at line {exc.lineno})") from None
