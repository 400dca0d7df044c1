"""--output otlp=URL against a real OTLP/HTTP receiver: VictoriaMetrics (Debian's package, fetched by
tests/victoria.py when missing) started here on 127.0.0.1 and queried through its PromQL API
afterwards. Every figure is checked against the run's own result.json and the target's own clock."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import victoria
from conftest import DEMO_BODY

from benchbox.events import Event
from benchbox.outputs import parse_output
from benchbox.outputs.fanout import Outputs
from benchbox.outputs.points import Record
from benchbox.pipeline import run as run_pipeline
from benchbox.plan import build_plan
from tests.servers.harness import FIXED, start_server

NOTE = r"otlp: receiver at {url} {why}; (\d+) of (\d+) points dropped"


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[victoria.Victoria]:
    try:
        with victoria.start(tmp_path_factory.mktemp("victoria")) as running:
            yield running
    except victoria.ReceiverUnavailable as exc:  # never skipped: the receiver is part of the test
        pytest.fail(f"no OTLP receiver: {exc}")


def run_args(target: str, out: Path, *more: str) -> list[str]:
    return [
        "run",
        "--target",
        target,
        "--rate",
        "20",
        "--duration",
        "3s",
        "--skip",
        "contract,adversarial,saturation",
        "--out",
        str(out),
        "--quiet",
        *more,
    ]


def of_run(name: str, run_id: str, **labels: str) -> str:
    """A PromQL selector: OTLP names have dots, so the name goes in as a label."""
    pairs = {"__name__": name, "run_id": run_id, **labels}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def within_clock(measured: float, reference: float) -> bool:
    """As tests/test_load.py's bound: not below the server's clock, not far above it."""
    return reference * 0.999 <= measured <= reference + max(10.0, 0.5 * reference)


@pytest.mark.alone  # the arrival times and percentiles are held to the server's clock
def test_otlp_series_match_the_result_and_the_servers_clock(receiver, benchbox_cli, tmp_path):
    out = tmp_path / "run-otlp"
    with start_server(FIXED, "--service-ms", "20") as server:
        outcome = benchbox_cli(*run_args(server.url + "/p", out, "--output", f"otlp={receiver.otlp_url}"))
        served = server.stats()
    assert outcome.code == 0, outcome.out + outcome.err
    result = json.loads((out / "result.json").read_text())
    assert not any(n.startswith("otlp:") for n in result["notes"]), result["notes"]
    phase = result["load"]["phases"][0]

    summed = receiver.query(f"sum(sum_over_time({of_run('benchbox.requests', out.name, phase='steady')}[1h]))")
    assert float(summed[0]["value"][1]) == phase["requests"] == 60
    assert served.count >= 60  # and the preflight's few

    series = receiver.query(of_run("benchbox.latency", out.name, phase="steady", quantile="0.95") + "[1h]")
    assert len(series) == 1
    labels = series[0]["metric"]
    assert labels["label"] == result["target"]["label"] and labels["target"] == server.url + "/p"
    assert labels["service.name"] == "benchbox"  # the OTLP resource's attributes arrive as labels
    sent = [float(v) * 1000 for _, v in series[0]["values"]]
    expected = [p["p95"] for p in phase["timeseries"] if p["p95"] is not None]
    assert len(expected) >= 3
    assert sent == pytest.approx(expected, abs=1e-6)

    whole = receiver.query(f"last_over_time({of_run('benchbox.phase.latency', out.name, quantile='0.95')}[1h])")
    p95_ms = float(whole[0]["value"][1]) * 1000
    assert p95_ms == pytest.approx(phase["latency_ms"]["p95"], abs=1e-6)
    assert within_clock(p95_ms, served.percentile_ms(95)), (p95_ms, served.percentile_ms(95))
    verdict = receiver.query(f"last_over_time({of_run('benchbox.run.passed', out.name)}[1h])")
    assert verdict[0]["metric"]["verdict"] == result["verdict"] == "pass"
    assert float(verdict[0]["value"][1]) == 1.0


def test_workers_send_the_masters_merged_seconds_once(receiver, demo_server, benchbox_cli, tmp_path):
    """With --workers 2 the parent gets the master's merged ticks: one record per second, each one
    covering both workers, summing to the run's count, in the file and at the receiver alike (had a
    worker sent its own seconds too, the receiver's sums would not match)."""
    out = tmp_path / "run-workers"
    outputs = ("--output", f"jsonl={tmp_path / 'w.jsonl'}", "--output", f"otlp={receiver.otlp_url}")
    outcome = benchbox_cli(*run_args(demo_server.predict_url, out, "--body", DEMO_BODY, *outputs), "--workers", "2")
    assert outcome.code == 0, outcome.out + outcome.err
    phase = json.loads((out / "result.json").read_text())["load"]["phases"][0]
    seconds = [r for r in map(json.loads, (tmp_path / "w.jsonl").read_text().splitlines()) if r["kind"] == "second"]
    assert [r["t"] for r in seconds] == [p["t"] for p in phase["timeseries"]]  # each second once
    assert {r["workers"] for r in seconds} == {2}
    assert sum(r["requests"] for r in seconds) == phase["requests"] == 60

    received = receiver.query(of_run("benchbox.requests", out.name, phase="steady") + "[1h]")
    assert len(received) == 1
    assert [float(v) for _, v in received[0]["values"]] == [r["requests"] for r in seconds]
    workers = receiver.query(of_run("benchbox.workers", out.name) + "[1h]")
    assert {float(v) for _, v in workers[0]["values"]} == {2.0}


