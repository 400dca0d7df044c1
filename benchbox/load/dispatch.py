"""Open loop's slots: which user sends the next scheduled request, and when.

Users *pull*: a user that has just finished a request takes the next slot itself when it is due,
and sends at once, with no hand-off. Only a user with nothing due parks, and the scheduler greenlet
wakes for the next slot only to hand it to a parked user. Why: with a scheduler that pushed every
slot (wake on a timer, hand over through an Event, switch to the user), every send waited for
the scheduler's timer behind the answers of the hub's loop iteration and paid an Event and two
greenlet switches; a slot that found every connection busy then sat in a backlog after its lag
had already been recorded (benchmarks/lag_anatomy.py splits where late sends come from).

Every slot has its intended time fixed up front (schedule.py), so who takes it changes nothing
the schedule says; the lag is recorded where the request actually goes out (users.py), and a slot
may go out up to EARLY_WAKE_S early, timed from its send, as before.

Imported only inside the generator process (gevent).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from typing import Any

import gevent
from gevent.event import Event

from benchbox import hdr
from benchbox.load.recorder import Recorder

# gevent's timers wake up to ~1 ms late (libev rounds epoll timeouts up to whole ms) and later
# still when the hub is busy. A slot may go out this much before its intended time; a request sent
# before its intended time is timed from its actual send (users.py), so going early never shortens
# a latency, while going late would lengthen every one (measured: P99 2-3 ms over the server's own
# clock at 0.5 ms early, 0.6-0.8 ms at 2 ms early).
EARLY_WAKE_S = 0.002

Slot = Any  # what a user sends: its intended time (a trace/mix: (time, class, body))


class Dispatcher:
    """The phase's remaining slots, and the users parked with nothing due.

    Parked users wait on a stack (last parked, first reused) so that a low rate keeps reusing a few
    warm connections instead of opening all of them. A slot taken after its intended time while no
    user was parked waited for a connection, and is counted: then the offered load is not being
    offered."""

    def __init__(self) -> None:
        self.idle: list[Any] = []  # parked users (users.BenchboxUser), each woken by its `assign`
        self.waited = 0
        self.closed = False
        self.exhausted = False  # no slot will ever be due again: a user with nothing to do stops
        self.due_at = math.inf  # when the next slot may go: its intended time less EARLY_WAKE_S
        self._intended = math.inf
        self._slot: Slot = None
        self._slots: Iterator[tuple[float, Slot]] = iter(())
        self._until = math.inf  # after close(): slots due by then may still go, later ones never
        self._wanted: Event | None = None  # set when the scheduler waits for a user to park

    def take(self, now: float) -> Slot:
        """The next slot if it is due by `now`, else None (a user that just finished asks)."""
        if now < self.due_at:
            return None
        slot = self._slot
        if now > self._intended and not self.idle:
            self.waited += 1
        self._advance()
        return slot

    def park(self, user: Any) -> None:
        """`user` has nothing due: it waits to be handed a slot (or None: stop)."""
        self.idle.append(user)
        if self._wanted is not None:
            self._wanted.set()

    def feed(self, slots: Iterable[tuple[float, Slot]]) -> None:
        """The phase's slots: (intended time, slot) in time order, read lazily."""
        self._slots = iter(slots)
        self._advance()

    def keep(self, slots: Iterable[tuple[float, Slot]], stop: Event) -> None:
        """The scheduler greenlet: hand each due slot to a parked user, if any; busy users take the
        rest themselves when they finish. `slots` are (intended time, slot) in time order."""
        self.feed(slots)
        clock = time.perf_counter
        wanted = Event()
        idle = self.idle
        while not self.exhausted and not stop.is_set():
            if not idle:  # every user is busy: the first to finish takes what is due
                wanted.clear()
                self._wanted = wanted
                wanted.wait()
                self._wanted = None
                continue
            delay = self.due_at - clock()
            if delay > 0:
                gevent.sleep(delay)  # a busy user may take the slot meanwhile: then look again
                continue
            now = clock()
            while idle and now >= self.due_at:
                slot = self._slot
                self._advance()
                idle.pop().assign(slot)
        self.close(clock() if stop.is_set() else None)

    def close(self, now: float | None = None) -> None:
        """No more slots after `now` (default: none at all): wake every parked user so it can stop.
        Slots already due by `now` may still be taken by a user that finishes in time."""
        self.closed = True
        self._until = min(self._until, -math.inf if now is None else now)
        if self._intended > self._until:
            self._intended = self.due_at = math.inf
            self.exhausted = True
        idle = self.idle
        while idle and self._intended <= self._until:  # what is due goes to whoever is free
            slot = self._slot
            self._advance()
            idle.pop().assign(slot)
        while idle:
            idle.pop().assign(None)
        if self._wanted is not None:
            self._wanted.set()

    def unsent(self, now: float) -> int:
        """Count (and drop) the slots that were due by `now` (or by the close) and never went."""
        until = min(now, self._until)
        count = 0
        while self._intended <= until:
            count += 1
            self._advance()
        self.closed = self.exhausted = True
        self._until = -math.inf
        self.due_at = math.inf
        return count

    def _advance(self) -> None:
        nxt = next(self._slots, None)
        if nxt is None or nxt[0] > self._until:
            self._intended = self.due_at = math.inf
            self._slot = None
            self.exhausted = True
            if self._wanted is not None:  # the scheduler waits for a user; it can end instead
                self._wanted.set()
        else:
            self._intended, self._slot = nxt
            self.due_at = self._intended - EARLY_WAKE_S


def record_lag(recorder: Recorder, intended: float, sent_at: float) -> float:
    """Record how late an open-loop request went out; return the time its latency counts from.

    Measured at the send itself, so a slot that waited for a connection or for the hub shows its
    whole wait. A slot may go up to EARLY_WAKE_S early (dispatch.py): that counts as on time, and
    then the wait starts at the send, so latency counts from whichever came first."""
    hdr.record_us(recorder.lag, (sent_at - intended) * 1e6)  # early counts as on time: 1 us
    return sent_at if intended > sent_at else intended
