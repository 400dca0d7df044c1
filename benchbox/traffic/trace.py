"""Reading a trace: one request a line, with its offset or timestamp, optionally its route,
method, body and class. JSONL, CSV, nginx/Apache combined (or common) access logs and JSON
access logs all come out as the same TraceLines, sorted by offset from the trace's start.

Every line is checked here, in the parent, before anything is sent: a bad line is one error
naming the file, the line and the field (exit 2); a file with no usable line is an error too.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchbox.errors import UsageError
from benchbox.units import parse_duration

TIME_KEYS = (
    "offset",
    "offset_s",
    "t",
    "offset_ms",
    "timestamp",
    "time",
    "ts",
    "@timestamp",
    "time_local",
    "time_iso8601",
    "msec",
)
ROUTE_KEYS = ("route", "path", "uri", "request_uri", "url")
METHOD_KEYS = ("method", "request_method")
CLASS_KEYS = ("class", "name")
SIZE_KEYS = ("batch_size", "size")
# nginx/Apache "combined" (and "common": the referer and agent are optional).
_ACCESS = re.compile(r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}|-) \S+')
_CLF_TIME = "%d/%b/%Y:%H:%M:%S %z"


@dataclass(frozen=True)
class TraceLine:
    offset_s: float
    line: int
    route: str | None = None  # path and query
    method: str | None = None
    body: str | None = None
    name: str | None = None  # the class the line names
    size: int | None = None  # batch size the line names


@dataclass(frozen=True)
class Trace:
    path: str
    format: str  # jsonl | csv | access-log | json-access-log
    lines: tuple[TraceLine, ...]

    @property
    def span_s(self) -> float:
        """First line to last, plus one mean gap: a looped trace keeps its rhythm at the seam."""
        if len(self.lines) < 2:
            return 1.0
        width = self.lines[-1].offset_s - self.lines[0].offset_s
        return width + (width / (len(self.lines) - 1) if width > 0 else 1.0)


class TraceError(UsageError):
    """A trace line that cannot be replayed."""


def parse_window(flag: str, text: str) -> tuple[float, float | None]:
    """'30s..90s', '..60s', '2m..' -> (start, end) in seconds from the trace's start."""
    start, sep, end = str(text).partition("..")
    if not sep:
        raise TraceError(f"bad {flag} {text!r}: expected START..END, e.g. 30s..90s (either side may be left out)")
    lo = 0.0 if re.fullmatch(r"\s*(0+(\.0*)?\s*(s|ms|m|h)?)?\s*", start) else parse_duration(flag, start)
    hi = parse_duration(flag, end) if end.strip() else None
    if hi is not None and hi <= lo:
        raise TraceError(f"bad {flag} {text!r}: expected END after START")
    return lo, hi


