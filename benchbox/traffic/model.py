"""What a trace or a mix is, as the generator is told it, and what it measured, per class.

A TrafficSpec travels inside the PhaseSpec once per phase. A 100k-line trace is not a hundred
thousand JSON objects: its schedule is three packed arrays (offsets, class index, body index),
zlib-compressed and base64-encoded, and every distinct body is sent once.
"""

from __future__ import annotations

import array
import base64
import dataclasses
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbox.latency import LatencySummary, TimePoint


@dataclass(frozen=True)
class TrafficClass:
    """One class of requests: where it goes, how, with which bodies, and how often (a mix)."""

    name: str
    path: str  # path and query on the target's host ("" : the target's own path)
    method: str
    headers: tuple[tuple[str, str], ...] = ()
    # Body indices into TrafficSpec.bodies, one list per size bucket (TrafficSpec.sizes order);
    # a class without size buckets has one list. Empty: the request has no body.
    pools: tuple[tuple[int, ...], ...] = ((),)
    weight: float = 1.0


@dataclass(frozen=True)
class TrafficSpec:
    """A replayed trace (`schedule` set) or a mix (classes drawn by weight on the open-loop schedule)."""

    kind: Literal["trace", "mix"]
    classes: tuple[TrafficClass, ...]
    bodies: tuple[str, ...] = ()
    body_sizes: tuple[int, ...] = ()  # batch size of each body (0: not a batch)
    sizes: tuple[tuple[int, float], ...] = ()  # mix: (batch size, weight) buckets drawn per request
    schedule: str = ""  # trace: packed offsets/classes/bodies (pack_schedule)
    count: int = 0  # trace lines in the schedule
    span_s: float = 0.0  # trace: from the first line's offset to one mean gap after the last
    scale: float = 1.0  # rate multiplier: --time-scale, or a saturation probe's
    loop: bool = False
    part: tuple[int, int] = (0, 1)  # a worker's share of a trace: every n-th line from the i-th

    def share(self, index: int, count: int) -> TrafficSpec:
        return dataclasses.replace(self, part=(index, count))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrafficSpec:
        d = dict(data)
        d["classes"] = tuple(
            TrafficClass(
                name=c["name"],
                path=c["path"],
                method=c["method"],
                headers=tuple(tuple(h) for h in c["headers"]),
                pools=tuple(tuple(p) for p in c["pools"]),
                weight=c["weight"],
            )
            for c in d["classes"]
        )
        d["bodies"], d["body_sizes"] = tuple(d["bodies"]), tuple(d["body_sizes"])
        d["sizes"] = tuple((int(s), float(w)) for s, w in d["sizes"])
        d["part"] = (int(d["part"][0]), int(d["part"][1]))
        return cls(**d)


def pack_schedule(offsets_s: list[float], classes: list[int], bodies: list[int]) -> str:
    """Offsets (whole microseconds, delta-coded), class and body indices: one compressed string."""
    us = [round(o * 1e6) for o in offsets_s]
    deltas = array.array("q", [us[0], *(b - a for a, b in zip(us, us[1:]))] if us else [])
    raw = deltas.tobytes() + array.array("I", classes).tobytes() + array.array("I", bodies).tobytes()
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def unpack_schedule(text: str, count: int) -> tuple[list[float], array.array[int], array.array[int]]:
    raw = zlib.decompress(base64.b64decode(text))
    deltas = array.array("q")
    deltas.frombytes(raw[: 8 * count])
    classes = array.array("I")
    classes.frombytes(raw[8 * count : 12 * count])
    bodies = array.array("I")
    bodies.frombytes(raw[12 * count :])
    offsets, t = [], 0
    for d in deltas:
        t += d
        offsets.append(t / 1e6)
    return offsets, classes, bodies


@dataclass(frozen=True)
class ClassStats:
    """One class (or one batch-size bucket) of a phase: its own counts and HDR histograms."""

    requests: int
    errors: int
    error_rate: float
    share: float  # of the phase's requests
    throughput_rps: float
    weight: float | None = None  # the share the mix asked for
    latency_ms: LatencySummary | None = None
    hdr: str | None = None
    timeseries: tuple[TimePoint, ...] = ()


@dataclass(frozen=True)
class TrafficStats:
    """Per class and per batch size, for a replayed trace or a mix (LoadPhase.traffic)."""

    kind: str  # "trace" | "mix"
    scale: float = 1.0
    classes: Mapping[str, ClassStats] = field(default_factory=dict)
    sizes: Mapping[str, ClassStats] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassBreak:
    """The saturation search on a mix or a trace: the lowest multiplier at which a class broke an SLO."""

    name: str  # the class
    multiplier: float  # of the mix's rate, or of the trace's own pace
    offered_rps: float
    gate: str  # the SLO it broke, as the gate names it ('p99')
    detail: str
