"""Progress while a run goes: a live line on a terminal, plain periodic lines in CI logs.

Part of the CLI layer (the engine only emits Events). P95 "so far" is read from the phase's
histogram merged from every second's encoded one, never from averaging the seconds' P95s.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from benchbox import hdr
from benchbox.events import Event
from benchbox.units import format_ms


class Console:
    """Turns engine Events into terminal output; `close()` before printing the final lines."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live: Any = None
        self._interactive = not quiet and self.stream.isatty()
        self._reset("", 0.0)

    def _reset(self, name: str, duration_s: float) -> None:
        self.phase, self.duration_s = name, duration_s
        self.started = time.monotonic()
        self.total = hdr.new()
        self.requests = self.errors = 0
        self.last: dict[str, Any] = {}

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if event.kind == "tick":
            if not event.data.get("probe"):  # a saturation probe's seconds are for live outputs only
                self._tick(dict(event.data))
            return
        if event.kind == "phase":
            self._reset(str(event.data.get("phase", "")), float(event.data.get("duration_s", 0.0)))
        self._line(event.message)

    def _tick(self, data: dict[str, Any]) -> None:
        self.requests += int(data.get("requests", 0))
        self.errors += int(data.get("errors", 0))
        if data.get("hdr"):
            self.total.add(hdr.decode(data["hdr"]))
        self.last = data
        t = int(data.get("t", 0)) + 1
        if self._interactive:
            self._live_update(self._status(t))
        elif t <= 10 or t % (5 if self.duration_s <= 120 else 15) == 0:
            self._line("  " + self._status(t))

    def _status(self, t: int) -> str:
        d = self.last
        so_far = hdr.value_ms(self.total, 95) if self.total.get_total_count() else None
        share = f" ({100 * self.errors / self.requests:.2f}%)" if self.requests else ""
        clock = f"{t:>4}s" + (f" / {self.duration_s:g}s" if self.duration_s else "")
        workers = f"  workers {d['workers']}" if d.get("workers") else ""
        return (
            f"{clock}  {d.get('requests', 0):>6} req/s  P95 {_ms(d.get('p95'))} (so far {_ms(so_far)})  "
            f"errors {self.errors}{share}  in flight {d.get('in_flight', 0)}  cpu {d.get('cpu_percent', 0):.0f}%"
            f"{workers}"
        )

    def _live_update(self, text: str) -> None:
        from rich.live import Live
        from rich.text import Text

        line = Text(f"{self.phase}  ", style="bold") + Text(text)
        if self.live is None:
            self.live = Live(line, refresh_per_second=4, transient=True, redirect_stdout=False, redirect_stderr=False)
            self.live.start()
        else:
            self.live.update(line)

    def _line(self, text: str) -> None:
        if self.live is not None:
            self.live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def _ms(value: Any) -> str:
    return format_ms(value) if isinstance(value, (int, float)) else "-"
