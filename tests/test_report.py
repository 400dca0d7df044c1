"""The renderers: what a reviewer and a CI job read must be right, escaped, and reproducible."""

from __future__ import annotations

import dataclasses
import functools
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchbox import hdr
from benchbox.contract.model import ContractSection, RuleCount
from benchbox.findings import Finding, FindingResponse, build_finding
from benchbox.report import JUNIT_NAME, MARKDOWN_NAME, ReportFiles, checklist, render_all
from benchbox.report import markdown as md
from benchbox.result import (
    GateResult,
    GeneratorHealth,
    LoadPhase,
    LoadSection,
    Machine,
    NameStats,
    Preflight,
    Probe,
    ProbeOutcome,
    Result,
    Target,
    TimePoint,
    load,
    save,
)
from benchbox.units import format_ms

XSS = "<script>alert(1)</script>"


# ---------------------------------------------------------------- factory


@functools.cache  # phases are frozen, and hdr.summarize takes ~0.3 s
def make_phase(
    *,
    name: str = "steady",
    mode: str = "open",
    seconds: int = 20,
    rate: float = 50.0,
    seed: int = 7,
    error_every: int = 0,
    error_samples: tuple[str, ...] = (),
    limited: bool = False,
    partial: bool = False,
) -> LoadPhase:
    """A phase built the way the recorder builds one: real per-second HDR histograms, merged exactly."""
    rng = random.Random(seed)
    whole, service, lag = hdr.new(), hdr.new(), hdr.new()
    points: list[TimePoint] = []
    requests = errors = 0
    statuses: dict[str, int] = {}
    for t in range(seconds):
        second = hdr.new()
        n = int(rate)
        stall = t == seconds // 2  # one slow second, as a GC pause or a cold cache would give
        errs = 0
        for i in range(n):
            service_us = rng.lognormvariate(9.9, 0.35) * (8 if stall and i % 3 == 0 else 1)
            hdr.record_us(service, service_us)
            hdr.record_us(second, service_us + rng.expovariate(1 / 300))
            hdr.record_us(lag, rng.expovariate(1 / 400))
            failed = bool(error_every) and (requests + i) % error_every == 0
            errs += failed
            code = "503" if failed else "200"
            statuses[code] = statuses.get(code, 0) + 1
        whole.add(second)
        requests += n
        errors += errs
        points.append(
            hdr.with_percentiles(
                TimePoint(t=t, requests=n, errors=errs, max=second.get_max_value() / 1000.0, hdr=hdr.encode(second))
            )
        )
    # A second with no answers at all: the charts must break their lines, not draw zero.
    points.append(TimePoint(t=seconds, requests=0, errors=0))
    elapsed = seconds + 1.0
    responses = requests
    generator = GeneratorHealth(
        cpu_seconds=round(elapsed * (0.95 if limited else 0.21), 4),
        cpu_percent_mean=95.2 if limited else 21.4,
        cpu_percent_max=99.0 if limited else 34.5,
        schedule_lag_ms=hdr.summarize(lag) if mode == "open" else None,
        waited_for_connection=0,
        peak_in_flight=12,
        limited=limited,
        reasons=("generator CPU at 95% of one core",) if limited else (),
    )
    return LoadPhase(
        name=name,
        mode=mode,
        duration_s=float(seconds),
        elapsed_s=elapsed,
        requests=requests,
        responses=responses,
        errors=errors,
        error_rate=errors / requests,
        throughput_rps=round(responses / elapsed, 3),
        status_counts=dict(sorted(statuses.items())),
        errors_by_kind={"http_503": errors} if errors else {},
        generator=generator,
        offered_rps=rate if mode == "open" else None,
        arrival="poisson" if mode == "open" else None,
        users=None if mode == "open" else 8,
        connections=64 if mode == "open" else None,
        latency_ms=hdr.summarize(whole),
        service_ms=hdr.summarize(service) if mode == "open" else None,
        hdr=hdr.encode(whole),
        timeseries=tuple(points),
        error_samples=error_samples,
        partial=partial,
    )


