"""What sits in front of the handlers: api-key auth and the rate limit.

A pure ASGI middleware rather than FastAPI dependencies, for two reasons: it runs before the
body is read and parsed (an unauthenticated or over-limit request gets 401/429, not a 422
that reveals the schema), and it adds almost nothing per request at thousands of req/s.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/health", "/ready", "/openapi.json", "/metrics"})
PUBLIC_PREFIXES = ("/v2/health/",)


class _TooLarge(Exception):
    """Raised from receive() past the body limit; caught by Gate before any response started."""


class TokenBucket:
    """Allows `rate` requests/s on average with bursts of max(1, rate).

    Single-threaded use only: the server calls it from its event loop, so no lock.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a finite number > 0")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity  # start full: a fresh server accepts a burst
        self._stamp = clock()

    def acquire(self) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class Gate:
    """ASGI middleware: bearer-key check on non-public paths, token bucket on limited paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_key: str | None,
        limiter: TokenBucket | None,
        limited_paths: Iterable[str],
        max_body: int | None = None,
    ) -> None:
        self.app = app
        self._key = api_key.encode() if api_key is not None else None
        self._limiter = limiter
        self._limited = frozenset(limited_paths)
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if self._key is not None and not public:
            status = self._auth_status(scope)
            if status == 401:
                await _send_error(send, 401, "missing bearer token", [(b"www-authenticate", b"Bearer")])
                return
            if status == 403:
                await _send_error(send, 403, "invalid api key")
                return
        if self._limiter is not None and path in self._limited:
            wait = self._limiter.acquire()
            if wait > 0.0:
                # Retry-After is whole seconds (RFC 9110); round up so obeying it succeeds.
                retry = str(max(1, math.ceil(wait))).encode()
                await _send_error(send, 429, "rate limit exceeded", [(b"retry-after", retry)])
                return
        if self._max_body is None:
            await self.app(scope, receive, send)
            return
        # The body limit lives here rather than in FastAPI's max_body_size, whose 413 is
        # text/plain: API clients (and benchbox's own adversarial checks) expect JSON errors.
        limit, received = self._max_body, 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, bounded, send)
        except _TooLarge:
            await _send_error(send, 413, f"request body larger than {limit} bytes")

    def _auth_status(self, scope: Scope) -> int:
        assert self._key is not None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer" or not token.strip():
                    return 401
                # Constant-time comparison: response timing must not reveal the key.
                return 200 if hmac.compare_digest(token.strip(), self._key) else 403
        return 401


async def _send_error(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
