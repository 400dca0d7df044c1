"""The demo's own Prometheus metrics (prometheus_client): what a real model server exposes, so a
demo run shows benchbox's server-metrics charts and its saturation sentence on real series.

One registry per app (tests start several apps in one process); the process collector adds the
CPU, memory and file-descriptor series every Python server has.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class DemoMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("benchbox_demo_requests", "Predictions served.", registry=r)
        self.running = Gauge("benchbox_demo_requests_running", "Predictions holding a slot.", registry=r)
        self.waiting = Gauge("benchbox_demo_requests_waiting", "Predictions waiting for a slot.", registry=r)
        self.duration = Histogram(
            "benchbox_demo_request_duration_seconds",
            "Prediction time in the server, waiting included.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        ProcessCollector(registry=r)

    @asynccontextmanager
    async def served(self, slot: Any) -> AsyncIterator[None]:
        """Wait for a slot (counted as waiting), then run holding it (counted as running)."""
        started = time.perf_counter()
        self.waiting.inc()
        waiting = True
        try:
            async with slot:
                self.waiting.dec()
                waiting = False
                self.running.inc()
                try:
                    yield
                finally:
                    self.running.dec()
        finally:
            if waiting:  # cancelled before it got a slot
                self.waiting.dec()
            self.requests.inc()
            self.duration.observe(time.perf_counter() - started)

    def page(self) -> bytes:
        return generate_latest(self.registry)
