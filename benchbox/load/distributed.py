"""Scale-out on Locust's own master/worker engine, with histograms merged exactly on the master.

The master (the generator process, when a run asks for workers) tells each worker its share of
a phase through a custom message; Locust spreads the users; each worker drives its share with
the same phase driver as a single process (phase.py), ticks its encoded per-second histogram to
the master, and sends its whole phase at the end. The master merges them bucket by bucket
(merge.py). A worker that goes silent is marked lost and counted with what its ticks carried.

A worker counts as joined only once it says `benchbox_ready`, sent after its handlers are
registered: Locust marks a worker ready on its connect message, before the worker's constructor
has returned, and a custom message that arrives in that gap is dropped as unknown. On a busy
machine a worker held off the CPU for a few hundred ms after Locust's ack found the phase message
already waiting, dropped it, and was reported lost at the phase's deadline.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from benchbox import hdr
from benchbox.load.merge import merge_phases, phase_from_ticks
from benchbox.load.phase import Emit, drive, start_closed
from benchbox.load.recorder import Recorder
from benchbox.load.spec import PhaseSpec, RunSpec
from benchbox.load.traffic import attach as attach_traffic
from benchbox.load.users import BenchboxUser
from benchbox.phase_record import LoadPhase, WorkerReport, from_phase_dict, to_dict

MSG_PHASE, MSG_TICK, MSG_RESULT, MSG_STOP = "benchbox_phase", "benchbox_tick", "benchbox_result", "benchbox_stop"
MSG_READY = "benchbox_ready"
READY_TIMEOUT_S = 60.0
# Between phases, Locust drops each worker from its list on "stop" and adds it back on its next
# "client_ready": the next phase waits up to this long for every worker that was not lost.
REJOIN_TIMEOUT_S = 15.0
# Past its phase's end (and request timeout), a worker has this long to hand over its result.
RESULT_GRACE_S = 15.0


class WorkersMissing(Exception):
    """Fewer workers joined than the run was told to expect."""


def share(spec: PhaseSpec, index: int, count: int) -> PhaseSpec:
    """Worker `index`'s part of a phase: the rate split evenly, so the total schedule is the
    requested one, and its own seed, so workers do not send in lockstep."""

    def part(total: float | None) -> float | None:
        return None if total is None else total / count

    users = None if spec.users is None else spec.users // count + (1 if index < spec.users % count else 0)
    return dataclasses.replace(
        spec,
        rate=part(spec.rate),
        ramp_from=part(spec.ramp_from),
        users=users,
        connections=max(1, math.ceil(spec.connections / count)),
        seed=spec.seed + 1000 * (index + 1),
        traffic=spec.traffic.share(index, count) if spec.traffic is not None else None,  # a trace: every n-th line
    )


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host if host not in ("*", "0.0.0.0") else "127.0.0.1", 0))
        return int(s.getsockname()[1])


class Board:
    """What the workers sent the master: ticks (kept, for lost workers) and results."""

    def __init__(self) -> None:
        self.index = -1
        self.ids: list[str] = []
        self.ticks: dict[int, list[dict[str, Any]]] = {}
        self.results: dict[int, LoadPhase] = {}
        self.lost: dict[int, str] = {}
        self.joined: set[str] = set()  # workers whose handlers are registered (MSG_READY)
        self._emitted = -1

    def on_ready(self, environment: Any, msg: Any, **_: Any) -> None:
        self.joined.add(str(msg.node_id))

    def begin(self, index: int, ids: list[str]) -> None:
        self.index, self.ids = index, ids
        self.ticks = {i: [] for i in range(len(ids))}
        self.results, self.lost, self._emitted = {}, {}, -1

    def on_tick(self, environment: Any, msg: Any, **_: Any) -> None:
        data = msg.data
        if data.get("index") == self.index:
            self.ticks[int(data["worker"])].append(data)

    def on_result(self, environment: Any, msg: Any, **_: Any) -> None:
        data = msg.data
        if data.get("index") == self.index:
            self.results[int(data["worker"])] = from_phase_dict(data["phase"])

    def pending(self) -> list[int]:
        return [i for i in range(len(self.ids)) if i not in self.results and i not in self.lost]

    def merged_ticks(self) -> list[dict[str, Any]]:
        """Seconds every live worker has reported, merged for the progress display."""
        live = [i for i in range(len(self.ids)) if i not in self.lost]
        ready = min((len(self.ticks[i]) for i in live), default=0) - 1
        out = []
        for t in range(self._emitted + 1, ready + 1):
            ticks = [self.ticks[i][t] for i in live]
            merged = hdr.merge(k["hdr"] for k in ticks if k.get("hdr")) if any(k.get("hdr") for k in ticks) else None
            out.append(
                {
                    "type": "tick",
                    "phase": ticks[0].get("phase"),
                    "t": t,
                    "requests": sum(k["requests"] for k in ticks),
                    "errors": sum(k["errors"] for k in ticks),
                    "hdr": hdr.encode(merged) if merged else None,
                    "in_flight": sum(k.get("in_flight", 0) for k in ticks),
                    "cpu_percent": max(k.get("cpu_percent", 0.0) for k in ticks),
                    "workers": len(live),
                    "lag_max_ms": max(k.get("lag_max_ms", 0.0) for k in ticks),
                }
            )
        self._emitted = max(self._emitted, ready)
        return out

    def phase(self, spec: PhaseSpec) -> LoadPhase:
        parts: list[LoadPhase] = []
        reports: list[WorkerReport] = []
        for i in range(len(self.ids)):
            if i in self.results:
                part = self.results[i]
                reports.append(WorkerReport(index=i, state="ok", requests=part.requests))
            else:
                part = phase_from_ticks(self.ticks[i], None, spec.name, spec.mode, spec.duration_s)
                reports.append(
                    WorkerReport(
                        index=i, state="lost", requests=part.requests, detail=self.lost.get(i, "no result arrived")
                    )
                )
            parts.append(part)
        return merge_phases(parts, reports)


class Master:
    """The master of a distributed run and its local workers, kept up from one run to the next
    (the generator process lives for a whole benchbox run), so workers join once."""

    def __init__(self, run: RunSpec, emit: Emit, stop: Event) -> None:
        self.config = _config(run)
        self.emit, self.stop = emit, stop
        self.port = run.master_port or free_port(run.master_bind)
        self.bind = run.master_bind
        self.expected = run.workers + run.expect_workers
        self.runner: MasterRunner = Environment(user_classes=[BenchboxUser]).create_master_runner(self.bind, self.port)
        self.board = Board()
        self.runner.register_message(MSG_TICK, self.board.on_tick)
        self.runner.register_message(MSG_RESULT, self.board.on_result)
        self.runner.register_message(MSG_READY, self.board.on_ready)
        self.local = [_spawn_worker(self.port) for _ in range(run.workers)]
        self.count = 0  # phases sent so far: a phase's message index, unique for the master's life

    def serves(self, run: RunSpec) -> bool:
        return _config(run) == self.config

    def start(self) -> None:
        """Wait until every expected worker has joined (and registered its handlers)."""
        self.emit(
            {"type": "note", "message": f"master on {self.bind}:{self.port}: waiting for {self.expected} workers"}
        )
        ids = _wait_listening(self.runner, self.board, self.expected, READY_TIMEOUT_S, self.stop)
        if len(ids) < self.expected and not self.stop.is_set():
            raise WorkersMissing(
                f"only {len(ids)} of {self.expected} workers joined "
                f"the master on port {self.port} within {READY_TIMEOUT_S:g}s"
            )

    def run(self, phases: tuple[PhaseSpec, ...]) -> None:
        for index, spec in enumerate(phases):
            # The workers of the last phase that were not lost, back from Locust's stop.
            want = len(self.board.ids) - len(self.board.lost) if self.count else self.expected
            ids = _wait_listening(self.runner, self.board, want, REJOIN_TIMEOUT_S, self.stop)
            if self.stop.is_set():
                break
            if not ids:
                raise WorkersMissing(f"no worker came back for phase {index + 1} ({spec.name})")
            self.emit({"type": "phase", "index": index, "phase": spec.name})
            self.count += 1
            phase = _master_phase(self.runner, self.board, self.count, spec, self.emit, self.stop, ids)
            self.emit({"type": "result", "index": index, "phase": to_dict(phase)})

    def close(self) -> None:
        self.runner.quit()
        for proc in self.local:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()


def _config(run: RunSpec) -> tuple[int, int, str, int]:
    return (run.workers, run.expect_workers, run.master_bind, run.master_port)


def _listening(runner: MasterRunner, board: Board) -> list[str]:
    """Workers Locust counts as ready that have also registered our handlers."""
    return sorted(w.id for w in runner.clients.ready if w.id in board.joined)


def _wait_listening(runner: MasterRunner, board: Board, want: int, timeout_s: float, stop: Event) -> list[str]:
    """Until `want` workers listen (or the timeout, or an interrupt): the ones that do."""
    deadline = time.perf_counter() + timeout_s
    while len(_listening(runner, board)) < want and not stop.is_set() and time.perf_counter() < deadline:
        gevent.sleep(0.05)
    return _listening(runner, board)


def _master_phase(
    runner: MasterRunner, board: Board, index: int, spec: PhaseSpec, emit: Emit, stop: Event, ids: list[str]
) -> LoadPhase:
    board.begin(index, ids)
    for i, worker_id in enumerate(ids):
        runner.send_message(
            MSG_PHASE, {"index": index, "worker": i, "spec": share(spec, i, len(ids)).to_dict()}, client_id=worker_id
        )
    count = spec.connections if spec.mode == "open" else int(spec.users or 1)
    if spec.mode == "open":
        runner.start(count, spawn_rate=count)
    else:
        start_closed(runner, spec, count)  # type: ignore[arg-type]
    deadline = time.perf_counter() + spec.duration_s + spec.request.timeout_s + RESULT_GRACE_S
    told_to_stop = False
    while board.pending():
        if stop.is_set() and not told_to_stop:
            runner.send_message(MSG_STOP, {"index": index})
            told_to_stop, deadline = True, min(deadline, time.perf_counter() + RESULT_GRACE_S)
        for i in board.pending():
            node = runner.clients.get(ids[i])
            if node is None or node.state == STATE_MISSING:
                board.lost[i] = "stopped answering the master (missed heartbeats)"
        if time.perf_counter() > deadline:
            for i in board.pending():
                board.lost[i] = "sent no result before the phase's deadline"
        for tick in board.merged_ticks():
            emit(tick)
        gevent.sleep(0.1)
    for tick in board.merged_ticks():
        emit(tick)
    runner.stop()
    return board.phase(spec)


def _spawn_worker(port: int) -> subprocess.Popen[bytes]:
    # Its own session: our SIGINT goes to the master, which ends the phase through a message.
    return subprocess.Popen(
        [sys.executable, "-m", "benchbox.load.generator", "--worker", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def run_worker(master_host: str, master_port: int, stop: Event) -> None:
    """Join a master and run whatever shares of phases it sends, until it says quit."""
    env = Environment(user_classes=[BenchboxUser])
    runner: WorkerRunner = env.create_worker_runner(master_host, master_port)
    spawned = Event()
    phase_stop = Event()
    env.events.spawning_complete.add_listener(lambda **_: spawned.set())

    def on_phase(environment: Any, msg: Any, **_: Any) -> None:
        spec = PhaseSpec.from_dict(msg.data["spec"])
        recorder = Recorder()
        # Bound now, in message order, so the spawn message that follows builds users for this phase.
        shared, dispatcher = BenchboxUser.bind(spec.request, recorder, spec.mode, spec.chat, max_rps=spec.max_rps)
        attach_traffic(shared, spec, recorder)
        spawned.clear()
        phase_stop.clear()
        gevent.spawn(
            _worker_phase,
            runner,
            spec,
            int(msg.data["index"]),
            int(msg.data["worker"]),
            recorder,
            shared,
            dispatcher,
            spawned,
            phase_stop,
        )

    runner.register_message(MSG_PHASE, on_phase)
    runner.register_message(MSG_STOP, lambda environment, msg, **_: phase_stop.set())
    runner.send_message(MSG_READY, {})  # only now can a phase message find its handler
    gevent.spawn(_relay_stop, stop, phase_stop, runner)
    runner.greenlet.join()


def _relay_stop(stop: Event, phase_stop: Event, runner: WorkerRunner) -> None:
    stop.wait()
    phase_stop.set()
    gevent.sleep(5.0)  # time to hand over a partial result before leaving
    runner.quit()


def _worker_phase(
    runner: WorkerRunner,
    spec: PhaseSpec,
    index: int,
    worker: int,
    recorder: Recorder,
    shared: Any,
    dispatcher: Any,
    spawned: Event,
    phase_stop: Event,
) -> None:
    def emit(message: dict[str, Any]) -> None:
        message.update(index=index, worker=worker, counters=recorder.counters())
        runner.send_message(MSG_TICK, message)

    start_users: Callable[[], None] = lambda: spawned.wait(timeout=30)  # noqa: E731 - Locust's master spawns
    phase = drive(spec, runner, recorder, shared, dispatcher, phase_stop, emit, start_users)
    runner.send_message(MSG_RESULT, {"index": index, "worker": worker, "phase": to_dict(phase)})
