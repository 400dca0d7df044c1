"""The contract phase: send valid and invalid inputs, judge every answer, report grouped findings.

Order of work: the user's examples and the documented ones, then `cases` generated valid inputs;
a second send of up to `determinism_cases` of them (same input, same answer); a few invalid
inputs derived from the smallest valid one; the documented health paths; whether the endpoint is
versioned. Then, per rule, the first failure on a batch is shrunk to the shortest failing prefix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from benchbox.contract import faces, service_checks, slow
from benchbox.contract.checks import Judgement, body_text, evaluate
from benchbox.contract.discovery import discover, make_client
from benchbox.contract.edges import edge_inputs
from benchbox.contract.generate import invalid_inputs, is_valid, valid_inputs
from benchbox.contract.invariants import compare
from benchbox.contract.model import BatchPoint, Contract, ContractOptions, ContractSection
from benchbox.contract.problem import Problem
from benchbox.contract.schema import validator
from benchbox.contract.section import SHRINKABLE, Hit, Tallies, section_of
from benchbox.contract.session import Exchange, Session
from benchbox.contract.shrink import batch_view, shrink
from benchbox.version import __version__

Notify = Callable[[str], None]
_MAX_TRANSPORT_ERRORS = 3
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


def run_contract(
    url: str,
    method: str,
    headers: Mapping[str, str],
    examples: Sequence[Any],
    options: ContractOptions,
    notify: Notify | None = None,
    contract: Contract | None = None,
) -> ContractSection:
    """Discover (unless `contract` is given) and check. Raises UsageError for bad user input;
    a target that misbehaves is reported as findings, never raised."""
    started = time.monotonic()
    sent = {"User-Agent": f"benchbox/{__version__}", "Accept": "application/json", **headers}
    if not any(k.lower() == "content-type" for k in sent):
        sent["Content-Type"] = "application/json"
    with make_client(url, sent, options.timeout_s, options) as client:
        contract = contract or discover(url, method, sent, options, client, notify)
        run = _Run(contract, Session(client, url, method.upper(), sent), options, notify)
        return run.execute(examples, started)


class _Run:
    def __init__(self, contract: Contract, session: Session, options: ContractOptions, notify: Notify | None) -> None:
        self.c, self.s, self.o, self.notify = contract, session, options, notify
        self.tally: dict[str, list[int]] = {}
        self.hits: list[Hit] = []
        self.notes = list(contract.notes)
        self.answered: list[tuple[Any, Any, Exchange]] = []  # (body, parsed answer, exchange), 2xx only
        self.versioned = service_checks.path_versioned(contract)
        self.check_valid = validator(contract.request_schema) if contract.request_schema is not None else None
        self.gone = False  # the target stopped answering: send nothing more
        self.timed: list[tuple[float, Any]] = []  # (ms, body) of every valid input answered
        self.batches: list[BatchPoint] = []
        self.median_ms: float | None = None
        # A KServe V2 target whose model metadata lists no inputs leaves only the protocol's envelope
        # (the server's generic OpenAPI) to generate from: it cannot say which tensors the model takes.
        self.envelope_only = contract.protocol == "kserve-v2" and not contract.inputs
        self.trusted: set[str] = set()  # the user's and the documented examples: these must be accepted
        self.envelope_rejected = 0

    # -- phases ------------------------------------------------------------------------------
    def execute(self, examples: Sequence[Any], started: float) -> ContractSection:
        generated = valid_inputs(self.c, self.o.cases, self.o.seed, self.notes)
        bodies = _distinct([*examples, *self.c.examples, *generated])
        self.trusted = {body_text(b) for b in (*examples, *self.c.examples)}
        if not bodies and self.c.method in _BODYLESS:
            bodies = [None]  # a GET endpoint: its one "input" is the bare request
        skipped = None
        if not bodies:
            skipped = "no input to send: no contract to generate from and no example body"
        if self.o.edges and bodies and bodies != [None]:
            self._edges(bodies)
        self._valid(bodies)
        self._slow()
        if not self.gone:
            self._faces()
        self._determinism()
        invalid = self._invalid(generated or list(self.c.examples))
        self._health()
        if bodies:
            self._versioned()
        if self.o.shrink and not self.gone:
            self._shrink()
        return self._section(len(bodies), invalid, skipped, started)

    def _valid(self, bodies: list[Any]) -> None:
        errors = throttled = 0
        for i, body in enumerate(bodies, 1):
            ex = self.s.send(body)
            if not ex.answered:
                self._record("transport", [_transport_problem(ex)], ex)
                errors += 1
                if errors >= _MAX_TRANSPORT_ERRORS:
                    self.notes.append(f"stopped after {errors} requests in a row got no answer")
                    self.gone = True
                    return
                continue
            errors = 0
            if ex.throttled:
                throttled += 1
                continue
            j = self._judge(body, ex)
            if j.doc is not None and 200 <= (ex.status or 0) < 300:
                self.answered.append((body, j.doc, ex))
                self.versioned = self.versioned or service_checks.answer_versioned(j.doc, ex.headers)
            if self.notify and (i % 25 == 0 or i == len(bodies)):
                self.notify(f"contract: {i}/{len(bodies)} inputs, {len(self.hits)} problems")
        if throttled:
            self.notes.append(f"{throttled} inputs stayed rate-limited (429) and were not judged")
        if self.envelope_rejected:
            self.notes.append(
                f"{self.envelope_rejected} generated inputs got a 4xx, not judged: the model metadata lists no "
                "inputs, so they follow only the KServe V2 envelope, not the tensors the model takes "
                "(pass --body with one valid request to check the model)"
            )

    def _judge(self, body: Any, ex: Exchange) -> Judgement:
        j = evaluate(self.c, body, ex.status or 0, ex.content_type, ex.content, "valid", self.o.prob_tolerance)
        if self._unknown_to_model(body, ex):
            self.envelope_rejected += 1
            return j
        for rule in j.checked:
            self._record(rule, [p for p in j.problems if p.rule == rule], ex)
        if ex.answered:
            self.timed.append((ex.elapsed_ms, body))
            late = ex.elapsed_ms > self.o.timeout_s * 1000
            self._record(
                "deadline",
                [
                    Problem(
                        "timeout",
                        "high",
                        "deadline",
                        f"every answer must arrive within --timeout ({self.o.timeout_s:g} s)",
                        "",
                        f"answered {ex.status} after {ex.elapsed_ms:.0f} ms",
                    )
                ]
                if late
                else [],
                ex,
            )
        return j

    def _edges(self, bodies: list[Any]) -> None:
        """The deliberate edge cases, before anything else (see contract/edges.py)."""
        valid = [b for b in bodies if self.check_valid is None or is_valid(self.check_valid, b) is not False]
        if not valid:
            return
        base = min(valid, key=lambda b: len(body_text(b)))
        edges = edge_inputs(self.c, base, self._classify)
        for edge in edges:
            if self.gone:
                return
            ex = self.s.send(edge.body)
            if edge.batch is not None:
                self.batches.append(BatchPoint(edge.batch, round(ex.elapsed_ms, 3), ex.status, edge.expect))
            if not ex.answered:
                self._record("transport", [_transport_problem(ex)], ex, minimal=True)
                continue
            if ex.throttled:
                continue
            if edge.expect == "valid" or (edge.expect == "any" and 200 <= (ex.status or 0) < 300):
                self._judge(edge.body, ex)  # not kept for the determinism re-sends: those stay small
            elif edge.expect == "invalid":
                j = evaluate(self.c, edge.body, ex.status or 0, ex.content_type, ex.content, "invalid")
                self._record(
                    "rejects_invalid",
                    [
                        Problem(p.kind, p.severity, p.rule, p.message, p.pointer, f"{p.detail}: {edge.what}")
                        for p in j.problems
                    ],
                    ex,
                    minimal=True,
                )
        if self.notify and edges:
            self.notify(f"contract: {len(edges)} edge cases sent first")

    def _classify(self, body: Any) -> str:
        if self.check_valid is None:
            return "valid" if self.c.inputs else "any"
        ok = is_valid(self.check_valid, body)
        return "any" if ok is None else "valid" if ok else "invalid"

    def _slow(self) -> None:
        """One valid input answered far slower than the typical one: confirm, shrink, explain."""

        def probe(candidate: Any) -> tuple[float | None, Exchange]:
            ex = self.s.send(candidate)
            return (ex.elapsed_ms if ex.answered and not ex.throttled else None), ex

        if self.gone:
            return
        self.median_ms, cases = slow.find_causes(
            self.timed,
            self.o.slow,
            self.o.slow_budget_s,
            probe,
            view_of=lambda b: batch_view(self.c, b),
            valid=lambda b: is_valid(self.check_valid, b) if self.check_valid is not None else True,
            size_of=lambda b: len(body_text(b)),
            notes=self.notes,
        )
        for case in cases:
            self._record(
                "input_latency",
                [
                    Problem(
                        "slow_input",
                        "medium",
                        "input_latency",
                        f"no single input may take far longer than the typical answer ({self.o.slow.describe()})",
                        case.pointer,
                        case.detail(),
                    )
                ],
                case.handle,
                minimal=case.finished,
            )

    def _faces(self) -> None:
        """The same model on a second face (JSON route and KServe V2 route) must answer alike."""
        # Only answers that broke no rule on their own face: a broken one is already a finding.
        flawed = {id(h.ex) for h in self.hits}
        clean = [a for a in self.answered if id(a[2]) not in flawed]
        for problems, ex in faces.compare_faces(self.c, self.s, clean, self.o.tolerance, self.notes):
            self._record("same_model", problems, ex)

    def _unknown_to_model(self, body: Any, ex: Exchange) -> bool:
        """A 4xx to a generated input the contract knows only by its envelope is not a finding:
        the model may rightly refuse tensors its metadata never described (a 5xx still is)."""
        return self.envelope_only and 400 <= (ex.status or 0) < 500 and body_text(body) not in self.trusted

    def _record(self, rule: str, problems: list[Problem], ex: Exchange, minimal: bool = False) -> None:
        counts = self.tally.setdefault(rule, [0, 0])
        counts[0] += 1
        counts[1] += bool(problems)
        self.hits += [Hit(p, ex, minimal) for p in problems]

    def _determinism(self) -> None:
        for body, first, _ in self.answered[: self.o.determinism_cases] if not self.gone else ():
            problem, ex = self._differs(body, first)
            if ex is not None:
                self._record("determinism", [problem] if problem else [], ex)

    def _differs(self, body: Any, first: Any) -> tuple[Problem | None, Exchange | None]:
        ex = self.s.send(body)
        if not (ex.answered and 200 <= (ex.status or 0) < 300):
            return None, None
        try:
            second = json.loads(ex.content)
        except ValueError:
            return None, None
        diff = compare(first, second, self.o.tolerance)
        if diff is None:
            return None, ex
        where, detail = diff
        return Problem(
            "nondeterministic",
            "medium",
            "determinism",
            f"the same input must get the same answer (relative tolerance {self.o.tolerance:g})",
            where,
            detail,
        ), ex

    def _invalid(self, valid: list[Any]) -> int:
        if not valid or self.gone:
            return 0
        base = min(valid, key=lambda b: len(body_text(b)))
        cases = invalid_inputs(self.c, base, self.o.invalid_cases)
        for what, body in cases:
            ex = self.s.send(body)
            if ex.answered and not ex.throttled:
                j = evaluate(self.c, body, ex.status or 0, ex.content_type, ex.content, "invalid")
                problems = [
                    Problem(p.kind, p.severity, p.rule, p.message, p.pointer, f"{p.detail}: {what}") for p in j.problems
                ]
                # One change away from the smallest valid input: as small as we know how to make it.
                self._record("rejects_invalid", problems, ex, minimal=True)
        return len(cases)

    def _health(self) -> None:
        for problems, ex in service_checks.health(self.c, self.s) if not self.gone else ():
            self._record("health", problems, ex)

    def _versioned(self) -> None:
        if self.answered:
            self._record("versioned", service_checks.version_problems(self.versioned), self.answered[0][2])

    def _shrink(self) -> None:
        done: set[str] = set()
        for hit in sorted(self.hits, key=lambda h: len(h.ex.text or "")):
            rule = hit.problem.rule
            if rule in done or rule not in SHRINKABLE or hit.ex.method == "GET":
                continue
            done.add(rule)
            view = batch_view(self.c, hit.ex.body)
            if view is None:
                continue
            if view.size <= 1:
                hit.minimal = True
                continue

            def fails(candidate: Any, rule: str = rule) -> tuple[Problem, Exchange] | None:
                if self.check_valid is not None and is_valid(self.check_valid, candidate) is False:
                    return None  # below the schema's bounds: not a plausible request
                problem, ex = self._reproduce(candidate, rule)
                return (problem, ex) if problem is not None and ex is not None else None

            shrunk = shrink(view, fails, hit.problem.pointer)
            if shrunk.witness is not None:
                hit.problem, hit.ex = shrunk.witness
            hit.minimal = shrunk.minimal

    def _reproduce(self, body: Any, rule: str) -> tuple[Problem | None, Exchange | None]:
        if rule == "determinism":
            ex = self.s.send(body)
            if not ex.answered or not 200 <= (ex.status or 0) < 300:
                return None, None
            try:
                return self._differs(body, json.loads(ex.content))
            except ValueError:
                return None, None
        ex = self.s.send(body)
        if not ex.answered:
            return None, None
        if self._unknown_to_model(body, ex):
            return None, None
        j = evaluate(self.c, body, ex.status or 0, ex.content_type, ex.content, "valid", self.o.prob_tolerance)
        same = [p for p in j.problems if p.rule == rule]
        return (same[0], ex) if same else (None, None)

    # -- result ------------------------------------------------------------------------------
    def _section(self, cases: int, invalid: int, skipped: str | None, started: float) -> ContractSection:
        median = self.median_ms
        counted = Tallies(self.s.requests, cases, invalid, skipped, tuple(self.notes), tuple(self.batches), median)
        return section_of(self.c, self.o, self.s.headers, self.hits, self.tally, counted, started)


def _transport_problem(ex: Exchange) -> Problem:
    kind = ex.error_kind or "crash"
    return Problem(kind, "high", "transport", "the target must answer every request", "", ex.error or "no answer")


def _distinct(bodies: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for b in bodies:
        seen.setdefault(body_text(b), b)
    return list(seen.values())
