"""One load phase's record: what a generator process measures and sends back, and what result.json keeps.

Apart from the whole result document (benchbox.result) because the generator process builds and
sends these: importing every section's model there cost each generator start 0.1 s of CPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbox.latency import LatencySummary, TimePoint
from benchbox.traffic.model import TrafficStats


@dataclass(frozen=True)
class GeneratorHealth:
    """How the load generator itself fared: if it was the bottleneck, the figures are its, not the target's."""

    cpu_seconds: float
    cpu_percent_mean: float
    cpu_percent_max: float
    schedule_lag_ms: LatencySummary | None = None
    waited_for_connection: int = 0
    peak_in_flight: int = 0
    limited: bool = False
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameStats:
    """One request name of a locustfile scenario (per task, as Locust's stats table has it)."""

    requests: int
    errors: int
    latency_ms: LatencySummary | None = None
    hdr: str | None = None


@dataclass(frozen=True)
class ResponseSample:
    """An answer kept from the load phase for the contract checks (the engine drops these
    before the result is written: they are evidence in transit, not part of the record)."""

    request_body: str | None
    status: int
    content_type: str
    body: str


@dataclass(frozen=True)
class WorkerReport:
    """One generator process of a distributed run, and whether all it measured arrived."""

    index: int
    state: Literal["ok", "lost"]
    requests: int
    detail: str = ""


@dataclass(frozen=True)
class LlmPoint:
    """One second of an LLM phase, bucketed by completion time."""

    t: int
    completed: int
    output_tokens: int
    good: int = 0


@dataclass(frozen=True)
class LlmStats:
    """A phase's LLM figures. Every percentile is read from an HDR histogram stored beside it
    (ttft/itl/e2e in µs like every latency; tokens/s per request in milli-tokens/s)."""

    streamed: bool
    completed: int  # answers with a 2xx status whose body was read to the end
    output_tokens: int
    prompt_tokens: int
    usage_reported: int  # answers whose token counts came from `usage` (else counted from chunks)
    malformed: int  # 2xx answers that broke the stream or body format (counted as errors)
    output_tokens_per_s: float  # all output tokens over the phase's elapsed time
    ttft_ms: LatencySummary | None = None
    itl_ms: LatencySummary | None = None
    e2e_ms: LatencySummary | None = None
    tokens_per_s: LatencySummary | None = None  # per request: output tokens / end-to-end time
    ttft_hdr: str | None = None
    itl_hdr: str | None = None
    e2e_hdr: str | None = None
    tokens_per_s_hdr: str | None = None
    good: int | None = None  # None: no per-request SLO was given, so goodput is undefined
    goodput: float | None = None  # good / requests sent (errors are never good)
    goodput_rps: float | None = None
    good_criteria: tuple[str, ...] = ()
    timeseries: tuple[LlmPoint, ...] = ()
    # Which OpenAI API; for embeddings (no output tokens) the figures are inputs and prompt tokens.
    api: str = "chat"
    inputs: int | None = None
    inputs_per_s: float | None = None
    prompt_tokens_per_s: float | None = None


@dataclass(frozen=True)
class LoadPhase:
    """One stretch of steady load, open or closed loop."""

    name: str
    mode: Literal["open", "closed"]
    duration_s: float
    elapsed_s: float
    requests: int
    responses: int
    errors: int
    error_rate: float
    throughput_rps: float
    status_counts: Mapping[str, int]
    errors_by_kind: Mapping[str, int]
    generator: GeneratorHealth
    offered_rps: float | None = None
    arrival: str | None = None
    users: int | None = None
    connections: int | None = None
    latency_ms: LatencySummary | None = None
    # Open loop only: from the actual send, so that latency_ms - service_ms is time spent queued.
    service_ms: LatencySummary | None = None
    service_hdr: str | None = None
    hdr: str | None = None
    timeseries: tuple[TimePoint, ...] = ()
    error_samples: tuple[str, ...] = ()
    partial: bool = False
    # Set for a ramp: the rate or user count at the start (`offered_rps`/`users` is the end).
    ramp_from: float | None = None
    by_name: Mapping[str, NameStats] = field(default_factory=dict)
    workers: tuple[WorkerReport, ...] = ()
    samples: tuple[ResponseSample, ...] = ()
    # Set when the brake stopped the phase early (benchbox.brakes): why, in one sentence.
    aborted: str | None = None
    # An LLM target (--protocol openai-chat): TTFT, inter-token latency, tokens/s, goodput.
    llm: LlmStats | None = None
    # A replayed trace or a mix (--replay, [[mix]], --batch-sizes): per class and per batch size.
    traffic: TrafficStats | None = None


def to_dict(value: Any) -> dict[str, Any]:
    """A plain, JSON-ready dict with `schema` first, so `head result.json` says what it is."""
    data = dataclasses.asdict(value)
    if "schema" in data:
        data = {"schema": data.pop("schema"), **data}
    return data


def from_phase_dict(data: Mapping[str, Any]) -> LoadPhase:
    """Parse one load phase, as the generator process sends it."""
    import dacite

    return dacite.from_dict(LoadPhase, dict(data), config=dacite.Config(cast=[tuple]))
