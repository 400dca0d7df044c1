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

from benchbox.errors import ConfigError, bad_value
from benchbox.findings import is_secret_header
from benchbox.units import parse_positive

PHASES = ("contract", "adversarial", "eval", "load", "saturation")
REDACTED = "<redacted>"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def check_url(url: str) -> str:
    parts = urlsplit(url)
    expected = "an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000/predict"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_value("--target", url, expected)
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
    if not candidate.is_absolute() and not candidate.exists():
        candidate = base_dir / candidate
    if not candidate.is_file() or candidate.suffix != ".py":
        raise bad_value("--scenario", str(path), "an existing locustfile, e.g. locustfile.py")
    return str(candidate.resolve())


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
    bodies = [_json_text(f"--body {text} line {i}", line) for i, line in enumerate(content.splitlines(), 1) if line.strip()]
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
    for text in flag_headers:
        name, sep, value = str(text).partition(":")
        if not sep:
            shown = name if not is_secret_header(name) else f"{name}: {REDACTED}"
            raise bad_value("--header", shown, "'Name: value'")
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
    raise ConfigError("bad config key 'slo': expected a table like slo = {p95 = \"200ms\", errors = \"1%\"}")


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


def _clip(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"
