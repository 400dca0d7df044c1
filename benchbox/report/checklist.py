"""The pre-deployment checklist (shared/CHECKLIST.md) as the report's spine.

Each item benchbox answers becomes one row: passed, failed or not checked, one line saying why,
and a link to the section holding the evidence. Rows are derived from the Result alone.

Adding a phase's answer is one entry in ITEMS: a function `(Result) -> Answer` that reads the
phase's section (as `_contract` reads `result.contract`) and says precisely why an item is open:
skipped with --skip, preflight failed, interrupted, or (for the A/B items) answered by `benchbox
compare`, not by one run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from benchbox.report import fmt
from benchbox.result import GateResult, LoadPhase, Result

Status = Literal["passed", "failed", "not checked"]


@dataclass(frozen=True)
class Answer:
    status: Status
    why: str
    evidence: str | None = None  # an element id on the page


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


def _skipped(result: Result) -> frozenset[str]:
    skip = result.plan.get("skip") if hasattr(result.plan, "get") else None
    return frozenset(str(s) for s in skip) if isinstance(skip, (list, tuple)) else frozenset()


def _not_run(result: Result, phase: str) -> Answer | None:
    """Why a phase that needs the target did not get to run, or None."""
    if phase in _skipped(result):
        return Answer("not checked", f"skipped with --skip {phase}", "evidence")
    if result.preflight is not None and result.preflight.error:
        return Answer("not checked", "preflight failed, so no request was sent", "preflight")
    if result.interrupted:
        return Answer("not checked", f"the run was interrupted ({result.interrupted}) before this phase", "evidence")
    return None


def _compare(what: str) -> Callable[[Result], Answer]:
    """An item one run cannot answer: it takes two versions, which is `benchbox compare`'s job."""

    def answer(result: Result) -> Answer:
        return Answer(
            "not checked",
            f"a run checks one version; to compare {what}: benchbox compare "
            "--baseline URL --candidate URL (or two result.json files)",
        )

    return answer


def absent(result: Result, phase: str) -> str:
    """Why a phase's section is missing from the result, as a sentence."""
    not_run = _not_run(result, phase)
    why = not_run.why if not_run else f"this result has no {phase} section"
    return why[0].upper() + why[1:] + "."


def _contract(result: Result) -> Answer:
    section = getattr(result, "contract", None)
    if section is None:
        return _not_run(result, "contract") or Answer("not checked", "this result has no contract section")
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
        return _not_run(result, "adversarial") or Answer("not checked", "this result has no adversarial section")
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
    sizing = _sizing(result)
    if s is None:
        return _not_run(result, "saturation") or Answer("not checked", "this result has no saturation section")
    if sizing.status == "failed":
        return sizing
    if s.found:
        return Answer("passed", s.statement + (f"; {sizing.why}" if sizing.evidence else ""), "saturation")
    return Answer("not checked", s.statement + (f"; {sizing.why}" if sizing.evidence else ""), "saturation")


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
        return _not_run(result, "contract") or Answer("not checked", "no versioned-endpoint check in this result")
    if check.failed:
        return Answer("failed", "no version in the path (/v1/), the answer (model_version) or a header", "contract")
    return Answer("passed", "the endpoint names its API version", "contract")


def _unchecked(detail: str) -> str:
    """A gate's detail without the 'not checked:' its badge already says."""
    return detail.split(":", 1)[1].strip() if detail.startswith("not checked:") else detail


def _gate_words(g: GateResult) -> str:
    return (
        f"{g.name} {fmt.in_unit(g.observed, g.unit)} {'breaks' if g.passed is False else 'within'} {fmt.threshold(g)}"
    )


