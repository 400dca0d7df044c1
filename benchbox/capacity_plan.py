"""`--cost-per-hour`, `--replicas`, `--expected-rps`, `--headroom`: the cost and sizing plan.

Checked when the plan is built: a bad price, or a cost gate (`--slo cost_per_1k<=0.05`) with no
price to compute it from, is a usage error before any request is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchbox.capacity import DEFAULT_HEADROOM, CostPlan
from benchbox.errors import UsageError
from benchbox.gates import GateSpec
from benchbox.units import parse_percent, parse_positive


def cost_plan(pick: Callable[..., Any], gates: Sequence[GateSpec]) -> CostPlan:
    """Price and expected load from flags over config."""
    price, expected = pick("cost_per_hour"), pick("expected_rps")
    plan = CostPlan(
        cost_per_hour=parse_positive("--cost-per-hour", price) if price is not None else None,
        replicas=int(parse_positive("--replicas", pick("replicas", 1), integer=True)),
        expected_rps=parse_positive("--expected-rps", expected) if expected is not None else None,
        headroom=parse_percent("--headroom", pick("headroom", f"{100 * DEFAULT_HEADROOM:g}%")),
    )
    for gate in gates:
        if gate.metric.startswith("cost.") and plan.cost_per_hour is None:
            raise UsageError(
                f"bad --slo {gate.name}: a cost gate needs the price of one instance, "
                "--cost-per-hour PRICE (e.g. --cost-per-hour 3.20)"
            )
        if gate.metric.startswith("sizing.") and plan.expected_rps is None:
            raise UsageError(f"bad --slo {gate.name}: a replica gate needs the load to size for, --expected-rps R")
    return plan
