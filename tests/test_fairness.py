"""Gaps across slices and the group-fairness figures (issue 22): every figure equals a recomputation
done here by hand with numpy, gap gates flip at the known margin, small slices say they are small.
The end-to-end test sends a labelled set to a real server (tests/servers/fixed.py) that answers
the same label to every row, so each slice's accuracy is known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchbox import engine
from benchbox.evaluate.answers import Answer
from benchbox.evaluate.bootstrap import slice_seed
from benchbox.evaluate.data import EvalRow
from benchbox.evaluate.gates import judge, parse_gate
from benchbox.evaluate.model import EvalPlan
from benchbox.evaluate.runner import score
from benchbox.plan import build_plan
from tests.servers.harness import start_server

SEED = 11
B = 1000


def _set() -> tuple[list[EvalRow], list[Answer], dict[str, np.ndarray]]:
    """Three regions: a and b of 80 rows, c of 12 (small); labels yes/no; answers drawn so that
    the regions differ in accuracy, positive rate and true positive rate."""
    rng = np.random.default_rng(7)
    rows, answers, cols = [], [], {"region": [], "y": [], "p": []}
    for region, n, right in (("a", 80, 0.95), ("b", 80, 0.75), ("c", 12, 1.0)):
        for _ in range(n):
            y = "yes" if rng.random() < 0.4 else "no"
            p = y if rng.random() < right else ("no" if y == "yes" else "yes")
            rows.append(EvalRow(line=len(rows) + 2, label=y, body={"x": len(rows)}, slices=(("region", region),)))
            answers.append(Answer(label=p))
            for k, v in (("region", region), ("y", y), ("p", p)):
                cols[k].append(v)
    return rows, answers, {k: np.array(v) for k, v in cols.items()}


def _section(*gates: str, positive: str | None = None):
    rows, answers, cols = _set()
    plan = EvalPlan(path="set.jsonl", slices=("region",), gates=tuple(parse_gate(g) for g in gates), positive=positive)
    return score(rows, answers, plan, "classification", SEED, resamples=B), cols


def test_gap_and_fairness_figures_equal_a_recomputation_by_hand() -> None:
    section, c = _section()
    regions = ("a", "b", "c")
    acc = {r: float(np.mean(c["y"][c["region"] == r] == c["p"][c["region"] == r])) for r in regions}
    rate = {r: float(np.mean(c["p"][c["region"] == r] == "yes")) for r in regions}
    tpr = {r: float(np.mean(c["p"][(c["region"] == r) & (c["y"] == "yes")] == "yes")) for r in regions}
    for metric, per in (("accuracy", acc), ("demographic_parity", rate), ("equal_opportunity", tpr)):
        gap = section.gap("region", metric)
        assert gap is not None and gap.value == pytest.approx(max(per.values()) - min(per.values()), abs=1e-12)
        assert gap.highest == max(per, key=per.get) and gap.lowest == min(per, key=per.get)
        assert {g.value: g.figure for g in gap.groups} == pytest.approx(per)
        assert gap.low is not None and gap.high is not None and gap.low <= gap.value <= gap.high
    assert section.gap("region", "demographic_parity").positive == "yes"  # named like a positive
    # The accuracy gap's interval: each region resampled on its own (its own seed), gap per resample.
    draws = []
    for r in regions:
        right = (c["y"] == c["p"])[c["region"] == r].astype(float)
        idx = np.random.default_rng(slice_seed(SEED, "region", r)).integers(0, right.size, size=(B, right.size))
        draws.append(right[idx].mean(axis=1))
    by_hand = np.percentile(np.max(draws, axis=0) - np.min(draws, axis=0), [2.5, 97.5])
    gap = section.gap("region", "accuracy")
    assert (gap.low, gap.high) == pytest.approx(tuple(by_hand), abs=1e-12)


def test_small_slices_say_so_with_the_rule_of_three() -> None:
    section, c = _section()
    small = next(g for g in section.gap("region", "accuracy").groups if g.value == "c")
    assert small.small and small.rows == 12 and small.figure == 1.0
    assert "rule of three" in small.bound and f"{100 * (1 - 3 / 12):.1f}%" in small.bound
    assert any("small slices" in n and "c (12)" in n for n in section.gap("region", "accuracy").notes)
    assert not next(g for g in section.gap("region", "accuracy").groups if g.value == "a").small


def test_gap_gates_flip_at_the_known_margin_and_say_when_the_interval_straddles() -> None:
    section, _ = _section()
    gap = section.gap("region", "accuracy")
    below = f"slice_gap:region:accuracy<={gap.value + 1e-9!r}"
    above = f"slice_gap:region:accuracy<={gap.value - 1e-9!r}"
    inside = f"slice_gap:region:accuracy<={(gap.value + gap.high) / 2!r}"
    held, broke, straddled = judge(tuple(parse_gate(g) for g in (below, above, inside)), section, "skipped")
    assert held.passed is True and broke.passed is False and straddled.passed is True
    assert held.observed == pytest.approx(gap.value) and held.metric == "evaluation.gaps[region].accuracy"
    assert "straddles" in straddled.detail and "small slices" in straddled.detail
    dp = judge((parse_gate("slice_gap:region:demographic_parity<=100%"),), section, "")[0]
    assert dp.passed is True and dp.name == "eval demographic_parity gap[region]"


def test_a_named_positive_class_is_used_and_a_multiclass_set_needs_one() -> None:
    rows = [
        EvalRow(line=i + 2, label="abc"[i % 3], body={"x": i}, slices=(("region", "xy"[i % 2]),)) for i in range(60)
    ]
    answers = [Answer(label="abc"[(i // 5) % 3]) for i in range(60)]
    plan = EvalPlan(path="set.jsonl", slices=("region",))
    multi = score(rows, answers, plan, "classification", SEED, resamples=200)
    assert multi.gap("region", "demographic_parity") is None and any("--eval-positive" in n for n in multi.notes)
    one = score(
        rows,
        answers,
        EvalPlan(path="set.jsonl", slices=("region",), positive="b"),
        "classification",
        SEED,
        resamples=200,
    )
    share = [np.mean([answers[i].label == "b" for i in range(60) if i % 2 == r]) for r in (0, 1)]
    assert one.gap("region", "demographic_parity").value == pytest.approx(abs(share[0] - share[1]))
    section, c = _section(positive="no")
    gap = section.gap("region", "demographic_parity")
    rate = [float(np.mean(c["p"][c["region"] == r] == "no")) for r in ("a", "b", "c")]
    assert gap.positive == "no" and gap.value == pytest.approx(max(rate) - min(rate))
    missing = _section(positive="maybe")[0]
    assert missing.gap("region", "demographic_parity") is None and any("'maybe'" in n for n in missing.notes)
    result = judge((parse_gate("slice_gap:region:equal_opportunity<=5%"),), missing, "")[0]
    assert result.passed is False and "could not be computed" in result.detail and "maybe" in result.detail


@pytest.mark.parametrize(
    "expr",
    [
        "slice_gap:region:accuracy>=3%",
        "slice_gap:region:log_loss<=1",
        "slice_gap::accuracy<=3%",
        "slice_gap:region:accuracy<=300%",
    ],
)
def test_a_bad_gap_gate_names_itself(benchbox_cli, tmp_path: Path, expr: str) -> None:
    data = tmp_path / "set.jsonl"
    data.write_text('{"input": {"x": 1}, "label": "a", "region": "eu"}\n')
    outcome = benchbox_cli(
        "run",
        "--target",
        "http://127.0.0.1:9/",
        "--eval",
        str(data),
        "--eval-slice",
        "region",
        "--gate",
        expr,
        "--out",
        str(tmp_path),
    )
    assert outcome.code == 2 and outcome.err.count("\n") == 1, outcome.err
    assert f"bad --gate {expr!r}" in outcome.err and "Traceback" not in outcome.err


def test_gap_gates_end_to_end_against_a_real_server(tmp_path: Path) -> None:
    """eu: 48 of 50 rows expect 'a'; us: 40 of 50. The server answers 'a' to all: a 16-point gap."""
    data = tmp_path / "set.jsonl"
    lines = [{"input": {"x": i}, "label": "a" if i < 48 else "b", "region": "eu"} for i in range(50)]
    lines += [{"input": {"x": i}, "label": "a" if i < 40 else "b", "region": "us"} for i in range(50)]
    data.write_text("".join(json.dumps(x) + "\n" for x in lines))
    with start_server("fixed", "--body", '{"label":"a"}') as server:
        plan = build_plan(
            {
                "target": server.url + "/predict",
                "skip": "contract,adversarial,load,saturation",
                "out": str(tmp_path / "out"),
                "seed": "3",
                "eval": str(data),
                "eval_slice": ("region",),
                "gate": ("slice_gap:region:accuracy<=17%", "slice_gap:region:accuracy<=15%"),
            }
        )
        result = engine.run(plan)
    passed, failed = [g for g in result.gates if g.metric == "evaluation.gaps[region].accuracy"]
    assert passed.observed == pytest.approx(48 / 50 - 40 / 50) and passed.passed is True
    assert failed.passed is False and "eu highest, us lowest" in failed.detail
    assert result.verdict == "fail"
    from benchbox.report.checklist import rows

    fairness = next(r for r in rows(result) if r.item == "Fairness or bias checks across slices")
    assert fairness.status == "failed" and "gap[region]" in fairness.why
    files = engine.write_outputs(result, tmp_path / "out")
    page = files.report_html.read_text()
    assert "Gaps across slices" in page and 'aria-label="slice gaps"' in page
    assert "gap" in files.summary_md.read_text()
    # Slice values come from the labelled set: in the gap table, chart note and notes, they stay text.
    import dataclasses

    from benchbox.report import render_all

    xss = "<script>alert(1)</script>"
    rows = [EvalRow(line=i + 2, label="a", body={"x": i}, slices=(("site", xss if i % 2 else "ok"),)) for i in range(8)]
    hostile = score(
        rows,
        [Answer(label="a" if i % 3 else "b") for i in range(8)],
        EvalPlan(path="set.jsonl", slices=("site",)),
        "classification",
        1,
        resamples=100,
    )
    assert hostile.gap("site", "accuracy") is not None
    written = render_all(dataclasses.replace(result, evaluation=hostile), tmp_path / "hostile")
    for path in (written.html, written.markdown, written.junit):
        assert "<script>" not in path.read_text(), path.name


def test_regression_gaps_are_mae_and_rmse_by_hand() -> None:
    rng = np.random.default_rng(3)
    truth = rng.normal(10, 2, 90)
    region = np.array(["n", "s", "w"] * 30)
    noise = np.where(region == "s", 1.5, 0.5)
    guess = truth + rng.normal(0, 1, 90) * noise
    rows = [
        EvalRow(line=i + 2, label=float(t), body={"x": i}, slices=(("region", str(r)),))
        for i, (t, r) in enumerate(zip(truth, region))
    ]
    answers = [Answer(value=float(g)) for g in guess]
    section = score(rows, answers, EvalPlan(path="set.jsonl", slices=("region",)), "regression", SEED, resamples=300)
    err = guess - truth
    mae = {r: float(np.mean(np.abs(err[region == r]))) for r in ("n", "s", "w")}
    rmse = {r: float(np.sqrt(np.mean(err[region == r] ** 2))) for r in ("n", "s", "w")}
    for metric, per in (("mae", mae), ("rmse", rmse)):
        gap = section.gap("region", metric)
        assert gap.value == pytest.approx(max(per.values()) - min(per.values())) and gap.highest == "s"
        assert gap.low <= gap.value <= gap.high
    assert section.gap("region", "demographic_parity") is None
    held = judge((parse_gate(f"slice_gap:region:mae<={section.gap('region', 'mae').value + 1e-9!r}"),), section, "")[0]
    assert held.passed is True and held.unit == ""
