"""The contract phase: send valid and invalid inputs, judge every answer, report grouped findings.

Order of work: the user's examples and the documented ones, then `cases` generated valid inputs;
a second send of up to `determinism_cases` of them (same input, same answer); a few invalid
inputs derived from the smallest valid one; the documented health paths; whether the endpoint is
versioned. Then, per rule, the first failure on a batch is shrunk to the shortest failing prefix.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from benchbox import __version__
from benchbox.contract.checks import Judgement, body_text, evaluate, to_finding
from benchbox.contract.discovery import discover, make_client, origin_of
from benchbox.contract.generate import invalid_inputs, is_valid, valid_inputs
from benchbox.contract.invariants import Problem, compare
from benchbox.contract.model import Contract, ContractOptions, ContractSection, RuleCount
from benchbox.contract.schema import validator
from benchbox.contract.session import Exchange, Session
from benchbox.contract.shrink import batch_view, shrink
from benchbox.findings import group

Notify = Callable[[str], None]
RULE_ORDER = ("status", "content_type", "json", "response_schema", "finite", "batch_size", "probability_range",
              "probability_sum", "kserve_shape", "kserve_metadata", "kserve_id", "determinism", "rejects_invalid",
              "health", "versioned", "transport")
_SHRINKABLE = frozenset({"status", "json", "response_schema", "finite", "batch_size", "probability_range",
                         "probability_sum", "kserve_shape", "kserve_metadata", "determinism", "content_type"})
_MAX_TRANSPORT_ERRORS = 3
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_VERSION_HEADERS = ("x-model-version", "model-version", "x-api-version", "api-version", "x-version")
_VERSION_KEYS = ("model_version", "modelVersion", "version", "api_version", "apiVersion")


@dataclass
class _Hit:
    problem: Problem
    ex: Exchange
    minimal: bool = False


def run_contract(url: str, method: str, headers: Mapping[str, str], examples: Sequence[Any],
                 options: ContractOptions, notify: Notify | None = None,
                 contract: Contract | None = None) -> ContractSection:
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
        self.hits: list[_Hit] = []
        self.notes = list(contract.notes)
        self.answered: list[tuple[Any, Any, Exchange]] = []  # (body, parsed answer, exchange), 2xx only
        self.versioned = self._path_versioned()
        self.check_valid = validator(contract.request_schema) if contract.request_schema is not None else None
        self.gone = False  # the target stopped answering: send nothing more
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
        self._valid(bodies)
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
                self.versioned = self.versioned or _answer_versioned(j.doc, ex.headers)
            if self.notify and (i % 25 == 0 or i == len(bodies)):
                self.notify(f"contract: {i}/{len(bodies)} inputs, {len(self.hits)} problems")
        if throttled:
            self.notes.append(f"{throttled} inputs stayed rate-limited (429) and were not judged")
        if self.envelope_rejected:
            self.notes.append(
                f"{self.envelope_rejected} generated inputs got a 4xx, not judged: the model metadata lists no "
                "inputs, so they follow only the KServe V2 envelope, not the tensors the model takes "
                "(pass --body with one valid request to check the model)")

    def _judge(self, body: Any, ex: Exchange) -> Judgement:
        j = evaluate(self.c, body, ex.status or 0, ex.content_type, ex.content, "valid", self.o.prob_tolerance)
        if self._unknown_to_model(body, ex):
            self.envelope_rejected += 1
            return j
        for rule in j.checked:
            self._record(rule, [p for p in j.problems if p.rule == rule], ex)
        return j

    def _unknown_to_model(self, body: Any, ex: Exchange) -> bool:
        """A 4xx to a generated input the contract knows only by its envelope is not a finding:
        the model may rightly refuse tensors its metadata never described (a 5xx still is)."""
        return (self.envelope_only and 400 <= (ex.status or 0) < 500
                and body_text(body) not in self.trusted)

    def _record(self, rule: str, problems: list[Problem], ex: Exchange, minimal: bool = False) -> None:
        counts = self.tally.setdefault(rule, [0, 0])
        counts[0] += 1
        counts[1] += bool(problems)
        self.hits += [_Hit(p, ex, minimal) for p in problems]

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
        return Problem("nondeterministic", "medium", "determinism",
                       f"the same input must get the same answer (relative tolerance {self.o.tolerance:g})",
                       where, detail), ex

    def _invalid(self, valid: list[Any]) -> int:
        if not valid or self.gone:
            return 0
        base = min(valid, key=lambda b: len(body_text(b)))
        cases = invalid_inputs(self.c, base, self.o.invalid_cases)
        for what, body in cases:
            ex = self.s.send(body)
            if ex.answered and not ex.throttled:
                j = evaluate(self.c, body, ex.status or 0, ex.content_type, ex.content, "invalid")
                problems = [Problem(p.kind, p.severity, p.rule, p.message, p.pointer, f"{p.detail}: {what}")
                            for p in j.problems]
                # One change away from the smallest valid input: as small as we know how to make it.
                self._record("rejects_invalid", problems, ex, minimal=True)
        return len(cases)

    def _health(self) -> None:
        origin = origin_of(self.c.url)
        for spec in self.c.health if not self.gone else ():
            ex = self.s.get(origin + spec.path)
            if not ex.answered:
                continue
            problems = []
            if not 200 <= (ex.status or 0) < 300:
                problems.append(Problem("contract_violation", "medium", "health",
                                        "a documented health/readiness path must answer 2xx once ready",
                                        "", f"GET {spec.path} answered {ex.status}"))
            elif spec.schema is not None:
                try:
                    doc = json.loads(ex.content)
                    ok = is_valid(validator(spec.schema), doc) is not False
                except ValueError:
                    ok = False
                if not ok:
                    problems.append(Problem("contract_violation", "medium", "health",
                                            "a health/readiness answer must match its documented schema",
                                            "", f"GET {spec.path}: {ex.content[:120]!r}"))
            self._record("health", problems, ex)

    def _path_versioned(self) -> bool:
        path = urlsplit(self.c.url).path
        if "/versions/" in path:
            return True
        # In a V2 path, /v2/ names the protocol, not the model or API version.
        return self.c.protocol != "kserve-v2" and re.search(r"/v\d+(\.\d+)*(/|$)", path) is not None

    def _versioned(self) -> None:
        ex = self.answered[0][2] if self.answered else None
        if ex is None:
            return
        problems = [] if self.versioned else [Problem(
            "unversioned", "low", "versioned",
            "the endpoint should name its version: in the path (/v1/), the answer (model_version) or a header "
            "(X-Model-Version)", "", "no version found")]
        self._record("versioned", problems, ex)

    def _shrink(self) -> None:
        done: set[str] = set()
        for hit in sorted(self.hits, key=lambda h: len(h.ex.text or "")):
            rule = hit.problem.rule
            if rule in done or rule not in _SHRINKABLE or hit.ex.method == "GET":
                continue
            done.add(rule)
            view = batch_view(self.c, hit.ex.body)
            if view is None:
                continue
            if view.size <= 1:
                hit.minimal = True
                continue
            found: dict[str, Any] = {}

            def fails(candidate: Any, rule: str = rule) -> bool:
                if self.check_valid is not None and is_valid(self.check_valid, candidate) is False:
                    return False
                problem, ex = self._reproduce(candidate, rule)
                if problem is not None:
                    found.update(problem=problem, ex=ex)
                return problem is not None

            best, finished = shrink(view, fails)
            if best is not None:
                hit.problem, hit.ex = found["problem"], found["ex"]
            hit.minimal = finished

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
        findings = [to_finding(h.problem, method=h.ex.method, url=h.ex.url, headers=self.s.headers
                               if h.ex.text is not None else _no_ct(self.s.headers), body_text=h.ex.text,
                               status=h.ex.status, content_type=h.ex.content_type, response=h.ex.content,
                               minimal=h.minimal, error=h.ex.error, secret_headers=self.o.secret_headers)
                    for h in self.hits]
        grouped = group(findings)
        open_ = tuple(f for f in grouped if f.id not in self.o.accepted)
        accepted = tuple(f for f in grouped if f.id in self.o.accepted)
        order = {r: i for i, r in enumerate(RULE_ORDER)}
        checks = tuple(RuleCount(rule, n, bad) for rule, (n, bad)
                       in sorted(self.tally.items(), key=lambda kv: order.get(kv[0], len(order))))
        return ContractSection(source=self.c.source, protocol=self.c.protocol, url=self.c.url, method=self.c.method,
                               seed=self.o.seed, requests=self.s.requests, cases=cases, invalid_cases=invalid,
                               passed=not open_, violations=open_, accepted=accepted, checks=checks,
                               notes=tuple(dict.fromkeys(self.notes)),
                               elapsed_s=round(time.monotonic() - started, 3), skipped=skipped)


def _transport_problem(ex: Exchange) -> Problem:
    kind = ex.error_kind or "crash"
    return Problem(kind, "high", "transport", "the target must answer every request", "", ex.error or "no answer")


def _answer_versioned(doc: Any, headers: Mapping[str, str]) -> bool:
    if any(h in {k.lower() for k in headers} for h in _VERSION_HEADERS):
        return True
    return isinstance(doc, Mapping) and any(isinstance(doc.get(k), (str, int)) and str(doc.get(k)) for k in _VERSION_KEYS)


def _distinct(bodies: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for b in bodies:
        seen.setdefault(body_text(b), b)
    return list(seen.values())


def _no_ct(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "content-type"}
