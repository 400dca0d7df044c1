"""Findings: what a check found wrong, in a form a reviewer can read and a shell can replay.

Every phase that judges answers (contract now, adversarial and load sampling later) reports a
`Finding`. It carries the request as sent (secret headers redacted), the response (truncated), a
one-line message saying which rule broke and where (a JSON pointer), and a curl line that
reproduces it. Only JSON-safe types, so `dataclasses.asdict` writes it and dacite
(`Config(cast=[tuple])`) reads it back. This module imports nothing from benchbox.result:
result.py imports it.

Secrets: a header is secret when its name is authorization, proxy-authorization, cookie or
set-cookie, or contains api-key/apikey/api_key, token, secret or password. Its value is replaced
by `<redacted>` in the recorded request, by an environment reference (`"$BENCHBOX_API_KEY"`) in
the curl line, and scrubbed from every text we keep (a server may echo it back in an error).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

Severity = Literal["high", "medium", "low"]
REDACTED = "<redacted>"
RESPONSE_BODY_LIMIT = 2048  # enough to see the fault; a result document must stay readable
REQUEST_BODY_LIMIT = 16384  # generated inputs are small; the curl line always has the whole body

_SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|password", re.I
)
_AUTH_SCHEMES = ("Bearer ", "Basic ", "Token ", "ApiKey ")
_INDEX = re.compile(r"/\d+(?=/|$)")
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class FindingRequest:
    """The request as sent; `body` is the exact JSON text (cut at REQUEST_BODY_LIMIT)."""

    method: str
    url: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    body_truncated: bool = False


@dataclass(frozen=True)
class FindingResponse:
    """What came back; `status` is None when no answer came (then `error` says why)."""

    status: int | None = None
    content_type: str | None = None
    body: str = ""
    truncated: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Finding:
    """One broken rule. `message` is stable across inputs (it is part of the grouping key);
    `detail` holds what this instance observed. `id` is stable across runs and seeds
    (kind, rule, pointer pattern, method, path), so an accept file can name it."""

    kind: str
    severity: Severity
    rule: str
    message: str
    request: FindingRequest
    response: FindingResponse
    curl: str
    pointer: str = ""
    detail: str = ""
    minimal: bool = False
    count: int = 1
    id: str = ""
    basis: str = ""  # the part of the contract (or the plain rule) this finding relied on

    def __post_init__(self) -> None:
        if not self.id:
            ident = finding_id(self.kind, self.rule, self.pointer, self.request.method, self.request.path)
            object.__setattr__(self, "id", ident)


def is_secret_header(name: str) -> bool:
    return bool(_SECRET_HEADER.search(name.strip()))


def env_name_for(header: str) -> str:
    """The environment variable a curl line reads a secret header from."""
    if header.strip().lower() == "authorization":
        return "BENCHBOX_API_KEY"
    return "BENCHBOX_" + re.sub(r"[^A-Z0-9]+", "_", header.upper()).strip("_")


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: (REDACTED if is_secret_header(name) else value) for name, value in headers.items()}


def secret_values(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The literal secrets in `headers` (whole values and the token after an auth scheme)."""
    found: list[str] = []
    for name, value in headers.items():
        if not is_secret_header(name) or not value:
            continue
        found.append(value)
        for scheme in _AUTH_SCHEMES:
            if value.startswith(scheme) and len(value) > len(scheme):
                found.append(value[len(scheme) :])
    # Longest first, so a whole "Bearer x" goes before its "x".
    return tuple(sorted({v for v in found if len(v) >= 4}, key=len, reverse=True))


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def truncate(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def curl_line(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: str | bytes | None,
    secret_headers: Mapping[str, str] | None = None,
) -> str:
    """A shell line that replays the request. Secret headers read their value from the
    environment: `secret_headers` maps a header name to the variable to use (e.g. the user's
    --api-key-env), else `env_name_for(name)`. Everything else is quoted with shlex."""
    env_for = {k.lower(): v for k, v in (secret_headers or {}).items()}
    parts = ["curl", "-sS", "-i", "-X", shlex.quote(method.upper()), shlex.quote(url)]
    for name, value in headers.items():
        if is_secret_header(name) or name.lower() in env_for:
            var = env_for.get(name.lower()) or env_name_for(name)
            scheme = next((s for s in _AUTH_SCHEMES if value.startswith(s)), "")
            # shlex.quote single-quotes, which would stop the shell expanding the variable:
            # quote the literal part, then append the reference in double quotes.
            parts += ["-H", shlex.quote(f"{name}: {scheme}") + f'"${var}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body is not None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)


def pointer_pattern(pointer: str) -> str:
    """`/predictions/3/probabilities` -> `/predictions/*/probabilities`: which element broke
    depends on the input, the place in the document does not."""
    return _INDEX.sub("/*", pointer)


def finding_id(kind: str, rule: str, pointer: str, method: str, path: str) -> str:
    key = "\x1f".join((kind, rule, pointer_pattern(pointer), method.upper(), path))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def build_finding(
    *,
    kind: str,
    severity: Severity,
    rule: str,
    message: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: str | None,
    status: int | None = None,
    content_type: str | None = None,
    response_body: bytes | str | None = None,
    pointer: str = "",
    detail: str = "",
    minimal: bool = False,
    error: str | None = None,
    secret_headers: Mapping[str, str] | None = None,
    basis: str = "",
) -> Finding:
    """The one place a Finding is made from live data, so redaction cannot be forgotten."""
    secrets = secret_values(headers)
    raw = response_body.decode("utf-8", "replace") if isinstance(response_body, bytes) else (response_body or "")
    shown, cut = truncate(scrub(raw, secrets), RESPONSE_BODY_LIMIT)
    req_body, req_cut = (None, False) if body is None else truncate(scrub(body, secrets), REQUEST_BODY_LIMIT)
    request = FindingRequest(
        method=method.upper(),
        url=scrub(url, secrets),
        path=urlsplit(url).path or "/",
        headers=redact_headers(headers),
        body=req_body,
        body_truncated=req_cut,
    )
    response = FindingResponse(
        status=status,
        content_type=content_type,
        body=shown,
        truncated=cut,
        error=scrub(error, secrets) if error else None,
    )
    return Finding(
        kind=kind,
        severity=severity,
        rule=rule,
        message=scrub(message, secrets),
        request=request,
        response=response,
        curl=curl_line(method, url, headers, body, secret_headers),
        pointer=pointer,
        detail=scrub(detail, secrets),
        minimal=minimal,
        basis=scrub(basis, secrets),
    )


def group_key(f: Finding) -> tuple[str, str, str, str]:
    return (f.kind, f.rule, pointer_pattern(f.pointer), f.message)


def group(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Merge identical findings (same kind, rule, pointer pattern, message) into one with a count.

    The representative is the most useful one to replay: a shrunk (minimal) one, else the one
    with the shortest request body. Order: by severity, then first appearance."""
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault(group_key(f), []).append(f)
    merged = []
    for members in groups.values():
        best = min(members, key=lambda f: (not f.minimal, len(f.request.body or "")))
        merged.append(replace(best, count=sum(f.count for f in members)))
    merged.sort(key=lambda f: _SEVERITY_RANK.get(f.severity, 3))  # stable: keeps first appearance
    return tuple(merged)
