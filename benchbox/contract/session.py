"""Send one request and keep everything a finding needs about it.

A 429 (or 503) is retried a few times after a short pause, honouring Retry-After up to a cap:
the contract stage sends little, but a rate-limited target would otherwise turn every case into
a bogus "valid input rejected". A 429 that persists is not judged (the runner notes it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchbox import bounded
from benchbox.contract.checks import body_text
from benchbox.error_kinds import finding_kind

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 3
MAX_PAUSE_S = 2.0


@dataclass
class Exchange:
    """One request and what came back (status None: no answer; see error/error_kind)."""

    method: str
    url: str
    body: Any = None
    text: str | None = None
    status: int | None = None
    content_type: str | None = None
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None  # the finding kind: "timeout" or "crash" (error_kinds.finding_kind)
    elapsed_ms: float = 0.0  # request sent -> whole answer read (the last try, when retried)

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def throttled(self) -> bool:
        return self.status == 429


class Session:
    """Requests of one contract run, counted."""

    def __init__(self, client: httpx.Client, url: str, method: str, headers: Mapping[str, str]) -> None:
        self.client = client
        self.url = url
        self.method = method
        self.headers = dict(headers)
        self.requests = 0

    def send(self, body: Any) -> Exchange:
        """Send `body` as JSON; None sends no body at all (a GET target)."""
        text = body_text(body) if body is not None else None
        return self._exchange(self.method, self.url, text, body)

    def post(self, url: str, body: Any) -> Exchange:
        """Send `body` as JSON to another route of the same API (the model's other face)."""
        return self._exchange("POST", url, body_text(body), body)

    def get(self, url: str) -> Exchange:
        return self._exchange("GET", url, None, None)

    def _exchange(self, method: str, url: str, text: str | None, body: Any) -> Exchange:
        ex = Exchange(method=method, url=url, body=body, text=text)
        headers = (
            self.headers if text is not None else {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
        )
        for attempt in range(MAX_RETRIES + 1):
            self.requests += 1
            reply = bounded.send(
                self.client, method, url, headers=headers, content=text.encode() if text is not None else None
            )
            ex.elapsed_ms = reply.elapsed_s * 1000
            if reply.status is None:
                ex.error, ex.error_kind = reply.error, finding_kind(reply.error_kind)
                return ex
            ex.status, ex.content = reply.status, reply.body
            ex.content_type = reply.content_type
            ex.headers = reply.headers
            if reply.status not in RETRY_STATUSES or attempt == MAX_RETRIES:
                return ex
            time.sleep(_pause(reply.headers.get("retry-after"), attempt))
        return ex


def _pause(retry_after: str | None, attempt: int) -> float:
    try:
        wanted = float(retry_after) if retry_after else 0.1 * 2**attempt
    except ValueError:  # an HTTP date: not worth parsing for a pause this short
        wanted = 0.5
    return max(0.0, min(wanted, MAX_PAUSE_S))
