"""The values the contract stage passes around: what was discovered, how to run, what came out.

`Contract` is what discovery learned about one endpoint (frozen, so the load phase can share it);
`ContractOptions` is the slice of the plan this stage reads; `ContractSection` is what goes into
the result document (JSON-safe, dacite-readable: no Mapping with non-str keys, no sets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbox.findings import Finding

Protocol = Literal["json", "kserve-v2"]
Source = Literal["user", "openapi", "kserve-v2"]

DEFAULT_CASES = 100
DEFAULT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class TensorSpec:
    """One KServe V2 input or output as the model metadata declares it (-1: any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class HealthSpec:
    """A documented health/readiness path, and the 200 schema the document gives it, if any."""

    path: str
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Route:
    """One operation of the API the target belongs to (for the auth sweep over the whole surface).
    `path` is concrete (templates filled in); `body` is a request to send when it needs one."""

    method: str
    path: str
    body: Any = None
    why: str = ""  # where benchbox learnt of it: "OpenAPI", "KServe V2 metadata", "OpenAI-compatible"


@dataclass(frozen=True)
class SlowRule:
    """When one input counts as slow: at least `factor` times the typical (median) answer AND at
    least `min_ms`. Both, so a 3 ms endpoint answering in 40 ms is not news, and a 2 s endpoint
    answering in 2.5 s is not either."""

    factor: float = 10.0
    min_ms: float = 500.0

    def threshold_ms(self, median_ms: float) -> float:
        return max(self.factor * median_ms, self.min_ms)

    def describe(self) -> str:
        return f">= {self.factor:g}x the median and >= {self.min_ms:g} ms"


@dataclass(frozen=True)
class Contract:
    """What the endpoint promises. Schemas are self-contained (no $ref), draft-7 JSON Schema."""

    url: str
    method: str
    protocol: Protocol
    source: Source | None
    request_schema: Mapping[str, Any] | None = None
    response_schema: Mapping[str, Any] | None = None
    content_type: str = "application/json"
    model_name: str | None = None
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    examples: tuple[Any, ...] = ()  # documented examples that validate against request_schema
    health: tuple[HealthSpec, ...] = ()
    notes: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()  # every operation the document lists (OpenAPI paths and methods)
    described_by: str = ""  # which document the contract came from, named in each finding's basis
    body_required: bool | None = None  # OpenAPI requestBody.required; None: not documented


@dataclass(frozen=True)
class ContractOptions:
    """How to discover and how hard to check; defaults are the CLI's defaults."""

    cases: int = DEFAULT_CASES
    seed: int = 0
    tolerance: float = DEFAULT_TOLERANCE  # determinism: relative difference allowed between answers
    prob_tolerance: float = 1e-3  # |sum(probabilities) - 1| allowed, on top of printed rounding
    timeout_s: float = 10.0
    protocol: Literal["auto", "json", "kserve-v2"] = "auto"
    openapi: str | None = None  # URL or file; None: look at <origin>/openapi.json, /docs/openapi.json
    input_schema: str | None = None  # JSON Schema file
    output_schema: str | None = None
    invalid_cases: int = 5
    determinism_cases: int = 10
    shrink: bool = True
    accepted: frozenset[str] = frozenset()  # finding ids from read_accept()
    secret_headers: Mapping[str, str] = field(default_factory=dict)  # header -> env var, for curl lines
    insecure: bool = False  # --insecure: accept any TLS certificate
    max_rps: float | None = None  # --max-rps: the phase's requests are paced under it
    max_body_bytes: int = 4 * 1024 * 1024  # --max-body: answers are read up to this
    slow: SlowRule = field(default_factory=SlowRule)  # --slow-input
    edges: bool = True  # the deliberate edge cases (sizes, bounds, lengths) before the generated inputs
    slow_budget_s: float = 30.0  # confirming and shrinking slow inputs may take this long at most


@dataclass(frozen=True)
class BatchPoint:
    """One batch size the edge cases sent and how long its answer took (the latency-vs-size chart)."""

    size: int
    ms: float
    status: int | None
    expect: str  # "valid", "invalid" or "any": what the contract says this size must get


@dataclass(frozen=True)
class RuleCount:
    """How many answers a rule looked at, and how many broke it."""

    rule: str
    checked: int
    failed: int


@dataclass(frozen=True)
class ContractSection:
    """The contract phase's part of the result. `passed` ignores accepted findings."""

    source: str | None
    protocol: str
    url: str
    method: str
    seed: int
    requests: int
    cases: int
    invalid_cases: int
    passed: bool
    violations: tuple[Finding, ...] = ()
    accepted: tuple[Finding, ...] = ()
    checks: tuple[RuleCount, ...] = ()
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    skipped: str | None = None  # why nothing was checked (no contract and no example)
    batch_latency: tuple[BatchPoint, ...] = ()  # the edge cases' batch sizes, in the order sent
    median_ms: float | None = None  # the typical answer to a valid input (the slow-input rule's base)
