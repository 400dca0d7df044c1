"""The contract stage against real servers: the demo passes, each faulty server is caught by the
right rule (and only that rule), and every finding's curl line replays the fault.

Curl lines are run with the real curl through bash, with the API key only in the environment.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dacite
import pytest

from benchbox.contract import (
    ContractOptions,
    ContractSection,
    check_response,
    discover,
    read_accept,
    run_contract,
    split_accepted,
    valid_inputs,
    write_accept,
)
from benchbox.contract.model import TensorSpec
from benchbox.demo.launcher import DemoServer
from benchbox.demo.options import DemoOptions
from benchbox.errors import UsageError
from benchbox.findings import REDACTED, build_finding, curl_line, group
from tests.servers.harness import FIXED, start_server

FAULTY = Path(__file__).resolve().parent / "servers" / "faulty_models.py"
PREDICT, INFER = "/v1/models/faulty/predict", "/v2/models/faulty/infer"
KEY = "sk-bb-test-5b1d0c9e7a"
AUTH = {"Authorization": f"Bearer {KEY}"}
OPTS = ContractOptions(cases=30, seed=11)
CURL = shutil.which("curl")


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    # With an api key: discovery, checks and curl lines must all carry (and hide) it.
    with DemoServer(DemoOptions(api_key=KEY)) as server:
        yield server


def _dump(section: ContractSection) -> str:
    return json.dumps(dataclasses.asdict(section), allow_nan=False)


def _checks(section: ContractSection) -> dict[str, tuple[int, int]]:
    return {c.rule: (c.checked, c.failed) for c in section.checks}


def _curl(line: str) -> tuple[int, str | None, bytes]:
    """Run a finding's curl line as a user would (key in the environment); parse `curl -i`."""
    assert CURL, "curl is needed to replay findings"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["BENCHBOX_API_KEY"] = KEY
    out = subprocess.run(["bash", "-c", line], env=env, capture_output=True, timeout=20, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split()[1]), headers.get("content-type"), body


# -- the demo passes ------------------------------------------------------------------------------


def test_demo_passes_with_contract_from_openapi_alone(demo: DemoServer) -> None:
    contract = discover(demo.predict_url, "POST", AUTH, OPTS)
    assert contract.source == "openapi" and contract.protocol == "json"
    assert contract.request_schema is not None and contract.response_schema is not None
    section = run_contract(demo.predict_url, "POST", AUTH, [], OPTS, contract=contract)
    assert section.passed and section.violations == (), [v.detail for v in section.violations]
    checks = _checks(section)
    for rule in (
        "status",
        "content_type",
        "response_schema",
        "finite",
        "batch_size",
        "probability_sum",
        "determinism",
        "rejects_invalid",
        "health",
        "versioned",
    ):
        assert checks[rule][0] > 0 and checks[rule][1] == 0, rule
    assert section.cases >= OPTS.cases  # generated ones plus the documented example
    assert KEY not in _dump(section)


def test_demo_passes_with_contract_from_kserve_metadata_alone(demo: DemoServer) -> None:
    contract = discover(demo.infer_url, "POST", AUTH, OPTS)
    assert contract.source == "kserve-v2" and contract.protocol == "kserve-v2"
    assert contract.inputs == (TensorSpec("input-0", "FP32", (-1, 4)),)
    assert contract.request_schema is None and not any("openapi" in n for n in contract.notes)
    section = run_contract(demo.infer_url, "POST", AUTH, [], OPTS, contract=contract)
    assert section.passed and section.violations == (), [v.detail for v in section.violations]
    checks = _checks(section)
    for rule in (
        "status",
        "kserve_shape",
        "kserve_metadata",
        "kserve_id",
        "batch_size",
        "probability_sum",
        "determinism",
        "rejects_invalid",
        "health",
        "versioned",
    ):
        assert checks[rule][0] > 0 and checks[rule][1] == 0, rule


def test_curl_line_reads_the_key_from_the_environment(demo: DemoServer) -> None:
    body = '{"instances":[[5.1,3.5,1.4,0.2]]}'
    line = curl_line("POST", demo.predict_url, {**AUTH, "Content-Type": "application/json"}, body)
    assert KEY not in line and '"$BENCHBOX_API_KEY"' in line
    status, _, answer = _curl(line)
    assert status == 200 and json.loads(answer)["predictions"]


def test_a_missing_key_is_a_status_finding_that_says_why(demo: DemoServer) -> None:
    section = run_contract(demo.predict_url, "POST", {}, [], dataclasses.replace(OPTS, cases=3))
    status = [v for v in section.violations if v.rule == "status"]
    assert status and status[0].response.status == 401 and "credentials" in status[0].detail


