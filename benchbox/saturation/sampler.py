"""A few responses read directly during the overload probe, for what the generator does not keep.

The load generator records status codes and latencies, not headers; whether refusals carry
Retry-After is part of grading overload. So while the overload probe runs, a handful of requests
go out on their own connections (httpx, proxies from the environment ignored: the target is the
target) and only their status, Retry-After value and latency are kept: never a header that was
sent, which may hold a secret.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from benchbox import bounded
from benchbox.load.spec import RequestSpec
from benchbox.saturation.model import ResponseSample

SAMPLES = 5
MAX_WAIT_S = 5.0  # a queueing target may hold them long; the probe does not wait longer than this


class Sampler:
    """Fires SAMPLES requests at once on start(); results() waits for them (bounded)."""

    def __init__(self, request: RequestSpec, count: int = SAMPLES) -> None:
        self.request = request
        self.count = count
        self.timeout = min(request.timeout_s, MAX_WAIT_S)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[ResponseSample]] = []

    def start(self) -> None:
        if self._pool is not None:
            return
        self._pool = ThreadPoolExecutor(self.count, thread_name_prefix="benchbox-sample")
        self._futures = [self._pool.submit(self._one, i) for i in range(self.count)]

    def results(self) -> tuple[ResponseSample, ...]:
        if self._pool is None:
            return ()
        self._pool.shutdown(wait=True)  # each request is bounded by self.timeout
        return tuple(f.result() for f in self._futures)

    def _one(self, i: int) -> ResponseSample:
        req = self.request
        body = req.bodies[i % len(req.bodies)].encode() if req.bodies else None
        with bounded.client(
            timeout_s=self.timeout, trust_env=False, insecure=req.insecure, max_bytes=req.max_body_bytes
        ) as client:
            reply = bounded.send(client, req.method, req.url, headers=dict(req.headers), content=body, keep=0)
        latency_ms = round(reply.elapsed_s * 1000.0, 3)
        if reply.status is None:  # the kind, in the words the load phase counts errors in
            return ResponseSample(status=None, latency_ms=latency_ms, error=reply.error_kind)
        return ResponseSample(status=reply.status, latency_ms=latency_ms, retry_after=reply.headers.get("retry-after"))
