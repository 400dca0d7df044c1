"""Renderers: a Result in, report.html, summary.md and junit.xml out.

They read a Result only, never live objects, so `benchbox report result.json` renders the same
files later. The renderer modules (and Jinja2 with them) are imported inside `render_all`, so
importing this package, as the CLI does, costs nothing until a report is actually written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchbox.result import Result

HTML_NAME = "report.html"
MARKDOWN_NAME = "summary.md"
JUNIT_NAME = "junit.xml"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


@dataclass(frozen=True)
class ReportFiles:
    """Where the report landed. `warnings` are for the user: the files themselves were written."""

    html: Path
    markdown: Path
    junit: Path
    step_summary: Path | None = None
    warnings: tuple[str, ...] = ()


def write_atomic(path: Path, text: str) -> Path:
    """Temp file + rename: a CI artifact upload or a browser never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # Bytes, not text mode: the same Result gives the same bytes on every platform.
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the report from a web server or a colleague
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def append_step_summary(markdown: str, environ: dict[str, str] | None = None) -> Path | None:
    """Add the summary to GitHub's job page. Appends: earlier steps' summaries must survive."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path


def render_all(result: Result, out_dir: Path) -> ReportFiles:
    """Write the three report files into out_dir, and the summary to $GITHUB_STEP_SUMMARY if set."""
    from benchbox.report import html, junit, markdown

    out_dir = Path(out_dir)
    summary = markdown.render(result)
    files = ReportFiles(
        html=write_atomic(out_dir / HTML_NAME, html.render(result)),
        markdown=write_atomic(out_dir / MARKDOWN_NAME, summary),
        junit=write_atomic(out_dir / JUNIT_NAME, junit.render(result)),
    )
    try:
        step_summary = append_step_summary(summary)
    except OSError as exc:
        # The report itself is written; a bad step-summary path must not turn a verdict into a crash.
        warning = f"could not append to ${STEP_SUMMARY_ENV} ({os.environ.get(STEP_SUMMARY_ENV)!r}): {exc.strerror or exc}"
        return ReportFiles(files.html, files.markdown, files.junit, None, (warning,))
    return ReportFiles(files.html, files.markdown, files.junit, step_summary)


__all__ = ["ReportFiles", "render_all", "write_atomic", "append_step_summary",
           "HTML_NAME", "MARKDOWN_NAME", "JUNIT_NAME"]
