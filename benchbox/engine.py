"""The pipeline: Plan -> preflight -> load -> gates -> Result.

The engine never prints and never exits: it reports progress through an observer callback and
returns a Result, also when the target dies, the generator fails or the run is interrupted
(then the Result is marked partial and says why). The CLI decides what to print and which exit
code that Result means.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchbox import __version__, brakes, evidence, gates, target
from benchbox.capacity import cost_of
from benchbox.errors import ExitCode, GeneratorFailed, Interrupted, UsageError
from benchbox.load.spec import PhaseSpec
from benchbox.plan import Plan
from benchbox.adversarial.model import AdversarialSection
from benchbox.contract.model import ContractSection
from benchbox.evaluate.model import EvaluationSection
from benchbox.saturation.model import Saturation
from benchbox.redact import scrub_result
from benchbox.result import LoadPhase, LoadSection, Preflight, Result, Target, Verdict, save


@dataclass(frozen=True)
class Event:
    """Progress for whoever is watching: kind is 'phase', 'note' or 'tick'."""

    kind: str
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


Observer = Callable[[Event], None]


def run(plan: Plan, command: str = "run", observer: Observer | None = None) -> Result:
    """Run every planned phase and return the Result; interruptions end the run early, not badly."""
    notify: Observer = observer or (lambda event: None)
    started = _now()
    problems: list[str] = []
    notes: list[str] = []  # what the brakes did: not a problem with the run, but worth saying
    phases: list[LoadPhase] = []
    pre: Preflight | None = None
    model_version: str | None = None
    interrupted: str | None = None
    contract: ContractSection | None = None
    adversarial: AdversarialSection | None = None
    saturation: Saturation | None = None
    evaluation: EvaluationSection | None = None
    try:
        notify(Event("phase", "preflight: probing health and readiness"))
        pre, model_version = target.preflight(plan, lambda text: notify(Event("note", text)))
        if pre.error:
            problems.append(pre.error)
        else:
            found = None
            if not plan.load.scenario:
                plan = _resolve_chat(plan, notify)
            chat = plan.llm is not None
            if "contract" not in plan.skip and not plan.load.scenario:
                if chat:
                    contract = _chat_contract(plan, notify)
                else:
                    found, contract = _contract(plan, notify)
                pre = dataclasses.replace(pre, contract_source=contract.source)
            if "adversarial" not in plan.skip and not plan.load.scenario:
                adversarial = _chat_adversarial(plan, pre, notify) if chat else _adversarial(plan, found, pre, notify)
            if plan.evaluation is not None and "eval" not in plan.skip and not plan.load.scenario:
                evaluation = _evaluate(plan, found, notify)
            loaded = _with_load_inputs(plan, found)
            if "load" not in plan.skip:
                phases.extend(_load(loaded, notify))
                if contract is not None and found is not None and found.source:
                    contract = _check_load_samples(contract, found, phases, plan)
            braked = next((p.aborted for p in phases if p.aborted), None)
            if braked:
                notes.append(f"load: {braked}")
                if "saturation" not in plan.skip and not plan.load.scenario:
                    notes.append("saturation: not run, because the brake stopped the load phase")
            elif "saturation" not in plan.skip and not plan.load.scenario:
                saturation = _chat_saturation(loaded, notify) if chat else _saturation(loaded, notify)
    except Interrupted as exc:
        interrupted = exc.signal_name
        phases.extend(getattr(exc, "phases", ()))
        saturation = getattr(exc, "saturation", saturation)
    except KeyboardInterrupt:
        interrupted = "SIGINT"
    except GeneratorFailed as exc:
        problems.append(str(exc))
    if interrupted:
        problems.append(f"interrupted by {interrupted}: the figures cover the run until then")

    phases = [dataclasses.replace(p, samples=()) for p in phases]  # evidence in transit, not record
    phase = phases[-1] if phases else None
    capacity = saturation.max_sustainable_rps if saturation is not None and saturation.found else None
    cost = cost_of(plan.cost, saturation, phase)
    judged = gates.judge(plan.gates, phase, _skipped_reason(plan, pre, interrupted), capacity, cost)
    judged += (gates.contract_gate(contract, _skipped_phase(plan, "contract", pre, interrupted)),
               gates.adversarial_gate(adversarial, _skipped_phase(plan, "adversarial", pre, interrupted)))
    if plan.evaluation is not None:
        from benchbox.evaluate.gates import judge as judge_evaluation

        judged += judge_evaluation(plan.evaluation.gates, evaluation, _skipped_phase(plan, "eval", pre, interrupted))
    verdict: Verdict = "error" if problems else ("fail" if any(g.passed is False for g in judged) else "pass")
    return scrub_result(plan.request.headers, Result(
        benchbox_version=__version__, started_at=started, finished_at=_now(), command=command,
        plan=plan.redacted(),
        target=Target(url=plan.target, protocol=_protocol(plan, contract),
                      label=plan.label, model_version=model_version),
        verdict=verdict, gates=judged, machine=evidence.machine(), seed=plan.seed, preflight=pre, contract=contract,
        adversarial=adversarial, saturation=saturation, evaluation=evaluation, cost=cost,
        load=LoadSection(phases=tuple(phases)) if phases else None, commit=evidence.commit(),
        partial=interrupted is not None or any(p.partial for p in phases), interrupted=interrupted,
        problems=tuple(problems), notes=tuple(notes),
    ))


def _protocol(plan: Plan, contract: ContractSection | None) -> str:
    """What the target speaks, as far as this run learnt it: the contract's word first."""
    if plan.llm is not None:
        return "openai-chat"
    if contract is not None and contract.source:
        return contract.protocol
    return "json" if plan.request.bodies else "http"


