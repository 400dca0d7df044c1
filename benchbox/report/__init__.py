"""Renderers: a Result in, report.html, summary.md and junit.xml out.

They read a Result only, never live objects, so `benchbox report result.json` renders the same
files later. The renderer modules (and Jinja2 with them) are imported inside `render_all`, so
importing this package, as the CLI does, costs nothing until a report is actually written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchbox.report.files import (
    HTML_NAME,
    JUNIT_NAME,
    MARKDOWN_NAME,
    STEP_SUMMARY_ENV,
    append_step_summary,
    write_atomic,
)
from benchbox.result import Result


@dataclass(frozen=True)
class ReportFiles:
    """Where the report landed. `warnings` are for the user: the files themselves were written."""

    html: Path
    markdown: Path
    junit: Path
    step_summary: Path | None = None
    warnings: tuple[str, ...] = ()


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
        warning = (
            f"could not append to ${STEP_SUMMARY_ENV} ({os.environ.get(STEP_SUMMARY_ENV)!r}): {exc.strerror or exc}"
        )
        return ReportFiles(files.html, files.markdown, files.junit, None, (warning,))
    return ReportFiles(files.html, files.markdown, files.junit, step_summary)


__all__ = [
    "HTML_NAME",
    "JUNIT_NAME",
    "MARKDOWN_NAME",
    "ReportFiles",
    "append_step_summary",
    "render_all",
    "write_atomic",
]
