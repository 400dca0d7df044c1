"""One small interface for every live output, and the thread that keeps sending off the load's path.

`offer` never blocks: a record goes into a bounded queue or, when the queue is full (a slow or
dead receiver), is counted as dropped. A background thread hands batches to the sink's `send`;
a batch that fails is counted as dropped too. `close` waits a bounded time, and what is still
queued then is dropped and counted: a receiver can cost the run a few seconds at its end, never
the load anything.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from benchbox.outputs.points import Record

QUEUE_RECORDS = 1000  # about 16 minutes of seconds for one phase: plenty for a live receiver
CLOSE_WAIT_S = 5.0
_STOP = object()


class SendFailed(Exception):
    """A batch the receiver did not take; the message says why, in words."""


@dataclass(frozen=True)
class Rejected:
    """Part of a batch the receiver took but refused (OTLP's partial success): how many points, and why."""

    points: int
    reason: str


class Sink:
    """Subclasses set `kind` and `where` and implement `send` (and `finish` if they hold a file).
    `send` runs on the background thread only."""

    kind = ""
    where = ""

    def send(self, batch: Sequence[Record]) -> Rejected | None:
        """Deliver the batch: raise when none of it arrived; a Rejected when part of it was refused."""
        raise NotImplementedError

    def finish(self) -> None:
        """Release what the sink holds (a file, a connection)."""


class Sender:
    """A sink behind a bounded queue and one daemon thread."""

    def __init__(self, sink: Sink, capacity: int = QUEUE_RECORDS) -> None:
        self.sink = sink
        self.queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self.offered = self.dropped = 0
        self.reason: str | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=f"benchbox-output-{sink.kind}", daemon=True)
        self._thread.start()

    def offer(self, record: Record) -> None:
        self.offered += record.size
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self._drop(record.size, "is slower than the run (queue full)")

    def close(self, wait_s: float = CLOSE_WAIT_S) -> str | None:
        """Stop after what is queued (bounded by `wait_s`); a sentence if any point was dropped."""
        deadline = time.monotonic() + wait_s
        try:
            self.queue.put(_STOP, timeout=wait_s)
        except queue.Full:
            pass
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():  # still stuck on a receiver: what it holds is lost
            left = 0
            while True:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Record):
                    left += item.size
            self._drop(left, self.reason or f"took longer than {wait_s:g}s at the end")
        else:
            self.sink.finish()
        if not self.dropped:
            return None
        return (
            f"{self.sink.kind}: receiver at {self.sink.where} {self.reason}; "
            f"{self.dropped} of {self.offered} points dropped"
        )

    def _drop(self, points: int, reason: str) -> None:
        with self._lock:
            self.dropped += points
            self.reason = self.reason or reason

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            batch: list[Record] = []
            stop = item is _STOP
            if isinstance(item, Record):
                batch.append(item)
            while not stop and len(batch) < 200:  # what piled up goes in one request
                try:
                    more = self.queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                elif isinstance(more, Record):
                    batch.append(more)
            if batch:
                try:
                    refused = self.sink.send(batch)
                except Exception as exc:  # noqa: BLE001 - any failure of a receiver is a drop, never the run's
                    self._drop(sum(r.size for r in batch), _why(exc))
                else:
                    if refused is not None:
                        self._drop(refused.points, refused.reason)
            if stop:
                return


def _why(exc: Exception) -> str:
    if isinstance(exc, SendFailed):
        return str(exc)
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "did not answer in time"
    if isinstance(exc, httpx.TransportError):  # refused, reset, gone mid-request
        return "unreachable"
    return f"failed ({type(exc).__name__}: {exc})"[:200]
