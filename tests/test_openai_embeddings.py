"""OpenAI embeddings: detection, the contract and hostile inputs (against a server that breaks each
rule, and an honest one), the demo's endpoint under run, smoke and compare, inputs/s and prompt
tokens/s in the result and reports, and the figures merged across workers."""

from __future__ import annotations

import json
import math

import pytest

from benchbox.embeddings import rules
from benchbox.embeddings.contract import run_embeddings_contract
from benchbox.embeddings.probes import run_embeddings_adversarial
from benchbox.embeddings.setup import resolve
from benchbox.load.merge import merge_llm
from benchbox.plan import build_plan
from benchbox.result import LlmStats
from tests.servers.harness import start_server


def _plan(url: str, **flags: str):
    plan = build_plan({"target": url, "seed": "5", "adversarial_budget": "20s", **flags}, env={})
    resolved = resolve(plan)
    assert resolved is not None and resolved.llm is not None and resolved.llm.api == "embeddings"
    return resolved


@pytest.mark.parametrize(
    ("fault", "stage", "rule"),
    [
        ("drops-last", "contract", rules.COUNT),
        ("noisy", "contract", rules.DETERMINISTIC),
        ("usage-total", "contract", rules.USAGE),
        ("nan-empty", "adversarial", rules.FINITE),
        ("number-500", "adversarial", "not_a_server_error"),
    ],
)
def test_each_planted_fault_is_caught_by_its_rule(fault: str, stage: str, rule: str) -> None:
    with start_server("faulty_embeddings", "--fault", fault) as srv:
        # A base URL with the protocol named: the endpoint is <base>/v1/embeddings, the model from /v1/models.
        plan = _plan(srv.url, protocol="openai-embeddings")
        assert plan.target.endswith("/v1/embeddings") and plan.chat.model == "faulty-embed"
        section = (
            run_embeddings_contract(plan) if stage == "contract" else run_embeddings_adversarial(plan, ("/health",))
        )
    findings = section.violations if stage == "contract" else section.findings  # type: ignore[union-attr]
    assert not section.passed and rule in {f.rule for f in findings}, [f.rule for f in findings]
    found = next(f for f in findings if f.rule == rule)
    assert found.curl.startswith("curl") and "/v1/embeddings" in found.curl


def test_honest_server_has_no_finding() -> None:
    with start_server("faulty_embeddings", "--fault", "none") as srv:
        plan = _plan(srv.url + "/v1/embeddings", batch_sizes="1,4,16")
        contract = run_embeddings_contract(plan)
        adversarial = run_embeddings_adversarial(plan, ("/health",))
    assert contract.passed and contract.violations == () and contract.requests >= 5
    assert {c.rule for c in contract.checks if c.checked} >= set(rules.RULES)
    assert adversarial.findings == () and adversarial.healthy_after is True
    statuses = {c.name: c.statuses for c in adversarial.by_class}
    assert set(statuses) == {"empty", "huge", "wrong_type", "wrong_model"}
    assert set(statuses["wrong_type"]) == {"400"}  # every wrong type refused, none embedded


def test_bodies_mix_the_batch_sizes_and_texts_vary() -> None:
    plan = _plan("http://127.0.0.1:1/v1/embeddings", batch_sizes="1,8", model="m")
    bodies = [json.loads(b) for b in plan.request.bodies]
    assert [len(b["input"]) for b in bodies[:4]] == [1, 8, 1, 8] and all(b["model"] == "m" for b in bodies)
    lengths = {len(t.split()) for b in bodies for t in b["input"]}
    assert min(lengths) < 5 and max(lengths) > 50  # short queries and long passages


def test_bad_batch_sizes_is_a_usage_error(benchbox_cli) -> None:
    out = benchbox_cli("run", "--target", "http://127.0.0.1:1/v1/embeddings", "--batch-sizes", "4,0", "--dry-run")
    assert out.code == 2 and "bad --batch-sizes '0'" in out.err and "SIZE[:WEIGHT]" in out.err


