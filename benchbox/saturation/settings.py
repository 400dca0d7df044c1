"""How the saturation search runs, and which SLOs a probe must keep to 'hold'.

The defaults are sized for the issue's check: capacities an order of magnitude apart found within
±10 % using at most 60 s of load, and a whole default verdict in about a minute. Bisection stops
at a 5 % bracket, inside that with room for a noisy machine; a probe is judged on whole seconds
after a 1 s warm-up and is called stable after three of them within 10 % (perf_analyzer's rule)
or, where the variance allows, two within 5 %, so a stable probe costs 3-4 s, and a search
typically 15-25 s of load.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from benchbox.gates import DEFAULT_SLOS, GateSpec, parse_slo


@dataclass(frozen=True)
class SearchSettings:
    budget_s: float = 90.0  # seconds of load, all probes together; process start-up is not load
    resolution: float = 0.05  # stop bisecting once the lowest failing rate / highest holding rate <= 1.05
    keep_up: float = 0.95  # achieved goodput must be at least this share of the offered rate
    warmup_s: int = 1  # whole seconds dropped at the start of every probe (connections, JIT-less warm-up)
    stable_windows: int = 3
    stability: float = 0.10  # each of the last windows within 10 % of their mean (perf_analyzer)
    # A quieter probe is called stable sooner: the last `quick_windows` within `quick_stability`
    # (and half the floors). 0 windows: always wait for `stable_windows`.
    quick_windows: int = 2
    quick_stability: float = 0.05
    # Per-second P95s of tens of ms jitter by a few ms on a shared machine (measured up to 5 ms at
    # a 20 ms service time, far below capacity); that is not instability, so a floor in ms.
    stability_floor_ms: float = 5.0
    max_probe_s: float = 8.0  # an unstable probe is extended up to this, then judged as it is
    estimate_users: int = 16  # closed-loop users of the first estimate; 0: start at start_rps
    estimate_s: float = 3.0
    start_rps: float = 10.0
    min_rps: float = 0.5  # below this, stop looking down: nothing holds
    overload_factor: float = 1.5  # the past-saturation probe's rate, x capacity; 0 leaves it out
    overload_s: float = 3.0
    arrival: Literal["constant", "poisson"] = "constant"
    max_connections: int = 2048
    settle_s: float = 1.0  # pause after a probe that did not hold, so its backlog drains (not load)
    max_rps: float | None = None  # --max-rps: no probe offers more; the search reports a floor there


@dataclass(frozen=True)
class Criteria:
    """The per-probe SLOs: latency and error gates. Throughput gates (min_rps) judge the found
    capacity, not a probe, so they are left out here."""

    gates: tuple[GateSpec, ...]
    timeout_s: float = math.inf  # the request timeout: nothing stays in flight longer

    @classmethod
    def from_gates(cls, gates: Sequence[GateSpec] | None, timeout_s: float = math.inf) -> Criteria:
        chosen = [g for g in (gates or ()) if _per_probe(g)]
        # A missing kind falls back to its default (P95 <= 2 s, errors <= 1 %): a search with no
        # latency bound would call a server with a 30 s queue 'sustaining' its load.
        for default in (parse_slo(text) for text in DEFAULT_SLOS):
            if not any(_kind(g) == _kind(default) for g in chosen):
                chosen.append(default)
        return cls(gates=tuple(chosen), timeout_s=timeout_s)

    @property
    def latency_limits_ms(self) -> tuple[float, ...]:
        return tuple(g.threshold for g in self.gates if g.metric.startswith("latency_ms."))

    @property
    def error_budget(self) -> float:
        return min(g.threshold for g in self.gates if g.metric == "error_rate")

    @property
    def allowance_s(self) -> float:
        """How long a request may be in flight before the SLO is broken anyway: sizes the pool."""
        return min(self.timeout_s, max(self.latency_limits_ms) / 1000.0)

    def describe(self, settings: SearchSettings) -> str:
        slos = " and ".join(g.describe() for g in self.gates)
        return (
            f"{slos} over per-second windows after a {settings.warmup_s} s warm-up; achieved "
            f">= {100 * settings.keep_up:.0f}% of offered; latency not still climbing"
        )


def _kind(gate: GateSpec) -> str:
    return "latency" if gate.metric.startswith("latency_ms.") else gate.metric


def _per_probe(gate: GateSpec) -> bool:
    return gate.op == "<=" and (gate.metric.startswith("latency_ms.") or gate.metric == "error_rate")
