"""What the generator process is told to do, and how it is told.

The parent sends each RunSpec as a JSON command line on the child's stdin (never argv or a file:
the spec holds the real header values, secrets included). The child answers with JSON lines on
stdout: `tick` lines while it runs, a `result` line per phase and `done` (generator.py).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from benchbox.llm.model import ChatSpec
from benchbox.traffic.model import TrafficSpec


@dataclass(frozen=True)
class RequestSpec:
    """One request template; the bodies are sent round-robin."""

    url: str
    method: str
    headers: tuple[tuple[str, str], ...]
    bodies: tuple[str, ...]
    timeout_s: float
    insecure: bool = False  # --insecure: accept any TLS certificate
    max_body_bytes: int = 4 * 1024 * 1024  # --max-body: an answer is read up to this, then cut off


@dataclass(frozen=True)
class PhaseSpec:
    """One steady-load phase: open loop (`rate`) or closed loop (`users`)."""

    name: str
    mode: Literal["open", "closed"]
    duration_s: float
    request: RequestSpec
    rate: float | None = None
    arrival: Literal["constant", "poisson"] = "constant"
    users: int | None = None
    connections: int = 256
    seed: int = 0
    tick_s: float = 1.0
    # A linear ramp: the rate (open loop) or user count (closed loop) starts here and reaches
    # `rate`/`users` at the end of the phase.
    ramp_from: float | None = None
    # A user's own locustfile: its user classes (and LoadTestShape, if any) replace benchbox's.
    scenario: str | None = None
    # Brakes (benchbox.brakes): a send-rate ceiling, and the error share that ends the phase
    # once `abort_grace_s` has passed (None: never).
    max_rps: float | None = None
    abort_error_rate: float | None = None
    abort_grace_s: float = 5.0
    # Phases with the same group share the abort rule's clock and counts (a live compare's windows of
    # one side: each is shorter than the grace, yet together they are one side's load).
    brake_group: str | None = None
    # An OpenAI chat target: read answers as LLM answers (TTFT, ITL, tokens/s, goodput).
    chat: ChatSpec | None = None
    # A replayed trace or a mix of classes (benchbox.traffic): each slot picks its request.
    traffic: TrafficSpec | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhaseSpec:
        data = dict(data)
        req = dict(data.pop("request"))
        req["headers"] = tuple(tuple(pair) for pair in req["headers"])
        req["bodies"] = tuple(req["bodies"])
        if data.get("chat") is not None:
            data["chat"] = ChatSpec(**data["chat"])
        if data.get("traffic") is not None:
            data["traffic"] = TrafficSpec.from_dict(data["traffic"])
        return cls(request=RequestSpec(**req), **data)


@dataclass(frozen=True)
class RunSpec:
    """Phases run back to back in one generator process, so a step shape has no gaps."""

    phases: tuple[PhaseSpec, ...]
    # Scale-out: local worker processes, plus workers expected to join from elsewhere
    # (`benchbox worker --master HOST:PORT`); with neither, one process runs everything.
    workers: int = 0
    expect_workers: int = 0
    master_bind: str = "127.0.0.1"
    master_port: int = 0

    @property
    def distributed(self) -> bool:
        return self.workers + self.expect_workers > 0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["phases"] = [p.to_dict() for p in self.phases]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        data = dict(data)
        data["phases"] = tuple(PhaseSpec.from_dict(p) for p in data["phases"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))
