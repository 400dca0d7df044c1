"""The Python API: `benchbox.run(target=..., rate=50, slo={"p95": "200ms"})` returns the Result.

A third face beside the CLI, over the same engine: keyword names are the option table's names
(benchbox.options), each value is turned into the string the command line would have given, and
the plan is built by the same code (benchbox.profiles.plan_for), so a call passes or fails exactly
as `benchbox run` does on the same options. Bad values raise the CLI's typed errors
(benchbox.errors, one-line messages); nothing is printed and nothing exits. Progress goes to an
optional `observer` callback (benchbox.events.Event).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchbox.errors import UsageError, bad_value
from benchbox.events import Observer

if TYPE_CHECKING:
    from benchbox.compare.model import Comparison
    from benchbox.result import Result

# The command line's own switches that mean nothing to a caller: no console, no dry-run printout.
_CLI_ONLY = frozenset({"quiet", "dry_run"})


def run(*, observer: Observer | None = None, write: bool = True, **options: Any) -> Result:
    """Run the whole pipeline (`benchbox run`) and return the Result; with `write`, also write
    result.json and the reports to `out` (default reports/<time>-<label>/), as the CLI does."""
    return _run("run", options, observer, write)


def smoke(*, observer: Observer | None = None, write: bool = True, **options: Any) -> Result:
    """`benchbox smoke`: the CI profile (a short load, no saturation search), otherwise as run()."""
    return _run("smoke", options, observer, write)


def compare(
    baseline_json: str | Path | None = None,
    candidate_json: str | Path | None = None,
    *,
    observer: Observer | None = None,
    write: bool = True,
    **options: Any,
) -> Comparison:
    """`benchbox compare`: two saved results (paths), or `baseline=URL, candidate=URL` live.
    Returns the Comparison; with `write`, compare.json and its reports go to `out`."""
    from benchbox.compare.options import build_request

    saved = tuple(str(p) for p in (baseline_json, candidate_json) if p is not None)
    request = build_request(saved, flags_for("compare", options))
    if write:
        from benchbox.engine import prepare_out_dir

        prepare_out_dir(request.out_dir)
    if request.saved is not None:
        from benchbox import result as result_io
        from benchbox.compare.saved import compare_results

        base, cand = (result_io.load(p) for p in request.saved)
        comparison = compare_results(
            base, cand, request.settings, request.gates, sources=(str(request.saved[0]), str(request.saved[1]))
        )
    else:
        from benchbox.compare.live import run_live
        from benchbox.events import Event

        assert request.baseline is not None and request.candidate is not None
        watch = observer
        say = (lambda text: watch(Event("note", text))) if watch is not None else (lambda text: None)
        with _signals():
            outcome = run_live(
                request.baseline, request.candidate, request.live, request.settings, request.gates, request.out_dir, say
            )
        comparison = outcome.comparison
    if write:
        from benchbox.report.compare_files import write_compare

        write_compare(comparison, request.out_dir)
    return comparison


def load_result(path: str | Path) -> Result:
    """A saved result.json, checked against its schema (UnknownResultSchema if not one)."""
    from benchbox import result as result_io

    return result_io.load(Path(path))


def render(result: Result, out_dir: str | Path) -> Path:
    """Write result.json, report.html, summary.md and junit.xml for `result` into `out_dir`;
    return the report.html path."""
    from benchbox.engine import prepare_out_dir, write_outputs

    return write_outputs(result, prepare_out_dir(Path(out_dir))).report_html


def flags_for(command: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments -> the flags mapping click would give `command` (strings, tuples for
    repeatable flags, booleans for switches). An unknown name is a UsageError naming close ones."""
    from benchbox.options import for_command

    table = {o.name: o for o in for_command(command) if o.name not in _CLI_ONLY}
    flags: dict[str, Any] = {}
    for name, value in options.items():
        option = table.get(name)
        if option is None:
            close = difflib.get_close_matches(name, table, n=3, cutoff=0.6)
            hint = (
                f"did you mean {', '.join(repr(c) for c in close)}?"
                if close
                else f"expected one of {', '.join(sorted(table))}"
            )
            raise UsageError(f"unknown option {name!r} for benchbox.{command}(): {hint}")
        flags[name] = _raw(option.flag, option.name, option.kind, option.multiple, value)
    return flags


def _raw(flag: str, name: str, kind: str, multiple: bool, value: Any) -> Any:
    """One Python value -> what the command line would have given for it."""
    if value is None:
        return () if multiple else None
    if kind != "value":  # a flag or a --x/--no-x switch
        if not isinstance(value, bool):
            raise bad_value(flag, value, "True or False")
        return value
    if multiple:
        if isinstance(value, Mapping):  # {"p95": "200ms"} / {"X-Team": "ml"}
            joint = ": " if name == "header" else "="
            return tuple(f"{k}{joint}{v}" for k, v in value.items())
        items = [value] if isinstance(value, (str, Path)) else list(value)
        return tuple(_text(flag, item) for item in items)
    if name == "body" and isinstance(value, (Mapping, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, (list, tuple, set, frozenset)):  # skip=["contract", "saturation"], steps=[10, 20]
        return ",".join(_text(flag, item) for item in value)
    return _text(flag, value)


def _text(flag: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Path)):
        raise bad_value(flag, value, "a string or a number")
    return str(value)


def _run(command: str, options: Mapping[str, Any], observer: Observer | None, write: bool) -> Result:
    from benchbox import engine
    from benchbox.profiles import PROFILES, plan_for

    flags = flags_for(command, options)
    config = flags.pop("config", None)
    plan = plan_for(flags, config, PROFILES.get(command))
    if write:
        engine.prepare_out_dir(plan.out_dir)
    with _signals():
        result = engine.run(plan, command=command, observer=observer)
    if write:
        engine.write_outputs(result, plan.out_dir)
    return result


def _signals() -> AbstractContextManager[None]:
    """SIGINT/SIGTERM end the run as a partial Result, as in the CLI (benchbox.interrupts)."""
    from benchbox.interrupts import catching

    return catching()