def read_trace(path: str, window: tuple[float, float | None] | None = None) -> Trace:
    """The file's lines as offsets from its start (or from the window's START), sorted."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(
            f"bad --replay {path!r}: expected a readable UTF-8 trace file ({getattr(exc, 'strerror', None) or exc})"
        ) from None
    fmt = _sniff(p, text)
    rows = _csv_rows(path, text) if fmt == "csv" else _text_rows(path, text, fmt)
    base_dir = p.parent
    lines: list[TraceLine] = []
    stamps: list[float] = []
    absolute = None
    for number, row in rows:
        line, stamp, is_abs = _line(path, number, row, base_dir)
        if absolute is None:
            absolute = is_abs
        elif absolute != is_abs:
            raise TraceError(
                f"bad trace {path!r} line {number}: field 'time': mixes offsets and timestamps; expected one kind"
            )
        lines.append(line)
        stamps.append(stamp)
    if not lines:
        raise TraceError(f"bad --replay {path!r}: no usable line (expected one request a line, with an offset or time)")
    if all(s == int(s) for s in stamps) and absolute:
        stamps = _spread(stamps)
    order = sorted(range(len(lines)), key=lambda i: stamps[i])
    origin = stamps[order[0]] if absolute or window is None else 0.0
    lo, hi = window or (0.0, None)
    kept = []
    for i in order:
        rel = stamps[i] - origin
        if rel < lo or (hi is not None and rel >= hi):
            continue
        kept.append(_at(lines[i], rel - (lo if window is not None else 0.0)))
    if not kept:
        raise TraceError(f"bad --replay-window for {path!r}: no line of the trace falls inside it")
    return Trace(path=path, format=fmt, lines=tuple(kept))


def _spread(stamps: list[float]) -> list[float]:
    """Whole-second times (a combined log's): the n lines of one second spread evenly over it, in
    file order, rather than all sent at its first instant (a burst the log never showed)."""
    seen: dict[float, int] = {}
    for s in stamps:
        seen[s] = seen.get(s, 0) + 1
    turn: dict[float, int] = {}
    out = []
    for s in stamps:
        k = turn.get(s, 0)
        turn[s] = k + 1
        out.append(s + k / seen[s])
    return out


def _at(line: TraceLine, offset: float) -> TraceLine:
    return TraceLine(offset, line.line, line.route, line.method, line.body, line.name, line.size)


def _sniff(p: Path, text: str) -> str:
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return "csv"
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    if first.startswith("{"):
        return "json-access-log" if any(k in first for k in ('"request"', '"time_local"', '"request_uri"')) else "jsonl"
    if _ACCESS.match(first):
        return "access-log"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv" if "," in first else "access-log"


def _text_rows(path: str, text: str, fmt: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if fmt == "access-log":
            match = _ACCESS.match(line)
            if match is None:
                raise TraceError(
                    f"bad trace {path!r} line {number}: field 'request': expected a combined/common access-log "
                    'line like 127.0.0.1 - - [10/Oct/2026:13:55:36 +0000] "POST /predict HTTP/1.1" 200 512'
                )
            yield number, {"time_local": match.group("time"), "request": match.group("request")}
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceError(f"bad trace {path!r} line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise TraceError(f"bad trace {path!r} line {number}: expected a JSON object, got {type(row).__name__}")
        yield number, row


def _csv_rows(path: str, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not any(k in reader.fieldnames for k in TIME_KEYS):
        raise TraceError(
            f"bad trace {path!r} line 1: expected a CSV header naming a time column ({', '.join(TIME_KEYS[:5])}...)"
        )
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        yield reader.line_num, {k: v for k, v in row.items() if k and v not in (None, "")}


def _line(path: str, number: int, row: Mapping[str, Any], base_dir: Path) -> tuple[TraceLine, float, bool]:
    def bad(fld: str, expected: str, value: Any = None) -> TraceError:
        got = (
            ""
            if value is None
            else f", got {json.dumps(value)[:60] if not isinstance(value, str) else repr(value[:60])}"
        )
        return TraceError(f"bad trace {path!r} line {number}: field {fld!r}: expected {expected}{got}")

    stamp, absolute = _time(row, bad)
    route = method = None
    request = row.get("request")
    if isinstance(request, str) and request.strip():
        parts = request.split()
        if len(parts) < 2 or not parts[1].startswith(("/", "http")):
            raise bad("request", "'METHOD /path HTTP/x'", request)
        method, route = parts[0], parts[1]
    for key in ROUTE_KEYS:
        if key in row:
            route = row[key]
            if not isinstance(route, str) or not route.startswith(("/", "http://", "https://")):
                raise bad(key, "a path like /predict or a URL", route)
            break
    for key in METHOD_KEYS:
        if key in row:
            method = row[key]
            if not isinstance(method, str) or not method.isalpha():
                raise bad(key, "an HTTP method like POST", method)
            break
    if route is not None and route.startswith("http"):
        from urllib.parse import urlsplit

        parts_url = urlsplit(route)
        route = (parts_url.path or "/") + (f"?{parts_url.query}" if parts_url.query else "")
    body = _body(row, base_dir, bad)
    name = next((row[k] for k in CLASS_KEYS if k in row), None)
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise bad("class", "a class name", name)
    size = None
    for key in SIZE_KEYS:
        if key in row:
            try:
                size = int(row[key])
            except (TypeError, ValueError):
                raise bad(key, "a whole number >= 1", row[key]) from None
            if size < 1:
                raise bad(key, "a whole number >= 1", row[key])
            break
    line = TraceLine(0.0, number, route, method.upper() if method else None, body, name, size)
    return line, stamp, absolute


def _time(row: Mapping[str, Any], bad: Any) -> tuple[float, bool]:
    """Seconds (an offset) or an absolute time as epoch seconds; and which of the two it was."""
    key = next((k for k in TIME_KEYS if k in row), None)
    if key is None:
        raise bad("offset", f"one of the time fields {', '.join(TIME_KEYS)}")
    value = row[key]
    if key in ("offset", "offset_s", "t", "offset_ms"):
        try:
            seconds = float(value) / (1000.0 if key == "offset_ms" else 1.0)
        except (TypeError, ValueError):
            raise bad(key, "a number of seconds >= 0", value) from None
        if not math.isfinite(seconds) or seconds < 0:
            raise bad(key, "a number of seconds >= 0", value)
        return seconds, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        epoch = float(value)
        return (epoch / 1000.0 if epoch > 1e11 else epoch), True  # epoch milliseconds, as some loggers write
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text), True
        except ValueError:
            pass
        for parse in (
            lambda s: datetime.strptime(s, _CLF_TIME),
            lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")),
        ):
            try:
                return parse(text).timestamp(), True
            except ValueError:
                continue
    raise bad(key, "an ISO 8601 time, epoch seconds, or an access-log time like 10/Oct/2026:13:55:36 +0000", value)


def _body(row: Mapping[str, Any], base_dir: Path, bad: Any) -> str | None:
    if "body_file" in row:
        ref = row["body_file"]
        if not isinstance(ref, str):
            raise bad("body_file", "a file path", ref)
        try:
            return (base_dir / ref).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise bad("body_file", f"a readable UTF-8 file ({getattr(exc, 'strerror', None) or exc})", ref) from None
    if "body" not in row or row["body"] is None:
        return None
    body = row["body"]
    if isinstance(body, str):
        return body
    return json.dumps(body, separators=(",", ":"))
