"""`[[mix]]` in benchbox.toml: classes of requests, each with its weight (or rate), route, method,
bodies, headers and SLOs, drawn by weight on one open-loop schedule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbox import flags as parse
from benchbox.errors import ConfigError, UsageError
from benchbox.gates import GateSpec, merge_slos

_KEYS = ("name", "weight", "rate", "route", "method", "body", "bodies", "generated", "headers", "slo")
MAX_CLASSES = 64


@dataclass(frozen=True)
class MixClass:
    name: str
    weight: float  # share of the schedule, normalized over the mix
    route: str | None = None  # path and query on the target's host (None: the target's own)
    method: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    bodies: tuple[str, ...] = ()  # empty: the run's bodies (--body, or generated from the contract)
    slos: tuple[GateSpec, ...] = ()


def parse_mix(value: Any, base_dir: Path, where: str = "mix") -> tuple[tuple[MixClass, ...], float | None]:
    """The classes and, when they give rates instead of weights, the total rate they add up to."""
    if not isinstance(value, list) or not value or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(
            f"bad config key {where!r}: expected [[mix]] tables, each like "
            '[[mix]] name = "search" weight = 70 route = "/search"'
        )
    if len(value) > MAX_CLASSES:
        raise ConfigError(f"bad config key {where!r}: {len(value)} classes; expected at most {MAX_CLASSES}")
    raw: list[tuple[MixClass, float]] = []
    by_rate = None
    for i, entry in enumerate(value, 1):
        at = f"{where}[{i}]"
        unknown = sorted(set(entry) - set(_KEYS))
        if unknown:
            raise ConfigError(f"bad config key {at}.{unknown[0]}: expected one of {', '.join(_KEYS)}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f'bad config key {at}.name: expected a class name like name = "search"')
        if ("weight" in entry) == ("rate" in entry):
            raise ConfigError(f"bad config key {at}: expected a weight or a rate (one of the two)")
        uses_rate = "rate" in entry
        if by_rate is None:
            by_rate = uses_rate
        elif by_rate != uses_rate:
            raise ConfigError(f"bad config key {at}: every class gives a weight, or every class a rate; not both")
        amount = entry["rate" if uses_rate else "weight"]
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not amount > 0:
            raise ConfigError(f"bad config key {at}.{'rate' if uses_rate else 'weight'}: expected a number > 0")
        route = entry.get("route")
        if route is not None and (not isinstance(route, str) or not route.startswith("/")):
            raise ConfigError(f'bad config key {at}.route: expected a path on the target\'s host like "/search"')
        method = entry.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise ConfigError(f'bad config key {at}.method: expected an HTTP method like "POST"')
        bodies = _bodies(entry, base_dir, at)
        headers = parse.headers(entry.get("headers"), ()) if "headers" in entry else {}
        if bodies and not any(n.lower() == "content-type" for n in headers):
            headers["Content-Type"] = "application/json"
        try:
            slos = merge_slos([parse.slo_list(entry.get("slo"))]) if "slo" in entry else ()
        except UsageError as exc:
            raise ConfigError(f"bad config key {at}.slo: {exc}") from None
        cls = MixClass(
            name=name.strip(),
            weight=float(amount),
            route=route,
            method=method.upper() if method else None,
            headers=tuple(headers.items()),
            bodies=tuple(bodies),
            slos=tuple(slos),
        )
        raw.append((cls, float(amount)))
    names = [c.name for c, _ in raw]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ConfigError(f"bad config key {where}: class name {dup!r} given twice; expected each name once")
    total = sum(a for _, a in raw)
    classes = tuple(MixClass(**{**c.__dict__, "weight": a / total}) for c, a in raw)
    return classes, (total if by_rate else None)


def _bodies(entry: Mapping[str, Any], base_dir: Path, at: str) -> list[str]:
    given = [k for k in ("body", "bodies", "generated") if k in entry and entry[k] is not False]
    if len(given) > 1:
        raise ConfigError(f"bad config key {at}: give one of body, bodies, generated")
    if "bodies" in entry:
        ref = entry["bodies"]
        if not isinstance(ref, str):
            raise ConfigError(f'bad config key {at}.bodies: expected a file like bodies = "@inputs.jsonl"')
        return parse.bodies(None, ref if ref.startswith("@") else "@" + ref, base_dir)
    if "body" in entry:
        body = entry["body"]
        if isinstance(body, str):
            return parse.bodies(None, body, base_dir)
        return [json.dumps(body, separators=(",", ":"))]
    return []  # generated (or nothing said): the run's bodies, from --body or the contract
