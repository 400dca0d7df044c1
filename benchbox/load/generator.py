"""The load generator process: `python -m benchbox.load.generator`, a PhaseSpec on stdin.

Load runs in its own process because Locust monkey-patches the whole interpreter with gevent
(field notes): the engine, the preflight's httpx client, Hypothesis and the report stay in an
unpatched parent. This process writes JSON lines to stdout: a `tick` per second and one
`result` at the end, also when it is interrupted (SIGINT/SIGTERM end the phase early and mark it
partial) or when the phase fails (an `error` line).
"""

from gevent import monkey

monkey.patch_all()  # before anything imports ssl or socket (Locust issues #1178, #2661)

import dataclasses  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import LocalRunner  # noqa: E402

from benchbox.load import schedule  # noqa: E402
from benchbox.load.recorder import Recorder  # noqa: E402
from benchbox.load.locustfile import LocustfileError, load_scenario, request_listener  # noqa: E402
from benchbox.load.spec import PhaseSpec, RunSpec  # noqa: E402
from benchbox.load.users import Dispatcher, phase_classes  # noqa: E402
from benchbox.result import LoadPhase, to_dict  # noqa: E402

Emit = Callable[[dict[str, Any]], None]
# gevent's timers wake up to ~1 ms late (libev rounds epoll timeouts up to whole ms) and later
# still when the hub is busy. The scheduler wakes this much early and sends at once; a request
# sent before its intended time is timed from its actual send (users.py), so waking early never
# shortens a latency, while waking late would lengthen every one (measured: P99 2-3 ms over the
# server's own clock at 0.5 ms early, 0.6-0.8 ms at 2 ms early).
EARLY_WAKE_S = 0.002
# After an interrupt, in-flight requests get this long to finish before they are cut off.
INTERRUPT_GRACE_S = 2.0


def _run_schedule(spec: PhaseSpec, recorder: Recorder, dispatcher: Dispatcher, stop: Event) -> None:
    """Dispatch every due slot per wake-up (batching keeps up at high rates), record the lag."""
    assert spec.rate is not None
    if spec.ramp_from is not None:
        offsets = schedule.ramp_offsets(spec.ramp_from, spec.rate, spec.duration_s, spec.arrival, spec.seed)
    else:
        offsets = schedule.offsets(spec.rate, spec.duration_s, spec.arrival, spec.seed)
    start = recorder.started
    clock = time.perf_counter
    lag = recorder.lag
    for offset in offsets:
        intended = start + offset
        delay = intended - clock() - EARLY_WAKE_S
        if delay > 0:
            gevent.sleep(delay)
        if stop.is_set():
            break
        late_us = int((clock() - intended) * 1e6)
        lag.record_value(late_us if late_us >= 1 else 1)  # early counts as on time
        dispatcher.offer(intended)
    dispatcher.close()


def _tick(spec: PhaseSpec, recorder: Recorder, in_flight: Callable[[], int], emit: Emit) -> None:
    """Once a second: close the second's histogram, sample our own CPU, tell the parent."""
    k = 1
    while True:
        delay = recorder.started + k * spec.tick_s - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        k += 1
        cpu = recorder.meter.sample()
        point = recorder.flush(time.perf_counter())
        emit({"type": "tick", "phase": spec.name, "t": point.t, "requests": point.requests,
              "errors": point.errors, "hdr": point.hdr, "in_flight": in_flight(),
              "cpu_percent": round(cpu, 1), "sent": recorder.sent, "responses": recorder.responses})


def _wait_until(deadline: float, stop: Event, runner: LocalRunner) -> None:
    """Until the deadline, an interrupt, or (for a locustfile's LoadTestShape) the shape's end."""
    while not stop.is_set() and time.perf_counter() < deadline and runner.state != "stopped":
        stop.wait(max(0.0, min(0.25, deadline - time.perf_counter())))


