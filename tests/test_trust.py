"""Defects that hide from one-request-at-a-time judging (issue 15), against tests/servers/hidden_defects.py:
one slow kind of input, a slow batch size the schema allows, a sibling route without auth, a label
that contradicts its own scores, two faces of one model that disagree. Each is found by a plain
`benchbox run` with a curl line that hits the defect again; the clean twin gives no finding and
exit 0; an echo endpoint whose document asks for no body is no false alarm.

No timed assertion: a replayed slow input is shown to hit the defect by the server's own count of
answers it made slow on purpose (GET /__stats), not by a stopwatch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from benchbox.adversarial import AdversarialOptions, run_adversarial
from benchbox.contract import ContractOptions, discover, run_contract
from benchbox.contract.edges import sizes
from benchbox.contract.invariants import check_consistency
from benchbox.contract.model import SlowRule
from benchbox.contract.shrink import BatchView
from benchbox.contract.slow import investigate
from tests.servers.harness import start_server

KEY = "trust-test-key-7"
PREDICT = "/v1/models/faulty/predict"
FAST_RUN = (
    "--skip",
    "load,saturation",
    "--adversarial-budget",
    "10s",
    "--contract-cases",
    "20",
    "--slow-input",
    "4x,300ms",
    "--seed",
    "1",
    "-q",
)


def _findings(out: Path) -> list[dict[str, Any]]:
    doc = json.loads((out / "result.json").read_text())
    return [*(doc["contract"] or {}).get("violations", []), *(doc["adversarial"] or {}).get("findings", [])]


def _replay(curl: str) -> str:
    env = dict(os.environ, BENCHBOX_API_KEY=KEY, TRUST_KEY=KEY)
    for proxy in ("http_proxy", "HTTP_PROXY"):
        env.pop(proxy, None)
    return subprocess.run(
        ["bash", "-c", curl + " --max-time 5"], check=False, capture_output=True, text=True, env=env, timeout=15
    ).stdout


def _slow_count(url: str) -> int:
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/__stats", timeout=5) as r:
        return int(json.loads(r.read())["slow"])


def test_four_hidden_defects_found_with_curl_lines_and_exit_1(
    benchbox_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUST_KEY", KEY)
    defects = "slow-input,slow-batch,open-route,contradiction"
    with start_server("hidden_defects", "--defect", defects, "--key-env", "TRUST_KEY") as srv:
        got = benchbox_cli(
            "run", "--target", srv.url + PREDICT, "--api-key-env", "TRUST_KEY", "--out", str(tmp_path), *FAST_RUN
        )
        assert got.code == 1, got.out + got.err
        found = _findings(tmp_path)
        assert KEY not in json.dumps(found)
        by = {(f["kind"], f["rule"]) for f in found}
        assert ("slow_input", "input_latency") in by and ("auth_missing", "route_requires_key") in by
        assert ("contract_violation", "self_consistent") in by, by
        assert all(f["curl"].startswith("curl ") and f["basis"] for f in found)

        slow = [f for f in found if f["kind"] == "slow_input"]
        row = next(f for f in slow if f["pointer"].startswith("/instances/"))
        batch = next(f for f in slow if "batch size" in f["detail"])
        assert row["severity"] == "medium" and row["minimal"]
        rows = json.loads(row["request"]["body"])["instances"]
        assert len(rows) == 1 and rows[0][0] >= 99  # shrunk to the one slow row; its neighbour was fast
        assert len(json.loads(batch["request"]["body"])["instances"]) == 33  # the smallest slow size
        assert "tries" in row["detail"] and "neighbour differing only in" in row["detail"]

        route = next(f for f in found if f["kind"] == "auth_missing")
        assert route["request"]["path"] == "/v2/models/faulty/infer" and "Authorization" not in route["curl"]
        label = next(f for f in found if f["rule"] == "self_consistent")
        assert len(json.loads(label["request"]["body"])["instances"]) == 1 and label["minimal"]  # the one bad row

        if shutil.which("curl"):
            for f in (row, batch):
                before = _slow_count(srv.url)
                assert _replay(f["curl"]).startswith("HTTP/1.1 200")
                assert _slow_count(srv.url) == before + 1  # the replay hit the defect again
            assert _replay(route["curl"]).startswith("HTTP/1.1 200")
            answer = json.loads(_replay(label["curl"]).split("\n\n", 1)[1])["predictions"][0]
            probs = answer["probabilities"]
            assert answer["class_index"] != max(range(3), key=probs.__getitem__)


def test_clean_twin_gives_no_finding_and_keeps_each_batch_size_latency(
    benchbox_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUST_KEY", KEY)
    with start_server("hidden_defects", "--defect", "none", "--key-env", "TRUST_KEY") as srv:
        got = benchbox_cli(
            "run", "--target", srv.url + PREDICT, "--api-key-env", "TRUST_KEY", "--out", str(tmp_path), *FAST_RUN
        )
    assert got.code == 0, got.out + got.err
    assert _findings(tmp_path) == []
    doc = json.loads((tmp_path / "result.json").read_text())
    points = {p["size"]: p for p in doc["contract"]["batch_latency"]}
    assert {0, 1, 2, 3, 32, 33, 63, 64, 65, 128} <= set(points)  # maxItems is 64: its edges, and past it once
    assert points[64]["status"] == 200 and points[65]["status"] == 422 and points[0]["expect"] == "invalid"
    assert "auth sweep" in " ".join(doc["adversarial"]["notes"])
    assert "Latency against batch size" in (tmp_path / "report.html").read_text()


def test_two_faces_of_one_model_must_agree() -> None:
    with start_server("hidden_defects", "--defect", "faces-differ") as srv:
        url = srv.url + PREDICT
        opts = ContractOptions(cases=10, seed=2)
        section = run_contract(url, "POST", {}, [], opts, contract=discover(url, "POST", {}, opts))
        faces = [f for f in section.violations if f.rule == "same_model"]
        assert faces and faces[0].request.path == "/v2/models/faulty/infer", section.violations
        assert "JSON face" in faces[0].detail and "V2 face" in faces[0].detail
    with start_server("hidden_defects", "--defect", "none") as srv:
        url = srv.url + PREDICT
        section = run_contract(url, "POST", {}, [], opts, contract=discover(url, "POST", {}, opts))
        assert section.violations == () and any("KServe V2" in n for n in section.notes)


def test_echo_endpoint_that_documents_no_body_is_no_false_alarm() -> None:
    with start_server("hidden_defects", "--defect", "none") as srv:
        url = srv.url + "/echo"
        contract = discover(url, "POST", {}, ContractOptions())
        assert contract.source == "openapi" and contract.body_required is False
        section = run_adversarial(
            url, "POST", {}, [{"x": 1}], contract, AdversarialOptions(seed=1, budget_s=8, max_cases=60, timeout_s=2)
        )
    malformed = next(c for c in section.by_class if c.name == "malformed_json")
    assert malformed.cases > 0 and malformed.statuses.get("200")  # cut bodies were sent and accepted...
    assert [f for f in section.findings if f.kind == "status_mismatch"] == []  # ...and that is no finding


def test_one_slow_adversarial_input_is_confirmed_and_replayable() -> None:
    """The adversarial phase's inputs are timed too: an undeclared field refused only after 0.7 s."""
    with start_server("hidden_defects", "--defect", "slow-reject") as srv:
        url = srv.url + PREDICT
        contract = discover(url, "POST", {}, ContractOptions())
        section = run_adversarial(
            url,
            "POST",
            {},
            [{"instances": [[1.0, 2.0, 3.0, 4.0]]}],
            contract,
            AdversarialOptions(seed=4, budget_s=15, max_cases=60, timeout_s=3, slow=SlowRule(4, 300)),
        )
        slow = [f for f in section.findings if f.kind == "slow_input"]
        assert len(slow) == 1 and slow[0].severity == "medium", [(f.kind, f.detail) for f in section.findings]
        detail = slow[0].detail  # an undeclared key: added (extra_field) or a nested object at the root
        assert ("added" in detail or "nested" in detail) and "tries" in detail
        assert "neighbour differing only in" in detail
        assert not section.passed
        if shutil.which("curl"):
            before = _slow_count(srv.url)
            assert _replay(slow[0].curl).startswith("HTTP/1.1 422")
            assert _slow_count(srv.url) == before + 1


