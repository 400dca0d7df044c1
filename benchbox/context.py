"""The run context: what one run was given (the Plan, unchanged) and what its stages learnt.

A stage that learns something (the discovered contract, generated load bodies, the chat model and
URL, the TTFT gate a streaming endpoint is judged by) writes it here, never into the Plan: the
result records the plan as given and, beside it, what was actually run (`ran`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchbox.adversarial.model import AdversarialSection
from benchbox.contract.model import ContractSection
from benchbox.evaluate.model import EvaluationSection
from benchbox.events import Event, Observer, ignore
from benchbox.findings import is_secret_header
from benchbox.flags import REDACTED
from benchbox.plan import Plan
from benchbox.result import LoadPhase, Preflight
from benchbox.saturation.model import Saturation


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class RunContext:
    """One run's scratchpad, filled stage by stage (mutable on purpose: it is the run in progress).

    `effective` starts as the plan and is replaced (never mutated) as stages learn: it is the plan
    the later stages act on. `adapter` is the protocol's stage implementations (benchbox.adapters).
    """

    plan: Plan
    command: str = "run"
    notify: Observer = ignore
    adapter: Any = None  # benchbox.adapters.Adapter, chosen by the pipeline (which may refine it after preflight)
    started: str = field(default_factory=now)
    effective: Plan = field(init=False)  # the plan, until a stage learns something
    found: Any = None  # the discovered contract (benchbox.contract), when the target described one
    inputs: str = ""  # where the load's bodies came from: --body, the contract, the prompts, or none
    preflight: Preflight | None = None
    model_version: str | None = None
    contract: ContractSection | None = None
    adversarial: AdversarialSection | None = None
    evaluation: EvaluationSection | None = None
    saturation: Saturation | None = None
    phases: list[LoadPhase] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the brakes did: not a problem, but worth saying
    interrupted: str | None = None
    stopped: bool = False  # preflight failed: no further stage sends anything
    ran: list[str] = field(default_factory=list)
    generator: Any = None  # benchbox.load.process.GeneratorSession: one generator process for the run
    server_metrics: Any = None  # benchbox.servermetrics.session.Watch: the target's metrics, scraped beside the load
    cold_start: Any = None  # benchbox.coldstart.stage.Cold: the target benchbox started, time to ready, first requests

    def __post_init__(self) -> None:
        self.effective = self.plan
        if not self.inputs:
            self.inputs = "--body" if self.plan.request.bodies else "none"

    # -- progress ---------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.notify(Event("note", text))

    def phase(self, text: str, data: dict[str, Any] | None = None) -> None:
        self.notify(Event("phase", text, data or {}))

    # -- learning ---------------------------------------------------------------------------------
    def learn(self, **changes: Any) -> None:
        """What a stage found out about how to talk to the target (a new effective plan)."""
        self.effective = dataclasses.replace(self.effective, **changes)

    def learn_request(self, **changes: Any) -> None:
        self.learn(request=dataclasses.replace(self.effective.request, **changes))

    # -- questions the stages ask -----------------------------------------------------------------
    def why_not(self, stage: str) -> str | None:
        """Why `stage` must not run in this run, or None when it may."""
        if self.stopped:
            return "preflight failed"
        if stage in self.plan.skip:
            return f"skipped (--skip {stage})"
        return self.adapter.unsupported(stage)

    def can_run(self, stage: str) -> bool:
        return self.why_not(stage) is None

    @property
    def braked(self) -> str | None:
        """Why the brake stopped a load phase, or None."""
        return next((p.aborted for p in self.phases if p.aborted), None)

    @property
    def secret_headers(self) -> dict[str, str]:
        return {"Authorization": self.plan.api_key_env} if self.plan.api_key_env else {}

    def ran_section(self) -> dict[str, Any]:
        """What was actually run, beside the plan as given: the request the load sent, and from where."""
        e = self.effective
        headers = {n: (REDACTED if is_secret_header(n) else v) for n, v in e.request.headers}
        return {
            "stages": list(self.ran),
            "adapter": self.adapter.name,
            "target": e.target,
            "method": e.request.method,
            "headers": headers,
            "bodies": len(e.request.bodies),
            "bodies_from": self.inputs,
            "body_example": e.redacted()["body_example"],
            "gates": [g.name for g in e.gates],
            "model": e.chat.model if e.llm is not None else None,
        }
