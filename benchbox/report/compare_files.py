"""Write a comparison: compare.json first (the record), then the three reports read from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchbox.compare.model import Comparison, dumps
from benchbox.report.files import HTML_NAME, JUNIT_NAME, MARKDOWN_NAME, append_step_summary, write_atomic

COMPARE_NAME = "compare.json"


@dataclass(frozen=True)
class CompareFiles:
    document: Path
    html: Path
    markdown: Path
    junit: Path


def write_compare(comparison: Comparison, out_dir: Path) -> CompareFiles:
    from benchbox.report import compare_html, compare_text  # submodules: the renderers, Jinja2 with them

    document = write_atomic(out_dir / COMPARE_NAME, dumps(comparison))
    summary = compare_text.markdown(comparison)
    files = CompareFiles(
        document=document,
        html=write_atomic(out_dir / HTML_NAME, compare_html.render(comparison)),
        markdown=write_atomic(out_dir / MARKDOWN_NAME, summary),
        junit=write_atomic(out_dir / JUNIT_NAME, compare_text.junit(comparison)),
    )
    try:
        append_step_summary(summary)
    except OSError:
        pass  # the files are written; a bad $GITHUB_STEP_SUMMARY must not hide the verdict
    return files
