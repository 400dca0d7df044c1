"""summary.md: the verdict and key figures for a CI job page (GitHub's step summary, a PR comment).

GitHub-flavoured Markdown, short enough to read at a glance; the HTML report has the rest.
Every string from the result is escaped, because GitHub renders inline HTML and a target's
error text must never become markup on the job page.
"""

from __future__ import annotations

import re

from benchbox.report import fmt
from benchbox.result import LoadPhase, Result

_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️"}
# Backslash-escaping ASCII punctuation is always literal in CommonMark; these are the ones that
# would otherwise start markup (emphasis, links, code, HTML, table cells).
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~!])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def text(value: object) -> str:
    """Inline text: markup characters escaped, line breaks kept as <br> so a table row stays one line."""
    escaped = _SPECIAL.sub(r"\\\1", fmt.clean(value))
    return _NEWLINES.sub("<br>", escaped)


def code(value: object, *, in_table: bool = True) -> str:
    """An inline code span; the fence is longer than any backtick run inside, as CommonMark asks."""
    raw = _NEWLINES.sub(" ", fmt.clean(value))
    longest = max((len(m) for m in re.findall(r"`+", raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    # A pipe ends a table cell even inside a code span (GFM), so it is escaped there too.
    if in_table:
        raw = raw.replace("|", "\\|")
    return f"{fence}{pad}{raw}{pad}{fence}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _gates(result: Result) -> list[str]:
    if not result.gates:
        return ["No gates were set for this run."]
    lines = [
        _row(["gate", "metric", "threshold", "observed", "result", "detail"]),
        _row(["---", "---", "---:", "---:", "---", "---"]),
    ]
    for g in result.gates:
        status = fmt.gate_status(g.passed)
        shown = {"pass": "✅ pass", "fail": "❌ **fail**", "not checked": "➖ not checked"}[status]
        lines.append(
            _row(
                [
                    text(g.name),
                    code(g.metric),
                    text(fmt.threshold(g)),
                    text(fmt.in_unit(g.observed, g.unit)),
                    shown,
                    text(g.detail),
                ]
            )
        )
    return lines


def _phases(phases: tuple[LoadPhase, ...]) -> list[str]:
    lines = [
        _row(["phase", "mode", "requests", "throughput", "P50", "P95", "P99", "errors"]),
        _row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ]
    for p in phases:
        lat = p.latency_ms
        percentiles = [fmt.in_unit(getattr(lat, q), "ms") if lat else "n/a" for q in ("p50", "p95", "p99")]
        name = text(p.name) + (" (partial)" if p.partial else "")
        lines.append(
            _row(
                [
                    name,
                    text(fmt.mode(p)),
                    fmt.count(p.requests),
                    fmt.rps(p.throughput_rps),
                    *percentiles,
                    text(fmt.percent(p.error_rate)),
                ]
            )
        )
    return lines


def _llm(phases: tuple[LoadPhase, ...]) -> list[str]:
    """LLM targets: TTFT, inter-token latency, tokens/s and goodput per phase."""
    rows = [p for p in phases if p.llm is not None and p.llm.api != "embeddings"]
    if not rows:
        return _embeddings(phases)
    lines = [
        _row(["phase", "TTFT P50", "TTFT P95", "ITL P50", "ITL P95", "output tokens/s", "goodput"]),
        _row(["---", "---:", "---:", "---:", "---:", "---:", "---:"]),
    ]
    for p in rows:
        s = p.llm
        assert s is not None

        def ms(summary: object, attr: str) -> str:
            return fmt.in_unit(getattr(summary, attr), "ms") if summary is not None else "n/a"

        lines.append(
            _row(
                [
                    text(p.name),
                    ms(s.ttft_ms, "p50"),
                    ms(s.ttft_ms, "p95"),
                    ms(s.itl_ms, "p50"),
                    ms(s.itl_ms, "p95"),
                    f"{s.output_tokens_per_s:,.1f}",
                    text(fmt.percent(s.goodput)) if s.goodput is not None else "n/a",
                ]
            )
        )
    return lines + [""]


def _embeddings(phases: tuple[LoadPhase, ...]) -> list[str]:
    """Embeddings targets: inputs/s and prompt tokens/s beside end-to-end latency."""
    rows = [p for p in phases if p.llm is not None and p.llm.api == "embeddings"]
    if not rows:
        return []
    lines = [
        _row(["phase", "inputs/s", "prompt tokens/s", "E2E P50", "E2E P95"]),
        _row(["---", "---:", "---:", "---:", "---:"]),
    ]
    for p in rows:
        s = p.llm
        assert s is not None
        e2e = s.e2e_ms
        lines.append(
            _row(
                [
                    text(p.name),
                    f"{s.inputs_per_s or 0:,.1f}",
                    f"{s.prompt_tokens_per_s or 0:,.1f}",
                    fmt.in_unit(e2e.p50, "ms") if e2e else "n/a",
                    fmt.in_unit(e2e.p95, "ms") if e2e else "n/a",
                ]
            )
        )
    return lines + [""]


def render(result: Result) -> str:
    """The summary as text, ending in a newline."""
    label = fmt.verdict_label(result.verdict)
    out = [
        f"### {_ICON.get(result.verdict, '')} benchbox {label}: {text(result.target.label)} "
        f"({code(result.target.url, in_table=False)})",
        "",
    ]
    notice = fmt.partial_notice(result)
    if notice:
        out += [f"> ⚠️ **{text(notice)}**", ""]
    for p in fmt.limited_phases(result):
        reasons = "; ".join(p.generator.reasons)
        out += [f"> ⚠️ **Generator limited in phase {text(p.name)}**: {fmt.LIMITED_WARNING} ({text(reasons)}).", ""]
    if result.notes:
        out += ["**Brakes**", ""] + [f"- {text(note)}" for note in result.notes] + [""]
    if result.problems:
        out += ["**Problems**", ""] + [f"- {text(problem)}" for problem in result.problems] + [""]
    if result.cost is not None and result.cost.statement:
        out += [f"**Cost**: {text(result.cost.statement)}", ""]
    if result.cost is not None and result.cost.sizing is not None:
        out += [f"**Expected load**: {text(result.cost.sizing.statement)}", ""]
    out += ["#### Gates", ""] + _gates(result) + [""]
    if result.load and result.load.phases:
        out += ["#### Load", ""] + _phases(result.load.phases) + [""]
        out += _llm(result.load.phases)
        from benchbox.report.traffic import markdown_lines as traffic_lines

        out += traffic_lines(result.load.phases, text, _row)
    elif result.preflight and not result.preflight.reachable:
        why = result.preflight.error or "the target did not answer"
        out += [f"No load ran: the target was unreachable ({text(why)}).", ""]
    if result.evaluation is not None:
        from benchbox.report.evaluation import markdown_lines

        out += markdown_lines(result.evaluation, text, _row)
    out.append(
        f"<sub>benchbox {text(result.benchbox_version)} · seed {result.seed}"
        + (f" · commit {code(result.commit, in_table=False)}" if result.commit else "")
        + f" · {text(result.started_at)}</sub>"
    )
    return "\n".join(out) + "\n"
