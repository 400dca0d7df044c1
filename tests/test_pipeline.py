"""The whole pipeline with the saturation search on: the capacity gate is judged on what was found.

This is also the suite's real-server search of a 50 req/s capacity (tests/test_saturation.py
searches a 500 req/s one); how close it comes is printed by benchmarks/saturation.py."""

from __future__ import annotations

import json

from tests.servers.harness import start_server


def test_min_rps_is_judged_against_the_capacity_the_search_found(benchbox_cli, tmp_path):
    with start_server("capacity", "--slots", "1", "--service-ms", "20") as server:  # capacity: 50 req/s
        outcome = benchbox_cli("run", "--target", server.url + "/predict", "--rate", "20", "--duration", "2s",
                               "--saturation-budget", "30s", "--slo", "min_rps=100", "--slo", "p95=200ms",
                               "--skip", "contract,adversarial", "--out", str(tmp_path), "-q")
    assert outcome.code == 1, outcome.out + outcome.err
    data = json.loads((tmp_path / "result.json").read_text())
    saturation = data["saturation"]
    assert saturation["found"] and 40 <= saturation["max_sustainable_rps"] <= 55, saturation["statement"]
    # --saturation-budget plans the probes' seconds of load; a probe's measured seconds run past
    # its plan by its drain (the last answers), so the total may pass 30 s by a little.
    assert saturation["load_s_used"] <= 30 * 1.1
    assert saturation["overload"]["grade"] == "queues", saturation["overload"]
    assert all(s["offered_rps"] or s["users"] for s in saturation["steps"])
    gate = next(g for g in data["gates"] if g["name"] == "min_rps")
    assert gate["metric"] == "saturation.max_sustainable_rps" and gate["passed"] is False
    assert gate["observed"] == saturation["max_sustainable_rps"]
    assert "saturation:" in outcome.out and 'id="saturation"' in (tmp_path / "report.html").read_text()
