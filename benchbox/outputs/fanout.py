"""A run's live outputs together: an observer that forwards every Event and turns ticks into
records, and the end of the run (whole-phase figures, the verdict, a note per output that lost points).

Runs in the parent, on the observer side: the generator never waits for an output.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from benchbox.events import Event, Observer
from benchbox.outputs import OutputSpec
from benchbox.outputs.points import Record, phase_summary, run_summary, second
from benchbox.outputs.sink import Sender, Sink


def open_sink(spec: OutputSpec) -> Sink:
    from benchbox.outputs import redact_url

    if spec.kind == "csv":
        from benchbox.outputs.files import CsvSink

        return CsvSink(spec.target)
    if spec.kind == "jsonl":
        from benchbox.outputs.files import JsonlSink

        return JsonlSink(spec.target)
    if spec.kind == "prometheus-rw":
        from benchbox.outputs.remote_write import RemoteWriteSink

        return RemoteWriteSink(spec.target, redact_url(spec.target))
    if spec.kind == "otlp":
        from benchbox.outputs.otlp import OtlpSink

        return OtlpSink(spec.target, redact_url(spec.target))
    raise AssertionError(f"unknown output kind {spec.kind!r}")  # parse_output admits only KINDS


class Outputs:
    """Open with the run's specs and tags; wrap the observer; `finish(result)` at the end.
    `by_side`: in a live compare, each side's own tags (label, target), added to its windows' points."""

    def __init__(
        self, specs: Sequence[OutputSpec], tags: dict[str, str], by_side: Mapping[str, Mapping[str, str]] | None = None
    ) -> None:
        self.tags, self.by_side = tags, by_side
        self._last_ms = 0
        self.senders: list[Sender] = []
        self.notes: list[str] = []
        for spec in specs:
            try:
                self.senders.append(Sender(open_sink(spec)))
            except OSError as exc:  # a file that cannot be written: said once, the run goes on
                self.notes.append(f"{spec.kind}: cannot write {spec.target} ({exc.strerror or exc}); nothing sent")

    def observe(self, inner: Observer) -> Observer:
        def observer(event: Event) -> None:
            if event.kind == "tick" and event.data:
                # One timestamp per second, strictly increasing: the phase's last tick can follow the
                # one before it within a millisecond, and a time-series store keeps one sample per
                # series and timestamp (VictoriaMetrics summed 40 of 60 requests).
                self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
                record = second(event.data, self.tags, self._last_ms, self.by_side)
                for sender in self.senders:
                    sender.offer(record)
            inner(event)

        return observer

    def finish(self, result: Any) -> Any:
        """Send the whole-phase figures and the verdict, close every sender, and return the Result
        with a note for each output that dropped points."""
        now = int(time.time() * 1000)
        records = [phase_summary(p, self.tags, now) for p in (result.load.phases if result.load else ())]
        records.append(run_summary(result.verdict, *_gates(result.gates), self.tags, now))
        notes = self.end(records)
        return dataclasses.replace(result, notes=tuple(result.notes) + tuple(notes)) if notes else result

    def finish_compare(self, results: Sequence[Any], comparison: Any) -> list[str]:
        """A live compare's end: each side's whole-load figures, then the comparison's verdict."""
        now = int(time.time() * 1000)
        records = [
            phase_summary(p, self.tags, now, self.by_side, side)
            for side, result in zip(("baseline", "candidate"), results)
            for p in (result.load.phases if result.load else ())
        ]
        records.append(run_summary(comparison.verdict, *_gates(comparison.gates), self.tags, now))
        return self.end(records)

    def end(self, records: Sequence[Record] = ()) -> list[str]:
        """Offer the last records, close every sender (bounded); a sentence per output that lost points."""
        for sender in self.senders:
            for record in records:
                sender.offer(record)
        notes = list(self.notes)
        for sender in self.senders:
            note = sender.close()
            if note:
                notes.append(note)
        self.senders, self.notes = [], []
        return notes


def _gates(gates: Sequence[Any]) -> tuple[int, int]:
    return sum(1 for g in gates if g.passed is True), sum(1 for g in gates if g.passed is False)


def _tags(plan: Any) -> dict[str, str]:
    from benchbox.outputs import redact_url

    return {"label": plan.label, "target": redact_url(plan.target)}


def open_outputs(plan: Any) -> Outputs | None:
    """The plan's outputs, tagged with its run id (the report directory's name), label and target."""
    if not plan.outputs:
        return None
    return Outputs(plan.outputs, {"run_id": plan.out_dir.name, **_tags(plan)})


def open_compare_outputs(baseline: Any, candidate: Any, out_dir: Any) -> Outputs | None:
    """A live compare's outputs (the flags are the same on both sides): one run id, each side's own tags."""
    if not baseline.outputs:
        return None
    return Outputs(
        baseline.outputs, {"run_id": out_dir.name}, by_side={"baseline": _tags(baseline), "candidate": _tags(candidate)}
    )
