"""The evaluation gate: figures equal an independent recomputation, gates flip at the right
threshold, bad files and gates are one-line usage errors naming the line or the expression."""

from __future__ import annotations

import contextlib
import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchbox import engine
from benchbox.demo.launcher import DemoServer
from benchbox.demo.options import DemoOptions
from benchbox.demo.profile import DEMO_EVAL
from benchbox.evaluate import metrics
from benchbox.evaluate.answers import Answer, read_answer
from benchbox.evaluate.data import read_set
from benchbox.evaluate.gates import judge, parse_gate
from benchbox.evaluate.model import EvalPlan
from benchbox.evaluate.runner import score
from benchbox.plan import build_plan
from benchbox.result import load
from tests.servers.harness import start_server

SERVERS = Path(__file__).parent / "servers"

FEATURES = tuple(DEMO_EVAL["eval_input"].split(","))
SKIP = "contract,adversarial,load,saturation"


def _flags(target: str, out: Path, *gates: str) -> dict[str, object]:
    return {
        "target": target,
        "skip": SKIP,
        "out": str(out),
        "seed": "5",
        "eval": DEMO_EVAL["eval"],
        "eval_input": DEMO_EVAL["eval_input"],
        "eval_label": "species",
        "eval_slice": ("region",),
        "gate": gates,
    }


