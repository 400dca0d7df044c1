"""The result document: the one record every later command re-reads.

`benchbox.result/v1` is a contract. Renderers, `benchbox report` and `benchbox compare` read
nothing else, so everything they show must be in here, and nothing in here may hold a secret.
Readers ignore keys they do not know (so v1 can grow), and refuse a schema they do not know by
name (so a v2 document is never silently misread).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchbox.adversarial.model import AdversarialSection
from benchbox.atomic import write_atomic
from benchbox.capacity import CostSection
from benchbox.coldstart.model import ColdStart
from benchbox.contract.model import ContractSection
from benchbox.errors import ExitCode, UnknownResultSchema, UsageError
from benchbox.evaluate.model import EvaluationSection
from benchbox.latency import LatencySummary, TimePoint
from benchbox.phase_record import (
    GeneratorHealth,
    LlmPoint,
    LlmStats,
    LoadPhase,
    NameStats,
    ResponseSample,
    WorkerReport,
    from_phase_dict,
    to_dict,
)
from benchbox.saturation.model import Saturation
from benchbox.servermetrics.model import ServerMetricsSection

SCHEMA = "benchbox.result/v1"

Verdict = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class LoadSection:
    phases: tuple[LoadPhase, ...]


@dataclass(frozen=True)
class Probe:
    """One HTTP probe of a health or readiness path."""

    path: str
    status: int | None
    latency_ms: float | None
    error: str | None = None


@dataclass(frozen=True)
class ProbeOutcome:
    """ok is None when the target has no such endpoint at any of the paths tried."""

    ok: bool | None
    path: str | None
    detail: str
    probes: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class Preflight:
    reachable: bool
    health: ProbeOutcome
    ready: ProbeOutcome
    waited_s: float
    contract_source: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class GateResult:
    """passed is None when the gate could not be checked (its phase was skipped)."""

    name: str
    metric: str
    op: str
    threshold: float
    unit: str
    observed: float | None
    passed: bool | None
    detail: str


@dataclass(frozen=True)
class Target:
    url: str
    protocol: str
    label: str
    model_version: str | None = None


@dataclass(frozen=True)
class Machine:
    hostname: str
    platform: str
    python: str
    cpu_count: int
    cpu_model: str
    memory_gb: float | None


@dataclass(frozen=True, repr=False)
class Result:
    """A whole run. `partial` marks a run cut short; its figures cover what was measured."""

    benchbox_version: str
    started_at: str
    finished_at: str
    command: str
    plan: Mapping[str, Any]
    target: Target
    verdict: Verdict
    gates: tuple[GateResult, ...]
    machine: Machine
    seed: int
    preflight: Preflight | None = None
    contract: ContractSection | None = None
    adversarial: AdversarialSection | None = None
    load: LoadSection | None = None
    saturation: Saturation | None = None
    evaluation: EvaluationSection | None = None
    # --cost-per-hour / --expected-rps: cost per decision and replicas for the expected load.
    cost: CostSection | None = None
    commit: str | None = None
    partial: bool = False
    interrupted: str | None = None
    problems: tuple[str, ...] = ()
    # What the brakes (benchbox.brakes) did, e.g. a load phase abandoned on errors.
    notes: tuple[str, ...] = ()
    # What was actually run, beside the plan as given: the stages, the adapter, the effective request
    # (a chat URL, generated bodies and where they came from). Optional: older results lack it.
    ran: Mapping[str, Any] | None = None
    # --server-metrics: the target's own series on the load's timeline (benchbox.servermetrics).
    server_metrics: ServerMetricsSection | None = None
    # --start / --first-requests / cold gates: time to ready and the first requests (benchbox.coldstart).
    cold_start: ColdStart | None = None
    schema: str = SCHEMA
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def main_phase(self) -> LoadPhase | None:
        """The phase the gates judge: the last steady-load phase."""
        return self.load.phases[-1] if self.load and self.load.phases else None

    @property
    def passed(self) -> bool:
        """Every gate held (the verdict is "pass"): what a test or a script asserts."""
        return self.verdict == "pass"

    @property
    def exit_code(self) -> ExitCode:
        """DESIGN.md's exit codes, decided from the Result alone (so `benchbox report` agrees)."""
        if self.interrupted:
            return ExitCode.TERMINATED if self.interrupted == "SIGTERM" else ExitCode.INTERRUPTED
        if self.preflight is not None and self.preflight.error:
            return ExitCode.UNREACHABLE
        if self.verdict == "fail":
            return ExitCode.GATE_FAILED
        return ExitCode.USAGE if self.verdict == "error" else ExitCode.PASS

    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if g.passed is False)

    @property
    def report_path(self) -> Path | None:
        """Where the run wrote report.html (its --out); None when no report is there (write=False,
        or a result.json read on another machine)."""
        out = self.plan.get("out_dir") if isinstance(self.plan, Mapping) else None
        path = Path(out) / "report.html" if out else None
        return path if path is not None and path.is_file() else None

    def summary(self) -> str:
        """A few lines for an assertion message: the verdict, what failed, and where the report is."""
        lines = [f"benchbox verdict: {self.verdict.upper()}" + (" (partial run)" if self.partial else "")]
        lines += [f"  [FAIL] {g.name}: {g.detail}" for g in self.failed_gates()]
        lines += [f"  problem: {p}" for p in self.problems]
        if self.report_path is not None:
            lines.append(f"  report: {self.report_path}")
        return "\n".join(lines)

    def __repr__(self) -> str:  # short: pytest shows it under a failed `assert result.passed`
        failed = ", ".join(g.name for g in self.failed_gates())
        return (
            f"Result(verdict={self.verdict!r}, target={self.target.url!r}"
            + (f", failed=[{failed}]" if failed else "")
            + (f", report='{self.report_path}'" if self.report_path is not None else "")
            + ")"
        )


