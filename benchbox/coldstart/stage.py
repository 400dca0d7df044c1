"""Starting the target (`--start`), measuring its cold start, and the gates on it.

`launched(ctx)` starts the command in a session of its own before preflight and ends that whole
process group when the run ends, however it ends. `FirstRequests` runs right after preflight:
time to ready (from the process start when benchbox started it, else preflight's own wait from
its first probe), then N requests one after another, before the contract, adversarial or load
phases warm the target; they are kept out of every percentile and shown on their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchbox.coldstart.model import ColdStart, FirstRequest
from benchbox.errors import UsageError, bad_value
from benchbox.gate_spec import GateSpec
from benchbox.result import GateResult
from benchbox.units import format_ms, parse_duration

STOP_WAIT_S = 5.0


@dataclass
class Cold:
    """The run's cold-start state: when benchbox started the target, and what it measured."""

    spawned_at: float | None = None
    section: ColdStart | None = None
    process: subprocess.Popen[bytes] | None = None


@contextmanager
def launched(ctx: Any) -> Iterator[None]:
    """With --start: the target's process for the run's length (its output goes to a temp file)."""
    plan = ctx.plan.cold
    if not plan.active:
        yield
        return
    ctx.cold_start = cold = Cold()
    if not plan.start:
        yield
        return
    log = tempfile.TemporaryFile()
    try:
        cold.spawned_at = time.perf_counter()
        cold.process = subprocess.Popen(
            list(plan.start), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    except OSError as exc:
        log.close()
        raise UsageError(f"bad --start {plan.start[0]!r}: {exc.strerror or exc}") from None
    ctx.say(f"cold start: started {plan.start[0]} (pid {cold.process.pid}); time to ready counts from now")
    try:
        yield
    finally:
        _end(cold.process)
        log.close()


def _end(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to its whole process group, then SIGKILL if it lingers: nothing is left serving."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=STOP_WAIT_S)
        except (ProcessLookupError, PermissionError):
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class FirstRequests:
    """Right after preflight: time to ready, then the first requests, one after another."""

    name = "first_requests"

    def applies(self, ctx: Any) -> bool:
        return ctx.cold_start is not None and not ctx.stopped and ctx.preflight is not None

    def run(self, ctx: Any) -> None:
        from benchbox import bounded

        cold: Cold = ctx.cold_start
        now = time.perf_counter()
        ttr = now - cold.spawned_at if cold.spawned_at is not None else ctx.preflight.waited_s
        request = ctx.effective.request
        n = ctx.plan.cold.first_requests
        note = None
        firsts: list[FirstRequest] = []
        if n and request.method != "GET" and not request.bodies:
            note = "first requests not sent: no --body to send yet (the contract's bodies come later)"
        elif n:
            body = request.bodies[0].encode() if request.bodies else None
            with bounded.client(
                timeout_s=request.timeout_s, headers=dict(request.headers), insecure=request.insecure
            ) as client:
                for _ in range(n):
                    answer = bounded.send(client, request.method, request.url, content=body, keep=0)
                    firsts.append(FirstRequest(round(answer.elapsed_s * 1000, 3), answer.status, answer.error))
        cold.section = ColdStart(cold.spawned_at is not None, round(ttr, 3), tuple(firsts), note)
        shown = ", ".join(format_ms(f.latency_ms) for f in firsts)
        ctx.say(f"cold start: ready after {ttr:.2f}s" + (f"; first requests {shown}" if firsts else ""))


GATES = {"time_to_ready": ("cold.time_to_ready", "s"), "first_request": ("cold.first_request", "ms")}


def is_cold_gate(key: str) -> bool:
    return key in GATES


def parse_gate(key: str, op: str, value: str, text: str) -> GateSpec:
    """`time_to_ready<=30s` (a bare number is seconds), `first_request<=500ms` (a bare number is ms)."""
    if op == ">=":
        raise bad_value("--slo", text, f"{key}<=DURATION (a cold start is bounded from above)")
    metric, unit = GATES[key]
    threshold = parse_duration(f"--slo {key}", value.strip(), default_unit=unit) * 1000.0
    return GateSpec(name=key, metric=metric, op="<=", threshold=threshold, unit="ms")


def judge_gate(spec: GateSpec, section: ColdStart | None, skipped: str | None) -> GateResult:
    result = spec.judged
    if section is None:
        return result(None, None, skipped or "not checked: preflight did not reach a ready target")
    if spec.metric == "cold.time_to_ready":
        observed = section.time_to_ready_s * 1000.0 if section.time_to_ready_s is not None else None
        what = "time to ready" + (" from the process start" if section.started_by_benchbox else " from the first probe")
    else:
        first = section.first_requests[0] if section.first_requests else None
        if first is None:
            return result(None, None, f"not checked: {section.note or 'no first request was sent'}")
        if first.status is None or first.status >= 400:
            return result(None, False, f"the first request failed: {first.error or f'HTTP {first.status}'}")
        observed, what = first.latency_ms, "the first request after ready"
    if observed is None:
        return result(None, None, "not checked: not measured")
    passed = observed <= spec.threshold
    return result(
        observed,
        passed,
        f"{what}: {format_ms(observed)} {'within' if passed else 'breaks'} <= {format_ms(spec.threshold)}",
    )
