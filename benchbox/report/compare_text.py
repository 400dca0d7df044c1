"""compare's summary.md and junit.xml, from the compare document alone.

Markdown escapes every string from either side (report/markdown.py's helpers); JUnit gets one
test case per gate, as a run's junit.xml does, plus one per metric that regressed, so a CI test
viewer shows what moved even when no gate was set for it (those pass: they are information).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from benchbox.compare.model import Comparison
from benchbox.report import fmt
from benchbox.report.compare_html import headline, metric_label, show_change, show_ci, show_value
from benchbox.report.evaluation import versus_rows
from benchbox.report.junit import _gate_case
from benchbox.report.markdown import code, text

_ICON = {"pass": "✅", "fail": "❌", "error": "⚠️"}
SUITE = "benchbox.compare"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(c: Comparison) -> str:
    lines = [
        f"## {_ICON.get(c.verdict, '')} benchbox compare: {c.verdict.upper()} — "
        f"{text(c.baseline.label)} → {text(c.candidate.label)}",
        "",
    ]
    lines += [f"- {text(line)}" for line in headline(c)]
    lines += [f"- ⚠️ {text(w)}" for w in c.warnings]
    lines += [f"- problem: {text(p)}" for p in c.problems]
    lines += [
        "",
        _row(
            ["metric", "baseline", "candidate", "difference", f"{100 * c.settings.confidence:g}% interval", "verdict"]
        ),
        _row(["---", "---:", "---:", "---:", "---:", "---"]),
    ]
    for m in c.metrics:
        verdict = m.verdict + ("" if m.stable else " (unstable)")
        lines.append(
            _row(
                [
                    metric_label(m.name),
                    show_value(m, m.baseline),
                    show_value(m, m.candidate),
                    show_change(m),
                    show_ci(m),
                    text(verdict),
                ]
            )
        )
    if c.gates:
        lines += ["", _row(["gate", "result", "detail"]), _row(["---", "---", "---"])]
        lines += [_row([text(g.name), fmt.gate_status(g.passed), text(g.detail)]) for g in c.gates]
    s = c.shadow
    if s is not None:
        lines += [
            "",
            f"**Shadow**: {fmt.percent(s.agreement)} of {s.compared} answers agree"
            + ("; **output distribution shifted**" if s.shifted else "; no distribution shift detected"),
        ]
        for sh in s.shares:
            if sh.shifted:
                moved = ", ".join(
                    f"{text(k)} {fmt.percent(v)} → {fmt.percent(sh.candidate_shares.get(k))}"
                    for k, v in sh.baseline_shares.items()
                )
                lines.append(f"- {code(sh.path, in_table=False)}: {moved} (p {sh.p_value:.3g})")
        for d in s.disagreements[:5]:
            lines.append(
                f"- differs at {', '.join(code(f, in_table=False) for f in d.fields[:3])} for input "
                f"{code(fmt.clip(d.input, 200), in_table=False)}"
            )
    # Extra comparison sections (Comparison.sections, e.g. an evaluation) bring their gates above;
    # here they are named, and report.html shows their content.
    if "eval" in c.sections:
        found = c.sections["eval"]
        lines += [
            "",
            f"**Evaluation** on {found['rows']} labelled rows (candidate − baseline, paired bootstrap; "
            f"the baseline alone right on {found['baseline_only_right']}, the candidate alone on "
            f"{found['candidate_only_right']})",
            "",
            _row(["metric", "baseline", "candidate", "difference", "interval", "better"]),
            _row(["---", "---:", "---:", "---:", "---:", "---"]),
        ]
        lines += [_row([r.name, r.baseline, r.candidate, r.diff, r.interval, r.better]) for r in versus_rows(found)]
    lines += [
        f"- section {code(key, in_table=False)}: see report.html" for key in c.sections if key not in ("eval", "cost")
    ]
    return "\n".join(lines) + "\n"


def junit(c: Comparison) -> str:
    failures = sum(g.passed is False for g in c.gates)
    regressions = [m for m in c.metrics if m.verdict == "regression"]
    errors = 1 if c.verdict == "error" else 0
    tests = len(c.gates) + len(regressions) + errors
    counts = {
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(sum(g.passed is None for g in c.gates)),
    }
    root = ET.Element("testsuites", {"name": SUITE, **counts, "time": "0.000"})
    suite = ET.SubElement(
        root, "testsuite", {"name": SUITE, **counts, "time": "0.000", "timestamp": fmt.clean(c.created_at)}
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", c.verdict),
        ("baseline", c.baseline.url),
        ("candidate", c.candidate.url),
        ("mode", c.mode),
    ):
        ET.SubElement(props, "property", name=name, value=fmt.clean(value))
    for gate in c.gates:
        _gate_case(suite, gate)
    for m in regressions:
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.metrics", name=f"{m.name} regression", time="0.000")
        ET.SubElement(case, "system-out").text = fmt.clean(
            f"{metric_label(m.name)}: {show_value(m, m.baseline)} -> {show_value(m, m.candidate)}, "
            f"{show_change(m)}, interval {show_ci(m)} (no gate set for it)"
        )
    if errors:
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.run", name="compare", time="0.000")
        ET.SubElement(case, "error", message=fmt.clean(c.problems[0] if c.problems else "error"), type="CompareError")
    ET.indent(root)
    return f'<?xml version="1.0" encoding="utf-8"?>\n{ET.tostring(root, encoding="unicode")}\n'
