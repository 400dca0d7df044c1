"""The values the adversarial phase reads and writes.

`AdversarialOptions` is the slice of the plan this phase reads; `AdversarialSection` is its part
of the result document. JSON-safe and dacite-readable (`Config(cast=[tuple])`): tuples of
dataclasses, str keys only, no sets. Imports only findings and the stdlib, so result.py and the
report can load it without Hypothesis or httpx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from benchbox.contract.model import SlowRule
from benchbox.findings import Finding

DEFAULT_BUDGET_S = 30.0
DEFAULT_MAX_CASES = 150
DEFAULT_TIMEOUT_S = 5.0

# Severity by kind, for this phase (the gate fails on high and medium unless accepted).
SEVERITY: Mapping[str, str] = {
    "server_error": "high",
    "crash": "high",
    "timeout": "high",
    "unhealthy_after": "high",
    "auth_missing": "high",
    "info_leak": "high",
    "status_mismatch": "medium",
    "contract_violation": "medium",
    "rate_limit_missing": "medium",
    "slow_input": "medium",  # a cheap request that holds a worker for seconds
}


@dataclass(frozen=True)
class AdversarialOptions:
    """How hard to try. `budget_s` bounds the whole phase (cases, shrinking and probes);
    `max_cases` bounds the generated cases (shrinking attempts come on top, inside the budget)."""

    seed: int = 0
    budget_s: float = DEFAULT_BUDGET_S
    max_cases: int = DEFAULT_MAX_CASES
    timeout_s: float = DEFAULT_TIMEOUT_S
    api_key_env: str | None = None  # set: the plan says the endpoint needs auth -> probe it
    expect_rate_limit: float | None = None  # req/s; set: a burst of ~2R in a second must meet 429
    accepted: frozenset[str] = frozenset()  # finding ids from contract.accept.read_accept()
    secret_headers: Mapping[str, str] = field(default_factory=dict)  # header -> env var, for curl lines
    health_paths: tuple[str, ...] = ()  # () -> the contract's documented ones, else /health and /ready
    shrink: bool = True
    insecure: bool = False  # --insecure: accept any TLS certificate
    max_rps: float | None = None  # --max-rps: every request is paced under it
    max_concurrency: int | None = None  # --max-concurrency: caps the rate-limit burst's pool
    max_body_bytes: int = 4 * 1024 * 1024  # --max-body: answers are read up to this
    slow: SlowRule = field(default_factory=SlowRule)  # --slow-input: when one input counts as slow
    public_paths: tuple[str, ...] = ()  # --public-path: routes that may answer without a key (besides health)


@dataclass(frozen=True)
class ClassStats:
    """One input class: how many cases were sent, how many answered, and their median latency."""

    name: str
    cases: int
    answered: int
    statuses: Mapping[str, int] = field(default_factory=dict)  # "422" -> count ("none": no answer)
    median_ms: float | None = None
    findings: int = 0


@dataclass(frozen=True)
class AdversarialSection:
    """The adversarial phase's part of the result. `passed` ignores accepted and low findings."""

    url: str
    method: str
    seed: int
    cases: int
    requests: int
    passed: bool
    findings: tuple[Finding, ...] = ()
    accepted: tuple[Finding, ...] = ()
    healthy_after: bool | None = None  # None: not checked (no health path and no good example)
    budget_s: float = DEFAULT_BUDGET_S
    elapsed_s: float = 0.0
    median_ms: float | None = None
    by_class: tuple[ClassStats, ...] = ()
    notes: tuple[str, ...] = ()
    skipped: str | None = None