def _contract(plan: Plan, notify: Observer) -> tuple[Any, ContractSection]:
    """Discover the contract and check it; also return the contract, for the load phase's inputs."""
    from benchbox.contract import ContractOptions, SlowRule, discover, run_contract

    c = plan.contract
    options = ContractOptions(
        cases=c.cases, seed=plan.seed, tolerance=c.tolerance, timeout_s=plan.request.timeout_s,
        protocol=c.protocol, openapi=c.openapi, input_schema=c.input_schema, output_schema=c.output_schema,  # type: ignore[arg-type]
        accepted=c.accept, secret_headers={"Authorization": plan.api_key_env} if plan.api_key_env else {},
        insecure=plan.insecure, max_rps=plan.brakes.max_rps, max_body_bytes=plan.request.max_body_bytes,
        slow=SlowRule(c.slow_factor, c.slow_min_ms),
    )
    headers = dict(plan.request.headers)
    say = lambda text: notify(Event("note", text))  # noqa: E731
    notify(Event("phase", "contract: discovering the endpoint's contract and checking its answers"))
    method = plan.request.method
    found = discover(plan.target, method, headers, options, notify=say)
    guessed = not plan.method_given and not plan.request.bodies and method == "GET"
    if guessed and (found.source is None or found.protocol == "kserve-v2"):
        # No body and no --method: the endpoint may well be a POST one (KServe's infer always is).
        post = discover(plan.target, "POST", headers, options, notify=say)
        if post.source is not None:
            found, method = post, "POST"
    examples = [json.loads(b) for b in plan.request.bodies]
    section = run_contract(plan.target, method, headers, examples, options, notify=say, contract=found)
    if c.write_accept:
        from benchbox.contract import write_accept

        write_accept(section.violations + section.accepted, c.write_accept)
    notify(Event("note", f"contract: {section.requests} requests, {len(section.violations)} findings "
                         f"(source: {section.source or 'none'})"))
    return found, section


def _check_load_samples(section: ContractSection, found: Any, phases: list[LoadPhase], plan: Plan) -> ContractSection:
    """The contract holds under load too: check the answers the load phase kept (2xx only: the
    error gate already counts the rest)."""
    from benchbox.contract import check_response
    from benchbox.findings import group

    new = []
    checked = 0
    for sample in (s for p in phases for s in p.samples if 200 <= s.status < 300):
        try:
            body = json.loads(sample.request_body) if sample.request_body else None
        except json.JSONDecodeError:
            continue
        checked += 1
        new += check_response(found, body, sample.status, sample.content_type, sample.body.encode("utf-8"),
                              url=plan.target, method=found.method, headers=dict(plan.request.headers),
                              secret_headers={"Authorization": plan.api_key_env} if plan.api_key_env else None)
    open_new = [f for f in new if f.id not in plan.contract.accept]
    violations = tuple(group(list(section.violations) + open_new))
    note = f"{checked} answers from the load phase checked too: {len(open_new)} findings"
    return dataclasses.replace(section, violations=violations, notes=section.notes + (note,),
                               passed=section.passed and not open_new)


def _with_load_inputs(plan: Plan, found: Any) -> Plan:
    """With no --body, load with a pool of generated valid inputs when the contract allows it."""
    if plan.request.bodies or found is None or found.source is None:
        return plan
    from benchbox.contract import body_text, valid_inputs

    pool = tuple(body_text(b) for b in valid_inputs(found, 100, plan.seed))
    if not pool:
        return plan
    headers = dict(plan.request.headers)
    headers.setdefault("Content-Type", "application/json")
    request = dataclasses.replace(plan.request, bodies=pool, method=found.method, headers=tuple(headers.items()))
    return dataclasses.replace(plan, request=request)


