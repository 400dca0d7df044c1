"""Parsers for the human units on the command line and in benchbox.toml.

Every parser takes the flag name so that its error names both the flag and the bad value.
"""

from __future__ import annotations

import math
import re

from benchbox.errors import bad_value

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s|m|h)?\s*$")
_SCALE_S = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%)?\s*$")


def parse_duration(flag: str, text: str | float | int, *, default_unit: str = "s") -> float:
    """'30s', '500ms', '2m', '1h' or a bare number (in `default_unit`) -> seconds (> 0)."""
    if isinstance(text, bool):
        raise bad_value(flag, text, "a duration like 30s, 500ms or 2m")
    if isinstance(text, (int, float)):
        value = float(text) * _SCALE_S[default_unit]
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise bad_value(flag, text, "a duration like 30s, 500ms or 2m")
        unit = match.group(2) or default_unit
        value = float(match.group(1)) * _SCALE_S[unit]
    if not math.isfinite(value) or value <= 0:
        raise bad_value(flag, text, "a duration greater than zero, like 30s, 500ms or 2m")
    return value


def parse_positive(flag: str, text: str | float | int, *, integer: bool = False) -> float:
    """A number > 0 (a rate, a count); `integer` also demands a whole number."""
    expected = "a whole number > 0" if integer else "a number > 0"
    if isinstance(text, bool):
        raise bad_value(flag, text, expected)
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise bad_value(flag, text, expected) from None
    if not math.isfinite(value) or value <= 0 or (integer and value != int(value)):
        raise bad_value(flag, text, expected)
    return value


def parse_percent(flag: str, text: str | float | int) -> float:
    """'1%', '0.5%' or a bare number of percent -> a fraction in [0, 1]."""
    if isinstance(text, bool):
        raise bad_value(flag, text, "a percentage like 1% or 0.5%")
    match = _PERCENT.match(str(text))
    value = float(match.group(1)) if match else math.nan
    if not match or not 0.0 <= value <= 100.0:
        raise bad_value(flag, text, "a percentage from 0% to 100%, like 1% or 0.5%")
    return value / 100.0


def format_ms(value_ms: float | None) -> str:
    """Latency for people: 0.84 ms, 12.3 ms, 2.41 s."""
    if value_ms is None or not math.isfinite(value_ms):
        return "n/a"
    if value_ms >= 1000.0:
        return f"{value_ms / 1000.0:.2f} s"
    if value_ms >= 100.0:
        return f"{value_ms:.0f} ms"
    if value_ms >= 10.0:
        return f"{value_ms:.1f} ms"
    return f"{value_ms:.2f} ms"
