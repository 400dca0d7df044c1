"""Load shapes (steps, ramp) and users' own locustfiles, end to end through the CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.servers.harness import FIXED, start_server

DOCS_STYLE_LOCUSTFILE = textwrap.dedent("""
    from locust import HttpUser, between, task


    class QuickstartUser(HttpUser):
        wait_time = between(1, 2)

        @task
        def hello_world(self):
            self.client.get("/hello")
            self.client.get("/world")

        @task(3)
        def view_items(self):
            for item_id in range(3):
                self.client.get(f"/item?id={item_id}", name="/item")
""")


def phases_of(out: Path) -> list[dict]:
    return json.loads((out / "result.json").read_text())["load"]["phases"]


def probes_of(out: Path) -> int:
    pre = json.loads((out / "result.json").read_text())["preflight"]
    return len(pre["health"]["probes"]) + len(pre["ready"]["probes"])


def test_steps_are_phases_with_their_own_histograms(benchbox_cli, tmp_path):
    with start_server(FIXED, "--service-ms", "2") as server:
        outcome = benchbox_cli(
            "run",
            "--target",
            server.url + "/p",
            "--steps",
            "20,40",
            "--step-duration",
            "2s",
            "--skip",
            "contract,adversarial,saturation",
            "--server-metrics",
            "none",  # the server counts every request: no GET /metrics beside the load and probes
            "--out",
            str(tmp_path),
            "-q",
        )
        served = server.stats().count
    assert outcome.code == 0, outcome.err
    phases = phases_of(tmp_path)
    assert [p["name"] for p in phases] == ["step 1: 20 req/s", "step 2: 40 req/s"]
    assert [p["requests"] for p in phases] == [40, 80]
    assert [p["offered_rps"] for p in phases] == [20, 40]
    assert all(p["hdr"] and p["latency_ms"]["count"] == p["responses"] for p in phases)
    assert served - probes_of(tmp_path) == 120


def test_open_loop_ramp_rises_over_the_phase(benchbox_cli, tmp_path):
    with start_server(FIXED, "--service-ms", "1") as server:
        outcome = benchbox_cli(
            "run",
            "--target",
            server.url + "/p",
            "--rate",
            "100",
            "--ramp",
            "--duration",
            "4s",
            "--skip",
            "contract,adversarial,saturation",
            "--out",
            str(tmp_path),
            "-q",
        )
    assert outcome.code == 0, outcome.err
    (phase,) = phases_of(tmp_path)
    assert phase["name"] == "ramp" and phase["ramp_from"] == 0.0
    assert phase["requests"] == 200  # the area under a 0 -> 100 req/s ramp over 4 s
    per_second = [p["requests"] for p in phase["timeseries"]][:4]
    assert per_second == sorted(per_second) and per_second[0] < per_second[3]


def test_an_unchanged_locustfile_runs_with_per_name_percentiles(benchbox_cli, tmp_path):
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(DOCS_STYLE_LOCUSTFILE)
    with start_server(FIXED, "--service-ms", "3") as server:
        outcome = benchbox_cli(
            "run",
            "--scenario",
            str(locustfile),
            "--target",
            server.url,
            "--users",
            "3",
            "--duration",
            "4s",
            "--server-metrics",
            "none",  # the server counts every request: no GET /metrics beside the load and probes
            "--out",
            str(tmp_path / "out"),
            "-q",
        )
        served = server.stats().count
    assert outcome.code == 0, outcome.err
    (phase,) = phases_of(tmp_path / "out")
    by_name = phase["by_name"]
    assert set(by_name) <= {"GET /hello", "GET /world", "GET /item"} and "GET /item" in by_name
    assert sum(v["requests"] for v in by_name.values()) == phase["requests"] == phase["responses"]
    assert all(v["latency_ms"]["p50"] >= 3.0 for v in by_name.values())
    assert served - probes_of(tmp_path / "out") == phase["requests"]


def test_a_broken_locustfile_is_a_one_line_usage_error(benchbox_cli, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from locust import HttpUser\nclass U(HttpUser)\n    pass\n")
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    with start_server(FIXED) as server:
        for path, fragment in ((bad, "SyntaxError"), (empty, "no User class")):
            outcome = benchbox_cli(
                "run",
                "--scenario",
                str(path),
                "--target",
                server.url,
                "--duration",
                "1s",
                "--out",
                str(tmp_path / path.stem),
                "-q",
            )
            assert outcome.code == 2, outcome.err
            lines = outcome.err.strip().splitlines()
            assert fragment in lines[-1] and "Traceback" not in outcome.err
    outcome = benchbox_cli("run", "--scenario", str(tmp_path / "missing.py"), "--target", "http://127.0.0.1:9")
    assert outcome.code == 2 and "bad --scenario" in outcome.err
