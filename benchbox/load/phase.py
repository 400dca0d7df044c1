"""One load phase, driven on a Locust runner: the open-loop schedule, the ticks, the drain.

Imported only inside the generator process, after gevent's monkey-patching (generator.py). The
same driver runs a phase on a LocalRunner (one process) and on each worker of a distributed run.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
from gevent.event import Event
from locust.env import Environment
from locust.runners import LocalRunner, Runner

from benchbox import brakes
from benchbox.load import schedule
from benchbox.load.dispatch import Dispatcher
from benchbox.load.locustfile import load_scenario, request_listener
from benchbox.load.recorder import Recorder
from benchbox.load.spec import PhaseSpec
from benchbox.load.traffic import attach as attach_traffic
from benchbox.load.users import BenchboxUser, Shared
from benchbox.phase_record import LoadPhase

Emit = Callable[[dict[str, Any]], None]

# After an interrupt, in-flight requests get this long to finish before they are cut off.
INTERRUPT_GRACE_S = 2.0


def _run_schedule(spec: PhaseSpec, recorder: Recorder, dispatcher: Dispatcher, stop: Event) -> None:
    """The phase's slots from its rate (or ramp), kept by the dispatcher (dispatch.py)."""
    assert spec.rate is not None
    if spec.ramp_from is not None:
        offsets = schedule.ramp_offsets(spec.ramp_from, spec.rate, spec.duration_s, spec.arrival, spec.seed)
    else:
        offsets = schedule.offsets(spec.rate, spec.duration_s, spec.arrival, spec.seed)
    start = recorder.started
    dispatcher.keep(((start + offset, start + offset) for offset in offsets), stop)


def _tick(spec: PhaseSpec, recorder: Recorder, in_flight: Callable[[], int], emit: Emit) -> None:
    """Once a second: close the second's histogram, sample our own CPU, tell the parent."""
    k = 1
    while True:
        delay = recorder.started + k * spec.tick_s - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        k += 1
        _send_tick(spec, recorder, in_flight(), emit)


def _send_tick(spec: PhaseSpec, recorder: Recorder, in_flight: int, emit: Emit) -> None:
    cpu = recorder.meter.sample()
    point = recorder.flush(time.perf_counter())
    emit(
        {
            "type": "tick",
            "phase": spec.name,
            "t": point.t,
            "requests": point.requests,
            "errors": point.errors,
            "hdr": point.hdr,
            "in_flight": in_flight,
            "cpu_percent": round(cpu, 1),
            "sent": recorder.sent,
            "responses": recorder.responses,
            "lag_max_ms": recorder.lag.get_max_value() / 1000.0,
        }
    )


def _last_tick(spec: PhaseSpec, recorder: Recorder, emit: Emit) -> None:
    """The ticker is gone: what it did not send (the last, partial second, the drain's answers and
    cut-offs, or a tick that fell due during the drain) goes to the parent as one more tick, so the
    live outputs carry every request the result does. An empty one would read as a drop to zero."""
    if recorder.has_pending():
        _send_tick(spec, recorder, 0, emit)


def _wait_until(deadline: float, stop: Event, runner: Runner, halt: Event | None = None) -> None:
    """Until the deadline, an interrupt, the brake (`halt`), or a LoadTestShape's end."""
    while (
        not stop.is_set()
        and not (halt is not None and halt.is_set())
        and time.perf_counter() < deadline
        and runner.state != "stopped"
    ):
        stop.wait(max(0.0, min(0.25, deadline - time.perf_counter())))


@dataclasses.dataclass
class _Carried:
    """What the abort rule saw in the earlier phases of one brake group: its own clock (seconds of
    this group's load only) and its finished and failed counts, so the rule's window spans phases."""

    elapsed_s: float = 0.0
    finished: int = 0
    errors: int = 0
    history: list[tuple[float, int, int]] = dataclasses.field(default_factory=list)  # (clock, finished, errors)


_GROUPS: dict[str, _Carried] = {}
_KEPT_GROUPS = 8  # a process serves runs one after another; old groups are never asked for again


