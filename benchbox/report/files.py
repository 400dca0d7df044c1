"""Where reports land, and the two ways they are written: whole files (benchbox.atomic) and the
appended GitHub job summary. Below the package's `__init__` (which imports the renderers) so a
writer such as compare_files can take these names without a back-edge to it."""

from __future__ import annotations

import os
from pathlib import Path

from benchbox.atomic import write_atomic

HTML_NAME = "report.html"
MARKDOWN_NAME = "summary.md"
JUNIT_NAME = "junit.xml"
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

__all__ = ["HTML_NAME", "JUNIT_NAME", "MARKDOWN_NAME", "STEP_SUMMARY_ENV", "append_step_summary", "write_atomic"]


def append_step_summary(markdown: str, environ: dict[str, str] | None = None) -> Path | None:
    """Add the summary to GitHub's job page. Appends: earlier steps' summaries must survive."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
