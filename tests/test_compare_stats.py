"""compare's statistics, gates and shadow judging on recorded data (no server, no load: fast).

The latencies are drawn from a seeded lognormal and recorded into real HDR histograms, one per
second, exactly as the generator writes them into result.json.
"""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from benchbox import hdr
from benchbox.compare import gates as cgates
from benchbox.compare.model import CompareSettings, from_dict
from benchbox.compare.saved import compare_results, differences
from benchbox.compare.shadow import Answer, judge_answers
from benchbox.compare.stats import block_weights, compare_phases
from benchbox.errors import UsageError
from benchbox.result import GeneratorHealth, LoadPhase, LoadSection, Machine, Result, Target, TimePoint

SETTINGS = CompareSettings(resamples=1000, seed=7)


def phase(scale: float = 1.0, seconds: int = 30, rate: int = 200, seed: int = 0, rps: float | None = None) -> LoadPhase:
    """`seconds` of load whose latencies are lognormal around 10 ms times `scale`, with a slow
    second now and then (as a shared machine gives them)."""
    rnd = random.Random(seed)
    total, points = hdr.new(), []
    for t in range(seconds):
        h = hdr.new()
        hiccup = 1.5 if rnd.random() < 0.1 else 1.0
        for _ in range(rate):
            hdr.record_us(h, scale * hiccup * rnd.lognormvariate(9.2, 0.3))
        total.add(h)
        points.append(TimePoint(t=t, requests=rate, errors=0, hdr=hdr.encode(h)))
    return LoadPhase(
        name="steady",
        mode="open",
        duration_s=seconds,
        elapsed_s=float(seconds),
        requests=rate * seconds,
        responses=rate * seconds,
        errors=0,
        error_rate=0.0,
        throughput_rps=float(rate),
        status_counts={"200": rate * seconds},
        errors_by_kind={},
        generator=GeneratorHealth(0.0, 0.0, 0.0),
        offered_rps=rps or float(rate),
        arrival="constant",
        latency_ms=hdr.summarize(total),
        hdr=hdr.encode(total),
        timeseries=tuple(points),
    )


def result(p: LoadPhase, host: str = "box", protocol: str = "json") -> Result:
    return Result(
        benchbox_version="t",
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:00:30+00:00",
        command="run",
        plan={"load": {"rate": p.offered_rps}},
        target=Target("http://x/p", protocol, "x"),
        verdict="pass",
        gates=(),
        machine=Machine(host, "linux", "3.12", 2, "cpu", 4.0),
        seed=1,
        load=LoadSection((p,)),
    )


def verdicts(metrics) -> dict[str, str]:
    return {m.name: m.verdict for m in metrics}


def test_point_estimates_are_the_merged_histograms_percentiles() -> None:
    a = phase(seed=1)
    metrics = {m.name: m for m in compare_phases(a, phase(seed=2), SETTINGS)}
    assert a.latency_ms is not None
    for name in ("p50", "p90", "p95", "p99"):
        assert metrics[name].baseline == pytest.approx(getattr(a.latency_ms, name))
    assert metrics["rps"].baseline == pytest.approx(200.0)


def test_same_distribution_is_no_significant_change_and_a_slower_one_a_regression() -> None:
    base = phase(seed=1)
    same = compare_phases(base, phase(seed=2), SETTINGS)
    assert set(verdicts(same).values()) == {"no significant change"}
    slower = {m.name: m for m in compare_phases(base, phase(scale=1.3, seed=3), SETTINGS)}
    for name in ("p50", "p90", "p95", "p99"):
        m = slower[name]
        assert m.verdict == "regression" and m.significant, m
        assert m.ci_low is not None and m.ci_low > 0 and 0.2 < (m.relative or 0) < 0.4
    faster = compare_phases(phase(scale=1.3, seed=3), base, SETTINGS)
    assert verdicts(faster)["p50"] == "improvement"


def test_a_throughput_drop_is_a_regression() -> None:
    metrics = {m.name: m for m in compare_phases(phase(rate=200, seed=1), phase(rate=150, seed=2), SETTINGS)}
    assert metrics["rps"].verdict == "regression"
    assert metrics["rps"].relative == pytest.approx(-0.25)


def test_a_short_run_is_called_unstable() -> None:
    metrics = {
        m.name: m
        for m in compare_phases(phase(seconds=4, rate=50, seed=1), phase(seconds=4, rate=50, seed=2), SETTINGS)
    }
    assert not metrics["p99"].stable and "too few" in metrics["p99"].note
    assert not metrics["rps"].stable and "too short" in metrics["rps"].note


def test_block_weights_draw_every_resample_to_full_length() -> None:
    weights = block_weights(30, 200, np.random.default_rng(1))
    assert weights.shape == (200, 30)
    assert np.all(weights.sum(axis=1) == 30)
    assert weights.std() > 0  # resamples differ


