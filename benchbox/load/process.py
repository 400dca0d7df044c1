"""The parent's side of a load phase: start the generator process, relay its ticks, collect its result.

An interrupt (KeyboardInterrupt, or benchbox's Interrupted for SIGTERM) is forwarded to the
child, which ends its phase early and still reports what it measured; the parent then raises
`PhaseInterrupted` carrying that partial phase, so nothing measured is lost.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from benchbox import hdr
from benchbox.errors import GeneratorFailed, Interrupted
from benchbox.load.spec import PhaseSpec
from benchbox.result import LoadPhase, from_phase_dict

OnTick = Callable[[dict[str, Any]], None]
# How long the child may take to hand over its partial result after being told to stop.
STOP_WAIT_S = 10.0


class PhaseInterrupted(Interrupted):
    """The run was interrupted during a load phase; `phase` is what was measured until then."""

    def __init__(self, signal_name: str, phase: LoadPhase | None) -> None:
        super().__init__(signal_name)
        self.phase = phase


def run_phase(spec: PhaseSpec, on_tick: OnTick | None = None) -> LoadPhase:
    """Run one phase in a generator process and return its result entry."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr:
        # A new session: a terminal's Ctrl-C reaches only us, and we forward it exactly once.
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchbox.load.generator"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(spec.to_json())
            proc.stdin.close()
            collected = _Collector(proc, spec, on_tick).collect()
        finally:
            _reap(proc)  # on any way out, no generator is left behind hitting the target
        stderr.seek(0)
        tail = stderr.read()[-2000:]
    if collected.result is None:
        if collected.interrupted:
            raise PhaseInterrupted(collected.interrupted, None)
        detail = collected.error or (tail.strip().splitlines() or ["no output"])[-1]
        raise GeneratorFailed(f"load generator failed (exit {proc.returncode}): {detail}")
    phase = from_phase_dict(collected.result)
    phase = dataclasses.replace(phase, timeseries=tuple(hdr.with_percentiles(p) for p in phase.timeseries))
    if collected.interrupted:
        raise PhaseInterrupted(collected.interrupted, phase)
    return phase


class _Collector:
    """Reads the child's JSON lines; an interrupt at any point becomes 'stop and hand over'."""

    def __init__(self, proc: subprocess.Popen[str], spec: PhaseSpec, on_tick: OnTick | None) -> None:
        self.proc = proc
        self.on_tick = on_tick
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.interrupted: str | None = None
        # A wedged child must never wedge the run: it is killed past its phase's time.
        self._watchdog = self._arm(spec.duration_s + spec.request.timeout_s + 60.0)

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
                except (KeyboardInterrupt, Interrupted) as exc:
                    self._interrupt(exc)
        finally:
            self._watchdog.cancel()

    def _handle(self, line: str) -> None:
        message = _parse(line)
        kind = message.get("type") if message else None
        if kind == "result":
            self.result = message["phase"]  # type: ignore[index]
        elif kind == "error":
            self.error = str(message.get("message"))  # type: ignore[union-attr]
        elif kind == "tick" and self.on_tick is not None and message is not None:
            self.on_tick(_tick_percentiles(message))

    def _interrupt(self, exc: BaseException) -> None:
        if self.interrupted:  # asked twice: stop waiting for a partial result
            self.proc.kill()
            return
        self.interrupted = _signal_name(exc)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self._watchdog.cancel()
        self._watchdog = self._arm(STOP_WAIT_S)


def _tick_percentiles(message: dict[str, Any]) -> dict[str, Any]:
    encoded = message.pop("hdr", None)
    if encoded:
        h = hdr.decode(encoded)
        p = h.get_percentile_to_value_dict([50.0, 95.0, 99.0])
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
