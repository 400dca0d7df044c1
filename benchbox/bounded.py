"""The parent process's one request layer: `send()` one request, get one `Exchange` back.

Every request benchbox makes outside the load generator (preflight, contract discovery and
checks, adversarial cases and probes, chat probes, shadow outputs, saturation samples,
evaluation, the model list) goes through `send()` on a `client()`, so each is bounded the same
way and fails in the same words:
- a body cap (--max-body): `response.content` would keep whatever a target sends (10 MB, or more);
- a whole-answer deadline: httpx's timeouts bound each *read*, so a target that trickles one
  byte a second would never time out;
- pacing (--max-rps) and the TLS choice (--insecure), in one place;
- failures classified by benchbox.error_kinds, the vocabulary the load generator counts in.
The bounds live in a transport wrapper (httpx's documented extension point), so they also hold
for a caller that still uses the client's `.get()` directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchbox import interrupts
from benchbox.brakes import Pacer
from benchbox.error_kinds import (
    AnswerTooSlow,
    BodyTooLarge,
    ErrorKind,
    classify,
    describe,
)

__all__ = [
    "MAX_BODY_BYTES",
    "AnswerTooSlow",
    "BodyTooLarge",
    "BoundedTransport",
    "Exchange",
    "client",
    "describe",
    "send",
]

# The default of --max-body: bodies are cut off past it. A prediction is far smaller; a model
# that answers more is worth a look, and a flag away.
MAX_BODY_BYTES = 4 * 1024 * 1024

OnLine = Callable[[str, float], None]


@dataclass(frozen=True)
class Exchange:
    """What one request came to. `status` is None unless the whole answer arrived; then
    `error_kind` (benchbox.error_kinds) says how it failed and `error` says it in one line."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""  # the answer's first `keep` bytes (all of it, by default: it is under --max-body)
    elapsed_s: float = 0.0
    error_kind: ErrorKind | None = None
    error: str | None = None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    timeout_s: float | None = None,
    keep: int | None = None,
    on_line: OnLine | None = None,
) -> Exchange:
    """Send one request on a `client()` and read the answer to its end, within its bounds.

    `timeout_s` narrows the client's deadline for this request; `keep` keeps only the body's first
    bytes (the rest is still read, up to --max-body); `on_line` is called with each line of a 2xx
    text/event-stream answer and the moment it arrived (the chat rules time tokens that way).
    Never raises for anything the target does: a failure is an Exchange with `error_kind` set."""
    interrupts.check()  # a Ctrl-C swallowed where it was raised (a gc callback) stops the run here
    started = time.perf_counter()
    limit = keep if keep is not None else -1
    timeout = timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT
    try:
        with client.stream(method, url, headers=headers, content=content, timeout=timeout) as response:
            kept = bytearray()
            stream = (
                on_line is not None
                and response.status_code < 300
                and "event-stream" in response.headers.get("content-type", "")
            )
            if stream:
                assert on_line is not None
                for line in response.iter_lines():
                    on_line(line, time.perf_counter())
                    if limit < 0 or len(kept) < limit:
                        kept += line.encode("utf-8", "surrogatepass") + b"\n"
            else:
                for chunk in response.iter_bytes():
                    if limit < 0 or len(kept) < limit:
                        kept += chunk
            return Exchange(
                response.status_code,
                dict(response.headers),
                bytes(kept if limit < 0 else kept[:limit]),
                time.perf_counter() - started,
            )
    except (httpx.HTTPError, BodyTooLarge, AnswerTooSlow) as exc:
        return Exchange(None, elapsed_s=time.perf_counter() - started, error_kind=classify(exc), error=describe(exc))


class _BoundedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, max_bytes: int, deadline: float) -> None:
        self._inner, self._max_bytes, self._deadline = inner, max_bytes, deadline

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._inner:
            # The first chunk came in the read that brought the headers (bounded by the read
            # timeout): a short answer that is complete is not failed because this process was
            # slow to look at it (a busy machine). Any later chunk past the deadline is a trickle.
            if seen and time.monotonic() > self._deadline:
                raise AnswerTooSlow(f"the body was still arriving at the request's deadline ({seen} bytes so far)")
            seen += len(chunk)
            if seen > self._max_bytes:
                raise BodyTooLarge(f"response body larger than {self._max_bytes // 1024} KiB: reading stopped there")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class BoundedTransport(httpx.BaseTransport):
    """Wraps httpx's HTTPTransport: every answer bounded in size and total time, sends paced."""

    def __init__(
        self, *, timeout_s: float, verify: bool = True, max_rps: float | None = None, max_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._inner = httpx.HTTPTransport(verify=verify, retries=0)
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._pacer = Pacer(max_rps)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._pacer.wait()
        # The whole answer gets as long as one read may take (a per-request timeout= narrows it).
        read = (request.extensions.get("timeout") or {}).get("read")
        deadline = time.monotonic() + (read if read is not None else self._timeout_s)
        response = self._send(request)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_bytes:
            response.close()
            raise BodyTooLarge(
                f"response body of {int(length) // 1024} KiB announced, over the "
                f"{self._max_bytes // 1024} KiB benchbox reads"
            )
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_BoundedStream(response.stream, self._max_bytes, deadline),
            extensions=response.extensions,
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send once; re-send once on a new connection when a kept-alive one was found closed.

        Why: servers may close a kept-alive connection right after an answer without saying
        `Connection: close` (uvicorn does after a 500 from the app). The next request on it then
        fails with no answer, and the failure would be blamed on an input that did nothing (its
        curl line gets a normal answer). httpx drops the dead connection, so the second send opens
        a new one; an input that really breaks the connection fails again and is reported as such.
        """
        try:
            return self._inner.handle_request(request)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            if not (_no_answer(exc) and isinstance(request.stream, httpx.ByteStream)):
                raise
            first = exc
        self._pacer.wait()
        try:
            return self._inner.handle_request(request)
        except httpx.ConnectError:
            raise first from None  # the target is gone: the first failure says more

    def close(self) -> None:
        self._inner.close()


def _no_answer(exc: httpx.HTTPError) -> bool:
    """A connection closed or reset before any byte of the answer (not a garbled answer)."""
    if isinstance(exc, httpx.RemoteProtocolError):
        return "without sending a response" in str(exc)
    return True


def client(
    *,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    insecure: bool = False,
    max_rps: float | None = None,
    max_bytes: int = MAX_BODY_BYTES,
    trust_env: bool = True,
    **kwargs: Any,
) -> httpx.Client:
    """An httpx.Client whose every answer is bounded (see the module docstring)."""
    return httpx.Client(
        headers=dict(headers or {}),
        timeout=timeout_s,
        trust_env=trust_env,
        transport=BoundedTransport(timeout_s=timeout_s, verify=not insecure, max_rps=max_rps, max_bytes=max_bytes),
        **kwargs,
    )
