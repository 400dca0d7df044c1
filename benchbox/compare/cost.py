"""The cost change between two versions: what a request costs at each one's capacity within the SLO.

A request costs price x replicas / (capacity x 3600), so at the same price the cost moves as the
inverse of capacity: a candidate 10 % slower at the same capacity costs the same, and one whose
capacity fell by a third costs half as much again (1 / (2/3) = 1.5). With a price on both sides
(`run --cost-per-hour`) the figures are the prices'; without, the change is still known, as a
ratio, from the capacities and replica counts alone (the same instance price assumed).
"""

from __future__ import annotations

from typing import Any

from benchbox.result import Result


def cost_comparison(baseline: Result, candidate: Result) -> tuple[dict[str, Any] | None, list[str]]:
    """compare.json's `sections["cost"]`, or None when a side has no capacity to price; and warnings."""
    sides = {role: _side(r) for role, r in (("baseline", baseline), ("candidate", candidate))}
    missing = [role for role, s in sides.items() if s["capacity_rps"] is None]
    if missing:
        both = len(missing) == 2
        return None, (
            []
            if both
            else [
                f"no capacity in the {missing[0]} result (saturation skipped or nothing "
                "held): the cost per request is not compared"
            ]
        )
    base, cand = sides["baseline"], sides["candidate"]
    priced = base["per_1m"] is not None and cand["per_1m"] is not None
    if priced:
        change = cand["per_1m"] / base["per_1m"] - 1.0
    else:
        change = (cand["replicas"] / cand["capacity_rps"]) / (base["replicas"] / base["capacity_rps"]) - 1.0
    floors = [role for role, s in sides.items() if s["floor"]]
    note = ""
    if floors:
        whose = "both capacities are floors" if len(floors) == 2 else f"the {floors[0]} capacity is a floor"
        note = f"{whose} (the search stopped before the target failed), so the cost is an upper bound"
    return {
        "baseline": base,
        "candidate": cand,
        "change": change,
        "basis": "price" if priced else "capacity (same instance price assumed)",
        "note": note,
    }, []


def _side(result: Result) -> dict[str, Any]:
    s = result.saturation
    found = s is not None and s.found and s.max_sustainable_rps is not None
    capacity = (s.max_sustainable_rps if found else s.capacity_floor_rps) if s is not None else None
    cost = getattr(result, "cost", None)
    plan_cost = (result.plan or {}).get("cost") or {} if isinstance(result.plan, dict) else {}
    replicas = cost.replicas if cost is not None else int(plan_cost.get("replicas") or 1)
    at = cost.at_capacity if cost is not None else None
    return {
        "capacity_rps": capacity,
        "floor": capacity is not None and not found,
        "replicas": replicas,
        "cost_per_hour": cost.cost_per_hour if cost is not None else None,
        "per_1k": at.per_1k if at is not None else None,
        "per_1m": at.per_1m if at is not None else None,
    }


def headline(found: dict[str, Any]) -> str:
    """One line: the cost per 1M requests (or the capacity) on each side and the change."""
    from benchbox.capacity import money

    b, c = found["baseline"], found["candidate"]
    if b["per_1m"] is not None and c["per_1m"] is not None:
        what = f"{money(b['per_1m'])} -> {money(c['per_1m'])} per 1M requests at capacity"
    else:
        what = f"capacity {b['capacity_rps']:.1f} -> {c['capacity_rps']:.1f} req/s"
    change = found["change"]
    word = "rises" if change > 0.005 else ("falls" if change < -0.005 else "stays the same")
    tail = f"; {found['note']}" if found.get("note") else ""
    return f"cost per request {word} ({100 * change:+.1f}%): {what}{tail}"
