"""The parent's side of load: one generator process per benchbox run, fed one run at a time.

`GeneratorSession` starts the generator once and sends it runs (one phase, or steps back to back)
over its stdin; every saturation probe, step or compare window then begins within milliseconds of
the decision to run it instead of after a ~1 s interpreter start-up. `run_phases`/`run_phase`
keep working on their own (a session of one run) or on a session they are given.

An interrupt (KeyboardInterrupt, or benchbox's Interrupted for SIGTERM or a probe's decision) is
passed to the child as a `stop` command: it ends its phase early and still reports what it
measured; the parent then raises `PhaseInterrupted` carrying that partial phase, so nothing
measured is lost, and the process stays up for the next run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO, Any

from benchbox import hdr
from benchbox.errors import GeneratorFailed, Interrupted, UsageError
from benchbox.load.spec import PhaseSpec, RunSpec
from benchbox.phase_record import LoadPhase, from_phase_dict

OnTick = Callable[[dict[str, Any]], None]
OnPhase = Callable[[int], None]
OnNote = Callable[[str], None]
# How long the child may take to hand over its partial result after being told to stop.
STOP_WAIT_S = 10.0


class PhaseInterrupted(Interrupted):
    """The run was interrupted during load; `phases` is what was measured until then (the
    last one partial)."""

    def __init__(self, signal_name: str, phases: tuple[LoadPhase, ...]) -> None:
        super().__init__(signal_name)
        self.phases = phases


def run_phase(spec: PhaseSpec, on_tick: OnTick | None = None, session: GeneratorSession | None = None) -> LoadPhase:
    """Run one phase in a generator process (the session's, or a new one) and return its result entry."""
    return run_phases(RunSpec(phases=(spec,)), on_tick, session=session)[0]


def run_phases(
    run: RunSpec,
    on_tick: OnTick | None = None,
    on_phase: OnPhase | None = None,
    on_note: OnNote | None = None,
    session: GeneratorSession | None = None,
) -> list[LoadPhase]:
    """Run the phases back to back in one generator process; return their result entries."""
    if session is not None:
        return session.run_phases(run, on_tick, on_phase, on_note)
    with GeneratorSession() as own:
        return own.run_phases(run, on_tick, on_phase, on_note)


class GeneratorSession:
    """One generator process for a benchbox run: `with GeneratorSession() as gen: gen.run(spec)`.

    The process starts on the first run and stays up until `close()`; a process that failed or
    was killed by the watchdog is replaced on the next run. Not thread-safe: one run at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._tail = ""  # the last words on stderr of a process that ended

    def __enter__(self) -> GeneratorSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The generator process's id while it runs (diagnostics, tests)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def start(self) -> None:
        """Start the process now (else the first run does): its ~1 s start-up off the critical path."""
        self._ensure()

    def run(self, spec: PhaseSpec, on_tick: OnTick | None = None) -> LoadPhase:
        """Run one phase; raises PhaseInterrupted (with the partial phase) if interrupted."""
        return self.run_phases(RunSpec(phases=(spec,)), on_tick)[0]

    def run_phases(
        self,
        run: RunSpec,
        on_tick: OnTick | None = None,
        on_phase: OnPhase | None = None,
        on_note: OnNote | None = None,
    ) -> list[LoadPhase]:
        """Run the phases back to back (no gap between steps); return their result entries."""
        proc = self._ensure()
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"type": "run", "run": run.to_dict()}) + "\n")
            proc.stdin.flush()
        except OSError:  # it died since the last run
            pass
        collected = _Collector(proc, run, on_tick, on_phase, on_note).collect()
        if not collected.done or (collected.error and collected.error_kind != "usage"):
            self._close_process()  # it ended, was killed or failed: reap it, keep its last words
        phases = [_with_percentiles(from_phase_dict(data)) for data in collected.results]
        if collected.interrupted:
            raise PhaseInterrupted(collected.interrupted, tuple(phases))
        if collected.error_kind == "usage":
            raise UsageError(collected.error or "the load generator refused its input")
        if len(phases) < len(run.phases) and not (phases and phases[-1].aborted):  # the brake ends a run early
            detail = collected.error or (self._tail.strip().splitlines() or ["no output"])[-1]
            raise GeneratorFailed(f"load generator failed (exit {proc.poll()}): {detail}")
        return phases

    def close(self) -> None:
        """End the process (it stops whatever it still runs) and wait for it."""
        self._close_process()

    def _ensure(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._close_process()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        # A new session: a terminal's Ctrl-C reaches only us, and we pass it on exactly once.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchbox.load.generator"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return self._proc

    def _close_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()  # end of input: the child stops and leaves
            except OSError:
                pass
            _reap(proc)  # on any way out, no generator is left behind hitting the target
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.seek(0)
            self._tail = self._stderr.read()[-2000:]
            self._stderr.close()
            self._stderr = None


def _with_percentiles(phase: LoadPhase) -> LoadPhase:
    return dataclasses.replace(phase, timeseries=tuple(hdr.with_percentiles(p) for p in phase.timeseries))


class _Collector:
    """Reads the child's JSON lines for one run, until `done`; an interrupt at any point becomes
    'stop and hand over'."""

    def __init__(
        self,
        proc: subprocess.Popen[str],
        run: RunSpec,
        on_tick: OnTick | None,
        on_phase: OnPhase | None,
        on_note: OnNote | None,
    ) -> None:
        self.proc = proc
        self.on_tick = on_tick
        self.on_phase = on_phase
        self.on_note = on_note
        self.results: list[dict[str, Any]] = []
        self.error: str | None = None
        self.error_kind: str | None = None
        self.interrupted: str | None = None
        self.done = False  # the child said `done`: it is ready for the next run
        # A wedged child must never wedge the run: it is killed past its phases' time.
        budget = sum(p.duration_s + p.request.timeout_s + 30.0 for p in run.phases) + 30.0
        budget += 90.0 if run.distributed else 0.0  # workers get a minute to join
        self._watchdog = self._arm(budget)

    def _arm(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.proc.kill)
        timer.daemon = True
        timer.start()
        return timer

    def collect(self) -> _Collector:
        assert self.proc.stdout is not None
        try:
            while True:
                try:
                    line = self.proc.stdout.readline()
                    if not line:
                        return self
                    self._handle(line)
                    if self.done:
                        return self
                except (KeyboardInterrupt, Interrupted) as exc:
                    self._interrupt(exc)
        finally:
            self._watchdog.cancel()

    def _handle(self, line: str) -> None:
        message = _parse(line)
        if message is None:
            return
        kind = message.get("type")
        if kind == "done":
            self.done = True
        elif kind == "result":
            self.results.append(message["phase"])
        elif kind == "error":
            self.error, self.error_kind = str(message.get("message")), message.get("kind")
        elif kind == "tick" and self.on_tick is not None:
            try:
                self.on_tick(_tick_percentiles(message))
            except Interrupted:
                if not self.interrupted:
                    raise
                # Already stopping: the phase's last tick (sent after a stop, so live outputs get
                # every second) met a decider that says stop again, which changes nothing.
        elif kind == "phase" and self.on_phase is not None:
            self.on_phase(int(message.get("index", 0)))
        elif kind == "note" and self.on_note is not None:
            self.on_note(str(message.get("message", "")))

    def _interrupt(self, exc: BaseException) -> None:
        if self.interrupted:  # asked twice: stop waiting for a partial result
            self.proc.kill()
            return
        self.interrupted = _signal_name(exc)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"type": "stop"}\n')
            self.proc.stdin.flush()
        except OSError:  # already gone: its output ends by itself
            pass
        self._watchdog.cancel()
        self._watchdog = self._arm(STOP_WAIT_S)


def _tick_percentiles(message: dict[str, Any]) -> dict[str, Any]:
    encoded = message.get("hdr")
    if encoded:
        h = hdr.decode(encoded)
        p = h.get_percentile_to_value_dict([50.0, 95.0, 99.0])
        hdr.release(h)
        message.update(p50=p[50.0] / 1000.0, p95=p[95.0] / 1000.0, p99=p[99.0] / 1000.0)
    return message


def _signal_name(exc: BaseException) -> str:
    return exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"


def _reap(proc: subprocess.Popen[str]) -> None:
    try:
        proc.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _parse(line: str) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) else None
