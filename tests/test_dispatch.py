"""Open loop's dispatcher (benchbox/load/dispatch.py): who sends each scheduled slot, and its lag.

The rules that keep the figures true: every slot goes exactly once and in schedule order, to the
last user that went idle or, when every user is busy, to a backlog (counted: the offered load was
not offered); the end of the schedule wakes idle users to stop; and the lag is taken at the send:
a request sent early counts as on time and is timed from its send, a late one shows its whole
wait. The generator's modules need gevent's monkey-patching, so the script runs in its own
interpreter (as the generator does).
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
import time

import gevent
from gevent.event import Event

from benchbox.load.dispatch import Dispatcher, record_lag
from benchbox.load.recorder import Recorder


class User:
    def __init__(self, name):
        self.name, self.got = name, []

    def assign(self, slot):
        self.got.append(slot)


out = {}
d = Dispatcher()
a, b = User("a"), User("b")
d.idle += [a, b]
t0 = time.perf_counter() + 0.01
d.keep(((t0 + i * 0.001, i) for i in range(5)), Event())
out["handed"] = [a.got, b.got]  # b went idle last: it is reused first; then the backlog
out["backlog"] = [list(d.backlog), d.waited, d.closed]

stopped = Dispatcher()
c = User("c")
stopped.idle.append(c)
stop = Event()
stop.set()
stopped.keep(((time.perf_counter() + 1.0, 0),), stop)
out["stopped"] = [c.got, list(stopped.backlog), stopped.closed]

r = Recorder()
early = record_lag(r, intended=10.0, sent_at=9.999)  # sent 1 ms early: on time, timed from the send
late = record_lag(r, intended=10.0, sent_at=10.25)  # sent 250 ms late: latency counts from 10.0
out["lag"] = [early, late, r.lag.get_min_value(), r.lag.get_max_value(), r.lag.get_total_count()]
print(json.dumps(out))
"""


def test_each_slot_goes_once_in_order_and_its_lag_is_taken_at_the_send() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=REPO, check=True
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["handed"] == [[1], [0]]
    assert out["backlog"] == [[2, 3, 4], 3, True]  # no idle user left: queued in order, counted
    assert out["stopped"] == [[None], [], True]  # a stopped schedule offers nothing, wakes its users
    early, late, lag_min, lag_max, count = out["lag"]
    assert (early, late) == (9.999, 10.0)
    assert count == 2 and lag_min == 1  # early counts as on time (1 us)
    assert abs(lag_max - 250_000) <= 250  # the late send's whole wait, in us (HDR: 3 digits)
