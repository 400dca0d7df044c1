"""The kinds of value an option takes: its TOML shape and its parser (for benchbox.options).

A parser takes the flag's spelling and the raw value (a string from the command line, or a typed
TOML value) and returns the value, or raises a one-line UsageError naming both. Parsers that need
a heavier module import it when called, so that reading the option table stays instant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchbox.errors import bad_value

Parser = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Shape:
    """What a benchbox.toml key may hold. TOML gives typed values where a flag gives a string: a
    key of the wrong shape is named with the shape expected, instead of failing deep in a parser."""

    types: tuple[type, ...]
    expected: str
    booleans: bool = False  # True and False are values of this shape (bool is an int in Python)
    scalar_items: bool = True  # a list's items or a table's values must be plain strings or numbers
    echo: bool = True  # a wrong value may be quoted in the error (not for headers or bodies: secrets)

    def fits(self, value: Any) -> bool:
        ok = isinstance(value, self.types) and (self.booleans or not isinstance(value, bool))
        if ok and self.scalar_items and isinstance(value, (list, dict)):
            items = value.values() if isinstance(value, dict) else value
            ok = all(isinstance(item, (str, int, float)) and not isinstance(item, bool) for item in items)
        return ok


SCALAR = Shape((str, int, float), "a string or a number")
BOOL = Shape((bool,), "true or false", booleans=True)
LIST = Shape((str, list), "a list")
TABLE = Shape((dict,), "a table", echo=False)
TABLE_OR_LIST = Shape((dict, list), "a table")
JSON = Shape(
    (str, dict, list, int, float, bool), 'JSON as TOML, or "@file.json"', booleans=True, scalar_items=False, echo=False
)


def duration(flag: str, value: Any) -> float:
    from benchbox.units import parse_duration

    return parse_duration(flag, value)


def positive(flag: str, value: Any) -> float:
    from benchbox.units import parse_positive

    return parse_positive(flag, value)


def count(flag: str, value: Any) -> int:
    from benchbox.units import parse_positive

    return int(parse_positive(flag, value, integer=True))


def counts(flag: str, value: Any) -> tuple[int, ...]:
    """A list of counts: "1,8,32" on the command line, [1, 8, 32] in a config."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        out = tuple(int(str(v).strip()) for v in items)
    except (TypeError, ValueError):
        out = ()
    if not out or any(n < 1 for n in out):
        raise bad_value(flag, value, "counts of at least 1, comma-separated, like 1,8,32")
    return out


def count_or_zero(flag: str, value: Any) -> int:
    """A count where 0 means 'none' (--workers 0)."""
    return 0 if value in (0, "0") else count(flag, value)


def port(flag: str, value: Any) -> int:
    """0 (pick a free one) or a port number."""
    n = count_or_zero(flag, value)
    if n > 65535:
        raise bad_value(flag, value, "a port number from 1 to 65535")
    return n


def boolean(flag: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_value(flag, value, "true or false")
    return value


def choice(*values: str) -> Parser:
    """One of `values`, any case: 'auto, json or kserve-v2' in the error."""
    expected = f"{', '.join(values[:-1])} or {values[-1]}"

    def parse(flag: str, value: Any) -> str:
        text = str(value).lower()
        if text not in values:
            raise bad_value(flag, text, expected)
        return text

    return parse


def optional(parser: Parser) -> Parser:
    """None stays None (no limit, no promise); anything else goes through `parser`."""
    return lambda flag, value: None if value is None else parser(flag, value)


def tolerance(flag: str, value: Any) -> float:
    try:
        tol = float(value)
    except (TypeError, ValueError):
        tol = -1.0
    if not 0 <= tol < 1:
        raise bad_value(flag, value, "a relative tolerance from 0 to 1, like 1e-6")
    return tol


def seed(flag: str, value: Any) -> int:
    """None draws a seed (recorded, so any run can be repeated)."""
    from benchbox.flags import seed as parse_seed

    return parse_seed(value)


def size(flag: str, value: Any) -> int:
    from benchbox.flags import size as parse_size

    return parse_size(flag, value, 0)


def abort_on(flag: str, value: Any) -> tuple[float | None, float]:
    """The abort rule as (error share or None for off, grace in seconds); None is the default."""
    from benchbox.brakes import parse_abort_on

    return parse_abort_on(value)


def slow_input(flag: str, value: Any) -> tuple[float, float]:
    """`10x,500ms` (either order) -> (factor, min ms): when one input counts as slow."""
    from benchbox.errors import UsageError
    from benchbox.units import parse_duration

    expected = "FACTORx,DURATION like 10x,500ms (one input this many times the median and at least that long)"
    if isinstance(value, tuple):  # the table's default, already parsed
        return value
    factor, min_ms = 10.0, 500.0
    parts = [p.strip() for p in str(value).split(",") if p.strip()]
    if not 1 <= len(parts) <= 2:
        raise bad_value(flag, value, expected)
    for part in parts:
        if part.lower().endswith("x"):
            try:
                factor = float(part[:-1])
            except ValueError:
                raise bad_value(flag, value, expected) from None
            if not 1 <= factor < float("inf"):
                raise bad_value(flag, value, expected)
        else:
            try:
                min_ms = parse_duration(flag, part) * 1000
            except UsageError:
                raise bad_value(flag, value, expected) from None
    return factor, min_ms
