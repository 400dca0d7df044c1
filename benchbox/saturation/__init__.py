"""The saturation stage: the highest throughput a target sustains within its SLOs, and what happens past it.

Only the result types are imported eagerly: benchbox.result imports `benchbox.saturation.model`,
and the search imports benchbox.result, so importing the search here would make a cycle. The
search and the runner are loaded on first use.
"""

from __future__ import annotations

from typing import Any

from benchbox.saturation.model import Knee, Overload, ResponseSample, Saturation, Step, Usl

__all__ = [
    "Knee",
    "Overload",
    "ResponseSample",
    "Saturation",
    "Step",
    "Usl",
    "SearchSettings",
    "search",
    "run_search",
    "ProbeOrder",
    "ProbeRun",
]

_LAZY = {
    "SearchSettings": "settings",
    "search": "search",
    "ProbeOrder": "search",
    "ProbeRun": "search",
    "run_search": "runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"benchbox.saturation.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'benchbox.saturation' has no attribute {name!r}")
