"""--protocol kserve-v2-grpc against the demo's gRPC face and a gRPC server with planted faults."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.harness import start_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    import grpc

    from benchbox.kserve_grpc import grpc_predict_v2_pb2 as pb
    from benchbox.kserve_grpc import grpc_predict_v2_pb2_grpc as pbg

    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pbg.GRPCInferenceServiceStub(channel)
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if stub.ServerReady(pb.ServerReadyRequest(), timeout=1).ready:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the demo's gRPC face on port {port} did not get ready")


@pytest.fixture(scope="module")
def grpc_demo() -> Iterator[tuple[str, str]]:
    """`python -m benchbox.demo --grpc-port`: (gRPC target, HTTP infer URL) of the same model."""
    http, port = _free_port(), _free_port()
    argv = [sys.executable, "-m", "benchbox.demo", "--port", str(http), "--grpc-port", str(port)]
    proc = subprocess.Popen([*argv, "--service-ms", "2", "--concurrency", "8"], stdout=subprocess.DEVNULL)
    try:
        _wait_ready(port, proc)
        yield f"grpc://127.0.0.1:{port}/demo", f"http://127.0.0.1:{http}/v2/models/demo/infer"
    finally:
        proc.terminate()
        proc.wait(10)


def _result(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


def test_a_run_over_grpc_checks_the_contract_probes_and_counts_the_load(benchbox_cli, grpc_demo, tmp_path):
    target, _ = grpc_demo
    done = benchbox_cli(
        "run", "--target", target, "--rate", "30", "--duration", "2", "--contract-cases", "10",
        "--skip", "saturation", "--out", str(tmp_path), "-q",
    )  # fmt: skip
    assert done.code == 0, done.out + done.err
    r = _result(tmp_path)
    assert r["target"]["protocol"] == "kserve-v2-grpc" and r["target"]["model_version"] == "v1"
    assert r["preflight"]["ready"]["ok"] is True and r["contract"]["source"] == "kserve-v2"
    checked = {c["rule"]: c["checked"] for c in r["contract"]["checks"]}
    assert checked["kserve_metadata"] == 10 and checked["batch_size"] == 10 and r["contract"]["violations"] == []
    codes = {c["name"]: next(iter(c["statuses"])) for c in r["adversarial"]["by_class"]}
    assert codes["unknown model"] == "NOT_FOUND" and codes["wrong datatype"] == "INVALID_ARGUMENT"
    assert codes["oversized tensor"] == "RESOURCE_EXHAUSTED" and not {"UNKNOWN", "INTERNAL", "OK"} & set(codes.values())
    phase = r["load"]["phases"][-1]
    assert phase["status_counts"] == {"OK": phase["requests"]} and phase["requests"] >= 50
    assert phase["latency_ms"]["count"] == phase["requests"] and len(phase["timeseries"]) >= 2
    assert any("load phase checked too" in n for n in r["contract"]["notes"])


def test_smoke_closed_loop_workers_and_compare_over_grpc(benchbox_cli, grpc_demo, tmp_path):
    target, _ = grpc_demo
    smoke = benchbox_cli(
        "smoke", "--target", target, "--users", "4", "--duration", "1", "--workers", "1",
        "--out", str(tmp_path / "a"), "-q",
    )  # fmt: skip
    assert smoke.code == 0, smoke.out + smoke.err
    r = _result(tmp_path / "a")
    assert r["command"] == "smoke" and r["contract"]["source"] == "kserve-v2" and r["adversarial"]["cases"] > 0
    phase = r["load"]["phases"][-1]
    assert phase["mode"] == "closed" and phase["status_counts"] == {"OK": phase["requests"]} and phase["requests"] > 0
    saved = str(tmp_path / "a" / "result.json")
    compared = benchbox_cli("compare", saved, saved, "--out", str(tmp_path / "c"), "-q")
    assert compared.code == 0, compared.out + compared.err  # the same run on both sides: no regression
    assert (tmp_path / "c" / "compare.json").is_file() and "Traceback" not in compared.err


@pytest.mark.parametrize(
    "fault,rule,case",
    [
        ("internal-on-datatype", "grpc_server_error", "wrong datatype"),
        ("hang-on-empty", "grpc_hang", "empty tensor"),
        ("dies-on-shape", "grpc_dropped", "wrong shape"),
    ],
)
def test_a_planted_grpc_fault_is_a_finding_with_a_grpcurl_line(benchbox_cli, tmp_path, fault, rule, case):
    with start_server("faulty_grpc.py", "--fault", fault) as server:
        target = f"grpc://127.0.0.1:{server.port}/demo"
        done = benchbox_cli(
            "run", "--target", target, "--timeout", "1",
            "--skip", "contract,load,saturation", "--out", str(tmp_path), "-q",
        )  # fmt: skip
    assert done.code == 1, done.out + done.err
    adversarial = _result(tmp_path)["adversarial"]
    found = next(f for f in adversarial["findings"] if f["detail"].startswith(case))
    assert found["rule"] == rule, found
    rules = {f["rule"] for f in adversarial["findings"]}
    # A dead server: every later call is refused too (or, on a starved box, runs into its 1 s deadline).
    assert rules <= ({"grpc_dropped", "grpc_hang"} if fault == "dies-on-shape" else {rule}), rules
    line = found["curl"]
    assert line.startswith("grpcurl -plaintext ") and line.endswith(" inference.GRPCInferenceService/ModelInfer")
    assert f"127.0.0.1:{server.port}" in line and "-proto grpc_predict_v2.proto" in line
    codes = {c["name"]: next(iter(c["statuses"])) for c in adversarial["by_class"]}
    if fault == "dies-on-shape":  # nothing answers after it: every later case is dropped, and health says so
        assert codes["unknown model"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED") and adversarial["healthy_after"] is False
    else:  # the rest of the face still answers as it should
        assert codes["unknown model"] == "NOT_FOUND" and adversarial["healthy_after"] is True


def test_grpcs_with_insecure_and_the_api_key_as_metadata(benchbox_cli, tls_cert, tmp_path, monkeypatch):
    cert, key = tls_cert
    port = _free_port()
    argv = [sys.executable, "-m", "benchbox.demo.grpc_face", "--port", str(port), "--api-key", "s3cret-k3y"]
    proc = subprocess.Popen([*argv, "--tls-cert", cert, "--tls-key", key], stdout=subprocess.DEVNULL)
    monkeypatch.setenv("GRPC_TEST_KEY", "s3cret-k3y")
    target = f"grpcs://127.0.0.1:{port}/demo"
    try:
        common = ["--contract-cases", "5", "--ready-timeout", "20", "--skip", "saturation", "--rate", "10"]
        done = benchbox_cli(
            "run", "--target", target, "--insecure", "--api-key-env", "GRPC_TEST_KEY", *common, "--duration", "1",
            "--out", str(tmp_path / "ok"), "-q",
        )  # fmt: skip
        assert done.code == 0, done.out + done.err
        text = (tmp_path / "ok" / "result.json").read_text()
        assert "s3cret-k3y" not in text
        codes = {c["name"]: next(iter(c["statuses"])) for c in json.loads(text)["adversarial"]["by_class"]}
        assert codes["no authorization"] == "UNAUTHENTICATED"
        untrusted = benchbox_cli(
            "run", "--target", target, "--api-key-env", "GRPC_TEST_KEY", "--ready-timeout", "1",
            "--out", str(tmp_path / "no"), "-q",
        )  # fmt: skip
        assert untrusted.code == 3, untrusted.out + untrusted.err
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--target", "grpc://127.0.0.1:9"], "bad --target 'grpc://127.0.0.1:9': expected grpc://host:port/MODEL"),
        (["--target", "http://127.0.0.1:9/p", "--protocol", "kserve-v2-grpc"], "bad --target 'http://127.0.0.1:9/p'"),
        (["--target", "grpc://127.0.0.1:9/m", "--protocol", "json"], "bad --protocol 'json'"),
    ],
)
def test_a_grpc_target_or_protocol_that_cannot_work_is_a_usage_error(benchbox_cli, args, fragment):
    done = benchbox_cli("run", *args)
    assert done.code == 2 and fragment in done.err and "Traceback" not in done.err, done.err
