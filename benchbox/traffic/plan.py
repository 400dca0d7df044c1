"""The traffic part of a Plan: the trace to replay or the mix to draw, read and checked up front."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbox.errors import UsageError
from benchbox.traffic.mix import MixClass, parse_mix
from benchbox.traffic.sizes import parse_batch_sizes
from benchbox.traffic.trace import Trace, parse_window, read_trace


@dataclass(frozen=True)
class TrafficPlan:
    trace: Trace | None = None
    mix: tuple[MixClass, ...] = ()
    mix_rate: float | None = None  # the classes gave rates: their sum is the mix's rate
    scale: float = 1.0  # --time-scale: 2 replays twice as fast
    loop: bool = False
    window: str | None = None
    sizes: tuple[tuple[int, float], ...] = ()  # --batch-sizes

    @property
    def active(self) -> bool:
        return self.trace is not None or bool(self.mix) or bool(self.sizes)

    def recorded(self) -> dict[str, Any] | None:
        if not self.active:
            return None
        return {
            "replay": self.trace.path if self.trace else None,
            "replay_format": self.trace.format if self.trace else None,
            "replay_lines": len(self.trace.lines) if self.trace else None,
            "time_scale": self.scale,
            "replay_window": self.window,
            "loop": self.loop,
            "mix": [{"name": c.name, "weight": round(c.weight, 6), "route": c.route} for c in self.mix],
            "batch_sizes": [{"size": s, "weight": round(w, 6)} for s, w in self.sizes],
        }


def traffic_plan(pick: Callable[..., Any], base_dir: Path) -> TrafficPlan:
    """From flags over benchbox.toml; every file read and every line checked now."""
    from benchbox.units import parse_positive

    path = pick("replay")
    scale = parse_positive("--time-scale", pick("time_scale", 1.0))
    window_text = pick("replay_window")
    loop = bool(pick("loop", False))
    if not path and (window_text or loop or scale != 1.0):
        raise UsageError("bad --time-scale/--replay-window/--loop: they shape a replayed trace; give --replay FILE")
    trace = None
    if path:
        candidate = Path(str(path))
        if not candidate.is_absolute() and not candidate.exists() and (base_dir / candidate).exists():
            candidate = base_dir / candidate
        window = parse_window("--replay-window", window_text) if window_text else None
        trace = read_trace(str(candidate), window)
    mix_value = pick("mix")
    mix: tuple[MixClass, ...] = ()
    mix_rate = None
    if mix_value is not None:
        if isinstance(mix_value, str):  # --mix FILE: a TOML file with [[mix]] tables
            mix_value, base_dir = _mix_file(mix_value, base_dir)
        mix, mix_rate = parse_mix(mix_value, base_dir)
    sizes_text = pick("batch_sizes")
    sizes = parse_batch_sizes("--batch-sizes", sizes_text) if sizes_text else ()
    return TrafficPlan(trace, mix, mix_rate, scale, loop, str(window_text) if window_text else None, sizes)


def _mix_file(path: str, base_dir: Path) -> tuple[Any, Path]:
    import tomllib

    p = Path(path)
    if not p.is_absolute() and not p.exists() and (base_dir / p).exists():
        p = base_dir / p
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"bad --mix {path!r}: expected a readable TOML file with [[mix]] tables ({exc})") from None
    if "mix" not in data:
        raise UsageError(f"bad --mix {path!r}: expected [[mix]] tables in it")
    return data["mix"], p.parent
