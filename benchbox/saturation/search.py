"""The search for the highest offered rate a target sustains: estimate, bracket, bisect, overload.

1. Estimate: a short closed-loop probe (N users back to back) measures what the target serves
   when pushed; if N exceeds the target's concurrency that is its capacity, else a lower bound.
2. Bracket: open-loop probes at half the estimate (a low-load baseline for the curve), then the
   estimate. If the estimate came from a saturated target (its closed-loop latency well above
   the baseline's, or its users turned away with errors) the next probe is only 10 % away, and
   while that keeps failing the search walks down in 10 % steps; otherwise the rate doubles (or
   quarters going down) until one probe holds and a higher one does not.
3. Bisect (geometric) until the bracket is within `resolution` (5 %) or the budget is spent.
4. Overload: one short probe at 1.5x the capacity found, graded sheds / queues / fails.

The probe runner is injected (`Probe`), so this logic runs against fakes in unit tests and against
the real generator process in `runner.run_search`. Budget is load time only: process start-up and
the settle pause after a failed probe are not load on the target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from benchbox.errors import Interrupted
from benchbox.gates import GateSpec
from benchbox.result import LoadPhase, TimePoint
from benchbox.saturation import knee as knee_mod
from benchbox.saturation import overload, usl
from benchbox.saturation.model import LimitedBy, Overload, ResponseSample, Saturation, Stage, Step
from benchbox.saturation.settings import Criteria, SearchSettings
from benchbox.saturation.verdict import Verdict, judge, load_seconds, should_stop, to_step

# A closed-loop estimate whose mean latency is this far above the low-load probe's was queueing:
# the target was saturated, so the estimate is its capacity, not a lower bound.
SATURATED_LATENCY = 1.5
NEAR_STEP = 1.10  # the probe after a saturated estimate: 10 % either side of it
RAMP = 2.0
POOL_SLACK = 32  # connections beyond rate x allowance, for jitter in a steady probe


@dataclass(frozen=True)
class ProbeOrder:
    """One probe to run. `settle_s`: pause before it (not load), after a probe that did not hold."""

    index: int
    stage: Stage
    mode: Literal["open", "closed"]
    duration_s: float
    rate: float | None = None
    users: int | None = None
    connections: int = 256
    settle_s: float = 0.0
    sample_headers: bool = False  # read a few responses directly (headers: Retry-After)


@dataclass(frozen=True)
class ProbeRun:
    """What a probe gives back. A probe its watch stopped reports the seconds it ran as duration_s."""

    phase: LoadPhase
    samples: tuple[ResponseSample, ...] = ()


Watch = Callable[[Sequence[TimePoint]], bool]  # per-second windows so far -> stop now?
Probe = Callable[[ProbeOrder, "Watch | None"], ProbeRun]
Notify = Callable[[str], None]


class SearchInterrupted(Interrupted):
    """Ctrl-C or SIGTERM during the search; `saturation` is what the finished probes showed."""

    def __init__(self, signal_name: str, saturation: Saturation) -> None:
        super().__init__(signal_name)
        self.saturation = saturation


def search(
    probe: Probe,
    gates: Sequence[GateSpec] | None = None,
    settings: SearchSettings = SearchSettings(),
    notify: Notify | None = None,
    timeout_s: float = math.inf,
) -> Saturation:
    """Find the maximum sustainable throughput within `settings.budget_s` seconds of load."""
    return _Search(probe, Criteria.from_gates(gates, timeout_s), settings, notify or (lambda text: None)).run()


class _Search:
    def __init__(self, probe: Probe, criteria: Criteria, settings: SearchSettings, notify: Notify) -> None:
        self.probe, self.criteria, self.s, self.notify = probe, criteria, settings, notify
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.used = 0.0
        self.lo: float | None = None  # highest rate that held
        self.hi: float | None = None  # lowest rate the target failed
        self.hi_limit: LimitedBy = "throughput"
        self.gen_ceiling: float | None = None  # lowest rate the generator may have limited
        self.last_failed = False
        self.near = False  # walking down from a saturated estimate that did not hold, 10 % a step
        self.min_probe = settings.warmup_s + settings.stable_windows
        self.reserve = settings.overload_s * max(settings.overload_factor, 1.0) if settings.overload_factor else 0.0

    # -- the search -------------------------------------------------------------------------------
    def run(self) -> Saturation:
        try:
            rate = self._bracket_from_estimate()
            while rate is not None and self._open(rate) is not None:
                rate = self._next()
            return self._conclude()
        except (KeyboardInterrupt, Interrupted) as exc:
            name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
            self.notes.append(f"interrupted by {name}: the steps cover the probes finished until then")
            raise SearchInterrupted(name, self._conclude(overload_probe=False)) from exc

    def _bracket_from_estimate(self) -> float | None:
        """Estimate, probe half of it (the baseline) and then it; return the next rate to probe."""
        est = self._estimate()
        if est is None:
            return self.s.start_rps
        estimate = est.achieved_rps
        base = self._open(estimate / 2)
        if base is None or not base.held:
            return self._next() if base is not None else None
        at = self._open(estimate)
        if at is None:
            return None
        # Pushed by N users, a saturated target either made them wait (latency well above the
        # baseline's) or turned them away (errors): then the estimate is its capacity.
        low = base.reading.latency_ms
        saturated = est.error_rate > self.criteria.error_budget or (
            est.mean_ms is not None and low is not None and est.mean_ms > SATURATED_LATENCY * low.mean
        )
        if not saturated or at.held is None:
            return self._next()
        self.near = not at.held
        return estimate * NEAR_STEP if at.held else estimate / NEAR_STEP

    def _next(self) -> float | None:
        """Ramp up x2 until a probe fails, down /4 until one holds, then bisect to the resolution."""
        top = min((x for x in (self.hi, self.gen_ceiling) if x is not None), default=None)
        if self.lo is None:
            assert top is not None
            nxt = top / (RAMP * RAMP)
            return nxt if nxt >= self.s.min_rps else None
        if top is None:
            return self.lo * RAMP
        if top / self.lo <= 1 + self.s.resolution:
            return None
        if self.near and top / self.lo > NEAR_STEP * NEAR_STEP:
            return top / NEAR_STEP  # a saturated estimate overshot: capacity is likely just below
        return math.sqrt(self.lo * top)

    def _estimate(self) -> Step | None:
        """A closed-loop probe: what the target serves when pushed. None without a usable one."""
        if self.s.estimate_users <= 0 or self._left() < self.s.estimate_s:
            return None
        order = ProbeOrder(
            index=len(self.steps),
            stage="estimate",
            mode="closed",
            duration_s=self.s.estimate_s,
            users=self.s.estimate_users,
            connections=self.s.estimate_users,
        )
        verdict, step, _ = self._run(order, None)
        self.notify(
            f"saturation: estimate with {order.users} users back to back: {step.achieved_rps:.4g} req/s"
            + (f", mean latency {step.mean_ms:.1f} ms" if step.mean_ms is not None else "")
            + (f", {100 * step.error_rate:.1f}% errors" if step.error_rate else "")
        )
        if verdict.generator:
            self.notes.append("the closed-loop estimate was limited by the generator: " + "; ".join(verdict.generator))
        if step.achieved_rps <= 0:
            self.notes.append(
                f"the closed-loop estimate got no successful answer: starting from {self.s.start_rps:g} req/s instead"
            )
            return None
        return step

    def _open(self, rate: float) -> Verdict | None:
        """Probe an open-loop rate; None when the budget has no room for another probe."""
        rate = round(rate, 3)
        cap = self.s.max_rps
        if cap is not None and rate > cap:
            if self.lo is not None and self.lo >= cap:  # held at the cap already: nothing more to learn
                self.notes.append(f"--max-rps {cap:g} capped the search: capacity is at least {cap:g} req/s")
                return None
            rate = cap
        if self._left() < self.min_probe:
            self.notes.append(f"budget of {self.s.budget_s:g} s of load spent")
            return None
        bracketed = self.lo is not None and (self.hi is not None or self.gen_ceiling is not None)
        stage: Stage = "bisect" if bracketed else "ramp"
        pool = math.ceil(rate * self.criteria.allowance_s) + POOL_SLACK
        order = ProbeOrder(
            index=len(self.steps),
            stage=stage,
            mode="open",
            rate=rate,
            duration_s=min(self.s.max_probe_s, self._left()),
            connections=min(max(64, pool), self.s.max_connections),
            settle_s=self.s.settle_s if self.last_failed else 0.0,
        )
        verdict, step, _ = self._run(order, lambda seen: should_stop(seen, rate, self.criteria, self.s))
        self.last_failed = verdict.held is not True
        if verdict.held is None:
            self.gen_ceiling = min(self.gen_ceiling or math.inf, rate)
        elif verdict.held:
            self.lo = max(self.lo or 0.0, rate)
        elif self.hi is None or rate < self.hi:
            self.hi, self.hi_limit = rate, verdict.limit or "throughput"
        outcome = {True: "held", False: "did not hold", None: "inconclusive (generator-bound)"}[verdict.held]
        why = f": {verdict.reasons[0]}" if verdict.reasons and verdict.held is not True else ""
        self.notify(
            f"saturation: probe {order.index} ({stage}) at {rate:.4g} req/s {outcome}"
            f" ({step.achieved_rps:.4g} req/s, P95 {step.p95_ms or 0:.1f} ms){why}"
        )
        return verdict

    def _run(self, order: ProbeOrder, watch: Watch | None) -> tuple[Verdict, Step, ProbeRun]:
        run = self.probe(order, watch)
        verdict = judge(run.phase, self.criteria, self.s)
        step = to_step(order.index, order.stage, run.phase, verdict)
        self.used += load_seconds(run.phase)
        self.steps.append(step)
        return verdict, step, run

    def _left(self) -> float:
        return self.s.budget_s - self.used - self.reserve

    # -- the answer -------------------------------------------------------------------------------
    def _conclude(self, overload_probe: bool = True) -> Saturation:
        # A target failure at a rate the generator did offer outranks an inconclusive probe: then
        # the generator could offer more than the ceiling, and that probe was noise, not a limit.
        generator_bound = self.gen_ceiling is not None and self.hi is None
        found = self.lo is not None and self.hi is not None and not generator_bound
        if found:
            limited_by: LimitedBy = self.hi_limit
            statement = (
                f"sustains {self.lo:.4g} req/s ({self._slo_text()}); {self.hi:.4g} req/s did not hold "
                f"(limited by {limited_by})"
            )
            if self.hi / self.lo > 1 + self.s.resolution:  # type: ignore[operator]
                self.notes.append(
                    f"the budget ran out before the bracket [{self.lo:.4g}, {self.hi:.4g}] req/s "
                    f"narrowed to {100 * self.s.resolution:g}%"
                )
        elif generator_bound:
            limited_by = "generator"
            floor = f"above {self.lo:.4g} req/s" if self.lo else "unknown"
            statement = (
                f"capacity {floor} (generator-bound: the load generator could not offer "
                f"{self.gen_ceiling:.4g} req/s without becoming the limit)"
            )
        elif self.lo is not None:
            limited_by = "budget"
            statement = f"capacity above {self.lo:.4g} req/s (the budget ran out before any rate failed)"
        else:
            limited_by = "nothing_held"
            lowest = min((s for s in self.steps if s.held is False), key=lambda s: s.offered_rps or 0, default=None)
            why = f": {lowest.reasons[0]}" if lowest and lowest.reasons else ""
            statement = f"no rate held, down to {lowest.offered_rps if lowest else self.s.start_rps:g} req/s{why}"
        over = self._overload() if found and overload_probe else None
        if over is not None and over.grade == "keeps_up" and self.hi_limit == "throughput":
            self.notes.append(
                f"the target kept up with {over.offered_rps:g} req/s in the overload probe although "
                f"{self.hi:.4g} req/s did not hold: its capacity changed during the search, or "
                "probes were disturbed (a busy machine); treat the capacity as a lower bound"
            )
        if not found and self.s.overload_factor:
            self.notes.append("no overload probe: there is no capacity found to overload")
        knee, knee_note = knee_mod.find(self.steps)
        if knee_note:
            self.notes.append(knee_note)
        return Saturation(
            found=found,
            max_sustainable_rps=self.lo if found else None,
            criterion=self.criteria.describe(self.s),
            limited_by=limited_by,
            statement=statement,
            budget_s=self.s.budget_s,
            load_s_used=round(self.used, 3),
            generator_bound=generator_bound,
            capacity_floor_rps=self.lo if not found else None,
            upper_bound_rps=self.hi,
            steps=tuple(self.steps),
            knee=knee,
            usl=usl.fit(usl.points_from_steps(self.steps)),
            overload=over,
            notes=tuple(self.notes),
        )

    def _overload(self) -> Overload | None:
        if not self.s.overload_factor:
            return None
        assert self.lo is not None
        rate = self.lo * self.s.overload_factor
        if self.s.max_rps is not None and rate > self.s.max_rps:
            self.notes.append(f"no overload probe: {rate:.4g} req/s is above --max-rps {self.s.max_rps:g}")
            return None
        pool = math.ceil(rate * self.criteria.allowance_s) + POOL_SLACK
        order = ProbeOrder(
            index=len(self.steps),
            stage="overload",
            mode="open",
            rate=round(rate, 3),
            duration_s=self.s.overload_s,
            connections=min(max(64, pool), self.s.max_connections),
            settle_s=self.s.settle_s if self.last_failed else 0.0,
            sample_headers=True,
        )
        verdict, _, run = self._run(order, None)
        graded = overload.grade(run.phase, self.lo, self.criteria, self.s, run.samples)
        if verdict.generator:
            self.notes.append("the overload probe was limited by the generator: " + "; ".join(verdict.generator))
        self.notify(f"saturation: past capacity the target {graded.grade}")
        return graded

    def _slo_text(self) -> str:
        return ", ".join(g.describe() for g in self.criteria.gates)
