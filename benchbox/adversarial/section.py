"""The adversarial phase's record: per input class what was sent and seen, and the section made
from it and the findings (accepted ones apart; only high and medium findings fail the phase)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from benchbox.adversarial.cases import Case
from benchbox.adversarial.judge import Outcome
from benchbox.adversarial.model import SEVERITY, AdversarialOptions, AdversarialSection, ClassStats
from benchbox.contract.accept import split_accepted
from benchbox.findings import Finding, group


@dataclass
class ClassTally:
    """One input class as it ran: cases sent, answer times, statuses, the slowest, findings."""

    cases: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    slowest: tuple[float, Case, Outcome] | None = None
    findings: int = 0
    timeouts: int = 0


@dataclass(frozen=True)
class Sent:
    """Where the phase sent its cases, and how many."""

    url: str
    method: str
    cases: int
    requests: int


def section_of(
    sent: Sent,
    options: AdversarialOptions,
    findings: list[Finding],
    classes: dict[str, ClassTally],
    notes: list[str],
    healthy: bool | None,
    skipped: str | None,
    started: float,
) -> AdversarialSection:
    open_, accepted = split_accepted(group(findings), options.accepted)
    every = [ms for s in classes.values() for ms in s.latencies]
    by_class = tuple(
        ClassStats(
            name,
            s.cases,
            len(s.latencies),
            dict(sorted(s.statuses.items())),
            round(statistics.median(s.latencies), 3) if s.latencies else None,
            s.findings,
        )
        for name, s in classes.items()
    )
    passed = not any(SEVERITY.get(f.kind) in ("high", "medium") for f in open_)
    return AdversarialSection(
        url=sent.url,
        method=sent.method,
        seed=options.seed,
        cases=sent.cases,
        requests=sent.requests,
        passed=passed,
        findings=open_,
        accepted=accepted,
        healthy_after=healthy,
        budget_s=options.budget_s,
        elapsed_s=round(time.monotonic() - started, 3),
        median_ms=round(statistics.median(every), 3) if every else None,
        by_class=by_class,
        notes=tuple(notes),
        skipped=skipped,
    )
