"""Server metrics (benchbox.servermetrics): the target's own Prometheus series beside the load.

Real servers on 127.0.0.1: the demo (its queue and slots, prometheus_client) and tests/servers/
metered.py (a real leak read by the process collector, a page without memory series, none)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

import benchbox
from benchbox import result as result_io
from benchbox.demo.launcher import DemoServer
from benchbox.demo.options import DemoOptions
from benchbox.errors import UsageError
from benchbox.gates import parse_slo
from benchbox.result import Result
from benchbox.servermetrics.presets import choose
from benchbox.servermetrics.scrape import families
from benchbox.servermetrics.series import bucket_quantile
from tests.conftest import DEMO_BODY
from tests.servers.harness import start_server

SERVERS = Path(__file__).parent / "servers"


def test_gate_syntax_reads_series_stats_slopes_and_units() -> None:
    waiting = parse_slo("server.waiting.max<=10")
    assert (waiting.name, waiting.op, waiting.threshold) == ("server.waiting.max", "<=", 10.0)
    assert parse_slo("server.kv_cache.mean<=90%").threshold == pytest.approx(0.9)
    assert parse_slo("server.rss.slope<=12MB/min").threshold == pytest.approx(12e6 / 60)
    assert parse_slo("server.vllm:num_requests_running.min>=1").name == "server.vllm:num_requests_running.min"
    assert parse_slo("p99_slope<=6ms/min").threshold == pytest.approx(0.1)
    for bad in ("server.rss.p95<=1", "server.rss.max<=1MB/min", "server.rss.max<=lots", "server.rss<=1"):
        with pytest.raises(UsageError, match="bad --slo"):
            parse_slo(bad)


def test_presets_pick_real_servers_names_and_histograms_give_quantiles() -> None:
    page = families(
        '# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="m"} 8\n'
        '# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name="m"} 41\n'
        '# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{model_name="m"} 0.93\n'
        '# TYPE vllm:num_preemptions_total counter\nvllm:num_preemptions_total{model_name="m"} 2\n'
        '# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu="0"} 97\n'
    )
    chosen, missing = choose(page, ("vllm:num_requests_swapped",))
    keys = {d.key: preset for preset, d in chosen}
    assert keys == {
        "running": "vllm",
        "waiting": "vllm",
        "kv_cache": "vllm",
        "preemptions": "vllm",
        "gpu_util": "dcgm",
    }
    assert missing == ["vllm:num_requests_swapped"]
    # 10 observations: 5 under 10 ms, 4 in (10, 20], 1 in (20, 40]: P50 at the 10 ms edge, P90 at 20 ms.
    buckets = [(0.01, 5.0), (0.02, 9.0), (0.04, 10.0), (float("inf"), 10.0)]
    assert bucket_quantile(0.5, buckets) == pytest.approx(0.01)
    assert bucket_quantile(0.9, buckets) == pytest.approx(0.02)
    assert bucket_quantile(0.5, [(0.01, 0.0), (float("inf"), 0.0)]) is None


def _run(url: str, **options: object) -> tuple[list[str], Result]:
    """A short load phase through the Python API (no report written: these tests read the Result)."""
    notes: list[str] = []
    result = benchbox.run(
        target=url,
        skip="contract,adversarial,saturation",
        rate=20,
        observer=lambda event: notes.append(event.message),
        write=False,
        **options,
    )
    return notes, result


def test_a_leaking_server_fails_the_memory_slope_gate_and_a_clean_one_passes() -> None:
    """metered.py keeps 8 MB more every second (480 MB/min); the gate allows 60 MB/min."""
    gates = {"slo": ["server.rss.slope<=60MB/min", "p99_slope<=10s/min"], "duration": "4s"}
    with start_server("metered", "--leak-mb-per-s", "8") as leaky:
        _, leaked = _run(leaky.url + "/", **gates)
    with start_server("metered") as clean:
        _, steady = _run(clean.url + "/", **gates)
    rss = {r.verdict: next(g for g in r.gates if g.name == "server.rss.slope") for r in (leaked, steady)}
    assert rss["fail"].passed is False and rss["fail"].observed > 2 * 1e6  # > 2 MB/s measured
    assert "resident memory over steady: trend" in rss["fail"].detail and "95% interval" in rss["fail"].detail
    assert rss["pass"].passed is True and rss["pass"].observed < 1e6
    section = leaked.server_metrics
    assert section is not None and "process" in section.presets
    series = next(p for p in section.phases if p.phase == "steady" and p.key == "rss")
    # On the phase's own clock: scrapes about a second apart, inside the phase's 4 s (+ the last scrape).
    assert 3 <= len(series.t) <= 7 and 0 <= series.t[0] < 1.5 and series.t[-1] <= 5.0
    assert series.values[-1] > series.values[0]
    assert next(g for g in steady.gates if g.name == "p99_slope").passed is True
    assert "steady" in section.p99_trends


def test_no_metrics_is_off_by_default_and_a_missing_series_is_named() -> None:
    with start_server("metered", "--metrics", "none") as none:
        notes, asked = _run(none.url + "/", duration="2s", slo=["server.rss.max<=1GB"])
    assert any("has no Prometheus metrics at" in n for n in notes), notes
    assert asked.server_metrics is not None and asked.server_metrics.sources == () and not asked.server_metrics.phases
    gate = next(g for g in asked.gates if g.name == "server.rss.max")
    assert asked.verdict == "fail" and gate.passed is False and "series 'rss' never appeared" in gate.detail
    with start_server("metered", "--metrics", "bare") as bare:
        _, named = _run(
            bare.url + "/",
            duration="3s",
            server_metrics=[bare.url + "/metrics"],
            server_metric=["metered_requests_total"],
            slo=["server.rss.slope<=1MB/min"],
        )
    gate = next(g for g in named.gates if g.name == "server.rss.slope")
    assert gate.passed is False and "(series seen: metered_requests_total)" in gate.detail
    section = named.server_metrics
    assert section is not None and section.info("metered_requests_total").kind == "rate"
    rate = next(p for p in section.phases if p.key == "metered_requests_total")
    # The server counted the 20 req/s benchbox sent: the busiest scrape interval reads it. (Not the
    # mean: over a 3 s phase the first and last intervals reach past the load, and on a busy machine
    # a late scrape made the mean read 12.)
    assert rate.max == pytest.approx(20, rel=0.35), rate


def test_saturation_names_the_queue_behind_a_concurrency_limit(benchbox_cli, tmp_path: Path) -> None:
    """The demo with one slot of 40 ms (25 req/s at most): past its limit requests wait for the
    slot while it stays busy, and the sentence says so."""
    with DemoServer(DemoOptions(service_ms=40.0, concurrency=1)) as demo:
        outcome = benchbox_cli(
            "run",
            "--target",
            demo.url + "/v1/models/demo/predict",
            "--body",
            DEMO_BODY,
            "--skip",
            "contract,adversarial",
            "--rate",
            "5",
            "--duration",
            "2s",
            "--slo",
            "p95=150ms",
            "--saturation-budget",
            "24s",
            "--out",
            str(tmp_path),
        )
    saved = result_io.load(tmp_path / "result.json")
    section = saved.server_metrics
    assert section is not None and section.presets == ("demo", "process"), outcome.out
    assert len(section.probes) >= 2 and all("waiting" in p.values for p in section.probes)
    assert section.statement is not None, section.probes
    assert section.statement.startswith("Requests waiting for a slot rose from"), section.statement
    assert "while requests being served stayed at 1 request:" in section.statement
    assert "concurrency limit is the bottleneck" in section.statement
    report = (tmp_path / "report.html").read_text()
    assert section.statement in report.replace("&#39;", "'")


def test_start_measures_time_to_ready_and_slow_first_requests_then_stops_the_target() -> None:
    """metered.py started by --start: /ready says 503 for 1.5 s after its start and its first two
    requests take 300 ms more; benchbox counts from the process start and stops it at the end."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = f"{sys.executable} {SERVERS / 'metered.py'} --port {port} --load-s 1.5 --warm-requests 2 --warm-ms 300"
    notes, result = _run(
        f"http://127.0.0.1:{port}/",
        duration="1s",
        start=command,
        slo=["time_to_ready<=60s", "first_request<=250ms"],
        server_metrics=["none"],
    )
    cold = result.cold_start
    assert cold is not None and cold.started_by_benchbox and cold.time_to_ready_s >= 1.5
    assert [f.status for f in cold.first_requests] == [200, 200, 200]
    assert cold.first_requests[0].latency_ms >= 300 and cold.first_requests[1].latency_ms >= 300
    gates = {g.name: g for g in result.gates}
    assert gates["time_to_ready"].passed is True and "from the process start" in gates["time_to_ready"].detail
    assert gates["first_request"].passed is False and result.verdict == "fail"
    pid = int(next(n for n in notes if n.startswith("cold start: started")).split("pid ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):  # stopped and reaped: nothing left serving
        os.kill(pid, 0)


def test_a_warm_up_phase_takes_the_slow_first_requests_and_no_gate_sees_it() -> None:
    """--warmup 20 at 20 req/s: one second of load first, as its own phase; metered.py's first three
    requests take 300 ms more, so they land there, and the p95 gate is judged on the steady phase."""
    with start_server("metered", "--warm-requests", "3", "--warm-ms", "300") as server:
        _, result = _run(server.url + "/", duration="1s", warmup="20", slo=["p95=2s"], server_metrics=["none"])
    warm, steady = result.load.phases
    assert (warm.name, steady.name) == ("warm-up", "steady")
    assert warm.requests == steady.requests == 20
    assert warm.latency_ms is not None and warm.latency_ms.max >= 300
    gate = next(g for g in result.gates if g.name == "p95")
    assert gate.observed == pytest.approx(steady.latency_ms.p95)
