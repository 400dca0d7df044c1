"""csv=FILE and jsonl=FILE: the seconds as rows, for a spreadsheet or a log shipper.

CSV holds one row per second of load (a fixed header); JSON Lines holds every record, the
whole-phase figures and the verdict included, one object a line. Both are flushed per batch so
a `tail -f` sees the run as it goes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from benchbox.outputs.points import QUANTILES, Record
from benchbox.outputs.sink import Sink

TAGS = ("run_id", "label", "target", "phase", "side")
VALUES = (
    "t",
    "requests",
    "errors",
    *(f"p{q:g}_ms" for q in QUANTILES),
    "in_flight",
    "cpu_percent",
    "lag_max_ms",
    "workers",
)


def _open(path: str) -> IO[str]:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.open("w", encoding="utf-8", newline="")


class CsvSink(Sink):
    kind = "csv"

    def __init__(self, path: str) -> None:
        self.where = path
        self.file = _open(path)
        self.writer = csv.DictWriter(self.file, fieldnames=["time_ms", *TAGS, *VALUES], extrasaction="ignore")
        self.writer.writeheader()

    def send(self, batch: Sequence[Record]) -> None:
        for r in batch:
            if r.kind == "second":
                self.writer.writerow(
                    {"time_ms": r.ts_ms, **r.tags, **{k: ("" if v is None else _plain(v)) for k, v in r.values.items()}}
                )
        self.file.flush()

    def finish(self) -> None:
        self.file.close()


class JsonlSink(Sink):
    kind = "jsonl"

    def __init__(self, path: str) -> None:
        self.where = path
        self.file = _open(path)

    def send(self, batch: Sequence[Record]) -> None:
        for r in batch:
            values = {k: _plain(v) if v is not None else None for k, v in r.values.items()}
            self.file.write(json.dumps({"kind": r.kind, "time_ms": r.ts_ms, **r.tags, **values}) + "\n")
        self.file.flush()

    def finish(self) -> None:
        self.file.close()


def _plain(value: float) -> float | int:
    """Counts stay integers in the file (requests 20, not 20.0)."""
    return int(value) if float(value).is_integer() else value