def test_self_consistency_rules() -> None:
    ok = {"predictions": [{"label": "b", "class_index": 1, "probabilities": [0.1, 0.7, 0.2]}]}
    assert check_consistency(ok) == []
    bad = {"predictions": [{"label": "b", "class_index": 2, "probabilities": [0.1, 0.7, 0.2]}]}
    assert [p.pointer for p in check_consistency(bad) or []] == ["/predictions/0/class_index"]
    assert check_consistency({"label": "cat", "scores": {"cat": 0.2, "dog": 0.8}})[0].rule == "self_consistent"
    ranked = {"top_k": [{"label": "a", "score": 0.3}, {"label": "b", "score": 0.6}]}
    assert "ranked" in check_consistency(ranked)[0].message
    assert check_consistency({"count": 2, "items": [1, 2, 3]})[0].detail == "count = 2 but items has 3 items"
    assert check_consistency({"count": 120, "next": "/p/2", "results": [1, 2]}) is None  # a total over pages
    assert check_consistency({"label": "x", "text": "no scores here"}) is None


def test_edge_sizes() -> None:
    assert sizes(1, 64) == [0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 32, 33, 63, 64, 65, 128]
    assert sizes(0, None)[-2:] == [256, 257]


def test_a_suspect_fast_when_re_sent_is_noise_not_a_finding() -> None:
    answers = iter([(900.0, "a"), (5.0, "b")])  # slow once, then fast: the machine, not the input
    found = investigate({"x": 1}, 900.0, lambda _b: next(answers), SlowRule(10, 500), 5.0, float("inf"))
    assert found is None
    steady = iter([(900.0, "a"), (910.0, "b"), (4.0, "ref"), (3.0, "neighbour")])
    found = investigate(
        {"x": 7},
        900.0,
        lambda _b: next(steady),
        SlowRule(10, 500),
        5.0,
        float("inf"),
        reference={"x": 1},
        neighbours=lambda cur: [("/x (1 instead of 7)", {"x": 1}, "/x")],
    )
    assert found is not None and found.tries_ms == [900.0, 900.0, 910.0] and found.pointer == "/x"
    assert found.neighbour_ms == 3.0 and "neighbour differing only in /x" in found.detail()
    assert found.proportional == ""


