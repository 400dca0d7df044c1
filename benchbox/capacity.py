"""Cost per decision and compute for the expected load: pure arithmetic on measured capacity.

The launch checklists ask what each decision costs and how much compute the expected load needs.
Both follow from the capacity the saturation search found within the SLO and the price of what
was tested: `--cost-per-hour` is the price of one serving instance, `--replicas` how many of them
stand behind the target. Then, with capacity C req/s for the whole target,

    cost per request = price x replicas / (C x 3600)      (per 1k and per 1M: x 1e3, x 1e6)

and for an expected load R with headroom h, one replica carries C / replicas, so the load needs
ceil(R (1 + h) / (C / replicas)) replicas. The capacity is known only to within the search's
bracket (the highest rate that held, the lowest that did not), so the cost is given as a range.

Stdlib only and no benchbox imports (result.py reads these values): callers pass plain numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

DEFAULT_HEADROOM = 0.30

Basis = Literal["capacity", "capacity_floor", "load"]


@dataclass(frozen=True)
class CostPlan:
    """What the user told benchbox about price and expected load (all optional)."""

    cost_per_hour: float | None = None
    replicas: int = 1
    expected_rps: float | None = None
    headroom: float = DEFAULT_HEADROOM


@dataclass(frozen=True)
class CostFigures:
    """What a request (and, for an LLM, an output token) costs at one throughput of the target.

    `basis`: "capacity" (the most held within the SLO), "capacity_floor" (the generator or the
    budget stopped the search first: the capacity is at least `rps`, the cost at most these), or
    "load" (the throughput of the load phase as run). `per_1m_low` is the cost at the lowest rate
    that did not hold: the capacity's bracket as a cost range."""

    basis: Basis
    rps: float
    per_request: float
    per_1k: float
    per_1m: float
    per_1m_low: float | None = None
    output_tokens_per_s: float | None = None
    per_1m_output_tokens: float | None = None


@dataclass(frozen=True)
class Sizing:
    """How many replicas like the one tested serve `expected_rps` within the SLO with headroom."""

    expected_rps: float
    headroom: float
    needed_rps: float  # expected x (1 + headroom)
    replica_rps: float  # what one replica held within the SLO
    replicas: int | None  # None: no capacity measured
    one_replica_short: bool
    cost_per_hour: float | None = None
    per_1m: float | None = None  # at the expected load, on that many replicas
    at_most: bool = False  # the capacity was a floor: at most this many replicas
    statement: str = ""


@dataclass(frozen=True)
class CostSection:
    """The cost and sizing part of result.json (`cost`), written when a price or an expected load was given."""

    cost_per_hour: float | None
    replicas: int
    at_capacity: CostFigures | None = None
    at_load: CostFigures | None = None
    sizing: Sizing | None = None
    statement: str = ""
    notes: tuple[str, ...] = ()


def figures(
    price_per_hour: float,
    replicas: int,
    rps: float,
    basis: Basis,
    upper_rps: float | None = None,
    tokens_per_s: float | None = None,
) -> CostFigures:
    """The cost of a request at `rps` for a target of `replicas` instances at `price_per_hour` each."""
    hourly = price_per_hour * replicas
    per_request = hourly / (rps * 3600.0)
    per_1m_low = hourly * 1e6 / (upper_rps * 3600.0) if upper_rps else None
    per_token = hourly * 1e6 / (tokens_per_s * 3600.0) if tokens_per_s else None
    return CostFigures(
        basis, rps, per_request, per_request * 1e3, per_request * 1e6, per_1m_low, tokens_per_s, per_token
    )