def test_saved_comparison_warns_about_machine_protocol_and_load() -> None:
    a = result(phase(seed=1), host="box-a", protocol="json")
    b = result(phase(seed=2, rps=400.0), host="box-b", protocol="kserve-v2")
    warnings = " | ".join(differences(a, b))
    assert "different machines" in warnings and "box-a" in warnings
    assert "different protocols" in warnings
    assert "different loads" in warnings and "rate 200 req/s vs 400 req/s" in warnings
    assert differences(a, result(phase(seed=3), host="box-a")) == []


def test_gates_parse_judge_and_round_trip() -> None:
    gates = cgates.parse_gates(["p95=10%", "rps=5%", "p95=20%"], "99%")
    assert [(g.metric, g.limit) for g in gates.regressions] == [("p95", 0.2), ("rps", 0.05)]
    assert gates.agreement is not None and gates.agreement.minimum == pytest.approx(0.99)
    comparison = compare_results(result(phase(seed=1)), result(phase(scale=1.3, seed=3)), SETTINGS, gates)
    by_name = {g.name: g for g in comparison.gates}
    assert by_name["max-regression p95"].passed is False
    assert by_name["max-regression rps"].passed is True
    assert by_name["min-agreement"].passed is None  # saved results hold no answers
    assert comparison.verdict == "fail"
    import json

    from benchbox.compare.model import dumps

    again = from_dict(json.loads(dumps(comparison)))
    assert again.metrics == comparison.metrics and again.gates == comparison.gates


def test_a_change_beyond_the_threshold_that_is_noise_passes() -> None:
    # Five seconds against five with big hiccups: P99 moves a lot, but the interval spans zero.
    gate = cgates.parse_gates(["p99=1%"], None)
    noisy = compare_results(result(phase(seconds=5, seed=11)), result(phase(seconds=5, seed=12)), SETTINGS, gate)
    p99 = noisy.metric("p99")
    assert p99 is not None and not p99.significant
    assert noisy.gates[0].passed is True


def test_without_max_regression_a_significant_regression_fails_and_none_only_reports() -> None:
    """#16 item 7: the defaults a release gate expects; `none` turns them off; saved results
    with no load measured get no default gate to skip."""
    slower = (result(phase(seed=1)), result(phase(scale=1.3, seed=3)))
    defaults = cgates.parse_gates([], None, SETTINGS.min_effect)
    assert [g.metric for g in defaults.regressions] == ["p50", "p95", "p99", "rps", "errors"]
    assert all(g.default for g in defaults.regressions)
    judged = compare_results(*slower, SETTINGS, defaults)
    assert judged.verdict == "fail" and judged.metric("p95").verdict == "regression"
    by_name = {g.name: g for g in judged.gates}
    assert by_name["max-regression p95"].passed is False and "default gate" in by_name["max-regression p95"].detail
    reported = compare_results(*slower, SETTINGS, cgates.parse_gates(["None"], None))
    assert reported.gates == () and reported.verdict == "pass" and reported.metric("p95").verdict == "regression"
    twins = compare_results(result(phase(seed=1)), result(phase(seed=2)), SETTINGS, defaults)
    assert twins.verdict == "pass" and all(g.passed for g in twins.gates)
    with pytest.raises(UsageError, match="bad --max-regression 'none'"):
        cgates.parse_gates(["none", "p95=5%"], None)


@pytest.mark.parametrize("text", ["p95", "p95=10", "p97=10%", "rps=-5%", "p95=ten%", "=5%"])
def test_bad_regression_gates_name_the_value(text: str) -> None:
    with pytest.raises(UsageError) as err:
        cgates.parse_gates([text], None)
    assert err.value.message.startswith(f"bad --max-regression {text!r}: expected KEY=PERCENT")


def _answer(label: str, p: float, version: str = "v1") -> Answer:
    body = {"model_version": version, "predictions": [{"label": label, "probabilities": [p, 1 - p]}]}
    import json

    return Answer(200, json.dumps(body), body)


def test_shadow_agreement_tolerance_ignored_keys_and_listing() -> None:
    bodies = [f'{{"x": {i}}}' for i in range(10)]
    pairs = [(_answer("a", 0.7), _answer("a", 0.7 + 1e-9, version="v2")) for _ in range(8)]
    pairs += [(_answer("a", 0.7), _answer("b", 0.3)), (_answer("a", 0.7), _answer("a", 0.75))]
    section = judge_answers(bodies, pairs, tolerance=1e-6, source="test", headers={})
    assert section.compared == 10 and section.agreed == 8 and section.agreement == pytest.approx(0.8)
    first, second = section.disagreements
    assert first.label_changed and first.input == '{"x": 8}' and "/predictions/0/label" in first.fields
    assert not second.label_changed and second.largest_difference == pytest.approx(0.05)


