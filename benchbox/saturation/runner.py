"""The search against a real target: each probe is a load phase in one long-lived generator process.

A probe is stopped as soon as its watch is satisfied (stable, or clearly not holding) by raising
an Interrupted of our own from the tick callback: run_phase then ends the phase early and hands
over what was measured, exactly as it does for Ctrl-C, and we take that phase as the probe's.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchbox.errors import GeneratorFailed, Interrupted
from benchbox.gates import GateSpec
from benchbox.load.process import GeneratorSession, PhaseInterrupted
from benchbox.load.spec import PhaseSpec, RequestSpec
from benchbox.result import TimePoint
from benchbox.saturation.model import Saturation
from benchbox.saturation.sampler import Sampler
from benchbox.saturation.search import Notify, ProbeOrder, ProbeRun, Watch, search
from benchbox.saturation.settings import SearchSettings

_DONE = "saturation: probe decided"


# A probe second, as the generator ticked it (marked "probe"), for whoever watches the run.
OnProbeTick = Callable[[dict[str, Any]], None]


class _ProbeDecided(Interrupted):
    """Raised from on_tick to end a probe early; never escapes GeneratorProbe."""

    def __init__(self) -> None:
        super().__init__(_DONE)


def run_search(
    request: RequestSpec,
    gates: Sequence[GateSpec] | None = None,
    settings: SearchSettings = SearchSettings(),
    seed: int = 0,
    notify: Notify | None = None,
    session: GeneratorSession | None = None,
    on_tick: OnProbeTick | None = None,
) -> Saturation:
    """Search the target `request` describes for its maximum sustainable throughput.

    Every probe runs in `session`'s generator process (a run's own, when the caller has one),
    else in one started for this search: a probe then starts within milliseconds of the last."""
    if session is None:
        with GeneratorSession() as own:
            return run_search(request, gates, settings, seed, notify, own, on_tick)
    probe = GeneratorProbe(request, settings, seed, session, on_tick)
    return search(probe, gates, settings, notify, timeout_s=request.timeout_s)


class GeneratorProbe:
    """A `Probe` that runs each order as a load phase in the session's generator process (a
    process of its own per probe when given none)."""

    def __init__(
        self,
        request: RequestSpec,
        settings: SearchSettings,
        seed: int = 0,
        session: GeneratorSession | None = None,
        on_tick: OnProbeTick | None = None,
    ) -> None:
        self.on_tick = on_tick  # each probe second also goes to whoever watches (live outputs)
        self.request = request
        self.settings = settings
        self.seed = seed
        self.session = session

    def spec(self, order: ProbeOrder) -> PhaseSpec:
        """The load phase a probe runs (a trace or mix probe adds its traffic: benchbox.traffic)."""
        return PhaseSpec(
            name=f"saturation-{order.index}-{order.stage}",
            mode=order.mode,
            duration_s=order.duration_s,
            request=self.request,
            rate=order.rate,
            arrival=self.settings.arrival,
            users=order.users,
            connections=order.connections,
            seed=self.seed + order.index,
            max_rps=self.settings.max_rps,
        )

    def __call__(self, order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        if order.settle_s > 0:
            time.sleep(order.settle_s)  # let the backlog of a failed probe drain: not load time
        spec = self.spec(order)
        seen: list[TimePoint] = []
        decided = False
        sampler = Sampler(self.request) if order.sample_headers else None

        def on_tick(tick: dict[str, Any]) -> None:
            nonlocal decided
            # Ticks go on while the stopped phase drains; a second interrupt would kill the
            # generator before it hands its result over, so decide once.
            if decided or tick.get("phase") != spec.name:
                return
            if self.on_tick is not None:
                self.on_tick({**tick, "probe": True})
            seen.append(
                TimePoint(
                    t=int(tick["t"]),
                    requests=int(tick["requests"]),
                    errors=int(tick["errors"]),
                    p50=tick.get("p50"),
                    p95=tick.get("p95"),
                    p99=tick.get("p99"),
                )
            )
            if sampler is not None:
                sampler.start()  # after the first second: the overload has begun
            if watch is not None and watch(tuple(seen)):
                decided = True
                raise _ProbeDecided()

        try:
            if self.session is not None:
                phase = self.session.run(spec, on_tick)
            else:
                with GeneratorSession() as own:
                    phase = own.run(spec, on_tick)
        except PhaseInterrupted as exc:
            if exc.signal_name != _DONE:
                raise  # a real Ctrl-C or SIGTERM: the run stops here
            partial = exc.phases[-1] if exc.phases else None
            if partial is None:
                raise GeneratorFailed("the load generator did not hand over a probe it was asked to end") from None
            # The seconds it ran are its duration: what came after the stop is drain, not load.
            phase = dataclasses.replace(partial, duration_s=float(len(seen)), partial=False)
        finally:
            samples = sampler.results() if sampler is not None else ()
        return ProbeRun(phase=phase, samples=samples)