def run_phase(spec: PhaseSpec, emit: Emit, stop: Event) -> LoadPhase:
    """Run one phase on Locust's LocalRunner and return its result entry."""
    if spec.scenario:
        return _run_scenario(spec, emit, stop)
    recorder = Recorder()
    host = spec.request.url
    closed_cls, open_cls, shared, dispatcher = phase_classes(spec.request, recorder, host)
    user_cls = open_cls if spec.mode == "open" else closed_cls
    count = spec.connections if spec.mode == "open" else int(spec.users or 1)
    env = Environment(user_classes=[user_cls], host=host)
    runner = env.create_local_runner()

    if spec.mode == "open":
        runner.start(count, spawn_rate=count, wait=False)
        while runner.user_count < count and not stop.is_set():  # idle users open no connection
            gevent.sleep(0.01)
        recorder.restart_clock()
        scheduler = gevent.spawn(_run_schedule, spec, recorder, dispatcher, stop)
    else:
        recorder.restart_clock()
        _start_closed(runner, spec, count)
        scheduler = None
    ticker = gevent.spawn(_tick, spec, recorder, lambda: shared.in_flight, emit)
    _wait_until(recorder.started + spec.duration_s, stop, runner)
    interrupted = stop.is_set()

    # Let what was sent finish (bounded by the request timeout), then stop every user.
    shared.stopping = True
    grace = INTERRUPT_GRACE_S if interrupted else spec.request.timeout_s + 1.0
    drain_until = time.perf_counter() + grace
    if scheduler is not None:
        if interrupted:
            scheduler.kill()
            dispatcher.close()
        else:
            scheduler.join(timeout=max(0.0, drain_until - time.perf_counter()))
    runner.user_greenlets.join(timeout=max(0.0, drain_until - time.perf_counter()))
    recorder.unsent = len(dispatcher.backlog)
    cut = shared.in_flight
    runner.quit()
    ticker.kill()
    for _ in range(cut):
        recorder.failure("cut_off", "still in flight when the phase ended", None, time.perf_counter())
    return _finish(spec, recorder, interrupted, waited=dispatcher.waited, peak=shared.peak_in_flight)


def _start_closed(runner: LocalRunner, spec: PhaseSpec, count: int) -> None:
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
        _start_closed(runner, spec, int(spec.users or 1))
    ticker = gevent.spawn(_tick, spec, recorder, lambda: runner.user_count, emit)
    _wait_until(recorder.started + spec.duration_s, stop, runner)
    interrupted = stop.is_set()
    runner.quit()
    ticker.kill()
    return _finish(spec, recorder, interrupted, waited=0, peak=0)


def _finish(spec: PhaseSpec, recorder: Recorder, interrupted: bool, *, waited: int, peak: int) -> LoadPhase:
    if recorder.has_pending():  # the last, partial second; an empty one would read as a drop to zero
        recorder.flush(time.perf_counter())
    open_loop = spec.mode == "open"
    phase = recorder.build(
        spec.name, spec.mode, spec.duration_s,
        offered_rps=spec.rate if open_loop else None, arrival=spec.arrival if open_loop else None,
        users=spec.users if not open_loop else None,
        connections=spec.connections if open_loop else spec.users,
        waited_for_connection=waited, peak_in_flight=peak, partial=interrupted,
    )
    return dataclasses.replace(phase, ramp_from=spec.ramp_from)


def main() -> int:
    logging.getLogger("locust").setLevel(logging.ERROR)
    out = sys.stdout

    def emit(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    stop = Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    try:
        run = RunSpec.from_json(sys.stdin.read())
        for index, spec in enumerate(run.phases):
            if stop.is_set():
                break
            emit({"type": "phase", "index": index, "phase": spec.name})
            phase = run_phase(spec, emit, stop)
            emit({"type": "result", "index": index, "phase": to_dict(phase)})
    except LocustfileError as exc:
        emit({"type": "error", "kind": "usage", "message": str(exc)})
        return 1
    except Exception as exc:  # noqa: BLE001 - the parent turns this into a one-line error
        emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