def _carried(group: str | None) -> _Carried:
    if group is None:
        return _Carried()
    if group not in _GROUPS:
        while len(_GROUPS) >= _KEPT_GROUPS:
            del _GROUPS[next(iter(_GROUPS))]
        _GROUPS[group] = _Carried()
    return _GROUPS[group]


def _brake(spec: PhaseSpec, recorder: Recorder, halt: Event, why: list[str], seen: _Carried) -> None:
    """Stop the phase once the error share over the last `abort_grace_s` reaches the threshold.

    A window rather than the whole phase: a target that dies after a healthy minute is as broken
    as one that never worked, and should not be hammered for minutes before the total catches up.
    `seen` carries the clock and counts of the earlier phases of the same brake group."""
    threshold = spec.abort_error_rate
    if threshold is None:
        return
    window = max(spec.abort_grace_s, 1.0)
    base_t, base_done, base_err = seen.elapsed_s, seen.finished, seen.errors
    history = seen.history
    while True:
        gevent.sleep(0.25)
        now = base_t + time.perf_counter() - recorder.started
        history.append((now, base_done + recorder.responses + recorder.failures, base_err + recorder.errors))
        while len(history) > 1 and history[1][0] <= now - window:
            history.pop(0)
        then, done0, err0 = history[0]
        if now < spec.abort_grace_s or now - then < window - 0.5:
            continue
        _, done1, err1 = history[-1]
        done, errors = done1 - done0, err1 - err0
        if done >= brakes.ABORT_MIN_REQUESTS and errors / done >= threshold:
            why.append(
                f"stopped by the brake after {now:.1f}s: {errors} of {done} requests "
                f"in the last {window:g}s failed ({100 * errors / done:.0f}% >= --abort-on "
                f"errors={100 * threshold:g}%); the target looks broken, so benchbox stopped "
                "rather than keep loading it"
            )
            halt.set()
            return


def _carry(seen: _Carried, recorder: Recorder, elapsed_s: float) -> None:
    """The phase is over: its seconds and counts join its group's."""
    seen.elapsed_s += elapsed_s
    seen.finished += recorder.responses + recorder.failures
    seen.errors += recorder.errors


def run_phase(spec: PhaseSpec, emit: Emit, stop: Event) -> LoadPhase:
    """Run one phase on Locust's LocalRunner and return its result entry."""
    if spec.scenario:
        return _run_scenario(spec, emit, stop)
    recorder = Recorder()
    shared, dispatcher = BenchboxUser.bind(spec.request, recorder, spec.mode, spec.chat, max_rps=spec.max_rps)
    attach_traffic(shared, spec, recorder)
    count = spec.connections if spec.mode == "open" else int(spec.users or 1)
    runner = Environment(user_classes=[BenchboxUser], host=spec.request.url).create_local_runner()

    def start_users() -> None:
        if spec.mode == "open":
            runner.start(count, spawn_rate=count, wait=False)
            while runner.user_count < count and not stop.is_set():  # idle users open no connection
                gevent.sleep(0.002)
        else:
            start_closed(runner, spec, count)

    phase = drive(spec, runner, recorder, shared, dispatcher, stop, emit, start_users)
    runner.quit()
    return phase


