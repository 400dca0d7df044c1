"""The whole pipeline with the saturation search on: the capacity gate is judged on what was found.

This is also the suite's real-server search of a 50 req/s capacity (tests/test_saturation.py
searches a 500 req/s one); how close it comes is printed by benchmarks/saturation.py."""

from __future__ import annotations

import dataclasses
import json

from tests.servers.harness import start_server


def test_min_rps_is_judged_against_the_capacity_the_search_found(benchbox_cli, tmp_path):
    """At 50 req/s the generator and the server need a few % of a core: no neighbour can move the
    capacity out of 40-55 (checked beside three busy-looping processes), so it shares the machine."""
    with start_server("capacity", "--slots", "1", "--service-ms", "20") as server:  # capacity: 50 req/s
        outcome = benchbox_cli(
            "run",
            "--target",
            server.url + "/predict",
            "--rate",
            "20",
            "--duration",
            "2s",
            "--saturation-budget",
            "30s",
            "--slo",
            "min_rps=100",
            "--slo",
            "p95=200ms",
            "--skip",
            "contract,adversarial",
            "--out",
            str(tmp_path),
            "-q",
        )
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


def test_the_engine_stops_at_an_interrupt_and_the_assembler_keeps_what_was_learnt() -> None:
    """The engine's own contract, with stages of the test's making (no server): a stage that is
    interrupted ends the run, later stages never start, and the one assembler still makes a
    partial, scrubbed Result that records the plan as given beside what ran."""
    from benchbox import pipeline
    from benchbox.errors import Interrupted
    from benchbox.plan import build_plan

    key = "sk-test-0123456789abcdef"
    plan = build_plan({"target": "http://127.0.0.1:9/x", "seed": "1", "api_key_env": "K"}, env={"K": key})
    started: list[str] = []

    class Learns:
        name = "inputs"

        def applies(self, ctx: pipeline.RunContext) -> bool:
            return True

        def run(self, ctx: pipeline.RunContext) -> None:
            started.append(self.name)
            ctx.learn_request(bodies=('{"x": 1}',), method="POST")
            ctx.inputs = "the test"
            ctx.notes.append(f"the target said: Bearer {key}")  # an echo no stage thought of

    class Interrupts:
        name = "load"

        def applies(self, ctx: pipeline.RunContext) -> bool:
            return True

        def run(self, ctx: pipeline.RunContext) -> None:
            started.append(self.name)
            raise Interrupted("SIGTERM")

    class Never(Interrupts):
        name = "saturation"

    result = pipeline.run(plan, stages=(Learns(), Interrupts(), Never()))
    assert started == ["inputs", "load"]
    assert result.interrupted == "SIGTERM" and result.partial and result.verdict == "error"
    assert result.problems == ("interrupted by SIGTERM: the figures cover the run until then",)
    assert result.plan["method"] == "GET" and result.plan["bodies"] == 0  # as given
    assert result.ran is not None and result.ran["method"] == "POST" and result.ran["bodies"] == 1
    assert result.ran["stages"] == ["inputs", "load"] and result.ran["bodies_from"] == "the test"
    assert key not in json.dumps(dataclasses.asdict(result)) and "<redacted>" in result.notes[0]
    assert [g.detail for g in result.gates if g.name == "p95"] == [
        "not checked: interrupted by SIGTERM before the load phase"
    ]
