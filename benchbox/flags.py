"""Parsers for single flag values, each failing with one line that names the value.

benchbox.plan layers flags over benchbox.toml and calls these; they know nothing of the layering.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchbox.errors import ConfigError, UsageError, bad_value
from benchbox.findings import is_secret_header
from benchbox.units import parse_positive

PHASES = ("contract", "adversarial", "eval", "load", "saturation")
REDACTED = "<redacted>"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def reject_nul(values: Mapping[str, Any], prefix: str = "--") -> None:
    """No flag or config value may hold a NUL byte: no path, URL or header can, and the OS
    would raise deep inside a phase instead of naming the flag."""
    for key, value in values.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, Mapping):
                reject_nul(item, prefix)
            elif isinstance(item, str) and "\x00" in item:
                name = f"{prefix}{key.replace('_', '-')}" if prefix == "--" else f"config key {key!r}"
                raise bad_value(name, item.replace("\x00", "\\0")[:60], "text without NUL bytes")


def check_url(url: str) -> str:
    expected = "an http:// or https:// URL with a host (or grpc://host:port/model), e.g. http://127.0.0.1:8000/predict"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise bad_value("--target", url, expected) from None
    if parts.scheme not in ("http", "https", "grpc", "grpcs") or not parts.hostname:
        raise bad_value("--target", url, expected)
    if parts.scheme in ("grpc", "grpcs") and not parts.path.strip("/"):
        raise bad_value("--target", url, "grpc://host:port/MODEL (a gRPC target names its model)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise bad_value("--target", url, expected) from None
    return url


def steps(value: Any, *, closed: bool) -> tuple[float, ...]:
    """--steps 10,20,40: rates (open loop) or user counts (closed loop, with --users)."""
    if value is None or value == "" or value == []:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    expected = "comma-separated user counts like 2,4,8" if closed else "comma-separated rates like 10,20,40"
    levels = tuple(parse_positive("--steps", str(item).strip(), integer=closed) for item in items)
    if not levels:
        raise bad_value("--steps", value, expected)
    return levels


def scenario_path(path: Any, base_dir: Path) -> str:
    """A locustfile path, checked for existence here so a typo fails before any request."""
    candidate = Path(str(path))
    try:
        if not candidate.is_absolute() and not candidate.exists():
            candidate = base_dir / candidate
        usable = candidate.is_file() and candidate.suffix == ".py"
    except OSError:  # a name too long for the file system, say
        usable = False
    if not usable:
        raise bad_value("--scenario", str(path), "an existing locustfile, e.g. locustfile.py")
    check_locustfile(candidate, str(path))
    return str(candidate.resolve())


def check_locustfile(path: Path, shown: str) -> None:
    """Parse (never run) the locustfile: a syntax error or a file with no user class is a usage
    error now, before the target sees a request, not a generator failure mid-run.

    Parsing, not importing: importing would run the user's code and `import locust`, which
    monkey-patches this process (the load runs in its own process for that reason)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise bad_value(
            "--scenario", shown, f"a locustfile that parses (SyntaxError at line {exc.lineno}: {exc.msg})"
        ) from None
    except (OSError, ValueError) as exc:
        raise bad_value("--scenario", shown, f"a readable Python file ({exc})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("locust"):
            if any(alias.name.endswith("User") or alias.name == "*" for alias in node.names):
                return  # a user class shared from another module of the user's
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name.endswith("User"):
                    return
    raise bad_value(
        "--scenario", shown, "a locustfile defining a User class, like class MyUser(HttpUser): it has no User class"
    )


def bodies(flag: str | None, cfg_value: Any, base_dir: Path) -> list[str]:
    if flag is not None:
        return _parse_body_text(flag, Path("."))
    if cfg_value is None:
        return []
    if isinstance(cfg_value, str):
        return _parse_body_text(cfg_value, base_dir)
    return [json.dumps(cfg_value, separators=(",", ":"))]


def _parse_body_text(text: str, base_dir: Path) -> list[str]:
    """--body JSON | @file.json | @file.jsonl (one body per line, sent round-robin)."""
    if not text.startswith("@"):
        return [_json_text("--body", text)]
    path = base_dir / text[1:]
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_value("--body", text, f"a readable UTF-8 file ({getattr(exc, 'strerror', None) or exc})") from None
    if path.suffix.lower() != ".jsonl":
        return [_json_text(f"--body {text}", content)]
    bodies = [
        _json_text(f"--body {text} line {i}", line) for i, line in enumerate(content.splitlines(), 1) if line.strip()
    ]
    if not bodies:
        raise bad_value("--body", text, "a .jsonl file with at least one JSON value per line")
    return bodies


def _json_text(what: str, text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_value(what, _clip(text), f"valid JSON ({exc.msg} at column {exc.colno})") from None
    return json.dumps(value, separators=(",", ":"))


def headers(cfg_headers: Any, flag_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    if cfg_headers is not None:
        if not isinstance(cfg_headers, Mapping):
            raise ConfigError("bad config key 'headers': expected a table like headers = {X-Team = \"ml\"}")
        for name, value in cfg_headers.items():
            headers[_header_name(str(name), f"{name}: {value}")] = str(value)
    for index, text in enumerate(flag_headers, 1):
        name, sep, value = str(text).partition(":")
        if not sep:
            # No colon, so no telling a name from a value: it may be a bare API key. Never echo it.
            raise UsageError(f"bad --header #{index} (not shown: it may hold a secret): expected 'Name: value'")
        headers[_header_name(name.strip(), text)] = value.strip()
    return headers


def _header_name(name: str, text: str) -> str:
    if not _HEADER_NAME.match(name):
        shown = text if not is_secret_header(name) else f"{name}: {REDACTED}"
        raise bad_value("--header", shown, "'Name: value' with a token name like X-Request-Id")
    return name


def paths(flag: str, value: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    if not value:
        return default
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not item.startswith("/"):
            raise bad_value(flag, item, "a path starting with /, e.g. /health")
    return tuple(items)


def slo_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [f"{k}={v}" for k, v in value.items()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ConfigError('bad config key \'slo\': expected a table like slo = {p95 = "200ms", errors = "1%"}')


def skip(value: Any) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    phases = {item.strip().lower() for item in items if item.strip()}
    for phase in phases:
        if phase not in PHASES:
            raise bad_value("--skip", phase, f"phases from {', '.join(PHASES)}, comma-separated")
    return frozenset(phases)


def seed(value: Any) -> int:
    if value is None:
        return random.SystemRandom().randrange(2**32)  # recorded, so any run can be repeated
    try:
        seed = int(value)
    except (TypeError, ValueError):
        raise bad_value("--seed", value, "a whole number >= 0") from None
    if seed < 0 or isinstance(value, bool) or (isinstance(value, float) and value != seed):
        raise bad_value("--seed", value, "a whole number >= 0")
    return seed


def label(value: Any, target: str) -> str:
    if value is None:
        parts = urlsplit(target)
        value = f"{parts.hostname}-{parts.port}" if parts.port else str(parts.hostname)
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-.")
    if not label:
        raise bad_value("--label", value, "a name with letters, digits, '.', '_' or '-'")
    return label[:64]


DEFAULT_MAX_BODY = 4 * 1024 * 1024
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def size(flag: str, value: Any, default: int) -> int:
    """'4MB', '512KiB', '1048576' -> bytes (> 0)."""
    if value is None:
        return default
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(value)) if not isinstance(value, bool) else None
    unit = match.group(2).lower() if match else ""
    number = float(match.group(1)) * _SIZE_UNITS.get(unit, 0) if match else 0.0
    if not 1 <= number <= 2**40:  # also rejects an unknown unit and an overflow to inf
        raise bad_value(flag, _clip(str(value)), "a size like 4MB, 512KiB or a byte count, up to 1TiB")
    return int(number)


def _clip(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"
