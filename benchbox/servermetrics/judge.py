"""Gates on the target's own series and on trends, the probe table, and the saturation sentence.

Gate syntax (`--slo`), judged on the phase the latency gates judge (the last load phase):
    server.<series>.<stat><=VALUE  or  >=VALUE   stat: max, min, mean, last, slope
    p99_slope<=VALUE                             the P99's trend over the phase
VALUE is a number in the series' unit, with an optional suffix: 90% (=0.9), 512MB / 2GiB (bytes),
50ms / 0.2s (a time series in ms), and for a slope a time base: 10MB/min, 5ms/min, 1/s (default /s).
A series that never appeared fails the gate and says so: an absent metric is not a pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from benchbox.errors import bad_value
from benchbox.gate_spec import GateSpec, Op
from benchbox.result import GateResult, LoadPhase
from benchbox.servermetrics.model import PhaseSeries, ProbeValues, SeriesInfo, ServerMetricsSection, Trend
from benchbox.servermetrics.series import p99_trend

STATS = ("max", "min", "mean", "last", "slope")
_GATE = re.compile(
    r"^\s*(?:server\.(?P<series>[A-Za-z_:][A-Za-z0-9_:]*)\.(?P<stat>[a-z]+)|(?P<p99>p99_slope))\s*"
    r"(?P<op><=|>=)\s*(?P<value>.+?)\s*$"
)
_VALUE = re.compile(r"^(?P<n>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>[A-Za-z%]*)(?:/(?P<per>s|min|h))?$")
_SCALE = {
    "": 1.0,
    "%": 0.01,
    "ms": 1.0,
    "s": 1000.0,
    "kb": 1e3,
    "mb": 1e6,
    "gb": 1e9,
    "kib": 1024.0,
    "mib": 1024.0**2,
    "gib": 1024.0**3,
    "k": 1e3,
    "m": 1e6,
}
_PER_S = {None: 1.0, "s": 1.0, "min": 60.0, "h": 3600.0}
EXPECTED = (
    "server.SERIES.STAT<=VALUE (STAT one of max, min, mean, last, slope; e.g. server.waiting.max<=10, "
    "server.rss.slope<=10MB/min) or p99_slope<=VALUE (e.g. p99_slope<=5ms/min)"
)


def is_trend_gate(text: str) -> bool:
    return bool(re.match(r"^\s*(server\.|p99_slope)", str(text)))


def parse_gate(text: str) -> GateSpec:
    """`server.waiting.max<=10`, `server.rss.slope<=10MB/min`, `p99_slope<=5ms/min` -> GateSpec
    (thresholds in the series' base unit, slopes per second)."""
    match = _GATE.match(str(text))
    if not match or (match["stat"] and match["stat"] not in STATS):
        raise bad_value("--slo", text, EXPECTED)
    value = _VALUE.match(match["value"].replace(" ", ""))
    if not value or value["unit"].lower() not in _SCALE:
        raise bad_value("--slo", text, "a number with an optional unit: 0.9, 90%, 512MB, 50ms; a slope may add /min")
    slope = bool(match["p99"]) or match["stat"] == "slope"
    if value["per"] and not slope:
        raise bad_value("--slo", text, f"a plain value: only a slope takes a time base (/s, /min, /h); {EXPECTED}")
    op: Op = "<=" if match["op"] == "<=" else ">="
    threshold = float(value["n"]) * _SCALE[value["unit"].lower()] / _PER_S[value["per"]]
    if match["p99"]:
        return GateSpec(name="p99_slope", metric="slope.p99", op=op, threshold=threshold, unit="ms/s")
    name = f"server.{match['series']}.{match['stat']}"
    return GateSpec(name=name, metric=name, op=op, threshold=threshold, unit="/s" if slope else "")


def judge_gate(
    spec: GateSpec, phase: LoadPhase | None, section: ServerMetricsSection | None, skipped: str | None
) -> GateResult:
    """One server or trend gate on the phase the latency gates judge."""
    result = spec.judged
    if phase is None:
        return result(None, None, skipped or "not checked: no load phase ran")
    if spec.metric == "slope.p99":
        return _verdict(spec, p99_trend(phase), "ms", f"P99 over {phase.name}")
    _, key, stat = spec.metric.split(".", 2)
    if section is None or not section.sources:
        why = "; ".join(section.notes) if section is not None and section.notes else "no metrics endpoint was scraped"
        return result(
            None, False, f"series {key!r} never appeared: {why} (give --server-metrics URL of the target's /metrics)"
        )
    info = section.info(key)
    if info is None:
        seen = ", ".join(s.key for s in section.series) or "none"
        return result(
            None, False, f"series {key!r} never appeared on {', '.join(section.sources)} (series seen: {seen})"
        )
    series = next((p for p in section.of_phase(phase.name) if p.key == key), None)
    if series is None or not series.values:
        return result(None, False, f"series {key!r} ({info.words}) had no value during {phase.name}")
    if stat == "slope":
        return _verdict(spec, series.trend, info.unit, f"{info.words} over {phase.name}")
    observed = float(getattr(series, stat))
    passed = observed <= spec.threshold if spec.op == "<=" else observed >= spec.threshold
    return result(
        observed,
        passed,
        f"{info.words} {stat} {show(observed, info.unit)} {'within' if passed else 'breaks'} "
        f"{spec.op} {show(spec.threshold, info.unit)} during {phase.name}",
    )


def _verdict(spec: GateSpec, trend: Trend, unit: str, what: str) -> GateResult:
    if trend.slope_per_s is None:
        return spec.judged(None, None, f"not checked: {what} has {trend.points} points, a trend needs 3 or more")
    slope = trend.slope_per_s
    passed = slope <= spec.threshold if spec.op == "<=" else slope >= spec.threshold
    interval = (
        f" (95% interval {show_rate(trend.low, unit)} to {show_rate(trend.high, unit)})"
        if trend.low is not None and trend.high is not None
        else ""
    )
    return spec.judged(
        slope,
        passed,
        f"{what}: trend {show_rate(slope, unit)}{interval} {'within' if passed else 'breaks'} "
        f"{spec.op} {show_rate(spec.threshold, unit)}",
    )


# -- the saturation search's view ------------------------------------------------------------------
_PROBE = re.compile(r"^saturation-(\d+)-")


def probe_table(phases: Sequence[PhaseSeries], saturation: Any, infos: Sequence[SeriesInfo]) -> tuple[ProbeValues, ...]:
    """Each series' peak during each probe of the search, beside the probe's rate and verdict."""
    names = list(dict.fromkeys(p.phase for p in phases if p.phase.startswith("saturation-")))
    steps = list(getattr(saturation, "steps", ()))
    by_index = {s.index: s for s in steps}
    rows = []
    for order, name in enumerate(names):
        m = _PROBE.match(name)
        step = by_index.get(int(m[1])) if m else (steps[order] if order < len(steps) else None)
        if step is None:
            continue
        values: dict[str, float | None] = {i.key: None for i in infos}
        values.update({p.key: p.max for p in phases if p.phase == name})
        rows.append(ProbeValues(step.index, name, step.offered_rps, step.users, step.held, values, str(step.stage)))
    return tuple(rows)


def statement(probes: Sequence[ProbeValues], infos: Sequence[SeriesInfo], saturation: Any) -> str | None:
    """One sentence: what moved between the last level the target held and the first it did not
    (or the overload probe past it, when the step between them moved nothing telling)."""
    if len(probes) < 2:
        return None
    held = [p for p in probes if p.held is True]
    failed = [p for p in probes if p.held is False]
    overload = [p for p in probes if p.stage == "overload" and p.offered_rps is not None]
    pairs: list[tuple[ProbeValues, ProbeValues, str]] = []
    if held:
        a = max(held, key=_level)
        above = [p for p in failed if _level(p) > _level(a)]
        if above or failed:
            pairs.append((a, min(above or failed, key=_level), ""))
        pairs += [(a, p, " (the overload probe)") for p in overload if _level(p) > _level(a)]
    if not pairs:  # no verdict on one side: from the lowest to the highest level that was judged
        judged = [p for p in probes if p.held is not None] or list(probes)
        lo, hi = min(judged, key=_level), max(judged, key=_level)
        if lo is hi:
            return None
        pairs.append((lo, hi, " (no probe failed: the search stopped before the target did)" if not failed else ""))
    a, b, note = next((pair for pair in pairs if _moves(pair[0], pair[1], infos)), pairs[0])
    moves = _moves(a, b, infos)
    unit = "req/s" if a.offered_rps is not None else "users"
    between = f"between {_level(a):.3g} and {_level(b):.3g} {unit}{note}"
    if not moves:
        return (
            f"No server series moved much {between}: the limit is not in what {', '.join(i.key for i in infos)} "
            "show (look at the network, a proxy in front, or the server's own threads)."
        )
    info, va, vb = moves[0]
    sentence = f"{_cap(info.words)} rose from {show(va, info.unit)} to {show(vb, info.unit)} {between}"
    return sentence + _cause(info, vb, a.values, b.values, infos) + "."


def _level(p: ProbeValues) -> float:
    return p.offered_rps if p.offered_rps is not None else float(p.users or 0)


# What rises with the load by itself (requests running, throughput) is context, never the cause.
_CONTEXT_ROLES = ("running", "throughput")
_ROLE_ORDER = ("queue", "cache", "preemptions", "gpu", "cpu", "queue_time")


def _moves(a: ProbeValues, b: ProbeValues, infos: Sequence[SeriesInfo]) -> list[tuple[SeriesInfo, float, float]]:
    """Series that rose by half or more (and by more than noise), the telling roles first."""
    moves = []
    for info in infos:
        va, vb = a.values.get(info.key), b.values.get(info.key)
        if va is None or vb is None or info.role in _CONTEXT_ROLES:
            continue
        floor = _FLOOR.get(info.unit, 1e-9)
        change = vb - va
        if change >= floor and change / max(abs(va), floor) >= 0.5:
            rank = _ROLE_ORDER.index(info.role) if info.role in _ROLE_ORDER else len(_ROLE_ORDER)
            moves.append((rank, -change / max(abs(va), floor), info, va, vb))
    moves.sort(key=lambda m: (m[0], m[1]))
    return [(info, va, vb) for _, _, info, va, vb in moves]


_FLOOR = {"requests": 1.0, "ratio": 0.05, "bytes": 1e6, "cores": 0.05, "ms": 1.0, "fds": 2.0}


def _cause(
    info: SeriesInfo,
    vb: float,
    before: Mapping[str, float | None],
    after: Mapping[str, float | None],
    infos: Sequence[SeriesInfo],
) -> str:
    if info.role == "queue":
        running = next((i for i in infos if i.role == "running"), None)
        ra = before.get(running.key) if running else None
        rb = after.get(running.key) if running else None
        if running is None or ra is None or rb is None:
            return ": requests queued inside the server faster than it started them"
        if abs(rb - ra) < max(1.0, 0.2 * abs(ra)):
            return (
                f" while {running.words} stayed at {show(rb, running.unit)}: "
                "the server's concurrency limit is the bottleneck"
            )
        return (
            f" while {running.words} also rose, from {show(ra, running.unit)} to {show(rb, running.unit)}: "
            "the server ran more at once and still fell behind, so its compute (CPU or GPU) is the bottleneck"
        )
    if info.role == "cache" and vb >= 0.9:
        return ": the KV cache is full, so more sequences cannot run at once"
    if info.role == "gpu" and vb >= 0.9:
        return ": the GPU is saturated"
    if info.role == "cpu":
        return f": the server process used {vb:.2g} cores, so CPU is the likely bottleneck"
    if info.role == "preemptions":
        return ": the server preempted requests, so its KV cache is too small for this load"
    if info.role == "queue_time":
        return ": requests waited longer in the server's queue than before"
    return ""


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def show(value: float | None, unit: str) -> str:
    """A series value in words: 41 requests, 73%, 512 MB, 1.2 cores, 35 ms."""
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{100 * value:.0f}%"
    if unit == "bytes":
        return f"{value / 1e6:.1f} MB" if abs(value) < 1e9 else f"{value / 1e9:.2f} GB"
    if unit == "requests" and value == 1:
        return "1 request"
    if unit in ("ms", "requests", "fds", "cores", "W", "req/s", "tokens/s", "/s"):
        shown = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
        return f"{shown} {unit}" if unit not in ("/s",) else f"{shown}/s"
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def show_rate(value: float | None, unit: str) -> str:
    """A trend per second shown per minute, the scale a leak is read on."""
    if value is None:
        return "-"
    per_min = value * 60.0
    if unit == "bytes":
        return f"{per_min / 1e6:+.2f} MB/min"
    if unit == "ms":
        return f"{per_min:+.3g} ms/min"
    return f"{per_min:+.3g} {unit}/min".replace(" /", "/")
