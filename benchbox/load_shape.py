"""The load a plan asks for: open or closed loop, steady, a ramp or steps, a locustfile scenario,
the worker processes that make it; and how a trace or a mix (benchbox.traffic) reshapes it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchbox import flags as parse
from benchbox.errors import UsageError
from benchbox.traffic.plan import TrafficPlan
from benchbox.units import parse_duration, parse_positive

DEFAULT_RATE = 10.0  # neither --rate nor --users: open loop at this rate


@dataclass(frozen=True)
class LoadPlan:
    """The load shape: steady, a linear ramp up to the level, or steps (each its own phase)."""

    mode: Literal["open", "closed"]
    rate: float | None
    users: int | None
    arrival: Literal["constant", "poisson"]
    duration_s: float
    connections: int
    ramp: bool = False
    steps: tuple[float, ...] = ()
    step_duration_s: float | None = None
    scenario: str | None = None


@dataclass(frozen=True)
class WorkerPlan:
    """Scale-out on Locust's master/worker engine: local worker processes and remote ones."""

    local: int = 0
    expect: int = 0
    bind: str = "127.0.0.1"
    port: int = 0


def load_plan(flags: Mapping[str, Any], cfg: Mapping[str, Any], pick: Any, get: Any, base_dir: Path) -> LoadPlan:
    rate_flag, users_flag = flags.get("rate"), flags.get("users")
    # A flag for one mode overrides the config's other mode instead of clashing with it.
    rate = rate_flag if rate_flag is not None else (cfg.get("rate") if users_flag is None else None)
    users = users_flag if users_flag is not None else (cfg.get("users") if rate_flag is None else None)
    if rate is not None and users is not None:
        raise UsageError("bad load: --rate (open loop) and --users (closed loop) exclude each other; give one")
    arrival, duration_s, connections = get("arrival"), get("duration"), get("connections")
    ramp = bool(get("ramp"))
    scenario = pick("scenario")
    steps = parse.steps(pick("steps"), closed=users is not None or bool(scenario))
    if steps and ramp:
        raise UsageError("bad load: --ramp and --steps are two different shapes; give one")
    step_duration_s = None
    if steps:
        given = pick("step_duration")
        step_duration_s = parse_duration("--step-duration", given) if given else duration_s / len(steps)
        duration_s = step_duration_s * len(steps)
    shape: dict[str, Any] = {
        "ramp": ramp,
        "steps": steps,
        "step_duration_s": step_duration_s,
        "scenario": parse.scenario_path(scenario, base_dir) if scenario else None,
    }
    if users is not None or scenario:
        n = int(parse_positive("--users", users if users is not None else 1, integer=True))
        return LoadPlan("closed", None, n, arrival, duration_s, connections, **shape)
    r = parse_positive("--rate", rate if rate is not None else DEFAULT_RATE)
    return LoadPlan("open", r, None, arrival, duration_s, connections, **shape)


def traffic_load(traffic: TrafficPlan, load: LoadPlan, flags: Mapping[str, Any], cfg: Mapping[str, Any]) -> LoadPlan:
    """A trace or a mix runs open loop: a trace at its own rate and for its own length (or
    --duration with --loop); a mix at --rate, or at the sum of its classes' rates."""
    if load.mode == "closed" or load.steps or load.scenario:
        raise UsageError(
            "bad load: --replay, --mix and --batch-sizes run open loop; leave out --users/--steps/--scenario"
        )
    if traffic.trace is not None:
        if traffic.mix_rate is not None:
            raise UsageError("bad --mix with --replay: the trace sets the rate; give the classes weights, not rates")
        if flags.get("rate") is not None:
            raise UsageError("bad --rate with --replay: the trace sets the rate; scale it with --time-scale F")
        span = traffic.trace.span_s / traffic.scale
        rate = len(traffic.trace.lines) / span
        duration = load.duration_s if traffic.loop else span
        return dataclasses.replace(load, rate=round(rate, 6), duration_s=duration, ramp=False, arrival="constant")
    rate_given = flags.get("rate") is not None or cfg.get("rate") is not None
    if traffic.mix_rate is not None and not rate_given:
        return dataclasses.replace(load, rate=traffic.mix_rate)
    return load
