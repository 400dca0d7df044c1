"""Reading the labelled set: JSONL or CSV, every row accounted for.

Read with the standard library's `json` and `csv` (maintained, exact, no type guessing): pandas
would coerce a mistyped cell to NaN or skip a short row on request, and a row that quietly vanishes
from a held-out set changes the figure it is judged by. Here a bad row stops the run before any
request is sent, with one line naming the file, the line and what was expected there.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbox.errors import UsageError

DEFAULT_INPUT = "input"


@dataclass(frozen=True)
class EvalRow:
    """One labelled example. Either `body` (sent as is) or `features` (one instance, shaped for
    the endpoint's protocol by the runner) is set."""

    line: int
    label: str | float
    body: Any = None
    features: tuple[float, ...] | None = None
    slices: tuple[tuple[str, str], ...] = ()

    def input_text(self) -> str:
        """The input as a reader of the report would want to see it."""
        shown = self.body if self.features is None else list(self.features)
        return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def read_set(
    path: str | Path, input_columns: tuple[str, ...], label: str, slices: tuple[str, ...], regression: bool = False
) -> tuple[EvalRow, ...]:
    """Every row of the file, or a UsageError naming the first bad line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM from a spreadsheet export is not a column name
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"bad --eval {str(p)!r}: expected a readable UTF-8 .jsonl or .csv file "
            f"({getattr(exc, 'strerror', None) or exc})"
        ) from None
    suffix = p.suffix.lower()
    if suffix not in (".jsonl", ".ndjson", ".csv"):
        raise UsageError(f"bad --eval {str(p)!r}: expected a .jsonl (one JSON object per line) or .csv file")
    records = _csv_records(p, text) if suffix == ".csv" else _jsonl_records(p, text)
    rows = tuple(
        _row(p, line, record, input_columns, label, slices, suffix == ".csv", regression) for line, record in records
    )
    if not rows:
        raise UsageError(f"bad --eval {str(p)!r}: expected at least one labelled row, found none")
    return rows


def _jsonl_records(p: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _bad(
                p, line, f"expected one JSON object per line (not JSON: {exc.msg} at column {exc.colno})"
            ) from None
        if not isinstance(record, dict):
            raise _bad(p, line, f"expected a JSON object per line, got {type(record).__name__}")
        yield line, record


def _csv_records(p: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(text.splitlines(keepends=True), strict=True)
    try:
        if not reader.fieldnames:
            raise UsageError(f"bad --eval {str(p)!r}: expected a header row naming the columns")
        for record in reader:
            line = reader.line_num
            if None in record:
                raise _bad(p, line, f"expected {len(reader.fieldnames)} columns as in the header, got more")
            missing = [k for k, v in record.items() if v is None]
            if missing:
                raise _bad(
                    p,
                    line,
                    f"expected {len(reader.fieldnames)} columns as in the header, "
                    f"got {len(reader.fieldnames) - len(missing)}",
                )
            if not any(v.strip() for v in record.values()):
                continue  # a blank line inside a CSV is no row
            yield line, record
    except csv.Error as exc:
        raise _bad(p, reader.line_num, f"expected well-formed CSV ({exc})") from None


def _row(
    p: Path,
    line: int,
    record: Mapping[str, Any],
    input_columns: tuple[str, ...],
    label: str,
    slices: tuple[str, ...],
    is_csv: bool,
    regression: bool,
) -> EvalRow:
    def get(column: str, flag: str) -> Any:
        if column not in record:
            raise _bad(p, line, f"expected a column {column!r} ({flag}); the row has {', '.join(map(repr, record))}")
        return record[column]

    expected = get(label, "--eval-label")
    if expected is None or (isinstance(expected, str) and not expected.strip()) or isinstance(expected, (dict, list)):
        raise _bad(p, line, f"expected a label or value in column {label!r}, got {_show(expected)}")
    if regression:
        number = _number(expected)
        if number is None:
            raise _bad(p, line, f"expected a number in column {label!r} (regression), got {_show(expected)}")
        expected = number
    else:
        expected = _label_text(expected)
    sliced = []
    for column in slices:
        value = get(column, "--eval-slice")
        if value is None or isinstance(value, (dict, list)) or (isinstance(value, str) and not value.strip()):
            raise _bad(p, line, f"expected a slice value in column {column!r}, got {_show(value)}")
        sliced.append((column, _label_text(value)))
    body, features = _input(p, line, record, input_columns, is_csv, get)
    return EvalRow(line=line, label=expected, body=body, features=features, slices=tuple(sliced))


def _input(
    p: Path, line: int, record: Mapping[str, Any], columns: tuple[str, ...], is_csv: bool, get: Any
) -> tuple[Any, tuple[float, ...] | None]:
    """One column holding a JSON body, or feature columns making one instance."""
    if len(columns) <= 1:
        column = columns[0] if columns else DEFAULT_INPUT
        flag = "--eval-input" if columns else "--eval-input (default 'input')"
        value = get(column, flag)
        if is_csv and isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise _bad(p, line, f"expected JSON in column {column!r} ({exc.msg} at column {exc.colno})") from None
        if isinstance(value, dict):
            return value, None
        values = value if isinstance(value, list) else [value]
        return None, _features(p, line, [(column, v) for v in values])
    return None, _features(p, line, [(c, get(c, "--eval-input")) for c in columns])


def _features(p: Path, line: int, cells: list[tuple[str, Any]]) -> tuple[float, ...]:
    out = []
    for column, value in cells:
        number = _number(value)
        if number is None:
            raise _bad(p, line, f"expected a finite number in column {column!r}, got {_show(value)}")
        out.append(number)
    return tuple(out)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _label_text(value: Any) -> str:
    """Labels compare as text: 1 in a JSONL file and "1" in a CSV are the same class."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _bad(p: Path, line: int, expected: str) -> UsageError:
    return UsageError(f"bad --eval {str(p)!r} line {line}: {expected}")
