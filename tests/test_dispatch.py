"""Open loop's dispatcher (benchbox/load/dispatch.py): who sends each scheduled slot.

Users pull: a user that finishes takes the next due slot itself; only a user with nothing due
parks, and the scheduler hands slots to parked users. These tests hold the rules that keep the
figures true whoever takes a slot: every slot goes exactly once and in schedule order, a slot is
due EARLY_WAKE_S before its intended time and not before, a slot that went late because every
user was busy is counted as waiting for a connection, and a phase cut short counts the slots that
were due but never went. The generator's modules need gevent's monkey-patching, so the script runs
in its own interpreter (as the generator does); the clock in the first part is given, not read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = r"""
from gevent import monkey

monkey.patch_all()

import json
import random

import gevent
from gevent.event import Event

from benchbox.load.dispatch import EARLY_WAKE_S, Dispatcher


taken = []  # in the order slots leave the dispatcher, pulled or handed out
handed = []


class User:
    def __init__(self):
        self.wake = Event()
        self.slot = None

    def assign(self, slot):
        if slot is not None:
            taken.append(slot)
            handed.append(slot)
        self.slot = slot
        self.wake.set()


out = {}
# The rules, on a clock given by the test.
d = Dispatcher()
d.feed((t, f"s{t}") for t in (1.0, 2.0, 3.0, 4.0))
out["before_due"] = d.take(1.0 - EARLY_WAKE_S - 0.001)
out["early"] = d.take(1.0 - EARLY_WAKE_S / 2)
out["waited_after_early"] = d.waited
out["late_all_busy"] = d.take(2.5)
out["waited_after_late"] = d.waited
parked = User()
d.park(parked)
out["late_one_parked"] = d.take(3.5)
out["waited_with_parked"] = d.waited
d.close(3.6)  # s4.0 is after the close: it never goes, and the parked user is told to stop
out["parked_told"] = [parked.wake.is_set(), parked.slot]
out["after_close"] = [d.take(9.0), d.exhausted, d.unsent(9.0)]
taken.clear()
handed.clear()

cut = Dispatcher()
cut.feed((t, t) for t in (1.0, 2.0, 3.0, 4.0))
cut.take(1.0)
out["cut_unsent"] = [cut.unsent(3.5), cut.take(9.0), cut.exhausted]

# The live loop: busy users pull, parked ones are handed slots, each slot leaves once, in order
# (a parked user may then send after a busy one that took a later slot: that is the hub's turn).
import time

rng = random.Random(1)
live = Dispatcher()
sent = []
stop = Event()


def user_loop():
    me = User()
    while True:
        slot = live.take(time.perf_counter())
        if slot is not None:
            taken.append(slot)
        else:
            if live.exhausted:
                return
            live.park(me)
            me.wake.wait()
            me.wake.clear()
            slot = me.slot
            if slot is None:
                return
        sent.append(slot)
        gevent.sleep(rng.choice((0.0, 0.0005, 0.003)))  # the request's answer


t0 = time.perf_counter() + 0.02
users = [gevent.spawn(user_loop) for _ in range(6)]
scheduler = gevent.spawn(live.keep, ((t0 + i * 0.0004, i) for i in range(600)), stop)
gevent.joinall(users + [scheduler], timeout=30)
out["live"] = [taken == sorted(taken) == sorted(sent), len(sent), len(set(sent)), live.exhausted, scheduler.dead]
out["handed_pulled"] = [len(handed), len(taken) - len(handed)]
print(json.dumps(out))
"""


def run_script() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=REPO, check=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_slots_go_once_in_order_when_due_and_waiting_and_unsent_slots_are_counted() -> None:
    out = run_script()
    assert out["before_due"] is None  # not due yet: nobody may take it
    assert out["early"] == "s1.0" and out["waited_after_early"] == 0  # early is on time
    assert out["late_all_busy"] == "s2.0" and out["waited_after_late"] == 1  # late, every user busy
    assert out["late_one_parked"] == "s3.0" and out["waited_with_parked"] == 1  # a user was free
    assert out["parked_told"] == [True, None]  # the close wakes a parked user to stop
    assert out["after_close"] == [None, True, 0]  # a slot after the close never goes, nor counts
    assert out["cut_unsent"] == [2, None, True]  # due by 3.5 and never taken: 2.0 and 3.0
    assert out["live"] == [True, 600, 600, True, True]
    handed, pulled = out["handed_pulled"]  # type: ignore[misc]
    assert handed > 0 and pulled > 0  # users parked before the first slot; then busy ones pulled