def test_otlp_receiver_killed_mid_run_the_run_finishes_and_says_what_was_lost(demo_server, tmp_path):
    """VictoriaMetrics is killed when the second second of load arrives: the load goes on to the
    end with every request, and the result says once how many points never reached it."""
    (tmp_path / "vm").mkdir()
    with victoria.start(tmp_path / "vm") as vm:
        plan = build_plan(
            {
                "target": demo_server.predict_url,
                "body": DEMO_BODY,
                "rate": "20",
                "duration": "3s",
                "skip": "contract,adversarial,saturation",
                "out": str(tmp_path / "run-kill"),
                "output": (f"otlp={vm.otlp_url}",),
            }
        )
        ticks: list[int] = []

        def watch(event: Event) -> None:
            if event.kind == "tick":
                ticks.append(int(event.data["t"]))
                if len(ticks) == 2:
                    vm.proc.kill()
                    vm.proc.wait()

        result = run_pipeline(plan, observer=watch)
    assert vm.proc.returncode is not None and len(ticks) >= 2  # killed mid-run
    phase = result.load.phases[0]
    assert phase.requests == 60 and phase.errors == 0
    said = [n for n in result.notes if n.startswith("otlp:")]
    assert len(said) == 1, result.notes
    found = re.fullmatch(NOTE.format(url=re.escape(vm.otlp_url), why="unreachable"), said[0])
    assert found, said[0]
    assert 0 < int(found[1]) <= int(found[2])


class _Refuses(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that takes every request but refuses 3 points of each (partial success)."""

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

        self.rfile.read(int(self.headers["Content-Length"]))
        answer = ExportMetricsServiceResponse()
        answer.partial_success.rejected_data_points = 3
        answer.partial_success.error_message = "too old"
        body = answer.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_points_a_receiver_refuses_are_counted_as_dropped():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        outputs = Outputs([parse_output("--output", f"otlp={url}")], {"run_id": "r"})
        record = Record(
            "phase",
            1,
            {"run_id": "r", "phase": "steady"},
            {"requests": 10.0, "errors": 0.0, "error_rate": 0.0, "throughput_rps": 5.0},
        )
        notes = outputs.end([record])
    finally:
        server.shutdown()
        server.server_close()
    # The base URL took OTLP's path; the 3 points refused of the 4 sent are said once.
    assert notes == [f"otlp: receiver at {url}/v1/metrics refused points (too old); 3 of 4 points dropped"]