def make_gates(phase: LoadPhase | None) -> tuple[GateResult, ...]:
    if phase is None or phase.latency_ms is None:
        return (
            GateResult("p95", "latency_ms.p95", "<=", 2000.0, "ms", None, None, "not checked: no load phase ran"),
            GateResult("errors", "error_rate", "<=", 0.01, "ratio", None, None, "not checked: no load phase ran"),
        )
    p99 = phase.latency_ms.p99
    return (
        GateResult(
            "p95",
            "latency_ms.p95",
            "<=",
            2000.0,
            "ms",
            phase.latency_ms.p95,
            True,
            f"{format_ms(phase.latency_ms.p95)} within <= 2.00 s",
        ),
        GateResult(
            "p99",
            "latency_ms.p99",
            "<=",
            50.0,
            "ms",
            p99,
            p99 <= 50.0,
            f"{format_ms(p99)} {'within' if p99 <= 50 else 'breaks'} <= 50.0 ms",
        ),
        GateResult(
            "errors",
            "error_rate",
            "<=",
            0.01,
            "ratio",
            phase.error_rate,
            phase.error_rate <= 0.01,
            f"{100 * phase.error_rate:.2f}% vs <= 1.00%",
        ),
        GateResult(
            "min_rps", "throughput_rps", ">=", 10_000.0, "req/s", None, None, "not checked: saturation was skipped"
        ),
    )


