"""The adversarial phase: probes, then each input class under Hypothesis, then the after-check.

Each class is one Hypothesis property ("this kind of input never breaks the target"), run with a
fixed seed, no example database and a bounded number of examples. The first problem in a class
fixes the (kind, rule) being chased; Hypothesis then shrinks the input while that same problem
persists, and replays the minimal input once more before it reports it: that replay is the
re-check the field notes ask for (a shrunk input that no longer fails the same way is not
reported as minimal). Problems of another kind met on the way are kept as they were seen.
Everything is sequential on one client (polite: one request in flight), inside `budget_s`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from benchbox import bounded
from benchbox.adversarial import corpora, probes, surface
from benchbox.adversarial.cases import Builder, Case, Expect, corpus_cases, share_cases
from benchbox.adversarial.judge import Outcome, Problem, judge, retry_after_s, send
from benchbox.adversarial.model import AdversarialOptions, AdversarialSection
from benchbox.adversarial.report import basis_of, finding
from benchbox.adversarial.section import ClassTally, Sent, section_of
from benchbox.adversarial.slow_inputs import SlowInputs
from benchbox.contract.checks import evaluate
from benchbox.contract.generate import valid_inputs
from benchbox.contract.model import Contract
from benchbox.contract.schema import validator
from benchbox.findings import Finding
from benchbox.shrinking import Fails, confirm
from benchbox.version import __version__

Notify = Callable[[str], None]
MAX_TIMEOUTS_PER_CLASS = 5


class _Failed(Exception):
    def __init__(self, case: Case, problem: Problem, out: Outcome) -> None:
        super().__init__(problem.detail)
        self.case, self.problem, self.out = case, problem, out


def run_adversarial(
    url: str,
    method: str,
    headers: Mapping[str, str],
    examples: Sequence[Any],
    contract: Contract | None,
    options: AdversarialOptions,
    notify: Notify | None = None,
) -> AdversarialSection:
    """Run the phase against `method url`. A misbehaving target is reported as findings, never raised."""
    started = time.monotonic()
    sent = {"User-Agent": f"benchbox/{__version__}", "Accept": "application/json", **headers}
    host = urlsplit(url).hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    with bounded.client(
        timeout_s=options.timeout_s,
        trust_env=not loopback,
        follow_redirects=False,
        insecure=options.insecure,
        max_rps=options.max_rps,
        max_bytes=options.max_body_bytes,
    ) as client:
        return _Run(client, url, method.upper(), sent, contract, options, notify, started).execute(examples)


class _Run:
    def __init__(
        self,
        client: httpx.Client,
        url: str,
        method: str,
        headers: dict[str, str],
        contract: Contract | None,
        options: AdversarialOptions,
        notify: Notify | None,
        started: float,
    ) -> None:
        self.client, self.url, self.method, self.headers = client, url, method, headers
        self.c, self.o, self.notify, self.started = contract, options, notify, started
        self.deadline = started + options.budget_s
        self.reserve = min(options.timeout_s * 2 + 1.0, options.budget_s * 0.25)  # for the after-check
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.classes: dict[str, ClassTally] = {}
        self.requests = 0
        self.cases = 0
        self.gone = False
        schema = contract.request_schema if contract is not None else None
        self.check = validator(schema) if schema is not None else None
        self.slow = SlowInputs(options.slow, self._send)

    # -- the phase -------------------------------------------------------------------------------
    def execute(self, examples: Sequence[Any]) -> AdversarialSection:
        base = self._base(examples)
        if base is None:
            return self._section(None, "no known-good body: no example and no contract to build one from")
        if self.o.api_key_env:
            self.requests += probes.auth_probe(
                self.client, self.url, self.headers, base, self.method, self._report, self.notes
            )
            self.requests += surface.sweep(
                self.client, self.url, self.headers, self.c, self.o, base, self._report, self.notes
            )
        if self.o.expect_rate_limit:
            self.requests += probes.rate_limit_probe(
                self.client,
                self.url,
                self.headers,
                base,
                self.method,
                self.o.expect_rate_limit,
                self._report,
                self.notes,
                max_workers=self.o.max_concurrency or 16,
            )
        known_good = self._good_before(base)
        self.slow.time_typical(self.method, base, lambda: self.gone or self._late())
        c = self.c
        json_required = c is not None and (c.request_schema is not None or bool(c.inputs))
        body_required = c is not None and (c.body_required is True or (c.body_required is None and json_required))
        builder = Builder(base, self.method, self._classify, body_required=body_required, json_required=json_required)
        strategies = builder.classes()
        strings = list(corpora.load())
        if not strings:
            self.notes.append("no corpus found (adversarial/ folder or packaged corpora)")
        n_corpus, per_class = share_cases(self.o.max_cases, list(strategies), len(strings))
        picked = sorted(random.Random(self.o.seed).sample(range(len(strings)), n_corpus))
        self._corpus(corpus_cases(builder, [strings[i] for i in picked]))
        for name, strategy in strategies.items():
            if self.gone or self._late():
                break
            self._hypothesis(name, strategy, per_class[name])
            if self.notify:
                self.notify(f"adversarial: {name} done, {self.cases} cases, {len(self.findings)} problems")
        if self._late():
            self.notes.append(f"budget of {self.o.budget_s:g} s reached: some classes ran fewer cases")
        paths = self.o.health_paths or tuple(h.path for h in (self.c.health if self.c else ())) or ("/health", "/ready")
        healthy, n = probes.health_after(
            self.client,
            self.url,
            self.headers,
            known_good,
            self.method,
            self.c,
            paths,
            self.o.timeout_s,
            self._report,
            self.notes,
        )
        self.requests += n
        return self._section(healthy, None)

    def _base(self, examples: Sequence[Any]) -> Any:
        for body in (*examples, *(self.c.examples if self.c else ())):
            if body is not None and self._classify(body) != "invalid":
                return body
        if self.c is not None:
            drawn = valid_inputs(self.c, 1, self.o.seed, self.notes)
            if drawn:
                return drawn[0]
        return None

    def _good_before(self, base: Any) -> Any:
        """`base` when it is answered correctly before any hostile input, else None: the after-check
        can only say the target got worse if the known-good input was good to begin with."""
        out = self._send(probes.good_case(self.method, base))
        if out.status == 429:  # rate-limited: nothing learnt, keep the usual after-check
            return base
        if (
            out.status is not None
            and 200 <= out.status < 300
            and (
                self.c is None
                or not evaluate(self.c, base, out.status, out.content_type, out.content, "valid").problems
            )
        ):
            return base
        got = f"answered {out.status}" if out.status is not None else f"got no answer ({out.error_kind})"
        self.notes.append(
            f"the known-good input {got} before any hostile input: the after-check uses the health paths only"
        )
        return None

    def _classify(self, doc: Any) -> Expect:
        if self.check is None:
            return "any"
        try:
            return "valid" if self.check.is_valid(doc) else "invalid"
        except Exception:  # noqa: BLE001 - a schema the validator cannot apply tells us nothing
            return "any"

    def _late(self, cost: float = 0.0) -> bool:
        return time.monotonic() + cost > self.deadline - self.reserve

    # -- sending and judging -----------------------------------------------------------------------
    def _exercise(self, case: Case, stats: ClassTally, recheck: bool = False) -> tuple[Problem | None, Outcome | None]:
        """Send one case (unless the budget or the target is gone) and judge it; 429s are waited out.
        A re-check may spend the after-check's reserve and ignores the per-class timeout cap."""
        if self.gone or (not recheck and self._late(self.o.timeout_s if stats.timeouts else 0.0)):
            return None, None
        if recheck and time.monotonic() + self.o.timeout_s > self.deadline:
            return None, None
        if stats.timeouts >= MAX_TIMEOUTS_PER_CLASS and not recheck:
            return None, None
        out = self._send(case)
        for _ in range(2):
            if out.status != 429 or self._late(1.0):
                break
            time.sleep(min(1.0, retry_after_s(out)))
            out = self._send(case)
        stats.cases += 1
        self.cases += 1
        key = str(out.status) if out.status is not None else (out.error_kind or "none")
        stats.statuses[key] = stats.statuses.get(key, 0) + 1
        if out.status == 429:
            return None, out
        if out.error_kind == "timeout":
            stats.timeouts += 1
        elif out.status is not None:
            stats.latencies.append(out.latency_ms)
            if stats.slowest is None or out.latency_ms > stats.slowest[0]:
                stats.slowest = (out.latency_ms, case, out)
        problem = judge(case, out, self.c, self.o.timeout_s) or self.slow.problem(case, out)
        if problem is not None and problem.kind == "crash" and not self._alive():
            self.gone = True
            self.notes.append(f"the target stopped answering after: {case.what}")
        return problem, out

    def _send(self, case: Case) -> Outcome:
        self.requests += 1
        return send(self.client, self.url, self.headers, case)

    def _alive(self) -> bool:
        parts = urlsplit(self.url)
        reply = bounded.send(
            self.client, "GET", f"{parts.scheme}://{parts.netloc}/", timeout_s=min(2.0, self.o.timeout_s), keep=0
        )
        return reply.status is not None

    def _hypothesis(self, name: str, strategy: Any, n: int) -> None:
        stats = self.classes.setdefault(name, ClassTally())
        state: dict[str, Any] = {"target": None, "best": None}
        phases = [Phase.generate, Phase.shrink] if self.o.shrink else [Phase.generate]

        @seed(self.o.seed)
        @settings(
            database=None,
            max_examples=n,
            phases=phases,
            deadline=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
            report_multiple_bugs=False,
        )
        @given(strategy)
        def prop(case: Case) -> None:
            problem, out = self._exercise(case, stats)
            if problem is None or out is None:
                return
            if state["target"] in (None, problem.key):
                state["target"] = problem.key
                state["best"] = (case, problem, out)
                raise _Failed(case, problem, out)
            self._record(case, out, problem, stats, minimal=False)

        try:
            prop()
        except _Failed as failed:  # Hypothesis replayed the shrunk input and it failed again
            self._record(failed.case, failed.out, failed.problem, stats, minimal=self.o.shrink and not self.gone)
            return
        except Exception as exc:  # noqa: BLE001 - Flaky and friends: fall back to our own re-check
            if state["best"] is None:
                self.notes.append(f"{name}: generation stopped: {type(exc).__name__}: {str(exc)[:160]}")
                return
        if state["best"] is not None:
            case, problem, out = state["best"]
            checked = confirm(case, self._fails_as(problem, stats), shrunk=self.o.shrink)
            again, out2 = checked.witness or (problem, out)
            self._record(
                case,
                out2,
                again,
                stats,
                minimal=checked.minimal,
                extra=("" if checked.witness else " (did not fail the same way when re-sent: not minimal)"),
            )

    def _fails_as(self, problem: Problem, stats: ClassTally) -> Fails[Case, tuple[Problem, Outcome]]:
        """benchbox.shrinking's test: re-send a case; it fails only if it meets the same (kind, rule)."""

        def fails(case: Case) -> tuple[Problem, Outcome] | None:
            again, out = self._exercise(case, stats, recheck=True) if not self.gone else (None, None)
            return (again, out) if again is not None and out is not None and again.key == problem.key else None

        return fails

    def _corpus(self, cases: list[Case]) -> None:
        for case in cases:
            if self.gone or self._late():
                return
            stats = self.classes.setdefault(case.cls, ClassTally())
            problem, out = self._exercise(case, stats)
            if problem is None or out is None:
                continue
            checked = confirm(case, self._fails_as(problem, stats))
            # One change from a known-good body: once re-checked, it is as small as it gets.
            self._record(case, checked.witness[1] if checked.witness else out, problem, stats, minimal=checked.minimal)

    def _record(
        self, case: Case, out: Outcome, problem: Problem, stats: ClassTally, *, minimal: bool, extra: str = ""
    ) -> None:
        if problem.kind == "slow_input":
            confirmed = self.slow.confirm(case, out, self.deadline, self.notes)
            if confirmed is None:
                return
            (out, problem), extra = confirmed, ""
        stats.findings += 1
        self._report(case, out, problem, self.headers, self.o.secret_headers, minimal=minimal, extra=extra)

    def _report(
        self,
        case: Case,
        out: Outcome,
        problem: Problem,
        headers: Mapping[str, str],
        secret_env: Mapping[str, str],
        url: str | None = None,
        minimal: bool = True,
        extra: str = "",
    ) -> None:
        env = {**self.o.secret_headers, **secret_env}
        self.findings.append(
            finding(
                case,
                out,
                problem,
                url=url or self.url,
                headers=headers,
                minimal=minimal,
                secret_headers=env,
                extra_detail=extra,
                basis=basis_of(self.c, case, problem),
            )
        )

    def _section(self, healthy: bool | None, skipped: str | None) -> AdversarialSection:
        sent = Sent(self.url, self.method, self.cases, self.requests)
        return section_of(sent, self.o, self.findings, self.classes, self.notes, healthy, skipped, self.started)
