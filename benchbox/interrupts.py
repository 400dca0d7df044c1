"""Ctrl-C and SIGTERM, caught once and not lost.

A signal handler raises in whatever Python code runs at that moment. When that is a garbage
collector callback (Hypothesis registers one), Python prints "Exception ignored in gc_callback"
with a traceback, and the run carries on as if nothing had happened: the contract phase then ran to
its end and exited 1 instead of 130. So the handler records the signal, and raises only outside a
gc callback; the request layer (`bounded.send`) calls `check()` before every request, so an
interrupt that arrived inside one surfaces at the next request, a few milliseconds later.
"""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from benchbox.errors import Interrupted

_pending: str | None = None


def check() -> None:
    """Raise Interrupted if a signal arrived (and was perhaps swallowed where it was raised)."""
    if _pending is not None:
        raise Interrupted(_pending)


def _handle(signum: int, frame: FrameType | None) -> None:
    global _pending
    _pending = signal.Signals(signum).name
    if not _in_gc_callback(frame):
        raise Interrupted(_pending)


def _in_gc_callback(frame: FrameType | None) -> bool:
    """Whether the signal arrived inside a garbage collector callback (or code it called)."""
    codes = {code for callback in gc.callbacks if (code := getattr(callback, "__code__", None)) is not None}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


@contextmanager
def catching() -> Iterator[None]:
    """SIGINT and SIGTERM become Interrupted for the block, then as before. Only the main thread
    may install signal handlers: elsewhere (a run from a worker thread) the block runs as it is,
    and a KeyboardInterrupt still ends it, caught by the pipeline."""
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _pending = None
    previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _pending = None