def size(
    expected_rps: float,
    headroom: float,
    capacity_rps: float | None,
    replicas_tested: int,
    price_per_hour: float | None,
    floor: bool = False,
) -> Sizing:
    """Replicas for the expected load, from the capacity of the target as tested."""
    needed = expected_rps * (1.0 + headroom)
    load = f"{_num(expected_rps)} req/s with {_pct(headroom)} headroom needs {_num(needed)} req/s within the SLO"
    if not capacity_rps:
        return Sizing(
            expected_rps,
            headroom,
            needed,
            0.0,
            None,
            False,
            statement=f"{load}; no capacity was measured (the saturation search did not run or found "
            "nothing that held), so the replicas it takes are not known",
        )
    per_replica = capacity_rps / replicas_tested
    count = max(1, math.ceil(needed / per_replica - 1e-9))
    short = per_replica < needed
    hourly = price_per_hour * count if price_per_hour is not None else None
    per_1m = hourly * 1e6 / (expected_rps * 3600.0) if hourly is not None else None
    carries = "carries at least" if floor else "carries"
    measured = f" ({_num(capacity_rps)} req/s measured on {replicas_tested})" if replicas_tested > 1 else ""
    if short:
        text = (
            f"one replica is short of the expected load: it {carries} {_num(per_replica)} req/s within the SLO"
            f"{measured}, but {load}: {'at most ' if floor else ''}{count} replicas like it"
        )
    else:
        text = f"one replica is enough: it {carries} {_num(per_replica)} req/s within the SLO{measured}, and {load}"
    if hourly is not None and per_1m is not None:
        text += (
            f"; {count} replica{'s cost' if count > 1 else ' costs'} {money(hourly)} per hour, "
            f"{money(per_1m)} per 1M requests at {_num(expected_rps)} req/s"
        )
    return Sizing(expected_rps, headroom, needed, per_replica, count, short, hourly, per_1m, floor, text)


def cost_section(
    plan: CostPlan,
    capacity_rps: float | None,
    found: bool,
    upper_rps: float | None,
    load_rps: float | None,
    capacity_tokens_per_s: float | None = None,
    load_tokens_per_s: float | None = None,
) -> CostSection | None:
    """The section from the plan and what was measured; None when neither a price nor an expected load was given.

    `capacity_rps` is the saturation search's answer; `found` False means it is a floor (the
    generator was the limit), so costs are upper bounds."""
    if plan.cost_per_hour is None and plan.expected_rps is None:
        return None
    notes: list[str] = []
    at_capacity = at_load = None
    price = plan.cost_per_hour
    if price is not None:
        if capacity_rps:
            at_capacity = figures(
                price,
                plan.replicas,
                capacity_rps,
                "capacity" if found else "capacity_floor",
                upper_rps if found else None,
                capacity_tokens_per_s,
            )
        else:
            notes.append(
                "no capacity within the SLO was measured, so the cost at capacity is not known "
                "(the saturation search did not run, or nothing held)"
            )
        if load_rps:
            at_load = figures(price, plan.replicas, load_rps, "load", None, load_tokens_per_s)
    sizing = (
        size(plan.expected_rps, plan.headroom, capacity_rps, plan.replicas, price, floor=not found)
        if plan.expected_rps is not None
        else None
    )
    return CostSection(
        price, plan.replicas, at_capacity, at_load, sizing, describe(at_capacity, at_load, plan), tuple(notes)
    )


def describe(at_capacity: CostFigures | None, at_load: CostFigures | None, plan: CostPlan) -> str:
    """One sentence: the cost per 1M requests at capacity (and at the load run)."""
    if plan.cost_per_hour is None:
        return ""
    target = (
        f"{plan.replicas} replicas at {money(plan.cost_per_hour)}/h each"
        if plan.replicas > 1
        else f"{money(plan.cost_per_hour)}/h"
    )
    parts = []
    if at_capacity is not None:
        bound = "at most " if at_capacity.basis == "capacity_floor" else ""
        rng = (
            f" (down to {money(at_capacity.per_1m_low)} if the capacity is nearer the rate that failed)"
            if at_capacity.per_1m_low is not None and at_capacity.per_1m_low < at_capacity.per_1m * 0.995
            else ""
        )
        parts.append(
            f"{bound}{money(at_capacity.per_1m)} per 1M requests at capacity ({_num(at_capacity.rps)} req/s){rng}"
        )
        if at_capacity.per_1m_output_tokens is not None:
            parts.append(f"{bound}{money(at_capacity.per_1m_output_tokens)} per 1M output tokens at capacity")
    if at_load is not None:
        parts.append(f"{money(at_load.per_1m)} per 1M at the load run ({_num(at_load.rps)} req/s)")
    return f"{target}: " + "; ".join(parts) if parts else f"{target}: no throughput measured to price"


def change(baseline_per_1m: float | None, candidate_per_1m: float | None) -> float | None:
    """Relative cost change, candidate over baseline minus one."""
    if not baseline_per_1m or candidate_per_1m is None:
        return None
    return candidate_per_1m / baseline_per_1m - 1.0


def money(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value == 0 or abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def _num(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value < 1000 else f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{100 * value:g}%"