def _judge(gates: Sequence[GateResult], unset: str, result: Result) -> Answer:
    """One answer from the gates an item rests on: any failure fails it, none checked leaves it open."""
    if result.main_phase is None:
        not_run = _not_run(result, "load")
        if not_run:
            return not_run
    if not gates:
        return Answer("not checked", unset, "gates")
    failed = [g for g in gates if g.passed is False]
    passed = [g for g in gates if g.passed is True]
    if failed:
        return Answer("failed", "; ".join(_gate_words(g) for g in failed), "gates")
    if not passed:
        return Answer("not checked", _unchecked(gates[0].detail), "gates")
    where = _at(result.main_phase)
    rest = f"; {len(gates) - len(passed)} not checked" if len(passed) < len(gates) else ""
    return Answer("passed", "; ".join(_gate_words(g) for g in passed) + where + rest, "gates")


def _at(phase: LoadPhase | None) -> str:
    """The load a figure was measured at, in a few words."""
    if phase is None:
        return ""
    ramp = f"{phase.ramp_from:g}→" if phase.ramp_from is not None else ""
    if phase.mode == "open" and phase.offered_rps is not None:
        return f" at {ramp}{phase.offered_rps:g} req/s"
    if phase.users is not None:
        return f" with {ramp}{phase.users} users"
    return ""


def _latency(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric.startswith("latency_ms.")]
    return _judge(gates, "no latency gate set (--slo p95=2s, p99=200ms, ...)", result)


def _errors(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric == "error_rate"]
    return _judge(gates, "no error-rate gate set (--slo errors=1%)", result)


def _throughput(result: Result) -> Answer:
    gates = [g for g in result.gates if g.metric == "throughput_rps"]
    answer = _judge(gates, "no throughput gate set (--slo min_rps=N)", result)
    phase = result.main_phase
    if answer.status == "not checked" and phase is not None and phase.timeseries:
        return Answer(
            "not checked",
            f"{answer.why}; measured {fmt.rps(phase.throughput_rps)}, second by second in the Load section",
            "load",
        )
    return answer


def _load(result: Result) -> Answer:
    phase = result.main_phase
    if phase is None:
        return _not_run(result, "load") or Answer("not checked", "no load phase ran", "load")
    if phase.latency_ms is None:
        return Answer("failed", f"no request got an answer ({fmt.count(phase.requests)} sent)", "load")
    if phase.generator.limited:
        reasons = "; ".join(phase.generator.reasons) or "generator-limited"
        return Answer("not checked", f"the load generator was the limit ({reasons}): {fmt.LIMITED_WARNING}", "load")
    part = "; partial run" if phase.partial else ""
    loop = "open loop" if phase.mode == "open" else "closed loop"
    return Answer(
        "passed",
        f"{fmt.count(phase.requests)} requests in {fmt.seconds(phase.elapsed_s)}, "
        f"{loop}{_at(phase)}, achieved {fmt.rps(phase.throughput_rps)}{part}",
        "load",
    )


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


def _ci(result: Result) -> Answer:
    failed = [g.name for g in result.gates if g.passed is False]
    if result.verdict == "error":
        first = result.problems[0] if result.problems else "see Problems"
        return Answer("failed", f"the run ended in error ({first}): a CI job running benchbox fails here", "gates")
    if failed:
        return Answer(
            "failed",
            f"{len(failed)} of {len(result.gates)} gates failed ({', '.join(failed)}): "
            "benchbox exits non-zero, a CI job stops here",
            "gates",
        )
    if not any(g.passed for g in result.gates):
        return Answer("not checked", "no gate was checked, so nothing would block a bad version", "gates")
    return Answer("passed", f"every checked gate passed ({len(result.gates)} set): benchbox exits 0", "gates")


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


def _evaluation(result: Result) -> Answer:
    e = result.evaluation
    if e is None:
        if (result.plan or {}).get("evaluation") is None:
            return Answer("not checked", "no labelled set given (--eval FILE with --gate thresholds)")
        return _not_run(result, "eval") or Answer("not checked", "this result has no evaluation section")
    gates = [
        g for g in result.gates if g.metric.startswith("evaluation.") and not g.metric.startswith("evaluation.gaps[")
    ]  # gaps answer the fairness row
    scored = f"{e.rows} rows" + (f", {len(e.slices)} slices" if e.slices else "")
    failed = [g for g in gates if g.passed is False]
    if failed:
        return Answer("failed", "; ".join(_gate_words(g) for g in failed) + f" ({scored})", "evaluation")
    if not gates:
        return Answer(
            "not checked", f"scored on {scored}, but no threshold was set (--gate accuracy>=0.9)", "evaluation"
        )
    return Answer("passed", "; ".join(_gate_words(g) for g in gates) + f" ({scored})", "evaluation")


