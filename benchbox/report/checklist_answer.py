"""How a checklist item is answered (benchbox.report.checklist): passed, failed or not checked,
one line why, where the evidence is; why a phase did not get to run; a gate in words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchbox.report import fmt
from benchbox.result import GateResult, Result

Status = Literal["passed", "failed", "not checked"]


@dataclass(frozen=True)
class Answer:
    status: Status
    why: str
    evidence: str | None = None  # an element id on the page


def _skipped(result: Result) -> frozenset[str]:
    skip = result.plan.get("skip") if hasattr(result.plan, "get") else None
    return frozenset(str(s) for s in skip) if isinstance(skip, (list, tuple)) else frozenset()


def not_run(result: Result, phase: str) -> Answer | None:
    """Why a phase that needs the target did not get to run, or None."""
    if phase in _skipped(result):
        return Answer("not checked", f"skipped with --skip {phase}", "evidence")
    if result.preflight is not None and result.preflight.error:
        return Answer("not checked", "preflight failed, so no request was sent", "preflight")
    if result.interrupted:
        return Answer("not checked", f"the run was interrupted ({result.interrupted}) before this phase", "evidence")
    return None


def absent(result: Result, phase: str) -> str:
    """Why a phase's section is missing from the result, as a sentence."""
    missed = not_run(result, phase)
    why = missed.why if missed else f"this result has no {phase} section"
    return why[0].upper() + why[1:] + "."


def gate_words(g: GateResult) -> str:
    return (
        f"{g.name} {fmt.in_unit(g.observed, g.unit)} {'breaks' if g.passed is False else 'within'} {fmt.threshold(g)}"
    )


def failing(gates: Sequence[GateResult], evidence: str, suffix: str = "") -> Answer | None:
    """A failed answer naming each gate that failed (None when none did)."""
    failed = [g for g in gates if g.passed is False]
    return Answer("failed", "; ".join(gate_words(g) for g in failed) + suffix, evidence) if failed else None
