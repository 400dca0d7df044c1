"""The pre-deployment checklist (shared/CHECKLIST.md) as the report's spine.

Each item benchbox answers becomes one row: passed, failed or not checked, one line saying why,
and a link to the section holding the evidence. Rows are derived from the Result alone.

Adding a phase's answer is one entry in ITEMS: a function `(Result) -> Answer` that reads the
phase's section (as `_contract` reads `result.contract`) and says precisely why an item is open:
skipped with --skip, preflight failed, interrupted, or (for the A/B items) answered by `benchbox
compare`, not by one run. Items that rest on the gates are answered in checklist_gates.py; the
Answer and the reasons a phase did not run are in checklist_answer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchbox.report import fmt
from benchbox.report.checklist_answer import Answer, Status, not_run
from benchbox.report.checklist_answer import absent as absent  # re-exported: html.py asks checklist.absent
from benchbox.report.checklist_gates import ci, cost, errors, evaluation, fairness, latency, load, sizing, throughput
from benchbox.result import Result


@dataclass(frozen=True)
class Row:
    item: str
    phase: str
    status: Status
    why: str
    evidence: str | None


@dataclass(frozen=True)
class Item:
    item: str
    phase: str
    answer: Callable[[Result], Answer]


def _compare(what: str) -> Callable[[Result], Answer]:
    """An item one run cannot answer: it takes two versions, which is `benchbox compare`'s job."""

    def answer(result: Result) -> Answer:
        return Answer(
            "not checked",
            f"a run checks one version; to compare {what}: benchbox compare "
            "--baseline URL --candidate URL (or two result.json files)",
        )

    return answer


def _contract(result: Result) -> Answer:
    section = getattr(result, "contract", None)
    if section is None:
        return not_run(result, "contract") or Answer("not checked", "this result has no contract section")
    if section.skipped:
        return Answer("not checked", section.skipped, "contract")
    checked = (
        f"{fmt.count(section.requests)} requests, {section.cases} valid and {section.invalid_cases} invalid inputs"
    )
    if section.passed:
        accepted = f", {len(section.accepted)} accepted" if section.accepted else ""
        return Answer(
            "passed", f"{checked}: no finding{accepted} (contract from {section.source or 'examples'})", "contract"
        )
    rules = sorted({f.rule for f in section.violations})
    return Answer("failed", f"{len(section.violations)} findings ({', '.join(rules)}) in {checked}", "contract")


def _adversarial(result: Result) -> Answer:
    section = result.adversarial
    if section is None:
        return not_run(result, "adversarial") or Answer("not checked", "this result has no adversarial section")
    if section.skipped:
        return Answer("not checked", section.skipped, "adversarial")
    blocking = [f for f in section.findings if f.severity != "low" and f.kind not in _SECURITY]
    if blocking:
        kinds = ", ".join(sorted({f.kind for f in blocking}))
        return Answer("failed", f"{len(blocking)} findings ({kinds}) in {section.cases} inputs", "adversarial")
    after = "; healthy afterwards" if section.healthy_after else ""
    return Answer(
        "passed", f"{section.cases} malformed or hostile inputs answered as they should{after}", "adversarial"
    )


_SECURITY = ("auth_missing", "rate_limit_missing")


def _security(result: Result) -> Answer:
    section = result.adversarial
    plan = result.plan or {}
    expects_auth = bool(plan.get("api_key_env"))
    expects_limit = bool((plan.get("adversarial") or {}).get("expect_rate_limit"))
    if section is None or section.skipped:
        return _adversarial(result) if section is None or section.skipped else Answer("not checked", "")
    if not (expects_auth or expects_limit):
        return Answer(
            "not checked", "the plan names no API key (--api-key-env) and no rate limit (--expect-rate-limit)"
        )
    found = [f for f in section.findings if f.kind in _SECURITY]
    if found:
        return Answer("failed", ", ".join(sorted({f.kind for f in found})), "adversarial")
    checked = " and ".join(
        w for w, on in (("401/403 without a key", expects_auth), ("429 past the limit", expects_limit)) if on
    )
    return Answer("passed", f"{checked}, as promised", "adversarial")


def _saturation(result: Result) -> Answer:
    """The saturation point, and (with --expected-rps) the replicas the expected load needs."""
    s = result.saturation
    size = sizing(result)
    if s is None:
        return not_run(result, "saturation") or Answer("not checked", "this result has no saturation section")
    if size.status == "failed":
        return size
    if s.found:
        return Answer("passed", s.statement + (f"; {size.why}" if size.evidence else ""), "saturation")
    return Answer("not checked", s.statement + (f"; {size.why}" if size.evidence else ""), "saturation")