def make_result(
    *,
    phases: tuple[LoadPhase, ...] | None = None,
    reachable: bool = True,
    verdict: str | None = None,
    **changes: object,
) -> Result:
    if phases is None:
        phases = (make_phase(),)
    main = phases[-1] if phases else None
    gates = make_gates(main)
    if verdict is None:
        verdict = "fail" if any(g.passed is False for g in gates) else "pass"
    probes = (
        (Probe("/health", 200, 1.2), Probe("/ready", 200, 0.9))
        if reachable
        else (Probe("/health", None, None, "connection refused"),)
    )
    preflight = Preflight(
        reachable=reachable,
        health=ProbeOutcome(
            reachable, "/health" if reachable else None, "200 OK" if reachable else "connection refused", probes[:1]
        ),
        ready=ProbeOutcome(
            True if reachable else None,
            "/ready" if reachable else None,
            "ready" if reachable else "not tried",
            probes[1:],
        ),
        waited_s=0.01 if reachable else 30.0,
        contract_source="openapi: /openapi.json" if reachable else None,
        error=None if reachable else "connection refused at 127.0.0.1:9",
    )
    base = Result(
        benchbox_version="0.1.0",
        started_at="2025-03-01T10:00:00+00:00",
        finished_at="2025-03-01T10:00:42+00:00",
        command="benchbox run --target http://127.0.0.1:8000/v1/predict --rate 50",
        plan={
            "target": "http://127.0.0.1:8000/v1/predict",
            "rate": 50.0,
            "duration_s": 20.0,
            "headers": {"Authorization": "***"},
            "slo": ["p95=2s", "errors=1%"],
        },
        target=Target("http://127.0.0.1:8000/v1/predict", "json", "demo model", "1.4.2"),
        verdict=verdict,
        gates=gates,
        machine=Machine("ci-runner-3", "Linux-6.1-x86_64", "3.11.7", 2, "AMD EPYC 7B13", 7.8),
        seed=1234,
        preflight=preflight,
        load=LoadSection(phases) if phases else None,
        commit="3f9c2ab",
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may itself run under GitHub Actions; test reports must not land on its job page.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(scope="module")
def default_files(tmp_path_factory: pytest.TempPathFactory) -> ReportFiles:
    """make_result() rendered once: a render costs seconds, and several tests only read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        return render_all(make_result(), tmp_path_factory.mktemp("default") / "out")


# ---------------------------------------------------------------- the three files


def test_render_all_writes_three_files_and_nothing_else(default_files: ReportFiles, tmp_path: Path) -> None:
    files = default_files
    out = files.html.parent
    assert files.html == out / "report.html" and out.name == "out"
    assert {p.name for p in out.iterdir()} == {"report.html", "summary.md", "junit.xml"}
    assert files.step_summary is None and files.warnings == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        files.html = tmp_path  # type: ignore[misc]


def test_html_shows_verdict_gates_and_formatted_percentiles(default_files: ReportFiles) -> None:
    result = make_result()
    phase = result.main_phase
    assert phase is not None and phase.latency_ms is not None and phase.service_ms is not None
    page = default_files.html.read_text(encoding="utf-8")
    assert result.verdict == "fail"  # the P99 gate at 50 ms breaks against the stalled second
    assert '<div class="verdict">FAIL</div>' in page
    for gate in result.gates:
        assert f"<strong>{gate.name}</strong>" in page
    assert format_ms(phase.latency_ms.p99) in page
    assert format_ms(phase.service_ms.p99) in page
    assert "the difference is time queued" in page
    assert "open loop at 50 req/s, poisson arrivals" in page
    assert "not checked" in page
    assert page.count('<svg class="plot"') == 3 and "<path" in page
    # Self-contained: nothing fetched, nothing executed; the only references are to ids in the page.
    for needle in ("<script", "<link", "src=", "@import", "<?xml", "<!DOCTYPE svg", "http://www.w3.org/Graphics"):
        assert needle not in page
    assert re.findall(r"url\((?!#)", page) == []
    assert re.findall(r'href="(?!#)', page) == []


def test_everything_from_the_result_is_escaped(tmp_path: Path) -> None:
    phase = make_phase(error_every=10, error_samples=(f"server_error: {XSS}", "timeout: \x1b[31mred\x00"))
    result = make_result(
        phases=(phase,),
        problems=(f"problem {XSS}",),
        target=Target(f"http://x/?q={XSS}", "json", XSS),
        plan={"body": XSS},
        command=f"benchbox run {XSS}",
    )
    result = dataclasses.replace(
        result,
        gates=result.gates
        + (GateResult(XSS, "latency_ms.p50", "<=", 1.0, "ms", 2.0, False, f"detail {XSS} | and\na newline"),),
    )
    files = render_all(result, tmp_path)

    page = files.html.read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x00" not in page and "\x1b" not in page

    summary = files.markdown.read_text(encoding="utf-8")
    # Inside a code span GitHub shows text literally; everywhere else no raw tag may survive.
    assert not re.search(r"(?<!\\)<script", re.sub(r"(`+).*?\1", "", summary))
    assert r"\<script\>alert(1)\</script\>" in summary
    assert r"detail \<script\>alert(1)\</script\> \| and<br>a newline" in summary

    root = ET.parse(files.junit).getroot()  # a control character would make this raise
    messages = [f.get("message") for f in root.iter("failure")]
    assert f"detail {XSS} | and\na newline" in messages


def test_summary_has_verdict_first_and_a_row_per_gate(default_files: ReportFiles) -> None:
    result = make_result()
    summary = default_files.markdown.read_text(encoding="utf-8")
    lines = summary.splitlines()
    assert lines[0].startswith("### ❌ benchbox FAIL: demo model")
    assert "`http://127.0.0.1:8000/v1/predict`" in lines[0]
    start = lines.index("| gate | metric | threshold | observed | result | detail |")
    end = lines.index("", start)
    gate_rows = lines[start + 2 : end]
    assert [row.split(" | ")[0] for row in gate_rows] == [f"| {md.text(g.name)}" for g in result.gates]
    assert "| min\\_rps | `throughput_rps` | ≥ 10,000.0 req/s | n/a | ➖ not checked |" in summary
    # Every table row has as many cells as its header: no stray pipe split a cell.
    header = lines[start]
    for row in gate_rows:
        assert row.count(" | ") == header.count(" | ")
    phase = result.main_phase
    assert phase is not None and phase.latency_ms is not None
    assert format_ms(phase.latency_ms.p99) in summary
    assert "1,000" in summary  # requests, with separators


def test_markdown_code_span_survives_backticks_and_pipes() -> None:
    assert md.code("a`b|c") == r"``a`b\|c``"
    assert md.code("a|b", in_table=False) == "`a|b`"


def test_junit_has_a_case_per_gate_and_right_counts(default_files: ReportFiles) -> None:
    result = make_result()
    root = ET.parse(default_files.junit).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [g.name for g in result.gates]
    assert all(c.get("classname") == "benchbox.gates" for c in cases)
    failed = sum(g.passed is False for g in result.gates)
    assert failed >= 1
    assert len(suite.findall("testcase/failure")) == failed
    assert len(suite.findall("testcase/skipped")) == 1
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        str(len(result.gates)),
        str(failed),
        "0",
        "1",
    )
    assert suite.get("time") == "42.000"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "fail" and props["commit"] == "3f9c2ab"


# ---------------------------------------------------------------- re-rendering and odd runs


def test_report_from_saved_result_is_byte_identical(tmp_path: Path) -> None:
    original = make_result(
        phases=(make_phase(name="warmup", mode="closed", seconds=5), make_phase()),
        contract=make_contract(make_finding()),
    )
    first = render_all(original, tmp_path / "a")
    reloaded = load(save(original, tmp_path / "result.json"))
    second = render_all(reloaded, tmp_path / "b")
    for name in ("html", "markdown", "junit"):
        assert getattr(first, name).read_bytes() == getattr(second, name).read_bytes(), name


def test_partial_interrupted_result_renders_with_notice(tmp_path: Path) -> None:
    phase = make_phase(seconds=6, partial=True, limited=True)
    result = make_result(phases=(phase,), partial=True, interrupted="SIGINT")
    files = render_all(result, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert "interrupted (SIGINT)" in page
    assert "the figures describe the load generator, not the target" in page
    assert "generator CPU at 95% of one core" in page
    summary = files.markdown.read_text(encoding="utf-8")
    assert "Partial result" in summary and "Generator limited" in summary


def test_error_result_without_load_renders(tmp_path: Path) -> None:
    result = make_result(
        phases=(), reachable=False, verdict="error", problems=("target unreachable: connection refused at 127.0.0.1:9",)
    )
    assert result.load is None
    files = render_all(result, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert '<div class="verdict">ERROR</div>' in page and "No load phase ran." in page
    assert "connection refused at 127.0.0.1:9" in page
    summary = files.markdown.read_text(encoding="utf-8")
    assert "ERROR" in summary.splitlines()[0] and "unreachable" in summary

    suite = ET.parse(files.junit).getroot().find("testsuite")
    assert suite is not None
    run = suite.find("testcase[@name='run']")
    assert run is not None and run.get("classname") == "benchbox.run"
    error = run.find("error")
    assert error is not None and error.get("message") == result.problems[0]
    counts = (suite.get("tests"), suite.get("errors"), suite.get("skipped"), suite.get("failures"))
    assert counts == ("3", "1", "2", "0")


def test_phase_with_no_answers_renders(tmp_path: Path) -> None:
    phase = dataclasses.replace(
        make_phase(seconds=2),
        latency_ms=None,
        service_ms=None,
        hdr=None,
        responses=0,
        timeseries=(TimePoint(0, 3, 3), TimePoint(1, 2, 2)),
        status_counts={},
    )
    page = render_all(make_result(phases=(phase,)), tmp_path).html.read_text(encoding="utf-8")
    assert "No request got an answer" in page


def test_long_phase_chart_is_downsampled() -> None:
    from benchbox.report import charts

    points = tuple(TimePoint(t, 100, 0, 10.0, 20.0, 30.0 + (500.0 if t == 1234 else 0.0)) for t in range(3600))
    sampled, size = charts.downsample(points)
    assert len(sampled) <= charts.MAX_POINTS and size == 9
    # The one slow second survives downsampling; counts stay per second.
    assert max(p.p99 for p in sampled if p.p99 is not None) == 530.0
    assert {p.requests for p in sampled} == {100}
    chart = charts.latency_over_time(points, (), "long")
    assert chart is not None and "highest over 9 s" in chart.note
    assert ">530 ms<" not in chart.svg and "<path" in chart.svg


# ---------------------------------------------------------------- GitHub step summary


def test_step_summary_is_appended_not_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = tmp_path / "step_summary.md"
    step.write_text("## earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    files = render_all(make_result(), tmp_path / "out")
    assert files.step_summary == step
    text = step.read_text(encoding="utf-8")
    own = (tmp_path / "out" / MARKDOWN_NAME).read_text(encoding="utf-8")
    assert text == "## earlier step\n" + own
    render_all(make_result(), tmp_path / "out")
    assert step.read_text(encoding="utf-8") == "## earlier step\n" + own + own


def test_unwritable_step_summary_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "missing-dir" / "summary.md"))
    files = render_all(make_result(), tmp_path / "out")
    assert files.step_summary is None and len(files.warnings) == 1
    assert (tmp_path / "out" / JUNIT_NAME).exists()


# ---------------------------------------------------------------- charts and checklist

IMG = "<img src=x onerror=alert(1)>"


def _svgs(page: str) -> list[str]:
    return re.findall(r'<svg class="plot".*?</svg>', page, re.S)


def test_charts_are_deterministic_and_ids_unique(tmp_path: Path) -> None:
    result = make_result(phases=(make_phase(name="warmup", mode="closed", seconds=5), make_phase()))
    first = render_all(result, tmp_path / "a").html.read_bytes()
    assert render_all(result, tmp_path / "b").html.read_bytes() == first
    page = first.decode("utf-8")
    assert len(_svgs(page)) == 6
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # Every reference inside a chart points at an id the page has.
    for ref in re.findall(r'(?:url\(#|href="#)([^)"]+)', page):
        assert ref in ids, ref


def test_same_result_same_bytes_in_a_fresh_interpreter(default_files: ReportFiles, tmp_path: Path) -> None:
    """No hash seed, clock or counter leaks into the page: another process renders the same bytes."""
    import subprocess
    import sys

    result = make_result()
    path = save(result, tmp_path / "result.json")
    here = default_files.html.read_bytes()
    code = (
        "import sys; from pathlib import Path; from benchbox.result import load; "
        "from benchbox.report import render_all;"
        "render_all(load(Path(sys.argv[1])), Path(sys.argv[2]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(tmp_path / "there")],
        check=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONHASHSEED": "12345"},
    )
    assert (tmp_path / "there" / "report.html").read_bytes() == here


def test_percentile_chart_has_hdr_axis_and_gate_markers(tmp_path: Path) -> None:
    from benchbox.report import charts

    curve = [(0.0, 1.0), (50.0, 2.0), (90.0, 3.0), (99.0, 5.0), (99.9, 9.0), (100.0, 12.0)]
    gates = [
        charts.Threshold("P99", 99.0, 6.0, True),
        charts.Threshold("max", 100.0, 10.0, False),
        charts.Threshold("P50", 50.0, 2000.0, True),
    ]
    chart = charts.latency_by_percentile([("latency", curve)], 5000, gates, "dist")
    assert chart is not None
    labels = re.findall(r">([^<>]+)</text>", chart.svg)
    # log10(1/(1-p)): one decade per nine, up to what 5,000 samples resolve.
    assert [t for t in labels if t.endswith("%")] == ["0%", "90%", "99%", "99.9%", "99.99%"]
    assert "P99" in labels and "max" in labels
    assert "gates above the chart: P50 ≤ 2.00 s" in chart.note


def test_stepped_run_gets_a_load_levels_chart(default_files: ReportFiles, tmp_path: Path) -> None:
    steps = tuple(
        make_phase(name=f"step {i}: {r:g} req/s", rate=r, seconds=4, seed=i)
        for i, r in enumerate((20.0, 40.0, 80.0), start=1)
    )
    page = render_all(make_result(phases=steps), tmp_path).html.read_text(encoding="utf-8")
    assert "Throughput and latency against offered load" in page
    assert "<h3>Load levels</h3>" in page and "step 3: 80 req/s" in page
    assert len(_svgs(page)) == 3 * 3 + 1
    single = default_files.html.read_text(encoding="utf-8")
    assert "Load levels" not in single


def test_strings_from_the_result_never_reach_a_chart(tmp_path: Path) -> None:
    phase = dataclasses.replace(
        make_phase(error_every=10, error_samples=(IMG,)), name=f"$x$ {IMG}", by_name={IMG: NameStats(10, 1)}
    )
    result = make_result(phases=(phase,), problems=(IMG,))
    result = dataclasses.replace(
        result, gates=result.gates + (GateResult(IMG, "latency_ms.p50", "<=", 30.0, "ms", 2.0, True, IMG),)
    )
    page = render_all(result, tmp_path).html.read_text(encoding="utf-8")
    for svg in _svgs(page):
        assert "alert" not in svg and "$x$" not in svg and "<img" not in svg
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_unsafe_svg_is_refused() -> None:
    from benchbox.report import plot

    for bad in (
        '<svg viewBox="0 0 1 1"><script>alert(1)</script></svg>',
        '<svg viewBox="0 0 1 1"><g onload="alert(1)"/></svg>',
        '<svg viewBox="0 0 1 1"><use href="http://x/y.svg#a"/></svg>',
    ):
        with pytest.raises(plot.UnsafeSvg):
            plot._clean(bad, "label")


def _rows(result: Result) -> dict[str, checklist.Row]:
    return {row.item: row for row in checklist.rows(result)}


def test_checklist_answers_from_gates_preflight_and_load() -> None:
    rows = _rows(make_result())
    latency = rows["P50, P95 and P99 response times under expected load, against thresholds"]
    assert latency.status == "failed" and "p99" in latency.why and "breaks ≤ 50.0 ms" in latency.why
    assert latency.evidence == "gates"
    assert rows["Error rate within budget (1 % by default)"].status == "passed"
    assert rows["Health checks and readiness probes"].status == "passed"
    assert rows["Latency and throughput validated under load"].status == "passed"
    assert rows["CI gate that blocks a bad version"].status == "failed"
    assert rows["Audit evidence: model version, plan, machine, commit, times"].status == "passed"
    throughput = rows["Throughput over time"]
    assert throughput.status == "not checked" and throughput.why.startswith("saturation was skipped; measured")
    why = rows["Inputs and outputs match the expected shape, type and range"].why
    assert why == "this result has no contract section"
    assert rows["Malformed, adversarial and boundary inputs handled"].why == "this result has no adversarial section"
    assert rows["Known saturation point; capacity against expected load"].why == "this result has no saturation section"
    for item in (
        "Output distribution matches expectations (statistical test)",
        "A/B against the current version with success criteria",
    ):
        assert rows[item].status == "not checked" and "benchbox compare --baseline" in rows[item].why, item
    evaluation = rows["Evaluation metrics meet their minimum thresholds"]
    assert evaluation.status == "not checked" and evaluation.why.startswith("no labelled set given (--eval FILE")
    # Every row says why, and every linked section exists on the page.
    assert all(row.why for row in rows.values())
    assert {row.evidence for row in rows.values()} <= {
        None,
        "gates",
        "preflight",
        "load",
        "evidence",
        "contract",
        "adversarial",
        "saturation",
    }


def test_checklist_says_what_was_skipped_or_cut_short() -> None:
    skipped = make_result(phases=(), plan={"skip": ["load", "saturation", "contract"]})
    rows = _rows(skipped)
    assert rows["Latency and throughput validated under load"].why == "skipped with --skip load"
    assert rows["Known saturation point; capacity against expected load"].why == "skipped with --skip saturation"
    assert rows["Inputs and outputs match the expected shape, type and range"].why == "skipped with --skip contract"
    assert rows["Malformed, adversarial and boundary inputs handled"].why == "this result has no adversarial section"
    down = _rows(make_result(phases=(), reachable=False, verdict="error", problems=("target unreachable",)))
    assert down["Health checks and readiness probes"].status == "failed"
    for item in (
        "Latency and throughput validated under load",
        "Throughput over time",
        "Inputs and outputs match the expected shape, type and range",
    ):
        assert down[item].why == "preflight failed, so no request was sent" and down[item].evidence == "preflight"
    limited = _rows(make_result(phases=(make_phase(limited=True),)))
    row = limited["Latency and throughput validated under load"]
    assert row.status == "not checked" and "generator CPU at 95% of one core" in row.why
    anonymous = make_result(target=Target("http://x/predict", "json", "m"))
    assert _rows(anonymous)["Audit evidence: model version, plan, machine, commit, times"].status == "failed"


def test_checklist_is_near_the_top_with_links(default_files: ReportFiles) -> None:
    page = default_files.html.read_text(encoding="utf-8")
    assert page.index('id="gates"') < page.index('id="checklist"') < page.index('id="preflight"')
    assert '<a href="#gates">gates</a>' in page and '<a href="#evidence">evidence</a>' in page
    # Why it failed, in the header.
    header = page[page.index('<header class="top') : page.index("</header>")]
    assert "p99: " in header and "breaks ≤ 50.0 ms" in header


def make_finding(text: str = "probabilities do not sum to 1", body: str = '{"instances": [[1, 2]]}') -> Finding:
    return build_finding(
        kind="contract_violation",
        severity="high",
        rule="probability_sum",
        message=text,
        method="POST",
        url="http://127.0.0.1:8000/v1/predict",
        headers={"Content-Type": "application/json", "Authorization": "Bearer s3cret-token"},
        body=body,
        status=200,
        content_type="application/json",
        response_body=f'{{"error": "{text}"}}',
        pointer="/predictions/0",
        detail=text,
        minimal=True,
    )


def make_contract(*violations: Finding, skipped: str | None = None, versioned_failed: int = 0) -> ContractSection:
    checks = (
        RuleCount("status", 100, 0),
        RuleCount("probability_sum", 100, len(violations)),
        RuleCount("versioned", 1, versioned_failed),
    )
    return ContractSection(
        source="openapi",
        protocol="json",
        url="http://127.0.0.1:8000/v1/predict",
        method="POST",
        seed=7,
        requests=110,
        cases=100,
        invalid_cases=5,
        passed=not violations,
        violations=violations,
        checks=checks,
        notes=("contract from /openapi.json",),
        elapsed_s=1.5,
        skipped=skipped,
    )


def test_contract_section_and_checklist_rows(tmp_path: Path) -> None:
    passed = _rows(make_result(contract=make_contract()))
    row = passed["Inputs and outputs match the expected shape, type and range"]
    assert row.status == "passed" and row.evidence == "contract" and "no finding" in row.why
    assert passed["Served behind a versioned API endpoint"].status == "passed"

    hostile = make_finding(f"bad answer {IMG}", body=f'{{"text": "{IMG}"}}')
    result = make_result(contract=make_contract(hostile, versioned_failed=1))
    rows = _rows(result)
    row = rows["Inputs and outputs match the expected shape, type and range"]
    assert row.status == "failed" and "1 findings (probability_sum)" in row.why
    assert rows["Served behind a versioned API endpoint"].status == "failed"

    page = render_all(result, tmp_path).html.read_text(encoding="utf-8")
    section = page[page.index('<section id="contract">') : page.index('<section id="evidence">')]
    assert "<img" not in section and "&lt;img src=x onerror=alert(1)&gt;" in section
    assert '<pre class="curl">curl -sS -i -X POST' in section and "s3cret" not in page
    assert "shrunk to a minimal input" in section and "probability_sum" in section
    skipped = render_all(make_result(plan={"skip": ["contract"]}), tmp_path / "s").html.read_text(encoding="utf-8")
    assert "Skipped with --skip contract." in skipped


def test_long_target_text_is_clipped(tmp_path: Path) -> None:
    finding = dataclasses.replace(make_finding(), response=FindingResponse(200, "text/plain", "x" * 5000, False))
    page = render_all(make_result(contract=make_contract(finding)), tmp_path).html.read_text(encoding="utf-8")
    assert "x" * 800 + "… (4,200 more characters in result.json)" in page and "x" * 801 not in page


def test_odd_numbers_in_a_result_do_not_break_the_charts(tmp_path: Path) -> None:
    """A result file is input: NaN, infinity and empty seconds draw gaps, not tracebacks."""
    seconds = (
        TimePoint(0, 10, 0, 1.0, 2.0, 3.0),
        TimePoint(1, 10, 0, float("nan"), float("inf"), float("inf")),
        TimePoint(2, 0, 0),
        TimePoint(3, 10, 10, 1.0, 2.0, 3.0),
    )
    phase = dataclasses.replace(make_phase(seconds=3), timeseries=seconds)
    odd_gate = GateResult("p99", "latency_ms.p99", "<=", float("inf"), "ms", 3.0, True, "odd")
    result = make_result(phases=(phase, dataclasses.replace(phase, offered_rps=float("inf"))))
    page = render_all(dataclasses.replace(result, gates=result.gates + (odd_gate,)), tmp_path).html.read_text("utf-8")
    assert len(_svgs(page)) == 6


def test_junit_has_a_case_per_finding_group(tmp_path: Path) -> None:
    finding = make_finding()
    files = render_all(make_result(contract=make_contract(finding)), tmp_path)
    suite = ET.parse(files.junit).getroot().find("testsuite")
    cases = [c for c in suite.iter("testcase") if c.get("classname") == "benchbox.contract"]
    assert len(cases) == 1 and finding.kind in cases[0].get("name")
    assert (cases[0].find("failure") is not None) == (finding.severity != "low")
    assert int(suite.get("tests")) == len(list(suite.iter("testcase")))
