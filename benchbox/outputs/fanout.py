"""A run's live outputs together: an observer that forwards every Event and turns ticks into
records, and the end of the run (whole-phase figures, the verdict, a note per output that lost points).

Runs in the parent, on the observer side: the generator never waits for an output.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from benchbox.events import Event, Observer
from benchbox.outputs import OutputSpec
from benchbox.outputs.points import phase_summary, run_summary, second
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
    raise ValueError(f"output kind {spec.kind!r} is not available in this version")


class Outputs:
    """Open with the run's specs and tags; wrap the observer; `finish(result)` at the end."""

    def __init__(self, specs: Sequence[OutputSpec], tags: dict[str, str]) -> None:
        self.tags = tags
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
                record = second(event.data, self.tags, int(time.time() * 1000))
                for sender in self.senders:
                    sender.offer(record)
            inner(event)

        return observer

    def finish(self, result: Any) -> Any:
        """Send the whole-phase figures and the verdict, close every sender, and return the Result
        with a note for each output that dropped points."""
        now = int(time.time() * 1000)
        records = [phase_summary(p, self.tags, now) for p in (result.load.phases if result.load else ())]
        passed = sum(1 for g in result.gates if g.passed is True)
        failed = sum(1 for g in result.gates if g.passed is False)
        records.append(run_summary(result.verdict, passed, failed, self.tags, now))
        for sender in self.senders:
            for record in records:
                sender.offer(record)
        return self.close(result)

    def close(self, result: Any = None) -> Any:
        notes = list(self.notes)
        for sender in self.senders:
            note = sender.close()
            if note:
                notes.append(note)
        self.senders = []
        if result is None or not notes:
            return result
        return dataclasses.replace(result, notes=tuple(result.notes) + tuple(notes))


def open_outputs(plan: Any, side: str | None = None) -> Outputs | None:
    """The plan's outputs, tagged with its run id (the report directory's name), label and target."""
    if not plan.outputs:
        return None
    from benchbox.outputs import redact_url

    tags = {"run_id": plan.out_dir.name, "label": plan.label, "target": redact_url(plan.target)}
    if side:
        tags["side"] = side
    return Outputs(plan.outputs, tags)