def test_a_batch_slower_in_proportion_to_its_size_is_cost_not_a_finding() -> None:
    """64 items at 640 ms, 32 at 330 ms, ... one item alone fast: linear cost, no cliff."""
    batch = {"instances": [[float(i)] for i in range(64)]}
    view = BatchView(64, lambda k: {"instances": batch["instances"][:k]}, lambda i: {"instances": [[float(i)]]})

    def probe(body: Any) -> tuple[float, Any]:
        return 10.0 * len(body["instances"]) + 5.0, None

    found = investigate(
        batch,
        645.0,
        probe,
        SlowRule(10, 300),
        15.0,
        float("inf"),
        reference={"instances": [[0.0]]},
        view=view,
        size_of=lambda b: len(json.dumps(b)),
    )
    assert found is not None and found.batch_cause == 30 and "in proportion to its size" in found.proportional


def test_bad_slow_input_flag_is_a_usage_error(benchbox_cli: Any) -> None:
    got = benchbox_cli("run", "--target", "http://127.0.0.1:9/x", "--slow-input", "quick", "--dry-run")
    assert got.code == 2 and "--slow-input 'quick'" in got.err and "10x,500ms" in got.err


def test_faces_read_inputs_at_the_tensors_precision(demo_server) -> None:
    """The demo's V2 face takes FP32 tensors: 22.957365943753175 arrives as 22.95736694335937, and the
    model's answers to the two differ by 1.2e-6 relative, past --tolerance. No false alarm: both faces
    are asked about the value an FP32 tensor can hold (seen in a CI run with a generated input)."""
    url = demo_server.predict_url
    opts = ContractOptions(cases=1, seed=2)
    example = {"instances": [[22.957365943753175, 0.0, 0.0, 0.0]]}
    section = run_contract(url, "POST", {}, [example], opts, contract=discover(url, "POST", {}, opts))
    assert [f for f in section.violations if f.rule == "same_model"] == [], section.violations
    assert any("KServe V2" in n for n in section.notes), section.notes
