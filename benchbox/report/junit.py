"""junit.xml: each gate as a test case, so CI test viewers show which SLO broke.

The shape is pytest's junitxml (JUnit 4 style: <testsuites><testsuite><testcase>), which
Jenkins, GitLab, GitHub test-report actions and Azure DevOps all read. ElementTree does the
escaping; `fmt.clean` drops the few characters XML cannot carry at all.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from benchbox.findings import Finding
from benchbox.report import fmt
from benchbox.result import GateResult, Result

SUITE = "benchbox"


def _time(value: float | None) -> str:
    return f"{value or 0.0:.3f}"


def _gate_case(suite: ET.Element, gate: GateResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.gates", name=fmt.clean(gate.name), time=_time(0.0))
    summary = f"{gate.metric} observed {fmt.in_unit(gate.observed, gate.unit)}, threshold {fmt.threshold(gate)}"
    if gate.passed is False:
        failure = ET.SubElement(case, "failure", message=fmt.clean(gate.detail or summary), type="GateFailed")
        failure.text = fmt.clean(f"{summary}\n{gate.detail}")
    elif gate.passed is None:
        ET.SubElement(case, "skipped", message=fmt.clean(gate.detail or "not checked"), type="GateNotChecked")
    else:
        # Passing cases still say what was measured: a CI viewer shows system-out beside the case.
        ET.SubElement(case, "system-out").text = fmt.clean(f"{summary}\n{gate.detail}")


def _finding_groups(result: Result) -> list[tuple[str, Finding]]:
    """(phase, finding) for every grouped finding of the contract and adversarial phases."""
    groups: list[tuple[str, Finding]] = []
    if result.contract is not None:
        groups += [("contract", f) for f in result.contract.violations]
    if result.adversarial is not None:
        groups += [("adversarial", f) for f in result.adversarial.findings]
    return groups


def _finding_case(suite: ET.Element, phase: str, f: Finding) -> bool:
    """One test case per finding group; low severity is advice (passes, with the detail). True: failed."""
    where = f" at {f.pointer}" if f.pointer else ""
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"{SUITE}.{phase}",
        time=_time(0.0),
        name=fmt.clean(f"{f.kind}: {f.rule}{where}" + (f" (x{f.count})" if f.count > 1 else "")),
    )
    text = fmt.clean(f"{f.message}\n{f.detail}\nreproduce: {f.curl}")
    if f.severity == "low":
        ET.SubElement(case, "system-out").text = text
        return False
    failure = ET.SubElement(case, "failure", message=fmt.clean(f.message), type=fmt.clean(f.kind))
    failure.text = text
    return True


def _evaluation_case(suite: ET.Element, result: Result) -> None:
    """The evaluation's figures, overall and per slice, beside the gates that judge them."""
    from benchbox.report.evaluation import junit_summary

    assert result.evaluation is not None
    case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.evaluation", name="evaluation", time=_time(0.0))
    ET.SubElement(case, "system-out").text = fmt.clean(junit_summary(result.evaluation))


def _properties(suite: ET.Element, result: Result) -> None:
    props = ET.SubElement(suite, "properties")
    pairs = [
        ("verdict", result.verdict),
        ("target", result.target.url),
        ("label", result.target.label),
        ("benchbox_version", result.benchbox_version),
        ("seed", str(result.seed)),
    ]
    if result.commit:
        pairs.append(("commit", result.commit))
    if result.interrupted:
        pairs.append(("interrupted", result.interrupted))
    for name, value in pairs:
        ET.SubElement(props, "property", name=name, value=fmt.clean(value))


def render(result: Result) -> str:
    """The document as text (UTF-8, with an XML declaration), ending in a newline."""
    gates = result.gates
    findings = _finding_groups(result)
    run_error = result.verdict == "error"
    failures = sum(g.passed is False for g in gates) + sum(f.severity != "low" for _, f in findings)
    skipped = sum(g.passed is None for g in gates)
    errors = 1 if run_error else 0
    tests = len(gates) + len(findings) + errors + (result.evaluation is not None)
    elapsed = _time(fmt.run_seconds(result))
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": str(skipped)}

    root = ET.Element("testsuites", {"name": SUITE, **counts, "time": elapsed})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": SUITE,
            **counts,
            "time": elapsed,
            "timestamp": fmt.clean(result.started_at),
            "hostname": fmt.clean(result.machine.hostname),
        },
    )
    _properties(suite, result)
    for gate in gates:
        _gate_case(suite, gate)
    for phase, finding in findings:
        _finding_case(suite, phase, finding)
    if result.evaluation is not None:
        _evaluation_case(suite, result)
    if run_error:
        case = ET.SubElement(suite, "testcase", classname=f"{SUITE}.run", name="run", time=elapsed)
        problems = list(result.problems) or ["the run ended in error"]
        error = ET.SubElement(case, "error", message=fmt.clean(problems[0]), type="RunError")
        error.text = fmt.clean("\n".join(problems))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n{body}\n'