def _overload(result: Result) -> Answer:
    s = result.saturation
    if s is None or s.overload is None:
        return _saturation(result) if s is None else Answer("not checked", "no probe past capacity", "saturation")
    grade = s.overload.grade
    status: Status = "passed" if grade == "sheds" else ("failed" if grade == "fails" else "not checked")
    return Answer(status, f"past capacity it {grade}: {s.overload.finding}", "saturation")


def _versioned(result: Result) -> Answer:
    section = getattr(result, "contract", None)
    check = next((k for k in section.checks if k.rule == "versioned"), None) if section is not None else None
    if section is None or check is None or not check.checked:
        return not_run(result, "contract") or Answer("not checked", "no versioned-endpoint check in this result")
    if check.failed:
        return Answer("failed", "no version in the path (/v1/), the answer (model_version) or a header", "contract")
    return Answer("passed", "the endpoint names its API version", "contract")


def _health(result: Result) -> Answer:
    pf = result.preflight
    if pf is None:
        return Answer("not checked", "preflight did not run", "preflight")
    if not pf.reachable or pf.error:
        return Answer("failed", pf.error or "the target was not reachable", "preflight")
    outcomes = (("health", pf.health), ("readiness", pf.ready))
    bad = [f"{name}: {o.detail}" for name, o in outcomes if o.ok is False]
    if bad:
        return Answer("failed", "; ".join(bad), "preflight")
    found = [f"{name} {o.path}" for name, o in outcomes if o.ok]
    if not found:
        return Answer(
            "failed",
            "no health or readiness endpoint answered at the paths tried (--health-path, --ready-path)",
            "preflight",
        )
    missing = [name for name, o in outcomes if o.ok is None]
    absent = f"; no {missing[0]} endpoint found" if missing else ""
    return Answer("passed", f"{' and '.join(found)} answered{absent}", "preflight")


def _audit(result: Result) -> Answer:
    have = ["plan", "benchbox version", "machine", "start and end times"]
    if result.commit:
        have.append("commit")
    if not result.target.model_version:
        return Answer(
            "failed",
            "the target did not name its model version, so this report cannot say which "
            f"model it tested (recorded: {', '.join(have)})",
            "evidence",
        )
    return Answer("passed", f"model version {result.target.model_version}; {', '.join(have)}", "evidence")


ITEMS: tuple[Item, ...] = (
    Item("P50, P95 and P99 response times under expected load, against thresholds", "load", latency),
    Item("Latency and throughput validated under load", "load", load),
    Item("Error rate within budget (1 % by default)", "load", errors),
    Item("Throughput over time", "load", throughput),
    Item("Known saturation point; capacity against expected load", "saturation", _saturation),
    Item("Cost per decision at the capacity found within the SLO", "saturation", cost),
    Item("Inputs and outputs match the expected shape, type and range", "contract", _contract),
    Item("Served behind a versioned API endpoint", "contract", _versioned),
    Item("Malformed, adversarial and boundary inputs handled", "adversarial", _adversarial),
    Item("Authentication and rate limiting enforced", "adversarial", _security),
    Item("Fallback behaviour: overload, timeouts, errors", "saturation", _overload),
    Item("Health checks and readiness probes", "preflight", _health),
    Item("CI gate that blocks a bad version", "gates", ci),
    Item(
        "Output distribution matches expectations (statistical test)",
        "compare",
        _compare("the candidate's answers against today's version's (shadow outputs, class shares)"),
    ),
    Item(
        "A/B against the current version with success criteria",
        "compare",
        _compare("latency, throughput and errors against today's version, gated by --max-regression"),
    ),
    Item("Evaluation metrics meet their minimum thresholds", "eval", evaluation),
    Item("Fairness or bias checks across slices", "eval", fairness),
    Item("Audit evidence: model version, plan, machine, commit, times", "report", _audit),
)


def rows(result: Result) -> tuple[Row, ...]:
    out = []
    for item in ITEMS:
        answer = item.answer(result)
        out.append(Row(item.item, item.phase, answer.status, fmt.clean(answer.why), answer.evidence))
    return tuple(out)


def tally(found: Sequence[Row]) -> dict[str, int]:
    return {s: sum(r.status == s for r in found) for s in ("passed", "failed", "not checked")}
