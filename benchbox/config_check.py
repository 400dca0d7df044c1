"""Shape checks for benchbox.toml values and the JSON files flags name, before any request.

TOML gives typed values (a table, a list, a boolean) where a flag gives a string: a key of the
wrong shape is named with the shape expected, instead of failing deep inside a parser.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchbox.errors import ConfigError, bad_value
from benchbox.options import check_keys, option_for_key


def check_config(path: str, data: dict[str, Any]) -> None:
    """Every key known to the option table (benchbox.options), each of the shape it declares."""
    check_keys(path, data)
    for key, value in data.items():
        check_config_type(path, key, value)


def check_config_type(path: str, key: str, value: Any) -> None:
    option = option_for_key(key)
    if option is None:
        check_keys(path, [key])
        return
    shape = option.shape
    if not shape.fits(value):
        expected = shape.expected + (f" like {key} = {option.example}" if option.example else "")
        shown = f" {_clip_value(value)}" if shape.echo and not option.secret else ""  # it may hold a secret
        raise ConfigError(f"bad config {path!r}: key {key!r} is {type(value).__name__}{shown}; expected {expected}")


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
