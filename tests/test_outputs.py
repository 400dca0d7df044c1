"""Live outputs against real receivers: a real Prometheus (Debian's package, started here with its
remote-write receiver on 127.0.0.1) queried through its HTTP API afterwards, a dead receiver, and
the csv/jsonl files read back. Every figure is checked against the run's own result.json."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from apt import ensure
from conftest import DEMO_BODY

from benchbox.events import Event
from benchbox.pipeline import run as run_pipeline
from benchbox.plan import build_plan

PROMETHEUS = "/usr/bin/prometheus"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:  # bound then closed: nothing listens on it afterwards
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_prometheus() -> str | None:
    return shutil.which("prometheus") or (PROMETHEUS if Path(PROMETHEUS).exists() else None)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus with its remote-write receiver on a free 127.0.0.1 port; its base URL."""
    with start_prometheus(tmp_path_factory.mktemp("prometheus")) as (base, _):
        yield base


@contextmanager
def start_prometheus(tmp: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = ensure(find_prometheus, ("prometheus",), "The live-output test writes into a real Prometheus.")
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")  # scrapes nothing: only what benchbox writes
    port = free_port()
    log = (tmp / "log.txt").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"prometheus exited {proc.returncode}: {(tmp / 'log.txt').read_text()[-2000:]}"
            try:
                if httpx.get(f"{base}/-/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"prometheus not ready in {START_TIMEOUT_S}s"
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def tiny_run(target: str, out: Path, *outputs: str) -> list[str]:
    args = [
        "run",
        "--target",
        target,
        "--body",
        DEMO_BODY,
        "--rate",
        "20",
        "--duration",
        "3s",
        "--skip",
        "contract,adversarial,saturation",
        "--out",
        str(out),
        "--quiet",
    ]
    for output in outputs:
        args += ["--output", output]
    return args


def query(base: str, promql: str) -> list[dict]:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=10.0).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_prometheus_remote_write_series_match_the_result(prometheus, demo_server, benchbox_cli, tmp_path):
    out = tmp_path / "run-prom"
    outcome = benchbox_cli(*tiny_run(demo_server.predict_url, out, f"prometheus-rw={prometheus}/api/v1/write"))
    assert outcome.code == 0, outcome.out + outcome.err
    result = json.loads((out / "result.json").read_text())
    assert not any("prometheus-rw" in n for n in result["notes"]), result["notes"]
    phase = result["load"]["phases"][0]
    run = f'run_id="{out.name}"'

    summed = query(prometheus, f'sum(sum_over_time(benchbox_requests{{{run}, phase="steady"}}[1h]))')
    assert float(summed[0]["value"][1]) == phase["requests"]

    series = query(prometheus, f'benchbox_latency_seconds{{{run}, phase="steady", quantile="0.95"}}[1h]')
    assert len(series) == 1
    labels = series[0]["metric"]
    assert labels["label"] == result["target"]["label"] and labels["target"] == demo_server.predict_url
    sent = [float(v) * 1000 for _, v in series[0]["values"]]
    expected = [p["p95"] for p in phase["timeseries"] if p["p95"] is not None]
    assert len(expected) >= 3
    assert sent == pytest.approx(expected, abs=1e-6)

    whole = query(prometheus, f'benchbox_phase_latency_seconds{{{run}, quantile="0.95"}}')
    assert float(whole[0]["value"][1]) * 1000 == pytest.approx(phase["latency_ms"]["p95"], abs=1e-6)
    verdict = query(prometheus, f"benchbox_run_passed{{{run}}}")
    assert verdict[0]["metric"]["verdict"] == result["verdict"] == "pass"
    assert float(verdict[0]["value"][1]) == 1.0


def test_dead_receiver_costs_the_run_nothing_and_is_said_once(demo_server, benchbox_cli, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api/v1/write"  # nothing listens there
    out = tmp_path / "run-dead"
    outcome = benchbox_cli(
        *tiny_run(demo_server.predict_url, out, f"prometheus-rw={url}", f"csv={tmp_path / 'seconds.csv'}")
    )
    assert outcome.code == 0, outcome.out + outcome.err
    result = json.loads((out / "result.json").read_text())
    phase = result["load"]["phases"][0]
    assert phase["requests"] == 60 and phase["errors"] == 0  # the whole schedule, as with no output
    said = [n for n in result["notes"] if n.startswith("prometheus-rw:")]
    assert len(said) == 1, result["notes"]
    found = re.fullmatch(
        rf"prometheus-rw: receiver at {re.escape(url)} unreachable; (\d+) of (\d+) points dropped", said[0]
    )
    assert found, said[0]
    dropped, offered = int(found[1]), int(found[2])
    assert dropped == offered > 0
    assert said[0] in outcome.out  # printed once with the verdict
    with (tmp_path / "seconds.csv").open() as f:  # the other output still got every second
        assert sum(int(row["requests"]) for row in csv.DictReader(f)) == phase["requests"]


def test_csv_and_jsonl_rows_are_the_results_seconds(demo_server, benchbox_cli, tmp_path):
    out = tmp_path / "run-files"
    outcome = benchbox_cli(
        *tiny_run(demo_server.predict_url, out, f"csv={tmp_path / 's.csv'}", f"jsonl={tmp_path / 's.jsonl'}")
    )
    assert outcome.code == 0, outcome.out + outcome.err
    result = json.loads((out / "result.json").read_text())
    phase = result["load"]["phases"][0]
    expected = [(p["t"], p["requests"], p["errors"], p["p50"], p["p95"], p["p99"]) for p in phase["timeseries"]]

    with (tmp_path / "s.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [
        (int(r["t"]), int(r["requests"]), int(r["errors"]), float(r["p50_ms"]), float(r["p95_ms"]), float(r["p99_ms"]))
        for r in rows
    ] == expected
    assert {r["run_id"] for r in rows} == {out.name} and {r["phase"] for r in rows} == {"steady"}

    records = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    seconds = [r for r in records if r["kind"] == "second"]
    assert [(r["t"], r["requests"], r["errors"], r["p50_ms"], r["p95_ms"], r["p99_ms"]) for r in seconds] == expected
    whole = [r for r in records if r["kind"] == "phase"]
    assert len(whole) == 1 and whole[0]["requests"] == phase["requests"]
    assert whole[0]["p95_ms"] == phase["latency_ms"]["p95"]
    assert records[-1]["kind"] == "run" and records[-1]["verdict"] == result["verdict"]


def test_answers_that_arrive_after_the_phase_still_reach_the_live_outputs(benchbox_cli, tmp_path):
    """300 ms answers to a 2 s phase: the last ones arrive during the drain, after the ticker's
    last second. They are in the result's last point, so a live output must carry that point too."""
    from tests.servers.harness import FIXED, start_server

    out = tmp_path / "run-drain"
    with start_server(FIXED, "--service-ms", "300") as server:
        args = tiny_run(server.url + "/p", out, f"csv={tmp_path / 'd.csv'}")
        args[args.index("--duration") + 1] = "2s"
        outcome = benchbox_cli(*args, "--server-metrics", "none")
    assert outcome.code == 0, outcome.out + outcome.err
    phase = json.loads((out / "result.json").read_text())["load"]["phases"][0]
    assert phase["requests"] == phase["responses"] == 40
    with (tmp_path / "d.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["t"]), int(r["requests"])) for r in rows] == [(p["t"], p["requests"]) for p in phase["timeseries"]]
    assert sum(int(r["requests"]) for r in rows) == 40


def test_seconds_that_arrive_together_get_distinct_timestamps(tmp_path):
    """A phase's last tick can follow the one before within a millisecond; a time-series store keeps
    one sample per series and timestamp, so each second needs its own."""
    from benchbox.outputs import OutputSpec
    from benchbox.outputs.fanout import Outputs

    outputs = Outputs([OutputSpec("jsonl", str(tmp_path / "t.jsonl"))], {"run_id": "r"})
    observe = outputs.observe(lambda event: None)
    for t in range(5):
        observe(Event("tick", data={"phase": "steady", "t": t, "requests": 20, "errors": 0}))
    assert outputs.end() == []
    stamps = [json.loads(line)["time_ms"] for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert len(stamps) == 5 and all(a < b for a, b in zip(stamps, stamps[1:])), stamps


@pytest.mark.parametrize(
    "value", ["kafka=x", "csv=", "prometheus-rw=127.0.0.1:9090", "nothing", "otlp=127.0.0.1:4318", "otlp=grpc://x:4317"]
)
def test_a_bad_output_is_a_usage_error(benchbox_cli, value):
    outcome = benchbox_cli("run", "--target", "http://127.0.0.1:9/", "--output", value)
    assert outcome.code == 2
    assert f"bad --output {value!r}" in outcome.err
    assert "Traceback" not in outcome.err


def test_live_compare_tags_each_window_with_its_side(demo_server, benchbox_cli, tmp_path):
    out = tmp_path / "cmp"
    outcome = benchbox_cli(
        "compare",
        "--baseline",
        demo_server.predict_url,
        "--candidate",
        demo_server.predict_url,
        "--body",
        DEMO_BODY,
        "--rate",
        "20",
        "--duration",
        "4s",
        "--skip",
        "shadow",
        "--out",
        str(out),
        "--output",
        f"jsonl={tmp_path / 'c.jsonl'}",
    )
    assert outcome.code in (0, 1), outcome.out + outcome.err
    records = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    seconds = [r for r in records if r["kind"] == "second"]
    assert {r["side"] for r in seconds} == {"baseline", "candidate"}
    assert all(r["phase"].startswith(r["side"] + " ") for r in seconds)  # window 'baseline 1', ...
    assert {r["run_id"] for r in records} == {out.name}
    for side in ("baseline", "candidate"):
        result = json.loads((out / side / "result.json").read_text())
        mine = [r for r in seconds if r["side"] == side]
        assert sum(r["requests"] for r in mine) == result["load"]["phases"][0]["requests"]
        assert {r["label"] for r in mine} == {result["target"]["label"]}
    compared = json.loads((out / "compare.json").read_text())
    assert records[-1]["kind"] == "run" and records[-1]["verdict"] == compared["verdict"]


def test_saturation_probes_are_sent_second_by_second(demo_server, benchbox_cli, tmp_path):
    out = tmp_path / "run-sat"
    args = tiny_run(demo_server.predict_url, out, f"jsonl={tmp_path / 'p.jsonl'}")
    args[args.index("contract,adversarial,saturation")] = "contract,adversarial"
    outcome = benchbox_cli(*args, "--saturation-budget", "12s")
    assert outcome.code in (0, 1), outcome.out + outcome.err
    steps = json.loads((out / "result.json").read_text())["saturation"]["steps"]
    probes = [
        r
        for r in map(json.loads, (tmp_path / "p.jsonl").read_text().splitlines())
        if r["kind"] == "second" and r["phase"].startswith("saturation-")
    ]
    assert steps, "the search ran no probe: nothing to compare"
    # Each probe the search made (saturation-INDEX-STAGE) sent its seconds while it ran.
    assert {f"saturation-{s['index']}-{s['stage']}" for s in steps} <= {r["phase"] for r in probes}
    assert all(r["p95_ms"] is None or r["p95_ms"] > 0 for r in probes)


def test_receiver_killed_mid_run_the_run_finishes_and_says_what_was_lost(demo_server, tmp_path):
    """Prometheus is killed when the second second of load arrives: the load goes on to the end
    with every request, and the result says once how many points never reached it."""
    (tmp_path / "prom").mkdir()
    with start_prometheus(tmp_path / "prom") as (base, proc):
        url = f"{base}/api/v1/write"
        plan = build_plan(
            {
                "target": demo_server.predict_url,
                "body": DEMO_BODY,
                "rate": "20",
                "duration": "3s",
                "skip": "contract,adversarial,saturation",
                "out": str(tmp_path / "run-kill"),
                "output": (f"prometheus-rw={url}",),
            }
        )
        ticks: list[int] = []

        def watch(event: Event) -> None:
            if event.kind == "tick":
                ticks.append(int(event.data["t"]))
                if len(ticks) == 2:
                    proc.kill()
                    proc.wait()

        result = run_pipeline(plan, observer=watch)
    assert proc.returncode is not None and len(ticks) >= 2  # killed mid-run
    phase = result.load.phases[0]
    assert phase.requests == 60 and phase.errors == 0
    said = [n for n in result.notes if n.startswith("prometheus-rw:")]
    assert len(said) == 1, result.notes
    found = re.fullmatch(
        rf"prometheus-rw: receiver at {re.escape(url)} unreachable; (\d+) of (\d+) points dropped", said[0]
    )
    assert found, said[0]
    assert 0 < int(found[1]) <= int(found[2])


def test_outputs_from_benchbox_toml_and_the_record_keeps_no_password(tmp_path, benchbox_cli):
    config = tmp_path / "benchbox.toml"
    config.write_text(
        'target = "http://127.0.0.1:9/p"\n'
        'outputs = ["csv=seconds.csv", "prometheus-rw=http://bench:s3cret@127.0.0.1:9090/api/v1/write"]\n'
    )
    plan = build_plan({}, {"target": "http://127.0.0.1:9/p", "outputs": ["csv=seconds.csv"]})
    assert [(o.kind, o.target) for o in plan.outputs] == [("csv", "seconds.csv")]
    given = build_plan({"output": ("jsonl=a.jsonl",)}, {"target": "http://127.0.0.1:9/p", "outputs": ["csv=b.csv"]})
    assert [o.kind for o in given.outputs] == ["jsonl"]  # the flag wins over the config, as every option
    outcome = benchbox_cli("run", "--config", str(config), "--dry-run")
    assert outcome.code == 0, outcome.err
    assert "s3cret" not in outcome.out
    assert "prometheus-rw=http://127.0.0.1:9090/api/v1/write" in outcome.out