def test_demo_embeddings_run_measures_inputs_and_tokens(demo_server, benchbox_cli, tmp_path) -> None:
    out = benchbox_cli(
        "run",
        "--target",
        f"{demo_server.url}/v1/embeddings",
        "--rate",
        "12",
        "--duration",
        "1s",
        "--skip",
        "saturation",
        "--out",
        str(tmp_path),
        "-q",
    )
    result = json.loads((tmp_path / "result.json").read_text())
    assert out.code == 0, out.out
    assert result["target"]["protocol"] == result["ran"]["adapter"] == "openai-embeddings"
    assert result["ran"]["bodies_from"] == "generated"
    assert result["contract"]["passed"] and result["adversarial"]["passed"]
    llm = result["load"]["phases"][-1]["llm"]
    # Bodies alternate batches of 1 and 8, so the vectors received are 4.5 per answer, give or take one.
    assert llm["api"] == "embeddings" and llm["completed"] >= 10
    assert 4.5 * llm["completed"] - 4 <= llm["inputs"] <= 4.5 * llm["completed"] + 4
    assert llm["prompt_tokens"] > llm["inputs"] and llm["usage_reported"] == llm["completed"]
    assert llm["inputs_per_s"] > 0 and llm["prompt_tokens_per_s"] > llm["inputs_per_s"]
    assert "inputs/s" in (tmp_path / "summary.md").read_text()
    assert "prompt tokens/s" in (tmp_path / "report.html").read_text()


def test_demo_embeddings_smoke(demo_server, benchbox_cli, tmp_path) -> None:
    out = benchbox_cli(
        "smoke",
        "--target",
        f"{demo_server.url}/v1/embeddings",
        "--rate",
        "12",
        "--duration",
        "1s",
        "--skip",
        "contract,adversarial",
        "--out",
        str(tmp_path),
        "-q",
    )
    assert out.code == 0, out.out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["command"] == "smoke" and result["target"]["protocol"] == "openai-embeddings"
    assert result["load"]["phases"][-1]["llm"]["inputs"] > result["load"]["phases"][-1]["llm"]["completed"]


def test_demo_embeddings_compare(demo_server, benchbox_cli, tmp_path) -> None:
    """Both sides detected as embeddings endpoints, the same texts to both, vectors compared within
    --tolerance (the load windows are each side's load phase, as in a run: tested above)."""
    url = f"{demo_server.url}/v1/embeddings"
    out = benchbox_cli(
        "compare",
        "--baseline",
        url,
        "--candidate",
        url,
        "--skip",
        "load",
        "--shadow-cases",
        "12",
        "--out",
        str(tmp_path),
        "-q",
    )
    assert out.code == 0, out.out
    side = json.loads((tmp_path / "candidate" / "result.json").read_text())
    assert side["target"]["protocol"] == "openai-embeddings"
    shadow = json.loads((tmp_path / "compare.json").read_text())["shadow"]
    assert shadow["inputs"] == 12 and shadow["agreement"] == 1.0  # deterministic vectors: the same on both sides


def test_workers_figures_merge() -> None:
    def part(inputs: int, tokens: int) -> LlmStats:
        return LlmStats(
            streamed=False,
            completed=10,
            output_tokens=0,
            prompt_tokens=tokens,
            usage_reported=10,
            malformed=0,
            output_tokens_per_s=0.0,
            api="embeddings",
            inputs=inputs,
            inputs_per_s=inputs / 2,
            prompt_tokens_per_s=tokens / 2,
        )

    merged = merge_llm([part(30, 300), part(50, 700)], requests=20, elapsed_s=2.0)
    assert merged is not None and merged.api == "embeddings"
    assert (merged.inputs, merged.inputs_per_s, merged.prompt_tokens, merged.prompt_tokens_per_s) == (
        80,
        40.0,
        1000,
        500.0,
    )


def test_distance_is_relative() -> None:
    a = (3.0, 4.0)
    assert rules.distance(a, a) == 0 and rules.distance(a, (3.0, 3.5)) == pytest.approx(0.1)
    problems, _ = rules.check_answer({"data": [{"index": 0, "embedding": [math.inf]}]}, ["x"])
    assert {p.rule for p in problems} == {rules.FINITE, rules.USAGE_MISSING}


def test_the_load_counts_vectors_and_usage_without_parsing_the_floats() -> None:
    from benchbox.llm.model import ChatSpec
    from benchbox.load.llm import ChatOutcome, read_answer

    data = [{"object": "embedding", "index": i, "embedding": [0.5, -0.25]} for i in range(3)]
    body = json.dumps({"object": "list", "data": data, "usage": {"prompt_tokens": 9, "total_tokens": 9}}, indent=1)
    out = ChatOutcome("embeddings")
    out.status, out.body = 200, body.encode()
    read_answer(out, ChatSpec(stream=False, api="embeddings"))
    assert (out.inputs, out.prompt_tokens, out.from_usage, out.malformed) == (3, 9, True, None)
    cut = ChatOutcome("embeddings")
    cut.status, cut.body = 200, body.encode()[:40]
    read_answer(cut, ChatSpec(stream=False, api="embeddings"))
    assert cut.malformed and cut.inputs == 0
