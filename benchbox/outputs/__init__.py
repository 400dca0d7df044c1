"""Live outputs: each second's figures sent while the run goes on (`--output KIND=TARGET`).

This module holds only the spec and its parsing (read at start-up by benchbox.plan, so nothing
heavy is imported here). The sinks live in their own modules and are imported when a run opens
them (benchbox.outputs.fanout).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from benchbox.errors import UsageError

KINDS = ("csv", "jsonl", "prometheus-rw", "otlp")
EXPECTED = "KIND=TARGET with KIND one of csv=FILE, jsonl=FILE, prometheus-rw=URL, otlp=URL"
EXAMPLES = {"prometheus-rw": "http://127.0.0.1:9090/api/v1/write", "otlp": "http://127.0.0.1:4318/v1/metrics"}


@dataclass(frozen=True)
class OutputSpec:
    """One `--output`: where a run's seconds go."""

    kind: str
    target: str

    @property
    def shown(self) -> str:
        """The target as it may be recorded or said: a URL's user and password removed."""
        return f"{self.kind}={redact_url(self.target)}"


def parse_output(flag: str, raw: object) -> OutputSpec:
    text = str(raw).strip()
    kind, sep, target = text.partition("=")
    kind, target = kind.strip().lower(), target.strip()
    if not sep or kind not in KINDS or not target:
        raise UsageError(f"bad {flag} {text!r}: expected {EXPECTED}")
    if kind in EXAMPLES:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(
                f"bad {flag} {text!r}: expected an http(s) URL after {kind}=, e.g. {kind}={EXAMPLES[kind]}"
            )
        if kind == "otlp" and parts.path in ("", "/"):  # a collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT
            target = urlunsplit(parts._replace(path="/v1/metrics"))
    return OutputSpec(kind, target)


def parse_outputs(flag: str, raw: object) -> tuple[OutputSpec, ...]:
    """Every `--output` (or the benchbox.toml `outputs` list), parsed."""
    if raw is None:
        return ()
    values = [raw] if isinstance(raw, str) else list(raw)  # type: ignore[call-overload]
    return tuple(parse_output(flag, v) for v in values)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
