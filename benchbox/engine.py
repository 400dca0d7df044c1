"""The engine's face to the CLI: run a Plan, decide the exit code, write the outputs.

The pipeline itself (stages, the engine that drives them, the result assembler) is in
benchbox.pipeline. The engine never prints and never exits: it reports progress through an
observer callback and returns a Result, also when the target dies, the generator fails or the run
is interrupted (then the Result is marked partial and says why). The CLI decides what to print
and which exit code that Result means.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchbox import pipeline
from benchbox.adapters import describe  # noqa: F401 - re-exported: how a phase is said
from benchbox.errors import ExitCode, UsageError
from benchbox.events import Event, Observer  # noqa: F401 - re-exported for callers of engine.run
from benchbox.plan import Plan
from benchbox.result import Result, save


def run(plan: Plan, command: str = "run", observer: Observer | None = None) -> Result:
    """Run every stage the plan asks for (benchbox.pipeline) and return the Result."""
    return pipeline.run(plan, command, observer)


def exit_code(result: Result) -> ExitCode:
    """DESIGN.md's exit codes, decided from the Result alone (Result.exit_code)."""
    return result.exit_code


def prepare_out_dir(out_dir: Path) -> Path:
    """Fail before the run, not after it, when the results could not be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".benchbox-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"bad --out {str(out_dir)!r}: expected a writable directory ({exc.strerror or exc})") from None
    return out_dir


def check_out_dir(out_dir: Path) -> None:
    """prepare_out_dir's check without creating anything (for --dry-run): the directory, or its
    nearest existing parent, must be a writable directory."""
    import os

    probe = out_dir
    try:
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        usable = probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)
        why = f"{str(probe)!r} is not a writable directory"
    except OSError as exc:  # a name too long for the file system, say
        usable, why = False, exc.strerror or str(exc)
    if not usable:
        raise UsageError(f"bad --out {str(out_dir)[:200]!r}: expected a writable directory ({why})")


@dataclass(frozen=True)
class Written:
    result_json: Path
    report_html: Path
    summary_md: Path
    junit_xml: Path
    warnings: tuple[str, ...] = ()


def write_outputs(result: Result, out_dir: Path) -> Written:
    """result.json first (the record), then every renderer reads only it."""
    from benchbox.report import render_all

    path = save(result, out_dir / "result.json")
    files = render_all(result, out_dir)
    return Written(
        result_json=path,
        report_html=files.html,
        summary_md=files.markdown,
        junit_xml=files.junit,
        warnings=files.warnings,
    )