# -- each fault is caught by its rule, and only by it ---------------------------------------------

FAULTS = {
    "probs-not-summing": (PREDICT, "contract_violation", "probability_sum"),
    "short-batch": (PREDICT, "contract_violation", "batch_size"),
    "nan-output": (PREDICT, "contract_violation", "finite"),
    "nondeterministic": (PREDICT, "nondeterministic", "determinism"),
    "rejects-valid": (PREDICT, "status_mismatch", "status"),
    "accepts-invalid": (PREDICT, "status_mismatch", "rejects_invalid"),
    "kserve-shape-mismatch": (INFER, "contract_violation", "kserve_shape"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_caught_by_its_rule_and_its_curl_line_replays_it(fault: str) -> None:
    path, kind, rule = FAULTS[fault]
    with start_server(FAULTY, "--fault", fault) as srv:
        url = srv.url + path
        contract = discover(url, "POST", AUTH, OPTS)
        section = run_contract(url, "POST", AUTH, [], OPTS, contract=contract)
        assert {(v.kind, v.rule) for v in section.violations} == {(kind, rule)}, [
            (v.rule, v.detail) for v in section.violations
        ]
        # One group per place: noisy logits may also flip a label, which is a second place that differs.
        assert len(section.violations) == 1 or rule == "determinism"
        finding = section.violations[0]
        assert not section.passed and finding.minimal and finding.count >= 1
        assert finding.message and finding.curl.startswith("curl ")
        assert KEY not in _dump(section) and finding.request.headers["Authorization"] == REDACTED

        status, ctype, answer = _curl(finding.curl)
        sent = json.loads(finding.request.body or "null")
        if rule == "determinism":
            assert status == 200 and json.loads(answer) != json.loads(_curl(finding.curl)[2])
        elif rule == "rejects_invalid":
            assert status == 200
            assert {f.rule for f in check_response(contract, sent, status, ctype, answer, expect="invalid")} == {rule}
        else:
            assert {f.rule for f in check_response(contract, sent, status, ctype, answer)} == {rule}


def test_shrinking_keeps_the_shortest_batch_that_still_fails() -> None:
    with start_server(FAULTY, "--fault", "short-batch") as srv:
        section = run_contract(srv.url + PREDICT, "POST", {}, [], OPTS)
    (finding,) = section.violations
    assert len(json.loads(finding.request.body or "{}")["instances"]) == 3  # the fault needs three
    assert finding.minimal and finding.detail == "3 inputs, 2 predictions"


@pytest.mark.parametrize("path", [PREDICT, INFER])
def test_the_honest_faulty_server_passes(path: str) -> None:
    # Its OpenAPI 3.0 document uses $ref, nullable and format: double.
    with start_server(FAULTY, "--fault", "none") as srv:
        section = run_contract(srv.url + path, "POST", {}, [], OPTS)
    assert section.passed and section.violations == (), [v.detail for v in section.violations]


def test_without_a_contract_the_examples_still_get_the_generic_checks() -> None:
    answer = '{"predictions":[{"probabilities":[0.5,0.6]}]}'
    with start_server(FIXED, "--body", answer) as srv:
        example = {"instances": [[1, 2, 3, 4], [5, 6, 7, 8]]}
        section = run_contract(srv.url + "/predict", "POST", {}, [example], OPTS)
    assert section.source is None and section.cases == 1
    found = {v.rule: v for v in section.violations}
    assert set(found) == {"batch_size", "probability_sum", "versioned"}
    assert found["versioned"].severity == "low" and found["versioned"].kind == "unversioned"


def test_user_schema_files_are_the_contract(demo: DemoServer, tmp_path: Path) -> None:
    found = discover(demo.predict_url, "POST", AUTH, OPTS)
    (tmp_path / "in.json").write_text(json.dumps(found.request_schema))
    (tmp_path / "out.json").write_text(json.dumps(found.response_schema))
    opts = dataclasses.replace(OPTS, input_schema=str(tmp_path / "in.json"), output_schema=str(tmp_path / "out.json"))
    section = run_contract(demo.predict_url, "POST", AUTH, [], opts)
    assert section.source == "user" and section.passed


# -- findings: grouping, accept file, secrets, serialisation ---------------------------------------


def _finding(
    pointer: str, body: str, message: str = "probabilities must sum to 1", minimal: bool = False, severity: Any = "high"
) -> Any:
    return build_finding(
        kind="contract_violation",
        severity=severity,
        rule="probability_sum",
        message=message,
        method="POST",
        url="http://127.0.0.1:1/v1/predict",
        headers=AUTH,
        body=body,
        status=200,
        content_type="application/json",
        response_body=b"{}",
        pointer=pointer,
        minimal=minimal,
    )


def test_identical_findings_are_grouped_with_a_count() -> None:
    a = _finding("/predictions/0/probabilities", '{"instances":[[1],[2],[3]]}')
    b = _finding("/predictions/2/probabilities", '{"instances":[[1]]}', minimal=True)
    c = _finding("/predictions/1/probabilities", '{"instances":[[1],[2]]}')
    other = _finding("/predictions/0/probabilities", "{}", message="another message", severity="low")
    grouped = group([other, a, b, c])
    assert [g.count for g in grouped] == [3, 1]
    assert grouped[0].minimal and grouped[0].request.body == '{"instances":[[1]]}'
    assert grouped[0].id == a.id == b.id  # the id ignores which element broke


def test_accepted_findings_do_not_fail_and_match_across_seeds(tmp_path: Path) -> None:
    with start_server(FAULTY, "--fault", "probs-not-summing") as srv:
        first = run_contract(srv.url + PREDICT, "POST", {}, [], OPTS)
        accept = write_accept(first.violations, tmp_path / "accept.json")
        ids = read_accept(accept)
        again = run_contract(srv.url + PREDICT, "POST", {}, [], dataclasses.replace(OPTS, seed=99, accepted=ids))
    assert not first.passed and ids == {f.id for f in first.violations}
    assert again.passed and again.violations == () and [f.rule for f in again.accepted] == ["probability_sum"]
    still_open, accepted = split_accepted(first.violations, ids)
    assert still_open == () and len(accepted) == 1


def test_secrets_never_reach_a_finding_or_its_curl_line() -> None:
    headers = {**AUTH, "X-Api-Key": KEY + "-2", "Cookie": "session=" + KEY, "X-Team": "ml"}
    f = build_finding(
        kind="server_error",
        severity="high",
        rule="status",
        message=f"echo {KEY}",
        method="POST",
        url="http://127.0.0.1:1/p",
        headers=headers,
        body='{"a":1}',
        status=500,
        response_body=f"boom: Bearer {KEY} / {KEY}-2".encode(),
        detail=KEY,
    )
    text = json.dumps(dataclasses.asdict(f))
    assert KEY not in text and KEY not in f.curl
    assert '"$BENCHBOX_API_KEY"' in f.curl and '"$BENCHBOX_X_API_KEY"' in f.curl and "X-Team: ml" in f.curl
    assert f.request.headers == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Cookie": REDACTED, "X-Team": "ml"}
    mapped = curl_line("GET", "http://h/x", AUTH, None, secret_headers={"Authorization": "MY_KEY"})
    assert mapped.endswith("'Authorization: Bearer '\"$MY_KEY\"")


def test_a_section_round_trips_through_json_and_dacite() -> None:
    with start_server(FAULTY, "--fault", "nan-output") as srv:
        section = run_contract(srv.url + PREDICT, "POST", AUTH, [], dataclasses.replace(OPTS, cases=5))
    data = json.loads(_dump(section))
    assert data["violations"][0]["rule"] == "finite" and "NaN" in data["violations"][0]["response"]["body"]
    back = dacite.from_dict(ContractSection, data, config=dacite.Config(cast=[tuple]))
    assert back == section


# -- generation and bad input ------------------------------------------------------------------------


def test_generation_is_seeded(demo: DemoServer) -> None:
    contract = discover(demo.predict_url, "POST", AUTH, OPTS)
    first = valid_inputs(contract, 15, seed_value=5)
    assert first == valid_inputs(contract, 15, seed_value=5) != valid_inputs(contract, 15, seed_value=6)
    assert len(first) == 15


@pytest.mark.parametrize(
    "content,option,fragment",
    [
        ("{nope", "input_schema", "bad --input-schema"),
        ('{"type": 12}', "output_schema", "bad --output-schema"),
        ('{"no": "paths"}', "openapi", "bad --openapi"),
        (None, "openapi", "bad --openapi"),
    ],
)
def test_bad_user_input_is_a_one_line_usage_error(
    tmp_path: Path, content: str | None, option: str, fragment: str
) -> None:
    path = tmp_path / "given.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as err:
        discover("http://127.0.0.1:9/v1/predict", "POST", {}, dataclasses.replace(OPTS, **{option: str(path)}))
    assert str(err.value).startswith(fragment) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_forcing_kserve_on_a_non_v2_path_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="bad --protocol 'kserve-v2'"):
        discover("http://127.0.0.1:9/v1/predict", "POST", {}, dataclasses.replace(OPTS, protocol="kserve-v2"))
