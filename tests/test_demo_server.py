"""The demo server, tested as benchbox uses it: a real process on 127.0.0.1, real HTTP."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchbox.demo.launcher import DemoServer, DemoServerError
from benchbox.demo.options import ENV_API_KEY, DemoOptions
from benchbox.demo.schemas import InferResponse, PredictResponse

LABELS = ["setosa", "versicolor", "virginica"]
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.7, 3.0, 5.2, 2.3]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def v1() -> Iterator[DemoServer]:
    with DemoServer(DemoOptions(model_version="v1")) as server:
        yield server


@pytest.fixture(scope="module")
def v2() -> Iterator[DemoServer]:
    with DemoServer(DemoOptions(model_version="v2")) as server:
        yield server


def predict(server: DemoServer, instances: list[list[float]], **kw: Any) -> httpx.Response:
    return httpx.post(server.predict_url, json={"instances": instances}, timeout=10, **kw)


def boundary_grid(n: int = 64) -> list[list[float]]:
    """Points from the versicolor mean to the virginica mean, where the versions disagree."""
    a, b = [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.55, 2.0]
    return [[x + (y - x) * i / (n - 1) for x, y in zip(a, b)] for i in range(n)]


def test_readiness_goes_from_503_to_200() -> None:
    # 3 s of model loading, and one kept-alive client: on a busy machine, six one-off clients
    # (each building its TLS context) took longer than a 1 s delay, and the model was ready first.
    with DemoServer(DemoOptions(startup_delay_s=3.0), wait_for="live") as server, httpx.Client(timeout=10) as client:
        assert client.get(server.url + "/health").json() == {"status": "ok"}
        assert client.get(server.url + "/v2/health/live").status_code == 200
        assert client.get(server.url + "/ready").status_code == 503
        assert client.get(server.url + "/v2/health/ready").status_code == 503
        assert client.get(server.url + "/v2/models/demo/ready").status_code == 503
        early = client.post(server.predict_url, json={"instances": [SETOSA]})
        assert early.status_code == 503 and early.json() == {"error": "model not ready"}
        deadline = time.monotonic() + 15
        while (ready := client.get(server.url + "/ready")).status_code != 200:
            assert ready.status_code == 503
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)
        assert ready.json() == {"status": "ready", "model_version": "v1"}
        assert client.get(server.url + "/v2/health/ready").status_code == 200
        assert client.post(server.predict_url, json={"instances": [SETOSA]}).status_code == 200


def test_launcher_reports_a_server_that_never_becomes_ready() -> None:
    server = DemoServer(DemoOptions(startup_delay_s=60), ready_timeout=0.5)
    with pytest.raises(DemoServerError, match="not ready"):
        server.start()
    assert server.returncode is None  # stopped and cleaned up, not left running


def test_predict_returns_one_valid_prediction_per_instance(v1: DemoServer) -> None:
    batch = [SETOSA, VIRGINICA, [0.0, 0.0, 0.0, 0.0], [-100, 100, -100, 100]]
    response = predict(v1, batch)
    assert response.status_code == 200
    assert response.headers["x-model-version"] == "v1"
    body = response.json()
    PredictResponse.model_validate(body)  # the schema published in /openapi.json holds
    assert body["model"] == "demo" and body["model_version"] == "v1"
    assert len(body["predictions"]) == len(batch)
    for p in body["predictions"]:
        probs = p["probabilities"]
        assert len(probs) == 3 and all(0.0 <= x <= 1.0 for x in probs)
        assert math.isclose(sum(probs), 1.0, abs_tol=1e-9)
        assert p["class_index"] == probs.index(max(probs))
        assert p["label"] == LABELS[p["class_index"]]
    assert [p["label"] for p in body["predictions"][:2]] == ["setosa", "virginica"]


def test_predictions_are_deterministic(v1: DemoServer) -> None:
    batch = boundary_grid(16)
    first, second = predict(v1, batch), predict(v1, batch)
    assert first.content == second.content
    # A row's answer must not depend on the rest of its batch, bit for bit.
    alone = [predict(v1, [row]).json()["predictions"][0] for row in batch[:4]]
    assert alone == first.json()["predictions"][:4]


def test_v1_and_v2_disagree_on_some_inputs(v1: DemoServer, v2: DemoServer) -> None:
    grid = boundary_grid()
    r1, r2 = predict(v1, grid), predict(v2, grid)
    assert r2.headers["x-model-version"] == "v2" and r2.json()["model_version"] == "v2"
    labels1 = [p["label"] for p in r1.json()["predictions"]]
    labels2 = [p["label"] for p in r2.json()["predictions"]]
    assert labels1 != labels2
    assert labels1[0] == labels2[0] == "versicolor" and labels1[-1] == labels2[-1] == "virginica"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"instances": [[1, 2, 3]]}', id="too-few-features"),
        pytest.param(b'{"instances": [[1, 2, 3, 4, 5]]}', id="too-many-features"),
        pytest.param(b'{"instances": [["1", "2", "3", "4"]]}', id="strings"),
        pytest.param(b'{"instances": [[true, 2, 3, 4]]}', id="boolean"),
        pytest.param(b'{"instances": [[NaN, 2, 3, 4]]}', id="raw-NaN-token"),
        pytest.param(b'{"instances": [[Infinity, 2, 3, 4]]}', id="raw-Infinity-token"),
        pytest.param(b'{"instances": [[1e400, 2, 3, 4]]}', id="overflow"),
        pytest.param(b'{"instances": [[101, 2, 3, 4]]}', id="out-of-range"),
        pytest.param(b'{"instances": []}', id="empty-batch"),
        pytest.param(json.dumps({"instances": [SETOSA] * 65}).encode(), id="65-instances"),
        pytest.param(b'{"instances": [[[1, 2, 3, 4]]]}', id="too-deep"),
        pytest.param(b'{"instances": [[1, 2, 3, 4]], "extra": 1}', id="extra-field"),
        pytest.param(b"{}", id="missing-field"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b"null", id="null"),
        pytest.param(b"this is not json", id="non-json"),
        pytest.param(b'{"instances": [[1, 2', id="truncated-json"),
        pytest.param(b"", id="empty-body"),
    ],
)
def test_invalid_inputs_get_4xx_never_5xx(v1: DemoServer, body: bytes) -> None:
    response = httpx.post(v1.predict_url, content=body, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")


def test_server_is_healthy_after_invalid_inputs(v1: DemoServer) -> None:
    httpx.post(v1.predict_url, content=b'{"instances": [[NaN, 2, 3, 4]]}', headers=JSON)
    assert httpx.get(v1.url + "/health").status_code == 200
    assert predict(v1, [SETOSA]).status_code == 200


def test_kserve_metadata(v1: DemoServer) -> None:
    meta = httpx.get(v1.url + "/v2/models/demo").json()
    assert meta["name"] == "demo" and meta["versions"] == ["v1"]
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"] == [
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "label", "datatype": "INT64", "shape": [-1]},
    ]
    assert httpx.get(v1.url + "/v2/models/demo/ready").json() == {"name": "demo", "ready": True}
    assert httpx.get(v1.url + "/v2/models/demo/versions/v1").json() == meta
    assert httpx.get(v1.url + "/v2/models/demo/versions/v9").status_code == 404


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_kserve_infer_matches_the_json_face(v1: DemoServer, nested: bool) -> None:
    rows = [SETOSA, VIRGINICA, boundary_grid()[30]]
    data: list[Any] = rows if nested else [x for row in rows for x in row]
    request = {"id": "req-7", "inputs": [{"name": "input-0", "shape": [3, 4], "datatype": "FP32", "data": data}]}
    response = httpx.post(v1.infer_url, json=request)
    assert response.status_code == 200, response.text
    assert response.headers["x-model-version"] == "v1"
    body = response.json()
    InferResponse.model_validate(body)
    assert body["id"] == "req-7" and body["model_name"] == "demo" and body["model_version"] == "v1"
    outputs = {o["name"]: o for o in body["outputs"]}
    for out in outputs.values():
        assert math.prod(out["shape"]) == len(out["data"])
    probs = outputs["probabilities"]
    assert probs["shape"] == [3, 3] and probs["datatype"] == "FP32"
    for i in range(3):
        assert math.isclose(sum(probs["data"][3 * i : 3 * i + 3]), 1.0, abs_tol=1e-6)
    assert outputs["label"]["datatype"] == "INT64"
    expected = [p["class_index"] for p in predict(v1, rows).json()["predictions"]]
    assert outputs["label"]["data"] == expected
    # Without an id, none is invented.
    request.pop("id")
    assert "id" not in httpx.post(v1.infer_url, json=request).json()


@pytest.mark.parametrize(
    "tensor",
    [
        pytest.param({"shape": [2, 4], "data": SETOSA}, id="length-mismatch"),
        pytest.param({"shape": [1, 3], "data": SETOSA[:3]}, id="wrong-feature-count"),
        pytest.param({"shape": [4], "data": SETOSA}, id="rank-1"),
        pytest.param({"shape": [65, 4], "data": SETOSA * 65}, id="batch-too-large"),
        pytest.param({"datatype": "INT8"}, id="bad-datatype"),
        pytest.param({"name": "features"}, id="unknown-input-name"),
        pytest.param({"data": ["a", "b", "c", "d"]}, id="strings"),
        pytest.param({"data": [[1, 2], [3, 4]], "shape": [1, 4]}, id="nested-mismatch"),
    ],
)
def test_kserve_bad_tensors_get_400_with_error_body(v1: DemoServer, tensor: dict[str, Any]) -> None:
    base = {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": SETOSA}
    response = httpx.post(v1.infer_url, json={"inputs": [{**base, **tensor}]})
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"inputs": []}',
        b'{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [NaN, 1, 2, 3]}]}',
    ],
)
def test_kserve_malformed_requests_get_400(v1: DemoServer, body: bytes) -> None:
    response = httpx.post(v1.infer_url, content=body, headers=JSON)
    assert response.status_code == 400 and "error" in response.json()


def test_api_key_is_required_on_model_endpoints() -> None:
    key = "s3cret-demo-key"
    with DemoServer(DemoOptions(api_key=key)) as server:
        assert predict(server, [SETOSA]).status_code == 401
        assert predict(server, [SETOSA]).headers["www-authenticate"] == "Bearer"
        assert predict(server, [SETOSA], headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert predict(server, [SETOSA], headers={"Authorization": f"Basic {key}"}).status_code == 401
        # Auth comes before parsing: an unauthenticated bad body is a 401, not a schema-revealing 422.
        assert httpx.post(server.predict_url, content=b"junk", headers=JSON).status_code == 401
        ok = predict(server, [SETOSA], headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        assert httpx.get(server.url + "/v2/models/demo").status_code == 401
        for public in ("/health", "/ready", "/v2/health/live", "/v2/health/ready", "/openapi.json"):
            response = httpx.get(server.url + public)
            assert response.status_code == 200, public
            assert key not in response.text
        assert key not in repr(server) and key not in server.log_tail()


def test_rate_limit_answers_429_past_the_limit() -> None:
    with DemoServer(DemoOptions(rate_limit=5)) as server, httpx.Client() as client:
        statuses = []
        for _ in range(20):
            response = client.post(server.predict_url, json={"instances": [SETOSA]})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
        assert statuses[0] == 200 and 429 in statuses
        assert set(statuses) <= {200, 429}
        assert client.get(server.url + "/health").status_code == 200  # only predictions are limited


def test_concurrency_limit_queues_requests() -> None:
    async def burst(url: str, n: int) -> float:
        async with httpx.AsyncClient(timeout=10) as client:
            start = time.perf_counter()
            responses = await asyncio.gather(*(client.post(url, json={"instances": [SETOSA]}) for _ in range(n)))
            elapsed = time.perf_counter() - start
        assert all(r.status_code == 200 for r in responses)
        return elapsed

    with DemoServer(DemoOptions(concurrency=2, service_ms=100)) as server:
        # 4 requests, 2 at a time, 100 ms each: at least two service times back to back.
        assert asyncio.run(burst(server.predict_url, 4)) >= 0.18


def test_openapi_publishes_the_real_contract(v1: DemoServer) -> None:
    spec = httpx.get(v1.url + "/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        return schemas[node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node

    operation = spec["paths"]["/v1/models/demo/predict"]["post"]
    request = resolve(operation["requestBody"]["content"]["application/json"]["schema"])
    instances = request["properties"]["instances"]
    assert (instances["minItems"], instances["maxItems"]) == (1, 64)
    row = instances["items"]
    assert (row["minItems"], row["maxItems"]) == (4, 4)
    assert (row["items"]["minimum"], row["items"]["maximum"]) == (-100, 100)
    response = resolve(operation["responses"]["200"]["content"]["application/json"]["schema"])
    prediction = resolve(response["properties"]["predictions"]["items"])
    probability = prediction["properties"]["probabilities"]["items"]
    assert (probability["minimum"], probability["maximum"]) == (0, 1)
    assert "/v2/models/demo/infer" in spec["paths"]


def test_kill_stops_the_server_like_a_crash() -> None:
    server = DemoServer().start()
    try:
        assert predict(server, [SETOSA]).status_code == 200
        server.kill()
        assert server.returncode is not None and server.returncode < 0
        with pytest.raises(httpx.TransportError):
            predict(server, [SETOSA])
    finally:
        server.stop()
    assert server.stop() is None  # idempotent


@pytest.mark.parametrize(
    "argv", [["--rate-limit", "nan"], ["--model-version", "v9"], ["--concurrency", "0"], ["--port", "x"]]
)
def test_cli_rejects_bad_values_with_one_line_and_exit_2(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "benchbox.demo", *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "error" in done.stderr


def test_cli_reads_the_api_key_from_the_environment() -> None:
    from benchbox.demo.__main__ import parse_config

    config = parse_config(["--port", "9000", "--service-ms", "5"], environ={ENV_API_KEY: "k3y"})
    assert config.port == 9000 and config.options.api_key == "k3y" and config.options.service_ms == 5
    assert "k3y" not in repr(config)
    assert parse_config([], environ={}).options.api_key is None