def _served_answers(url: str) -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Every row of the demo set and the server's own answer to it, fetched here, one by one."""
    with open(DEMO_EVAL["eval"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    with httpx.Client(trust_env=False, timeout=10) as client:
        answers = [
            client.post(url, json={"instances": [[float(r[c]) for c in FEATURES]]}).json()["predictions"][0]
            for r in rows
        ]
    return rows, answers


@pytest.fixture(scope="module")
def v1_run(demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval-v1")
    plan = build_plan(_flags(demo_server.predict_url, out, *DEMO_EVAL["gate"]))
    result = engine.run(plan)
    engine.write_outputs(result, out)
    return out, load(out / "result.json"), _served_answers(demo_server.predict_url)


def test_figures_equal_an_independent_recomputation(v1_run) -> None:
    """Plain Python over the server's own answers, no scikit-learn: the result must agree."""
    _, result, (rows, answers) = v1_run
    e = result.evaluation
    assert e is not None and e.rows == len(rows) == 300 and e.answered == 300
    expected = [r["species"] for r in rows]
    predicted = [a["label"] for a in answers]
    n = len(rows)
    accuracy = sum(p == y for p, y in zip(predicted, expected)) / n
    assert e.metric("accuracy").value == pytest.approx(accuracy, abs=1e-12)
    classes = ["setosa", "versicolor", "virginica"]
    assert e.classes == tuple(classes)
    f1s = []
    for i, c in enumerate(classes):
        tp = sum(p == c and y == c for p, y in zip(predicted, expected))
        fp = sum(p == c and y != c for p, y in zip(predicted, expected))
        fn = sum(p != c and y == c for p, y in zip(predicted, expected))
        f1s.append(2 * tp / (2 * tp + fp + fn))
        assert e.per_class[i].f1 == pytest.approx(f1s[-1], abs=1e-12)
        assert e.per_class[i].support == tp + fn
        assert list(e.confusion[i]) == [sum(y == c and p == d for p, y in zip(predicted, expected)) for d in classes]
    assert e.metric("f1_macro").value == pytest.approx(sum(f1s) / 3, abs=1e-12)
    probs = [a["probabilities"] for a in answers]
    loss = -sum(math.log(p[classes.index(y)]) for p, y in zip(probs, expected)) / n
    assert e.metric("log_loss").value == pytest.approx(loss, rel=1e-9)
    # ECE by its definition, bin by bin, bins (m/15, (m+1)/15]
    total = 0.0
    for m in range(15):
        lo, hi = m / 15, (m + 1) / 15
        members = [
            (max(p), classes[p.index(max(p))] == y)
            for p, y in zip(probs, expected)
            if (lo < max(p) <= hi) or (m == 0 and max(p) == 0)
        ]
        if members:
            total += abs(sum(ok for _, ok in members) - sum(c for c, _ in members)) / n
    assert e.metric("ece").value == pytest.approx(total, abs=1e-9)
    for s in e.slices:
        picked = [i for i, r in enumerate(rows) if r["region"] == s.value]
        assert s.rows == len(picked)
        acc = sum(predicted[i] == expected[i] for i in picked) / len(picked)
        assert s.metrics[0].name == "accuracy" and s.metrics[0].value == pytest.approx(acc, abs=1e-12)
    for m in e.metrics:
        assert m.low is not None and m.high is not None and m.low <= m.high
    accuracy_ci = e.metric("accuracy")
    assert accuracy_ci.low <= accuracy_ci.value <= accuracy_ci.high
    assert [o.predicted for o in e.outcomes] == predicted  # every row's answer is kept as evidence
    perfect = [s for s in e.slices if s.metrics[0].value == 1.0]
    for s in perfect:  # a point interval is explained, with the rule-of-three bound
        assert any(
            n.startswith(f"{s.column}={s.value}: all {s.rows} rows right")
            and f"above {100 * (1 - 3 / s.rows):.1f}%" in n
            for n in e.notes
        )


def test_a_kserve_v2_target_gets_tensors_and_named_indices(v1_run, demo_server: DemoServer, tmp_path: Path) -> None:
    """The V2 face answers with class indices: --eval-classes names them, and the figures match the JSON face."""
    flags = {
        **_flags(demo_server.url + "/v2/models/demo/infer", tmp_path),
        "eval_classes": "setosa,versicolor,virginica",
    }
    e = engine.run(build_plan(flags)).evaluation
    json_face = v1_run[1].evaluation
    assert e is not None and e.answered == 300 and e.notes == json_face.notes  # no note about unnamed classes
    assert e.metric("accuracy").value == json_face.metric("accuracy").value
    assert e.confusion == json_face.confusion
    # FP32 on the wire: the same classes, probabilities equal to float32 precision
    assert e.metric("log_loss").value == pytest.approx(json_face.metric("log_loss").value, rel=1e-5)


def test_demo_gates_pass_and_the_report_shows_the_section(v1_run) -> None:
    out, result, _ = v1_run
    evals = [g for g in result.gates if g.metric.startswith("evaluation.")]
    assert [g.passed for g in evals] == [True, True, True] and result.verdict == "pass"
    page = (out / "report.html").read_text()
    assert 'id="evaluation"' in page and 'aria-label="confusion matrix"' in page and "Per slice" in page
    assert 'aria-label="reliability diagram"' in page and 'href="#evaluation"' in page
    assert "Evaluation metrics meet their minimum thresholds" in page
    summary = (out / "summary.md").read_text()
    assert "#### Evaluation" in summary and "| region=apac | 1" in summary
    junit = (out / "junit.xml").read_text()
    assert 'classname="benchbox.evaluation"' in junit and "eval accuracy[region=eu]" in junit


def test_strings_from_the_labelled_set_are_escaped_everywhere(v1_run, tmp_path: Path) -> None:
    import dataclasses

    from benchbox.report import render_all

    _, result, _ = v1_run
    xss = "<script>alert(1)</script>"
    path = tmp_path / "set.jsonl"
    path.write_text(
        "".join(json.dumps({"input": [i, i], "label": xss if i % 2 else "ok", "site": xss}) + "\n" for i in range(6))
    )
    plan = EvalPlan(path=str(path), slices=("site",))
    rows = read_set(path, (), "label", ("site",))
    section = score(rows, [Answer(label="ok", probabilities=(0.4, 0.6)) for _ in rows], plan, "classification", 1)
    files = render_all(dataclasses.replace(result, evaluation=section), tmp_path / "out")
    for written in (files.html, files.markdown, files.junit):
        assert "<script>" not in written.read_text(), written.name


@contextlib.contextmanager
def _degraded(kind: str) -> Iterator[str]:
    """A worse version's predict URL: the demo's own v2, or v1 with a fifth of its answers moved."""
    if kind == "demo-v2":
        with DemoServer(DemoOptions(model_version="v2", concurrency=8)) as server:
            yield server.predict_url
    else:
        with start_server(SERVERS / "degraded_model.py", "--degrade", "0.2") as server:
            yield server.url + "/v1/models/demo/predict"


@pytest.mark.parametrize("kind", ["demo-v2", "degraded-20pct"])
def test_a_degraded_version_fails_accuracy_at_the_right_threshold(kind: str, tmp_path: Path) -> None:
    """The gate flips exactly at the accuracy the version's own answers give, and the demo's gate fails."""
    with _degraded(kind) as url:
        rows, answers = _served_answers(url)
        correct = sum(a["label"] == r["species"] for r, a in zip(rows, answers))
        accuracy = correct / len(rows)
        assert accuracy < 0.9  # degraded: the demo's own gate (accuracy>=0.9) must fail
        plan = build_plan(
            _flags(
                url, tmp_path, f"accuracy>={accuracy!r}", f"accuracy>={(correct + 1) / len(rows)!r}", "accuracy>=0.9"
            )
        )
        result = engine.run(plan)
    held, above, demo_gate = [g for g in result.gates if g.metric == "evaluation.accuracy"]
    assert held.passed is True and held.observed == pytest.approx(accuracy, abs=1e-12)
    assert above.passed is False and demo_gate.passed is False
    assert result.verdict == "fail" and engine.exit_code(result) == 1
    assert "straddles" in above.detail  # one row's difference is well inside the interval


# ---------------------------------------------------------------- bad input: one line, exit 2


@pytest.mark.parametrize(
    "name, text, line",
    [
        ("bad.jsonl", '{"input": {"instances": [[1,2,3,4]]}, "label": "a"}\n{"input": oops}\n', 2),
        ("short.csv", "f1,f2,label\n1,2,a\n3,4\n", 3),
        ("word.csv", "f1,f2,label\n1,2,a\n3,4,b\nx,5,a\n", 4),
        ("nolabel.jsonl", '{"input": [1, 2], "label": "a"}\n\n{"input": [1, 2], "label": null}\n', 3),
    ],
)
def test_a_malformed_eval_file_names_its_line(benchbox_cli, tmp_path: Path, name: str, text: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    extra = ["--eval-input", "f1,f2"] if name.endswith(".csv") else []
    outcome = benchbox_cli(
        "run", "--target", "http://127.0.0.1:9/", "--eval", str(path), *extra, "--out", str(tmp_path / "out")
    )
    assert outcome.code == 2 and "Traceback" not in outcome.err
    message = outcome.err.strip().splitlines()[-1]
    assert message.startswith("benchbox: error: bad --eval") and f"line {line}:" in message and "expected" in message


@pytest.mark.parametrize(
    "expr", ["accuracy>0.9", "acc>=0.9", "accuracy>=1.5", "slice:region:accuracy>=0.9", "slice:site=eu:accuracy>=0.9"]
)
def test_a_bad_gate_names_itself_and_the_form(benchbox_cli, tmp_path: Path, expr: str) -> None:
    outcome = benchbox_cli(
        "run",
        "--target",
        "http://127.0.0.1:9/",
        "--eval",
        DEMO_EVAL["eval"],
        "--eval-input",
        DEMO_EVAL["eval_input"],
        "--eval-label",
        "species",
        "--eval-slice",
        "region",
        "--gate",
        expr,
        "--out",
        str(tmp_path),
    )
    assert outcome.code == 2 and "Traceback" not in outcome.err
    assert f"bad --gate {expr!r}: expected" in outcome.err


def test_gates_parse_into_objects() -> None:
    g = parse_gate("slice:region=eu:accuracy>=85%")
    assert (g.slice_column, g.slice_value, g.metric, g.op, g.threshold) == ("region", "eu", "accuracy", ">=", 0.85)
    assert parse_gate("mae<=2.5").threshold == 2.5 and parse_gate("f1_macro >= 0.85").op == ">="


# ---------------------------------------------------------------- the parts, against independent computations


def test_ece_equals_one_computed_from_sklearn_calibration_curve() -> None:
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(3)
    proba = rng.dirichlet([2.0, 1.0, 1.0], size=400)
    y = np.array([rng.choice(3, p=p) for p in proba])
    conf, correct = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(int)
    frac, mean_conf = calibration_curve(correct, conf, n_bins=15, strategy="uniform")
    counts = np.bincount(np.searchsorted(np.linspace(0, 1 + 1e-8, 16)[1:-1], conf), minlength=15)
    weights = counts[counts > 0] / y.size
    expected = float(np.sum(weights * np.abs(frac - mean_conf)))
    assert metrics.expected_calibration_error(y, proba) == pytest.approx(expected)
    # A perfectly calibrated toy: confidence 0.75, right 3 times in 4.
    toy = np.array([[0.75, 0.25]] * 4)
    assert metrics.expected_calibration_error(np.array([0, 0, 0, 1]), toy) == pytest.approx(0.0)


def test_regression_figures_and_a_body_column(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    lines = [{"input": {"x": i}, "y": 0.5 * i, "site": "a" if i % 2 else "b"} for i in range(40)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    plan = EvalPlan(path=str(path), label="y", slices=("site",))
    rows = read_set(path, (), "y", ("site",), regression=True)
    assert rows[3].body == {"x": 3} and rows[3].label == 1.5
    answers = [read_answer({"predictions": [0.5 * i + (1 if i % 4 == 0 else 0)]}, regression=True) for i in range(40)]
    e = score(rows, answers, plan, "regression", seed=1)
    errors = [1.0 if i % 4 == 0 else 0.0 for i in range(40)]
    assert e.metric("mae").value == pytest.approx(sum(errors) / 40)
    assert e.metric("rmse").value == pytest.approx(math.sqrt(sum(x * x for x in errors) / 40))
    assert e.metric("mae", "site", "b").value == pytest.approx(0.5)  # every even row is in b, every 4th is off by 1
    assert e.worst[0].line in {i + 1 for i in range(0, 40, 4)}


def test_unanswered_rows_count_as_wrong(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i},{'x' if i % 2 else 'y'}\n" for i in range(10)))
    rows = read_set(path, ("a", "b"), "label", ())
    answers = [Answer(error="HTTP 500") if i == 0 else Answer(label=str(r.label)) for i, r in enumerate(rows)]
    e = score(rows, answers, EvalPlan(path=str(path), input_columns=("a", "b")), "classification", seed=1)
    assert e.rows == 10 and e.answered == 9 and e.metric("accuracy").value == pytest.approx(0.9)
    assert any("line 2: HTTP 500" in n for n in e.notes)
    (failed,) = judge((parse_gate("accuracy>=0.95"),), e, "")
    assert failed.passed is False and "straddles" in failed.detail


def test_v2_answers_and_index_labels_are_read() -> None:
    doc = {
        "outputs": [
            {"name": "probabilities", "shape": [1, 3], "datatype": "FP32", "data": [0.1, 0.7, 0.2]},
            {"name": "label", "shape": [1], "datatype": "INT64", "data": [1]},
        ]
    }
    assert read_answer(doc, regression=False) == Answer(index=1, probabilities=(0.1, 0.7, 0.2))
    assert (
        read_answer({"predictions": [{"label": "b", "class_index": 1, "probabilities": [0.2, 0.8]}]}, False).label
        == "b"
    )


def _local_section(version: str, seed: int = 3):
    """The demo set scored on a version's answers computed in-process (versus is pure: no server needed)."""
    from benchbox.demo.model import fit_model

    plan = EvalPlan(path=DEMO_EVAL["eval"], input_columns=FEATURES, label="species", slices=("region",))
    rows = read_set(plan.path, plan.input_columns, plan.label, plan.slices)
    model = fit_model(version)
    proba = model.predict_proba(np.array([r.features for r in rows]))
    answers = [
        Answer(label=model.labels[int(p.argmax())], index=int(p.argmax()), probabilities=tuple(p)) for p in proba
    ]
    return score(rows, answers, plan, "classification", seed)


def test_versus_pairs_the_rows_and_names_who_was_right() -> None:
    from benchbox.evaluate.versus import versus

    v1, v2 = _local_section("v1"), _local_section("v2")
    result = versus(v1, v2, seed=4)
    pairs = list(zip(v1.outcomes, v2.outcomes))
    differ = [(a, b) for a, b in pairs if a.predicted != b.predicted]
    assert len(result.disagreements) == len(differ) > 0
    for d, (a, b) in zip(result.disagreements, differ):
        right = "baseline" if a.predicted == a.expected else "candidate" if b.predicted == b.expected else "neither"
        assert (d.line, d.baseline, d.candidate, d.right) == (a.line, a.predicted, b.predicted, right)
    acc = result.metrics[0]
    assert acc.name == "accuracy"
    assert acc.diff == pytest.approx(v2.metric("accuracy").value - v1.metric("accuracy").value, abs=1e-12)
    assert acc.diff == pytest.approx((result.candidate_only_right - result.baseline_only_right) / result.rows)
    assert acc.low <= acc.diff <= acc.high and acc.significant and acc.better == "baseline"
    assert result.mcnemar_p is not None and result.mcnemar_p < 0.01
    same = versus(v1, _local_section("v1", seed=9), seed=4)
    assert not same.disagreements and same.mcnemar_p is None
    assert all(m.diff == 0 and m.low == 0 and m.high == 0 and not m.significant for m in same.metrics)


def test_benchbox_toml_keys_and_the_recorded_plan(tmp_path: Path) -> None:
    from benchbox.plan import read_config

    (tmp_path / "set.csv").write_text("a,b,y,site\n1,2,x,eu\n3,4,z,us\n")
    config = tmp_path / "benchbox.toml"
    config.write_text(
        'target = "http://127.0.0.1:9/p"\neval = "set.csv"\neval_input = ["a", "b"]\n'
        'eval_label = "y"\neval_slice = ["site"]\n'
        'gate = ["accuracy>=0.9", "slice:site=eu:f1_macro>=80%"]\n'
    )
    plan = build_plan({"gate": ("ece<=0.1",)}, read_config(config))
    e = plan.evaluation
    assert e is not None and e.path == str(tmp_path / "set.csv") and e.input_columns == ("a", "b")
    assert [g.text for g in e.gates] == ["ece<=0.1"]  # flags win over the file, as for every key
    assert plan.redacted()["evaluation"]["gates"] == ["ece<=0.1"]
    (skipped,) = judge(e.gates, None, "not checked: the eval phase was skipped (--skip eval)")
    assert skipped.passed is None and skipped.metric == "evaluation.ece"
