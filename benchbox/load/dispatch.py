"""Open loop's slots: the scheduler that hands each one to an idle user, and the lag at its send.

One scheduler greenlet wakes per due slot (EARLY_WAKE_S early) and hands every slot due by then to
an idle user, or to a FIFO backlog when every user is busy (a user takes from the backlog when it
finishes). The same loop keeps a plain phase's schedule and a trace's or mix's (traffic.py).

The lag is recorded where the request actually goes out (`record_lag`, from the request's own
`sent_at`), so a slot that waited in the backlog for a free connection, or for the hub to switch to
its user, shows its whole wait. It used to be recorded at the scheduler's wake-up: measured here,
the lag at the send was then 2-3x the figure reported (P99 42 vs 15 ms, 61 vs 29 ms).

Users that take due slots themselves when they finish (pull, not push) were tried and measured
against this in the same runs: no lower lag and no less CPU per request (benchmarks/lag_anatomy.py
splits where late sends come from). Imported only inside the generator process (gevent).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import gevent
from gevent.event import Event

from benchbox import hdr
from benchbox.load.recorder import Recorder

# gevent's timers wake up to ~1 ms late (libev rounds epoll timeouts up to whole ms) and later
# still when the hub is busy. The scheduler wakes this much early and sends at once; a request
# sent before its intended time is timed from its actual send (record_lag), so waking early never
# shortens a latency, while waking late would lengthen every one (measured: P99 2-3 ms over the
# server's own clock at 0.5 ms early, 0.6-0.8 ms at 2 ms early).
EARLY_WAKE_S = 0.002

Slot = Any  # what a user sends: its intended time (a trace/mix: (time, class, body))


class Dispatcher:
    """Hands intended send times to idle open-loop users.

    Idle users wait on a stack (last idle, first reused) so that a low rate keeps reusing a few
    warm connections instead of opening all of them; due slots with no idle user wait in a FIFO
    backlog and are counted, because then the offered load is not being offered."""

    def __init__(self) -> None:
        self.idle: list[Any] = []  # users.BenchboxUser, each woken by its `assign`
        self.backlog: deque[Slot] = deque()
        self.waited = 0
        self.closed = False

    def offer(self, slot: Slot) -> None:
        if self.idle:
            self.idle.pop().assign(slot)
        else:
            self.backlog.append(slot)
            self.waited += 1

    def keep(self, slots: Iterable[tuple[float, Slot]], stop: Event) -> None:
        """The scheduler greenlet: every slot, (intended time, slot) in time order, offered when due
        (EARLY_WAKE_S early); every slot already due at a wake-up goes at once (batching keeps up
        at high rates)."""
        clock = time.perf_counter
        for intended, slot in slots:
            delay = intended - clock() - EARLY_WAKE_S
            if delay > 0:
                gevent.sleep(delay)
            if stop.is_set():
                break
            self.offer(slot)
        self.close()

    def close(self) -> None:
        """No more slots: wake every idle user so it can stop."""
        self.closed = True
        while self.idle:
            self.idle.pop().assign(None)


def record_lag(recorder: Recorder, intended: float, sent_at: float) -> float:
    """Record how late an open-loop request went out; return the time its latency counts from.

    Measured at the send itself. A slot may go up to EARLY_WAKE_S early: that counts as on time,
    and then the wait starts at the send, so latency counts from whichever came first."""
    hdr.record_us(recorder.lag, (sent_at - intended) * 1e6)  # early counts as on time: 1 us
    return sent_at if intended > sent_at else intended