def from_dict(data: Mapping[str, Any]) -> Result:
    """Parse a result document, refusing by name any schema this benchbox does not read."""
    import dacite

    schema = data.get("schema") if isinstance(data, Mapping) else None
    if schema != SCHEMA:
        raise UnknownResultSchema(
            f"unknown result schema {schema!r}: this benchbox reads {SCHEMA!r} "
            "(the file was written by a different benchbox version, or is not a benchbox result)"
        )
    try:
        return dacite.from_dict(Result, dict(data), config=dacite.Config(cast=[tuple]))
    except (dacite.DaciteError, TypeError, ValueError) as exc:
        raise UsageError(f"malformed {SCHEMA} document: {exc}") from None


def dumps(result: Result) -> str:
    return json.dumps(to_dict(result), indent=2, allow_nan=False) + "\n"


def save(result: Result, path: Path) -> Path:
    """Write atomically (benchbox.atomic) so a reader never sees half a document."""
    return write_atomic(path, dumps(result))


def load(path: Path) -> Result:
    """Read a saved result; a missing or non-JSON file is a usage error, not a traceback."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read result {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"bad result {str(path)!r}: not JSON ({exc.msg} at line {exc.lineno})") from None
    return from_dict(data)


# A phase's record (benchbox.phase_record) and the latency figures (benchbox.latency) are
# re-exported: this is the document's module, and readers of a result take every part from it.
__all__ = [
    "GateResult",
    "GeneratorHealth",
    "LatencySummary",
    "LlmPoint",
    "LlmStats",
    "LoadPhase",
    "LoadSection",
    "Machine",
    "NameStats",
    "Preflight",
    "Probe",
    "ProbeOutcome",
    "ResponseSample",
    "Result",
    "SCHEMA",
    "Target",
    "TimePoint",
    "Verdict",
    "WorkerReport",
    "dumps",
    "from_dict",
    "from_phase_dict",
    "load",
    "save",
    "to_dict",
]