def test_shadow_flags_moved_class_shares_and_not_equal_ones() -> None:
    rnd = random.Random(3)
    n = 300
    base = ["A" if rnd.random() < 0.6 else "B" for _ in range(n)]
    moved = ["A" if rnd.random() < 0.8 else "B" for _ in range(n)]
    same = ["A" if rnd.random() < 0.6 else "B" for _ in range(n)]
    bodies = [str(i) for i in range(n)]
    shifted = judge_answers(
        bodies,
        [(_answer(a, 0.5), _answer(b, 0.5)) for a, b in zip(base, moved)],
        tolerance=1e-6,
        source="t",
        headers={},
    )
    assert shifted.shifted
    share = next(s for s in shifted.shares if s.path == "/predictions/[]/label")
    assert share.shifted and share.candidate_shares["A"] > share.baseline_shares["A"] + 0.1
    quiet = judge_answers(
        bodies, [(_answer(a, 0.5), _answer(b, 0.5)) for a, b in zip(base, same)], tolerance=1e-6, source="t", headers={}
    )
    assert not quiet.shifted


def test_shadow_keeps_secrets_out_of_listed_inputs() -> None:
    secret = "sk-live-abcdef123456"
    bodies = [f'{{"key": "{secret}", "x": 1}}']
    section = judge_answers(
        bodies,
        [(_answer("a", 0.5), _answer("b", 0.5))],
        tolerance=1e-6,
        source="t",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert secret not in section.disagreements[0].input


def test_scores_shift_by_ks() -> None:
    rnd = random.Random(5)
    n = 200
    pairs = [(_answer("a", rnd.uniform(0.2, 0.6)), _answer("a", rnd.uniform(0.4, 0.8))) for _ in range(n)]
    section = judge_answers([str(i) for i in range(n)], pairs, tolerance=1e-6, source="t", headers={})
    assert any(s.shifted and s.path == "/predictions/[]/probabilities/0" for s in section.scores)


def test_result_fields_default_for_old_documents() -> None:
    point = TimePoint(t=0, requests=1, errors=0)
    assert point.duration_s is None
    assert dataclasses.replace(point, duration_s=0.5).duration_s == 0.5


def test_reports_escape_both_sides_and_show_extra_sections(tmp_path) -> None:
    """Rendered from the compare document alone; a hostile label or answer never becomes markup."""
    from benchbox.report.compare_files import write_compare

    hostile = "<script>alert(1)</script>"
    base = dataclasses.replace(result(phase(seed=1)), target=Target("http://x/p", "json", hostile))
    bodies = ['{"q": "<img src=x onerror=alert(1)>"}']
    shadow = judge_answers(bodies, [(_answer("a", 0.5), _answer(hostile, 0.5))], tolerance=1e-6, source="t", headers={})
    comparison = compare_results(
        base, result(phase(scale=1.3, seed=2)), SETTINGS, cgates.parse_gates(["p50=10%"], "99%"), shadow=shadow
    )
    comparison = dataclasses.replace(comparison, sections={"extra": {"accuracy": [0.91, 0.88], "note": hostile}})
    files = write_compare(comparison, tmp_path)
    page = files.html.read_text()
    assert "<script" not in page and "<img" not in page and "&lt;script&gt;" in page
    assert 'id="section-extra"' in page and "accuracy" in page  # a section with no template of its own
    assert page.count("<svg") >= 4  # distributions, differences, latency and throughput over time
    summary = files.markdown.read_text()
    assert "<script>" not in summary and "section `extra`" in summary and "regression" in summary
    junit = files.junit.read_text()
    assert 'failures="2"' in junit  # p50 regression and shadow agreement below 99%
    assert from_dict(json.loads(files.document.read_text())).sections["extra"]["accuracy"] == [0.91, 0.88]


def test_saved_results_with_evaluations_are_compared_row_by_row() -> None:
    """Issue #11's evaluation sections, when both results have one, land in sections['eval']."""
    from benchbox.demo.model import fit_model
    from benchbox.demo.profile import DEMO_EVAL
    from benchbox.evaluate.answers import Answer as EvalAnswer
    from benchbox.evaluate.data import read_set
    from benchbox.evaluate.model import EvalPlan
    from benchbox.evaluate.runner import score

    plan = EvalPlan(path=DEMO_EVAL["eval"], input_columns=tuple(DEMO_EVAL["eval_input"].split(",")), label="species")
    rows = read_set(plan.path, plan.input_columns, plan.label, plan.slices)

    def section(version: str):
        model = fit_model(version)
        proba = model.predict_proba(np.array([r.features for r in rows]))
        answers = [
            EvalAnswer(label=model.labels[int(p.argmax())], index=int(p.argmax()), probabilities=tuple(p))
            for p in proba
        ]
        return score(rows, answers, plan, "classification", 3)

    base = dataclasses.replace(result(phase(seed=1)), evaluation=section("v1"))
    cand = dataclasses.replace(result(phase(seed=2)), evaluation=section("v2"))
    comparison = compare_results(base, cand, SETTINGS, cgates.CompareGates())
    versus = comparison.sections["eval"]
    assert versus["rows"] == len(rows) and versus["disagreements"]
    assert versus["metrics"][0]["name"] == "accuracy"
    from benchbox.compare.model import dumps

    assert from_dict(json.loads(dumps(comparison))).sections["eval"]["rows"] == len(rows)
    one_sided = compare_results(base, result(phase(seed=2)), SETTINGS, cgates.CompareGates())
    assert "only one result has an evaluation" in " ".join(one_sided.warnings) and not one_sided.sections
