"""What running benchbox against real model servers (docs/real-servers.md) showed it got wrong, against
tests/servers/kserve_envelope.py, which has the shape of MLServer 1.7 serving a scikit-learn model:
model metadata with no inputs, a generic V2 OpenAPI document, 500s with a traceback for data it
cannot read, and the kept-alive connection dropped after each 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from benchbox import bounded
from benchbox.adversarial import AdversarialOptions, run_adversarial
from benchbox.contract import ContractOptions, discover
from benchbox.contract.runner import run_contract
from benchbox.llm.contract import run_chat_contract
from benchbox.llm.setup import resolve
from benchbox.plan import build_plan
from tests.servers.harness import ServerProcess, start_server

INFER = "/v2/models/iris/infer"
GOOD = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
CRASH = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [[]]}]}  # 500 + traceback
REFUSED = {"inputs": []}  # valid by the envelope, refused by the model: 400


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with start_server("kserve_envelope") as srv:
        yield srv


def _post(client: httpx.Client, url: str, doc: object) -> int | str:
    try:
        return client.post(url, json=doc).status_code
    except httpx.HTTPError as exc:
        return type(exc).__name__


def test_a_connection_dropped_after_a_500_is_not_blamed_on_the_next_request(server: ServerProcess) -> None:
    url = server.url + INFER
    with httpx.Client() as plain:  # the server's behaviour: the request after a 500 gets no answer
        assert [_post(plain, url, d) for d in (CRASH, GOOD)] == [500, "RemoteProtocolError"]
    with bounded.client(timeout_s=5) as client:  # benchbox's client re-sends it on a new connection
        assert [_post(client, url, d) for d in (CRASH, GOOD, CRASH, GOOD)] == [500, 200, 500, 200]


def test_generated_inputs_refused_by_a_model_without_input_metadata_are_not_findings(server: ServerProcess) -> None:
    url = server.url + INFER
    options = ContractOptions(cases=12, seed=5)
    section = run_contract(url, "POST", {}, [CRASH], options)
    assert section.protocol == "kserve-v2" and section.source == "openapi"
    kinds = {(v.kind, v.rule) for v in section.violations}
    # The 500 holds (the example is sent first; the answer after it rides a dropped connection).
    assert ("server_error", "status") in kinds
    assert not any(v.kind == "status_mismatch" for v in section.violations)
    assert not any(v.rule == "transport" for v in section.violations)
    assert any("not judged: the model metadata lists no inputs" in n for n in section.notes)


def test_an_example_the_user_calls_valid_must_still_be_accepted(server: ServerProcess) -> None:
    section = run_contract(server.url + INFER, "POST", {}, [REFUSED], ContractOptions(cases=0))
    refused = [v for v in section.violations if v.kind == "status_mismatch"]
    assert refused and refused[0].request.body == '{"inputs":[]}'


def test_after_check_needs_a_known_good_input_that_was_good_before(server: ServerProcess) -> None:
    url = server.url + INFER
    contract = discover(url, "POST", {}, ContractOptions())
    options = AdversarialOptions(seed=3, budget_s=6.0, max_cases=15, timeout_s=2.0)
    section = run_adversarial(url, "POST", {}, [REFUSED], contract, options)
    assert not any(f.kind == "unhealthy_after" for f in section.findings)
    assert any("known-good input answered 400 before any hostile input" in n for n in section.notes)
    assert section.healthy_after is True  # the health paths still answered 200
    good = run_adversarial(url, "POST", {}, [GOOD], contract, options)
    assert not any("before any hostile input" in n for n in good.notes)
    assert good.healthy_after is True


def test_a_stream_cut_finer_than_tokens_is_not_a_usage_finding() -> None:
    """LiteLLM's proxy streams a mock answer three characters a chunk, with an honest token count:
    more chunks than tokens is no under-count; fewer tokens than words still is."""
    for fault, finds in (("none", False), ("usage-mismatch", True)):
        with start_server("faulty_chat", "--fault", fault, "--chunk-chars", "3") as srv:
            plan = resolve(build_plan({"target": srv.url + "/v1/chat/completions", "seed": "7"}, env={}))
            section = run_chat_contract(plan)
        usage = [f for f in section.violations if f.rule == "stream.usage"]
        assert bool(usage) is finds, (fault, [f.detail for f in usage])
        if fault == "none":
            assert section.passed and section.violations == ()
