"""The contract phase's record: the rules in report order, and what was found (each problem with
the exchange that showed it) made into grouped findings and per-rule counts."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from benchbox.contract.accept import split_accepted
from benchbox.contract.checks import basis_of, to_finding
from benchbox.contract.model import BatchPoint, Contract, ContractOptions, ContractSection, RuleCount
from benchbox.contract.problem import Problem
from benchbox.contract.session import Exchange
from benchbox.findings import group

RULE_ORDER = (
    "status",
    "deadline",
    "content_type",
    "json",
    "response_schema",
    "finite",
    "batch_size",
    "probability_range",
    "probability_sum",
    "self_consistent",
    "kserve_shape",
    "kserve_metadata",
    "kserve_id",
    "same_model",
    "determinism",
    "rejects_invalid",
    "input_latency",
    "health",
    "versioned",
    "transport",
)
# The rules whose failure on a batch is shrunk to its shortest failing prefix: all but those about
# time, a second face or request, a deliberately invalid input, or the service around the model.
SHRINKABLE = frozenset(RULE_ORDER) - {
    "deadline",
    "kserve_id",
    "same_model",
    "rejects_invalid",
    "input_latency",
    "health",
    "versioned",
    "transport",
}


@dataclass
class Hit:
    """A problem and the exchange that shows it (`minimal`: no smaller request shows it)."""

    problem: Problem
    ex: Exchange
    minimal: bool = False


@dataclass(frozen=True)
class Tallies:
    """What the runner counted besides the hits."""

    requests: int
    cases: int
    invalid_cases: int
    skipped: str | None
    notes: tuple[str, ...]
    batches: tuple[BatchPoint, ...]
    median_ms: float | None


def section_of(
    contract: Contract,
    options: ContractOptions,
    headers: Mapping[str, str],
    hits: list[Hit],
    tally: Mapping[str, list[int]],
    counted: Tallies,
    started: float,
) -> ContractSection:
    """The ContractSection: findings grouped (accepted ones apart), rule counts in RULE_ORDER."""
    findings = [
        to_finding(
            h.problem,
            method=h.ex.method,
            url=h.ex.url,
            headers=headers if h.ex.text is not None else _no_ct(headers),
            body_text=h.ex.text,
            status=h.ex.status,
            content_type=h.ex.content_type,
            response=h.ex.content,
            minimal=h.minimal,
            error=h.ex.error,
            secret_headers=options.secret_headers,
            basis=basis_of(contract, h.problem.rule),
        )
        for h in hits
    ]
    open_, accepted = split_accepted(group(findings), options.accepted)
    order = {r: i for i, r in enumerate(RULE_ORDER)}
    checks = tuple(
        RuleCount(rule, n, bad) for rule, (n, bad) in sorted(tally.items(), key=lambda kv: order.get(kv[0], len(order)))
    )
    return ContractSection(
        source=contract.source,
        protocol=contract.protocol,
        url=contract.url,
        method=contract.method,
        seed=options.seed,
        requests=counted.requests,
        cases=counted.cases,
        invalid_cases=counted.invalid_cases,
        passed=not open_,
        violations=open_,
        accepted=accepted,
        checks=checks,
        notes=tuple(dict.fromkeys(counted.notes)),
        elapsed_s=round(time.monotonic() - started, 3),
        skipped=counted.skipped,
        batch_latency=counted.batches,
        median_ms=round(counted.median_ms, 3) if counted.median_ms is not None else None,
    )


def _no_ct(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "content-type"}
