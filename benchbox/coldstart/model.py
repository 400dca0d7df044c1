"""The cold-start section of result.json (optional in v1). Imports nothing from benchbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FirstRequest:
    latency_ms: float
    status: int | None
    error: str | None = None


@dataclass(frozen=True)
class ColdStart:
    """`time_to_ready_s`: from the process start (`--start`) or from the first probe to the first
    ready answer. `first_requests`: sent one after another right after ready, before anything else."""

    started_by_benchbox: bool
    time_to_ready_s: float | None
    first_requests: tuple[FirstRequest, ...] = ()
    note: str | None = None