def _adversarial(plan: Plan, found: Any, pre: Preflight, notify: Observer) -> AdversarialSection:
    from benchbox.adversarial import AdversarialOptions, run_adversarial
    from benchbox.contract import SlowRule

    a = plan.adversarial
    options = AdversarialOptions(
        seed=plan.seed, budget_s=a.budget_s, max_cases=a.cases, timeout_s=min(5.0, plan.request.timeout_s),
        api_key_env=plan.api_key_env, expect_rate_limit=a.expect_rate_limit, accepted=plan.contract.accept,
        secret_headers={"Authorization": plan.api_key_env} if plan.api_key_env else {},
        # Afterwards, the paths that answered in preflight: a path the target never had is no news.
        health_paths=tuple(p for p in (pre.health.path, pre.ready.path) if p),
        insecure=plan.insecure, max_rps=plan.brakes.max_rps, max_concurrency=plan.brakes.max_concurrency,
        max_body_bytes=plan.request.max_body_bytes,
        slow=SlowRule(plan.contract.slow_factor, plan.contract.slow_min_ms), public_paths=a.public_paths,
    )
    notify(Event("phase", f"adversarial: malformed and hostile inputs for up to {a.budget_s:g}s"))
    method = found.method if found is not None and found.source else plan.request.method
    examples = [json.loads(b) for b in plan.request.bodies]
    section = run_adversarial(plan.target, method, dict(plan.request.headers), examples, found, options,
                              notify=lambda text: notify(Event("note", text)))
    notify(Event("note", f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
                         f"healthy after: {section.healthy_after}"))
    return section


def _evaluate(plan: Plan, found: Any, notify: Observer) -> EvaluationSection:
    from benchbox.evaluate.runner import evaluate

    assert plan.evaluation is not None
    notify(Event("phase", f"evaluation: scoring the answers on {plan.evaluation.path}"))
    section = evaluate(plan.evaluation, plan.target, plan.request, found, plan.seed,
                       lambda text: notify(Event("note", text)), protocol=plan.contract.protocol,
                       brakes=plan.brakes)
    notify(Event("note", f"evaluation: {section.rows} rows, " + ", ".join(
        f"{m.name} {m.value:.4g}" for m in section.metrics if m.value is not None)))
    return section


def _saturation(plan: Plan, notify: Observer) -> Saturation:
    from benchbox.saturation import SearchSettings, run_search

    notify(Event("phase", f"saturation: searching for the highest sustainable throughput "
                          f"(up to {plan.saturation_budget_s:g}s of load)"))
    result = run_search(plan.request, plan.gates, brakes.braked_search(plan), plan.seed,
                        notify=lambda text: notify(Event("note", text)))
    notify(Event("note", f"saturation: {result.statement}"))
    return result


def _resolve_chat(plan: Plan, notify: Observer) -> Plan:
    from benchbox.llm.setup import resolve

    return resolve(plan, lambda text: notify(Event("note", text)))


def _chat_contract(plan: Plan, notify: Observer) -> ContractSection:
    from benchbox.llm.contract import run_chat_contract

    notify(Event("phase", "contract: checking the chat answers and their streams"))
    section = run_chat_contract(plan, notify=lambda text: notify(Event("note", text)))
    notify(Event("note", f"contract: {section.requests} requests, {len(section.violations)} findings (openai-chat)"))
    return section


def _chat_adversarial(plan: Plan, pre: Preflight, notify: Observer) -> AdversarialSection:
    from benchbox.llm.probes import run_chat_adversarial

    notify(Event("phase", f"adversarial: hostile prompts and malformed chat requests for up to "
                          f"{plan.adversarial.budget_s:g}s"))
    health = tuple(p for p in (pre.health.path, pre.ready.path) if p)
    section = run_chat_adversarial(plan, health, notify=lambda text: notify(Event("note", text)))
    if plan.api_key_env:  # every /v1/* route must refuse a missing or wrong key, the target too
        from benchbox.adversarial import AdversarialOptions
        from benchbox.adversarial.surface import sweep_standalone
        from benchbox.findings import group

        options = AdversarialOptions(timeout_s=min(10.0, plan.request.timeout_s), insecure=plan.insecure,
                                     max_rps=plan.brakes.max_rps, public_paths=plan.adversarial.public_paths,
                                     secret_headers={"Authorization": plan.api_key_env})
        found, notes, sent = sweep_standalone(plan.target, "POST", dict(plan.request.headers), options,
                                              plan.chat.model)
        open_ = [f for f in found if f.id not in plan.contract.accept]
        section = dataclasses.replace(section, findings=group([*section.findings, *open_]),
                                      requests=section.requests + sent, notes=section.notes + tuple(notes),
                                      passed=section.passed and not open_)
    notify(Event("note", f"adversarial: {section.cases} cases, {len(section.findings)} findings, "
                         f"healthy after: {section.healthy_after}"))
    return section


