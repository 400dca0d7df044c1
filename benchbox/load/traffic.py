"""A trace or a mix in the generator: its schedule, its sends, its per-class histograms.

The schedule keeps open loop's rules (dispatch.py): every slot has an intended time computed up
front (from the trace's offsets, or the rate and seed for a mix), a slot goes out when due (up to
EARLY_WAKE_S early), and latency counts from the intended time. A slot carries its class
and body index, so a user sends the request the trace or the draw chose.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from typing import Any

from gevent.event import Event

from benchbox import hdr
from benchbox.load import schedule
from benchbox.load.client import Outcome
from benchbox.load.dispatch import record_lag
from benchbox.load.recorder import Recorder
from benchbox.load.spec import PhaseSpec
from benchbox.traffic.model import ClassStats, TrafficSpec, TrafficStats, unpack_schedule


class ClassRecorder:
    """One class or size bucket: a histogram per second and one for the phase, merged exactly."""

    def __init__(self, weight: float | None = None) -> None:
        self.weight = weight
        self.second = hdr.new()
        self.phase = hdr.new()
        self.requests = self.errors = 0
        self._done = self._errors = 0
        self.points: list[Any] = []

    def record(self, latency_s: float | None, error: bool) -> None:
        self.requests += 1
        self._done += 1
        if error:
            self.errors += 1
            self._errors += 1
        if latency_s is not None:
            hdr.record_us(self.second, latency_s * 1e6)

    def flush(self, t: int) -> None:
        from benchbox.latency import TimePoint

        h = self.second
        count = h.get_total_count()
        self.points.append(
            TimePoint(
                t=t,
                requests=self._done,
                errors=self._errors,
                max=h.get_max_value() / 1000.0 if count else None,
                hdr=hdr.encode(h) if count else None,
            )
        )
        if count:
            self.phase.add(h)
            self.second = hdr.new()
        self._done = self._errors = 0

    def build(self, total: int, elapsed_s: float) -> ClassStats:
        count = self.phase.get_total_count()
        return ClassStats(
            requests=self.requests,
            errors=self.errors,
            error_rate=self.errors / self.requests if self.requests else 0.0,
            share=self.requests / total if total else 0.0,
            throughput_rps=round((self.requests - self.errors) / elapsed_s, 3) if elapsed_s > 0 else 0.0,
            weight=self.weight,
            latency_ms=hdr.summarize(self.phase),
            hdr=hdr.encode(self.phase) if count else None,
            timeseries=tuple(self.points),
        )


class Traffic:
    """The runtime of one phase's TrafficSpec, shared by its users (Shared.traffic)."""

    def __init__(self, spec: TrafficSpec, recorder: Recorder) -> None:
        self.spec = spec
        self.recorder = recorder
        self.bodies: list[bytes | None] = [b.encode("utf-8") for b in spec.bodies] + [None]
        self.body_sizes = list(spec.body_sizes) + [0]
        self.methods = [c.method.upper() for c in spec.classes]
        self.paths = [c.path for c in spec.classes]
        self.headers = [dict(c.headers) or None for c in spec.classes]
        names = sorted({c.name for c in spec.classes})
        weights = {c.name: c.weight for c in spec.classes} if spec.kind == "mix" else {}
        self.classes = {n: ClassRecorder(weights.get(n)) for n in names}
        self.by_index = [self.classes[c.name] for c in spec.classes]
        self.sizes: dict[int, ClassRecorder] = {}
        self.size_weights = dict(spec.sizes)
        recorder.traffic = self  # flushed with the recorder, once a second

    def size_bucket(self, size: int) -> ClassRecorder:
        rec = self.sizes.get(size)
        if rec is None:
            rec = self.sizes[size] = ClassRecorder(self.size_weights.get(size))
        return rec

    def flush(self, t: int) -> None:
        for rec in (*self.classes.values(), *self.sizes.values()):
            rec.flush(t)

    def slots(self, spec: PhaseSpec) -> Iterator[tuple[float, int, int]]:
        """(offset, class, body) in time order, for this worker's part of the phase."""
        t = self.spec
        if t.kind == "trace":
            offsets, classes, bodies = unpack_schedule(t.schedule, t.count)
            first, step = t.part
            # --max-rps capped this phase's rate below the trace's own: slow the whole trace down.
            natural = (t.count / step) / (t.span_s / t.scale)
            scale = t.scale * min(1.0, spec.rate / natural) if spec.rate else t.scale
            period = t.span_s / scale
            for lap in itertools.count() if t.loop else range(1):
                base = lap * period
                for i in range(first, t.count, step):
                    at = base + offsets[i] / scale
                    if at >= spec.duration_s:
                        return
                    yield at, classes[i], bodies[i]
            return
        assert spec.rate is not None
        if spec.ramp_from is not None:
            offsets_iter = schedule.ramp_offsets(spec.ramp_from, spec.rate, spec.duration_s, spec.arrival, spec.seed)
        else:
            offsets_iter = schedule.offsets(spec.rate, spec.duration_s, spec.arrival, spec.seed)
        rng = random.Random(spec.seed * 7919 + 17)
        cum = list(itertools.accumulate(c.weight for c in t.classes))
        size_cum = list(itertools.accumulate(w for _, w in t.sizes)) if t.sizes else [1.0]
        turns = [[0] * len(size_cum) for _ in t.classes]
        nobody = len(t.bodies)
        for at in offsets_iter:
            c = min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)
            s = min(bisect.bisect_right(size_cum, rng.random() * size_cum[-1]), len(size_cum) - 1)
            pool = t.classes[c].pools[s]
            if pool:
                k = turns[c][s]
                turns[c][s] = k + 1
                yield at, c, pool[k % len(pool)]
            else:
                yield at, c, nobody

    def run_schedule(self, spec: PhaseSpec, recorder: Recorder, dispatcher: Any, stop: Event) -> None:
        """phase._run_schedule, with a class and a body riding on each slot."""
        start = recorder.started
        dispatcher.keep(((start + at, (start + at, c, b)) for at, c, b in self.slots(spec)), stop)

    def send(self, user: Any, slot: tuple[float, int, int]) -> None:
        """One request of the slot's class and body; latency from the intended time, as users._send."""
        intended, c, b = slot
        shared = user.shared
        shared.in_flight += 1
        if shared.in_flight > shared.peak_in_flight:
            shared.peak_in_flight = shared.in_flight
        recorder = self.recorder
        recorder.sent += 1
        connection = user.connection
        connection.method, connection.uri = self.methods[c], self.paths[c]
        out = connection.send(self.bodies[b], Outcome(False), self.headers[c])
        shared.in_flight -= 1
        start = record_lag(recorder, intended, out.sent_at)
        size = self.body_sizes[b]
        if out.status is not None:
            latency: float | None = out.done_at - start
            recorder.response(latency, out.status, out.done_at)  # type: ignore[arg-type]
            hdr.record_us(recorder.service, (out.done_at - out.sent_at) * 1e6)
            error = out.status >= 400
        else:
            latency = out.done_at - start if out.error_kind == "timeout" else None
            recorder.failure(out.error_kind or "client", out.detail, latency, out.done_at)
            error = True
        self.by_index[c].record(latency, error)
        if size:
            self.size_bucket(size).record(latency, error)

    def build(self, elapsed_s: float) -> TrafficStats:
        total = sum(r.requests for r in self.classes.values())
        # One size only (every body the same batch) says nothing a size table would add.
        sizes = self.sizes if len(self.sizes) > 1 or self.spec.sizes else {}
        return TrafficStats(
            kind=self.spec.kind,
            scale=self.spec.scale,
            classes={n: r.build(total, elapsed_s) for n, r in self.classes.items()},
            sizes={str(s): r.build(total, elapsed_s) for s, r in sorted(sizes.items())},
        )


def attach(shared: Any, spec: PhaseSpec, recorder: Recorder) -> None:
    """Give a phase's users its trace or mix (no-op for a plain phase)."""
    shared.traffic = Traffic(spec.traffic, recorder) if spec.traffic is not None else None