def _fairness(result: Result) -> Answer:
    """Gap gates across slices (`--gate slice_gap:...`) answer it; measured gaps with no threshold leave it open."""
    e = result.evaluation
    if e is None:
        return (
            _evaluation(result)
            if (result.plan or {}).get("evaluation") is not None
            else Answer("not checked", "no labelled set given (--eval FILE --eval-slice COLUMN)")
        )
    if not e.slice_columns:
        return Answer("not checked", "no slice column to compare (--eval-slice COLUMN, e.g. region)", "evaluation")
    gates = [g for g in result.gates if g.metric.startswith("evaluation.gaps[")]
    failed = [g for g in gates if g.passed is False]
    if failed:
        return Answer("failed", "; ".join(_gate_words(g) for g in failed), "evaluation")
    if gates:
        return Answer("passed", "; ".join(_gate_words(g) for g in gates), "evaluation")
    from benchbox.report.gaps import lines

    seen = "; ".join(lines(e)[:3]) or "no slice column has two slices with a figure"
    return Answer("not checked", f"{seen}; no threshold set (--gate slice_gap:COLUMN:accuracy<=3%)", "evaluation")


def _cost(result: Result) -> Answer:
    c = result.cost
    if c is None or c.cost_per_hour is None:
        return Answer("not checked", "no price given (--cost-per-hour PRICE of one serving instance)")
    gates = [g for g in result.gates if g.metric.startswith("cost.")]
    failed = [g for g in gates if g.passed is False]
    if failed:
        return Answer("failed", "; ".join(_gate_words(g) for g in failed), "cost")
    if c.at_capacity is None:
        return Answer("not checked", c.statement + "; " + "; ".join(c.notes), "cost")
    return Answer("passed", c.statement, "cost")


def _sizing(result: Result) -> Answer:
    sizing = result.cost.sizing if result.cost is not None else None
    if sizing is None:
        return Answer("not checked", "no expected load given (--expected-rps R, with --headroom, default 30%)")
    gates = [g for g in result.gates if g.metric.startswith("sizing.")]
    if any(g.passed is False for g in gates):
        return Answer(
            "failed", "; ".join(_gate_words(g) for g in gates if g.passed is False) + f" ({sizing.statement})", "cost"
        )
    if sizing.replicas is None:
        return Answer("not checked", sizing.statement, "cost")
    return Answer("passed", sizing.statement, "cost")


ITEMS: tuple[Item, ...] = (
    Item("P50, P95 and P99 response times under expected load, against thresholds", "load", _latency),
    Item("Latency and throughput validated under load", "load", _load),
    Item("Error rate within budget (1 % by default)", "load", _errors),
    Item("Throughput over time", "load", _throughput),
    Item("Known saturation point; capacity against expected load", "saturation", _saturation),
    Item("Cost per decision at the capacity found within the SLO", "saturation", _cost),
    Item("Inputs and outputs match the expected shape, type and range", "contract", _contract),
    Item("Served behind a versioned API endpoint", "contract", _versioned),
    Item("Malformed, adversarial and boundary inputs handled", "adversarial", _adversarial),
    Item("Authentication and rate limiting enforced", "adversarial", _security),
    Item("Fallback behaviour: overload, timeouts, errors", "saturation", _overload),
    Item("Health checks and readiness probes", "preflight", _health),
    Item("CI gate that blocks a bad version", "gates", _ci),
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
    Item("Evaluation metrics meet their minimum thresholds", "eval", _evaluation),
    Item("Fairness or bias checks across slices", "eval", _fairness),
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