def _chat_saturation(plan: Plan, notify: Observer) -> Saturation:
    from benchbox.llm.saturation import run_concurrency_search

    notify(Event("phase", f"saturation: searching concurrency for the most streams held within the SLOs "
                          f"(up to {plan.saturation_budget_s:g}s of load)"))
    result = run_concurrency_search(plan, notify=lambda text: notify(Event("note", text)))
    notify(Event("note", f"saturation: {result.statement}"))
    return result


def _skipped_phase(plan: Plan, name: str, pre: Preflight | None, interrupted: str | None) -> str:
    if name in plan.skip:
        return f"not checked: the {name} phase was skipped (--skip {name})"
    if plan.load.scenario:
        return "not checked: a locustfile run names a host, not one endpoint with a contract"
    if pre is not None and pre.error:
        return "not checked: preflight failed, so no request was sent"
    return _skipped_reason(plan, pre, interrupted).replace("no load was sent", "no request was sent")


def _load(plan: Plan, notify: Observer) -> list[LoadPhase]:
    from benchbox.load.process import run_phases  # the generator process is only started when needed

    run = brakes.braked_run(plan)
    capped = [p for p, q in zip(plan.run_spec().phases, run.phases) if (p.rate, p.users) != (q.rate, q.users)]
    if capped:
        notify(Event("note", f"load: {len(capped)} phase(s) capped by --max-rps {plan.brakes.max_rps} / "
                             f"--max-concurrency {plan.brakes.max_concurrency}"))

    def started(index: int) -> None:
        spec = run.phases[index]
        notify(Event("phase", f"load: {describe(spec)} for {spec.duration_s:g}s",
                     {"phase": spec.name, "duration_s": spec.duration_s}))

    return run_phases(run, lambda tick: notify(Event("tick", data=tick)), started,
                      lambda text: notify(Event("note", text)))


def describe(spec: PhaseSpec) -> str:
    """A phase as a person would say it: 'open loop, 50 req/s (constant)'."""
    if spec.scenario:
        return f"locustfile {spec.scenario}, {spec.users or 1} users"
    ramp = f"{spec.ramp_from:g} -> " if spec.ramp_from is not None else ""
    if spec.mode == "open":
        return f"open loop, {ramp}{spec.rate:g} req/s ({spec.arrival})"
    return f"closed loop, {ramp}{spec.users} users"


def _skipped_reason(plan: Plan, pre: Preflight | None, interrupted: str | None) -> str:
    if "load" in plan.skip:
        return "not checked: the load phase was skipped (--skip load)"
    if pre is not None and pre.error:
        return "not checked: preflight failed, so no load was sent"
    if interrupted:
        return f"not checked: interrupted by {interrupted} before the load phase"
    return "not checked: no load phase ran"


def exit_code(result: Result) -> ExitCode:
    """DESIGN.md's exit codes, decided from the Result alone (so `benchbox report` agrees)."""
    if result.interrupted:
        return ExitCode.TERMINATED if result.interrupted == "SIGTERM" else ExitCode.INTERRUPTED
    if result.preflight is not None and result.preflight.error:
        return ExitCode.UNREACHABLE
    if result.verdict == "fail":
        return ExitCode.GATE_FAILED
    if result.verdict == "error":
        return ExitCode.USAGE
    return ExitCode.PASS


def prepare_out_dir(out_dir: Path) -> Path:
    """Fail before the run, not after it, when the results could not be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".benchbox-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"bad --out {str(out_dir)!r}: expected a writable directory ({exc.strerror or exc})") from None
    return out_dir


def check_out_dir(out_dir: Path) -> None:
    """prepare_out_dir's check without creating anything (for --dry-run): the directory, or its
    nearest existing parent, must be a writable directory."""
    import os

    probe = out_dir
    try:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        usable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
        why = f"{str(probe)!r} is not a writable directory"
    except OSError as exc:  # a name too long for the file system, say
        usable, why = False, exc.strerror or str(exc)
    if not usable:
        raise UsageError(f"bad --out {str(out_dir)[:200]!r}: expected a writable directory ({why})")


@dataclass(frozen=True)
class Written:
    result_json: Path
    report_html: Path
    summary_md: Path
    junit_xml: Path
    warnings: tuple[str, ...] = ()


def write_outputs(result: Result, out_dir: Path) -> Written:
    """result.json first (the record), then every renderer reads only it."""
    from benchbox.report import render_all

    path = save(result, out_dir / "result.json")
    files = render_all(result, out_dir)
    return Written(result_json=path, report_html=files.html, summary_md=files.markdown,
                   junit_xml=files.junit, warnings=files.warnings)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