def drive(
    spec: PhaseSpec,
    runner: Runner,
    recorder: Recorder,
    shared: Shared,
    dispatcher: Dispatcher,
    stop: Event,
    emit: Emit,
    start_users: Callable[[], None],
) -> LoadPhase:
    """Start the users, keep the schedule (open loop) and the ticks, then drain and build.

    Open loop spawns its (idle) users before the clock starts; closed loop starts the clock first,
    since its users send as soon as they exist."""
    _warm_resolver(spec.request.url)
    if spec.mode == "open":
        start_users()
        recorder.restart_clock()
        keep = shared.traffic.run_schedule if shared.traffic is not None else _run_schedule
        scheduler = gevent.spawn(keep, spec, recorder, dispatcher, stop)
    else:
        recorder.restart_clock()
        start_users()
        scheduler = None
    ticker = gevent.spawn(_tick, spec, recorder, lambda: shared.in_flight, emit)
    halt = Event()
    why: list[str] = []
    seen = _carried(spec.brake_group)
    brake = gevent.spawn(_brake, spec, recorder, halt, why, seen)
    _wait_until(recorder.started + spec.duration_s, stop, runner, halt)
    brake.kill()
    interrupted = stop.is_set()
    cut_short = interrupted or halt.is_set()

    # Let what was sent finish (bounded by the request timeout), then stop every user.
    shared.stopping = True
    grace = INTERRUPT_GRACE_S if cut_short else spec.request.timeout_s + 1.0
    drain_until = time.perf_counter() + grace
    if scheduler is not None:
        if cut_short:
            scheduler.kill()
            dispatcher.close()
        else:
            scheduler.join(timeout=max(0.0, drain_until - time.perf_counter()))
    runner.user_greenlets.join(timeout=max(0.0, drain_until - time.perf_counter()))
    recorder.unsent = len(dispatcher.backlog)
    cut = shared.in_flight
    # A tick already due (its timer expired while this greenlet ran the drain) may go out on its
    # own second before the ticker is killed; whatever it did not send, _finish's last tick sends.
    gevent.sleep(0)
    ticker.kill()
    for _ in range(cut):
        recorder.failure("cut_off", "still in flight when the phase ended", None, time.perf_counter())
    phase = _finish(spec, recorder, emit, interrupted, waited=dispatcher.waited, peak=shared.peak_in_flight)
    _carry(seen, recorder, phase.elapsed_s)
    if shared.traffic is not None:
        phase = dataclasses.replace(phase, traffic=shared.traffic.build(phase.elapsed_s))
    return dataclasses.replace(phase, aborted=why[0]) if why else phase


def _warm_resolver(url: str) -> None:
    """Resolve the target once before the clock starts: gevent's first lookup starts a thread pool,
    a stall of several ms that would otherwise land on the first scheduled requests."""
    parts = urlsplit(url)
    try:
        socket.getaddrinfo(parts.hostname or "localhost", parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        pass  # an unresolvable host shows up as `dns` errors, counted per request


def start_closed(runner: LocalRunner, spec: PhaseSpec, count: int) -> None:
    """All users at once, or a linear ramp from `ramp_from` users on Locust's own spawn rate."""
    if spec.ramp_from is None:
        runner.start(count, spawn_rate=count, wait=False)
        return
    first = max(1, int(spec.ramp_from))
    runner.start(first, spawn_rate=first, wait=False)
    if count > first:
        gevent.spawn_later(0.05, runner.start, count, (count - first) / spec.duration_s, False)


def _run_scenario(spec: PhaseSpec, emit: Emit, stop: Event) -> LoadPhase:
    """A user's locustfile: its users, wait times and shape; every request recorded by event."""
    assert spec.scenario is not None
    recorder = Recorder()
    user_classes, shape = load_scenario(spec.scenario)
    env = Environment(user_classes=user_classes, shape_class=shape, host=spec.request.url.rstrip("/"))
    env.events.request.add_listener(request_listener(recorder))
    runner = env.create_local_runner()
    recorder.restart_clock()
    if shape is not None:
        runner.start_shape()
    else:
        start_closed(runner, spec, int(spec.users or 1))
    ticker = gevent.spawn(_tick, spec, recorder, lambda: runner.user_count, emit)
    _wait_until(recorder.started + spec.duration_s, stop, runner)
    interrupted = stop.is_set()
    runner.quit()
    ticker.kill()
    return _finish(spec, recorder, emit, interrupted, waited=0, peak=0)


def _finish(spec: PhaseSpec, recorder: Recorder, emit: Emit, interrupted: bool, *, waited: int, peak: int) -> LoadPhase:
    """The phase's record, once the ticker is gone: its last tick first, so the record and the live
    outputs hold the same seconds."""
    _last_tick(spec, recorder, emit)
    open_loop = spec.mode == "open"
    phase = recorder.build(
        spec.name,
        spec.mode,
        spec.duration_s,
        offered_rps=spec.rate if open_loop else None,
        arrival=spec.arrival if open_loop else None,
        users=spec.users if not open_loop else None,
        connections=spec.connections if open_loop else spec.users,
        waited_for_connection=waited,
        peak_in_flight=peak,
        partial=interrupted,
    )
    return dataclasses.replace(phase, ramp_from=spec.ramp_from)
