"""Progress events: what the pipeline tells whoever watches it (the console, a compare's log).

A room of its own, below both the pipeline and the console, so the console (CLI layer) reads
events without importing the engine that emits them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Progress for whoever is watching: kind is 'phase', 'note' or 'tick'."""

    kind: str
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


Observer = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The observer of a run nobody watches."""


def lines(say: Callable[[str], None]) -> Observer:
    """An observer for a plain line log: phases and notes as lines, ticks dropped."""

    def observe(event: Event) -> None:
        if event.kind != "tick" and event.message:
            say(event.message)

    return observe
