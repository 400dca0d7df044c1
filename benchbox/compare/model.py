"""The compare document (`benchbox.compare/v1`): what `benchbox compare` found, as plain values.

Like result.json for a run, compare.json is the one record the compare report is rendered from.
It embeds each side's measured load phase (histograms and per-second series), so the report and
any later reader need neither the two result files nor the targets.

Extra comparison sections (issue #11's `--eval FILE`, say) go into `sections` under their own
key and add their gates to `gates`; the report renders each section it knows and lists the rest.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchbox.errors import UnknownResultSchema, UsageError
from benchbox.result import GateResult, LoadPhase, Machine

SCHEMA = "benchbox.compare/v1"

MetricVerdict = Literal["regression", "improvement", "no significant change", "not measured"]
Verdict = Literal["pass", "fail", "error"]


@dataclass(frozen=True)
class CompareSettings:
    """How sure a difference must be before it is called one."""

    confidence: float = 0.95
    resamples: int = 2000
    # Differences smaller than this (relative) are "no significant change" even when the
    # bootstrap can tell them apart: two runs of one build on a shared box differ this much.
    min_effect: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class MetricDiff:
    """One metric, both sides, the difference and its confidence interval.

    `ci_low`/`ci_high` bound the relative difference (candidate / baseline - 1) for latency and
    throughput, and the absolute difference for the error rate (a ratio already)."""

    name: str
    unit: str
    higher_is_worse: bool
    baseline: float | None
    candidate: float | None
    difference: float | None
    relative: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool
    verdict: MetricVerdict
    stable: bool = True
    note: str = ""
    # Two-sided permutation test over seconds: how often shuffled seconds differ this much.
    p_value: float | None = None


@dataclass(frozen=True)
class Side:
    """One of the two things compared, and the load phase measured on it."""

    role: Literal["baseline", "candidate"]
    label: str
    url: str
    protocol: str
    source: str
    started_at: str
    model_version: str | None = None
    machine: Machine | None = None
    load: Mapping[str, Any] = field(default_factory=dict)
    phase: LoadPhase | None = None


@dataclass(frozen=True)
class Disagreement:
    """One input the two sides answered differently (secrets scrubbed, bodies truncated)."""

    input: str
    baseline: str
    candidate: str
    baseline_status: int | None
    candidate_status: int | None
    fields: tuple[str, ...]
    label_changed: bool
    largest_difference: float | None = None


@dataclass(frozen=True)
class ShareShift:
    """Class shares of one categorical output on each side, and a chi-square test of them."""

    path: str
    baseline_shares: Mapping[str, float]
    candidate_shares: Mapping[str, float]
    baseline_n: int
    candidate_n: int
    statistic: float
    p_value: float
    largest_change_pp: float
    shifted: bool


@dataclass(frozen=True)
class ScoreShift:
    """One numeric output on each side, and a two-sample Kolmogorov-Smirnov test of them."""

    path: str
    baseline_mean: float
    candidate_mean: float
    n: int
    statistic: float
    p_value: float
    shifted: bool


@dataclass(frozen=True)
class ShadowSection:
    """The same inputs to both sides: how often they agree, where not, and whether the output
    distribution moved."""

    inputs: int
    compared: int
    agreed: int
    agreement: float | None
    tolerance: float
    source: str
    ignored_keys: tuple[str, ...] = ()
    status_mismatches: int = 0
    disagreements: tuple[Disagreement, ...] = ()
    shares: tuple[ShareShift, ...] = ()
    scores: tuple[ScoreShift, ...] = ()
    shifted: bool = False
    alpha: float = 0.01
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Interleave:
    """Live mode: how the load alternated between the sides."""

    window_s: float
    windows_per_side: int
    order: str


@dataclass(frozen=True)
class Comparison:
    benchbox_version: str
    created_at: str
    mode: Literal["live", "saved"]
    baseline: Side
    candidate: Side
    settings: CompareSettings
    metrics: tuple[MetricDiff, ...]
    gates: tuple[GateResult, ...]
    verdict: Verdict
    warnings: tuple[str, ...] = ()
    shadow: ShadowSection | None = None
    interleave: Interleave | None = None
    problems: tuple[str, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    def metric(self, name: str) -> MetricDiff | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def passed(self) -> bool:
        """No gate failed (the verdict is "pass"): what a test or a script asserts."""
        return self.verdict == "pass"


def dumps(comparison: Comparison) -> str:
    data = dataclasses.asdict(comparison)
    data = {"schema": data.pop("schema"), **data}
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def from_dict(data: Mapping[str, Any]) -> Comparison:
    import dacite

    schema = data.get("schema") if isinstance(data, Mapping) else None
    if schema != SCHEMA:
        raise UnknownResultSchema(f"unknown compare schema {schema!r}: this benchbox reads {SCHEMA!r}")
    try:
        return dacite.from_dict(Comparison, dict(data), config=dacite.Config(cast=[tuple]))
    except (dacite.DaciteError, TypeError, ValueError) as exc:
        raise UsageError(f"malformed {SCHEMA} document: {exc}") from None


def load(path: Path) -> Comparison:
    try:
        return from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"bad compare document {str(path)!r}: not JSON ({exc.msg})") from None
