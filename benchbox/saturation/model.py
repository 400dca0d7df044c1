"""The saturation section of result.json: what the search measured and what it concluded.

Plain frozen dataclasses holding only str/int/float/bool/None, tuples, mappings and each other, so
`dataclasses.asdict` writes them and `dacite.from_dict(..., config=dacite.Config(cast=[tuple]))`
reads them back. This module imports nothing from benchbox: result.py imports it.

`Usl.lambda_` carries a trailing underscore because `lambda` is a Python keyword; in JSON the key
is therefore `lambda_`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from benchbox.traffic.model import ClassBreak

Stage = Literal["estimate", "ramp", "bisect", "overload"]
Grade = Literal["sheds", "queues", "fails", "keeps_up", "unclear"]
# What set the limit: a criterion the first failing probe broke, or the search's own limits.
LimitedBy = Literal["latency", "errors", "throughput", "generator", "budget", "nothing_held"]


@dataclass(frozen=True)
class Step:
    """One probe, judged on its per-second windows after the warm-up.

    `achieved_rps` is goodput (answers that were not errors, per second); `concurrency` is
    Little's law, N = achieved_rps x mean latency. `held` is None for probes that are not a verdict
    on a rate (the closed-loop estimate, the overload probe, a generator-bound probe)."""

    index: int
    stage: Stage
    mode: Literal["open", "closed"]
    offered_rps: float | None
    users: int | None
    achieved_rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    error_rate: float
    status_counts: Mapping[str, int]
    errors_by_kind: Mapping[str, int]
    concurrency: float | None
    load_s: float
    windows: int
    stable: bool
    held: bool | None
    generator_limited: bool
    reasons: tuple[str, ...] = ()
    output_tokens_per_s: float | None = None  # LLM targets: the probe's output tokens over its time


@dataclass(frozen=True)
class Knee:
    """Where latency starts to climb steeply, and how that was decided."""

    offered_rps: float
    p95_ms: float | None
    method: Literal["two_segment", "threshold"]
    detail: str


@dataclass(frozen=True)
class Usl:
    """Universal Scalability Law X(N) = lambda N / (1 + sigma (N-1) + kappa N (N-1)), fitted to the steps.

    `peak_rps` is the most the model predicts: X(N*) at N* = sqrt((1 - sigma) / kappa) when
    kappa > 0, else the ceiling lambda / sigma that is approached but never reached (then
    `peak_concurrency` is None). `statement` says in words how well it fits, or why it was not fitted."""

    fitted: bool
    statement: str
    points: int
    sigma: float | None = None
    kappa: float | None = None
    lambda_: float | None = None
    peak_concurrency: float | None = None
    peak_rps: float | None = None
    r_squared: float | None = None


@dataclass(frozen=True)
class ResponseSample:
    """One response read directly during the overload probe, for what the load generator does not keep (headers)."""

    status: int | None
    latency_ms: float
    retry_after: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Overload:
    """How the target behaves past its capacity, with the evidence: a finding."""

    grade: Grade
    severity: Literal["low", "medium", "high"]
    finding: str
    offered_rps: float
    achieved_rps: float
    error_rate: float
    shed_share: float  # 429 and 503 answers, of all requests
    fail_share: float  # every other error: timeouts, resets, other 5xx, ...
    p50_ms: float | None
    p95_ms: float | None
    p95_first_ms: float | None  # first and last second of the probe: growth means a queue
    p95_last_ms: float | None
    status_counts: Mapping[str, int]
    errors_by_kind: Mapping[str, int]
    retry_after: str | None = None
    samples: tuple[ResponseSample, ...] = ()


@dataclass(frozen=True)
class Saturation:
    """The search's answer. `found` means the target, not the generator or the budget, set the limit.

    Generator-bound: `found` is False and `capacity_floor_rps` says "capacity above X"."""

    found: bool
    max_sustainable_rps: float | None
    criterion: str
    limited_by: LimitedBy
    statement: str
    budget_s: float
    load_s_used: float
    generator_bound: bool = False
    capacity_floor_rps: float | None = None
    upper_bound_rps: float | None = None  # the lowest rate that did not hold
    steps: tuple[Step, ...] = ()
    knee: Knee | None = None
    usl: Usl | None = None
    overload: Overload | None = None
    notes: tuple[str, ...] = field(default=())
    # LLM targets, searched on concurrency (closed loop): the best level held and what it carried.
    max_concurrency: int | None = None
    max_output_tokens_per_s: float | None = None
    # A mix or a trace (benchbox.traffic): the first class to break its SLO, and at what multiplier.
    first_break: ClassBreak | None = None
