"""Locust users that drive benchbox's load, closed and open loop.

Locust spawns and stops them; each owns one keep-alive Connection. Their task never returns
while the phase runs, so Locust's per-task bookkeeping (task choice, wait_time, a yield) is paid
once per user, not once per request. Latencies go straight to the Recorder: Locust's own stats
round response times and cost CPU we would rather spend on sending (field notes).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from gevent.event import Event
from locust import User, task
from locust.exception import StopUser

from benchbox import hdr
from benchbox.brakes import Pacer
from benchbox.llm.model import ChatSpec
from benchbox.load.client import Connection, Outcome
from benchbox.load.dispatch import Dispatcher, record_lag
from benchbox.load.llm import ChatOutcome, LlmRecorder, StreamConnection, read_answer
from benchbox.load.recorder import Recorder
from benchbox.load.spec import RequestSpec
from benchbox.load.wire import connection_class


class Shared:
    """State every user of one phase sees: the template, the bodies, the recorder, the brakes."""

    def __init__(self, request: RequestSpec, recorder: Recorder, max_rps: float | None = None) -> None:
        self.request = request
        self.pacer = Pacer(max_rps)  # --max-rps: closed-loop users queue for send slots
        self.recorder = recorder
        encoded: list[bytes | None] = [b.encode("utf-8") for b in request.bodies] or [None]
        self.bodies: Iterator[bytes | None] = itertools.cycle(encoded)
        self.stopping = False
        self.in_flight = 0
        self.peak_in_flight = 0
        self.chat: ChatSpec | None = None
        self.traffic: Any = None  # a load.traffic.Traffic: a trace or mix picks each request


class BenchboxUser(User):
    """One keep-alive connection, looping closed or open as the phase says.

    One concrete class, bound to a phase by `bind()` (class attributes, because Locust
    instantiates classes, and a Locust worker must know a class by name before the master tells
    it what to run)."""

    abstract = False
    shared: Shared
    dispatcher: Dispatcher
    mode = "closed"

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        request = self.shared.request
        if request.url.startswith(("grpc://", "grpcs://")):  # KServe V2 over gRPC
            from benchbox.load.grpc_client import GrpcConnection

            self.connection: Any = GrpcConnection(request)
        elif self.shared.traffic is not None:  # a trace or mix sets each request's route and headers
            self.connection = Connection(request)
        else:
            self.connection = (StreamConnection if self.shared.chat else connection_class(request))(request)
        self._wake = Event()
        self._slot: float | None = None

    @classmethod
    def bind(
        cls,
        request: RequestSpec,
        recorder: Recorder,
        mode: str,
        chat: ChatSpec | None = None,
        max_rps: float | None = None,
    ) -> tuple[Shared, Dispatcher]:
        cls.shared, cls.dispatcher, cls.mode = Shared(request, recorder, max_rps), Dispatcher(), mode
        cls.shared.chat = chat
        recorder.llm = LlmRecorder(chat) if chat is not None else None
        cls.host = request.url
        return cls.shared, cls.dispatcher

    @task
    def loop(self) -> None:
        if self.mode == "open":
            self._open_loop()
        pacer = self.shared.pacer
        while not self.shared.stopping:  # closed loop: the next request as soon as the answer is in
            pacer.wait()
            if self.shared.stopping:
                break
            self._send(None)
        raise StopUser()

    def _open_loop(self) -> None:
        """Send when the schedule says so; latency counts from the intended time, not the send."""
        dispatcher = self.dispatcher
        traffic = self.shared.traffic
        while True:
            if dispatcher.backlog:
                slot: Any = dispatcher.backlog.popleft()
            elif dispatcher.closed:
                raise StopUser()
            else:
                dispatcher.idle.append(self)
                self._wake.wait()
                self._wake.clear()
                slot = self._slot
                if slot is None:
                    raise StopUser()
            if traffic is not None:
                traffic.send(self, slot)
            else:
                self._send(slot)

    def assign(self, intended: Any) -> None:
        self._slot = intended
        self._wake.set()

    def _send(self, intended: float | None) -> None:
        """Send one request and record its latency from `intended` (open loop) or the send."""
        shared = self.shared
        shared.in_flight += 1
        if shared.in_flight > shared.peak_in_flight:
            shared.peak_in_flight = shared.in_flight
        recorder = shared.recorder
        recorder.sent += 1
        body = next(shared.bodies)
        if shared.chat is not None:
            self._send_chat(body, intended)
            return
        keep = recorder.wants_sample()
        out = self.connection.send(body, Outcome(keep))
        status = out.status  # a gRPC answer's is its code's name; its OK answers are kept as status 0
        if keep and status is not None and (isinstance(status, int) or status == "OK"):
            recorder.keep_sample(body, status if isinstance(status, int) else 0, out.content_type, out.body)
        shared.in_flight -= 1
        if intended is None:
            start = out.sent_at
        else:
            start = record_lag(recorder, intended, out.sent_at)
        if out.status is not None:
            recorder.response(out.done_at - start, out.status, out.done_at)
            if intended is not None:
                hdr.record_us(recorder.service, (out.done_at - out.sent_at) * 1e6)
        else:
            latency = out.done_at - start if out.error_kind == "timeout" else None
            recorder.failure(out.error_kind or "client", out.detail, latency, out.done_at)

    def _send_chat(self, body: bytes | None, intended: float | None) -> None:
        """An LLM request: the answer read as it streams, its tokens timed (load/llm.py)."""
        shared = self.shared
        chat: ChatSpec = shared.chat  # type: ignore[assignment]
        out = self.connection.send_chat(body, ChatOutcome(chat.api))
        shared.in_flight -= 1
        recorder = shared.recorder
        start = out.sent_at if intended is None else record_lag(recorder, intended, out.sent_at)
        if out.status is not None:
            read_answer(out, shared.chat)  # type: ignore[arg-type]
            recorder.response(out.done_at - start, out.status, out.done_at, failed=out.malformed)
            if out.status < 300:
                recorder.llm.record(out, start)
            if intended is not None:
                hdr.record_us(recorder.service, (out.done_at - out.sent_at) * 1e6)
        else:
            latency = out.done_at - start if out.error_kind == "timeout" else None
            recorder.failure(out.error_kind or "client", out.detail, latency, out.done_at)

    def on_stop(self) -> None:
        self.connection.close()
