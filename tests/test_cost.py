"""Cost per decision and compute for the expected load (issue 22): the arithmetic by hand, the
gates, one run against a server of known capacity (tests/servers/capacity.py), and a compare of
two saved results where the candidate has a third less capacity.

Nothing asserts a timing: the expected cost is computed from the capacity the run itself found."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from benchbox import result as result_io
from benchbox.capacity import CostPlan, cost_section, size
from benchbox.gates import judge, parse_slo
from benchbox.pipeline import cost_of
from tests.servers.harness import start_server

PRICE = 3.20


def test_cost_per_request_is_price_times_replicas_over_capacity() -> None:
    c = cost_section(
        CostPlan(PRICE, replicas=2),
        capacity_rps=40.0,
        found=True,
        upper_rps=50.0,
        load_rps=10.0,
        capacity_tokens_per_s=800.0,
    )
    assert c.at_capacity.per_1m == pytest.approx(PRICE * 2 / 3600 / 40 * 1e6)
    assert c.at_capacity.per_1k == pytest.approx(PRICE * 2 / 3600 / 40 * 1e3)
    assert c.at_capacity.per_1m_low == pytest.approx(PRICE * 2 / 3600 / 50 * 1e6)  # if the capacity were 50
    assert c.at_capacity.per_1m_output_tokens == pytest.approx(PRICE * 2 / 3600 / 800 * 1e6)
    assert c.at_load.per_1m == pytest.approx(PRICE * 2 / 3600 / 10 * 1e6) and c.at_load.basis == "load"
    assert "2 replicas at 3.20/h each" in c.statement and "per 1M requests at capacity" in c.statement
    assert cost_section(CostPlan(), 40.0, True, None, 10.0) is None  # neither a price nor a load: no section


def test_sizing_rounds_up_and_says_when_one_replica_is_short() -> None:
    short = size(expected_rps=100.0, headroom=0.3, capacity_rps=40.0, replicas_tested=1, price_per_hour=PRICE)
    assert short.needed_rps == pytest.approx(130.0) and short.replicas == math.ceil(130 / 40) == 4
    assert short.one_replica_short and short.statement.startswith("one replica is short of the expected load")
    assert short.cost_per_hour == pytest.approx(4 * PRICE)
    assert short.per_1m == pytest.approx(4 * PRICE / 3600 / 100 * 1e6)
    enough = size(expected_rps=10.0, headroom=0.3, capacity_rps=40.0, replicas_tested=2, price_per_hour=None)
    assert enough.replicas == 1 and not enough.one_replica_short and enough.replica_rps == 20.0
    assert size(30.0, 0.3, None, 1, PRICE).replicas is None  # no capacity: not known, said so
    exact = size(expected_rps=100.0, headroom=0.0, capacity_rps=50.0, replicas_tested=1, price_per_hour=None)
    assert exact.replicas == 2  # 100 / 50 exactly: no extra replica from rounding


def test_cost_and_replica_gates_and_the_floor_case() -> None:
    specs = (parse_slo("cost_per_1k<=0.05"), parse_slo("cost_per_1m=10"), parse_slo("replicas<=3"))
    found = cost_section(CostPlan(PRICE, expected_rps=100.0), 40.0, True, None, 10.0)
    per_1k, per_1m, replicas = judge(specs, None, cost=found)
    assert per_1k.passed is True and per_1k.observed == pytest.approx(PRICE / 3600 / 40 * 1e3)
    assert per_1m.passed is False and replicas.passed is False and replicas.observed == 4
    floor = cost_section(CostPlan(PRICE, expected_rps=100.0), 40.0, False, None, 10.0)
    per_1k, per_1m, replicas = judge(specs, None, cost=floor)
    assert per_1k.passed is True and per_1k.detail.startswith("at most")  # an upper bound within: passes
    assert per_1m.passed is None and "floor" in per_1m.detail  # an upper bound above: says nothing
    none = judge(specs[:1], None, cost=cost_section(CostPlan(PRICE), None, False, None, 10.0))[0]
    assert none.passed is None and "no capacity" in none.detail and "at the load run" in none.detail


@pytest.mark.parametrize(
    "text, ok",
    [
        ("cost_per_1k<=0.05", True),
        ("p95<=200ms", True),
        ("min_rps>=100", True),
        ("replicas=4", True),
        ("p95>=200ms", False),
        ("replicas<=2.5", False),
        ("cost_per_1k<=-1", False),
    ],
)
def test_slo_keys_read_with_their_own_comparison(text: str, ok: bool) -> None:
    from benchbox.errors import UsageError

    if ok:
        assert parse_slo(text).threshold > 0
    else:
        with pytest.raises(UsageError, match="bad --slo"):
            parse_slo(text)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--slo", "cost_per_1k<=0.05"], "bad --slo cost_per_1k: a cost gate needs the price"),
        (["--slo", "replicas<=2", "--cost-per-hour", "1"], "bad --slo replicas: a replica gate needs"),
        (["--cost-per-hour", "free"], "bad --cost-per-hour 'free'"),
        (["--replicas", "1.5"], "bad --replicas '1.5'"),
        (["--headroom", "130%"], "bad --headroom '130%'"),
    ],
)
def test_bad_cost_flags_are_one_line_errors(benchbox_cli, tmp_path: Path, args: list[str], message: str) -> None:
    outcome = benchbox_cli("run", "--target", "http://127.0.0.1:9/", "--out", str(tmp_path), "--dry-run", *args)
    assert outcome.code == 2 and outcome.err.count("\n") == 1 and message in outcome.err, outcome.err


def test_cost_against_a_server_of_known_capacity_and_compare_shows_the_rise(benchbox_cli, tmp_path: Path) -> None:
    """One slot of 20 ms: 50 req/s at most. The cost per 1M requests equals price x replicas over
    the capacity this run found (or the floor it reached), and the sizing follows from it."""
    out = tmp_path / "base"
    with start_server("capacity", "--slots", "1", "--service-ms", "20") as server:
        outcome = benchbox_cli(
            "run",
            "--target",
            server.url + "/",
            "--skip",
            "contract,adversarial",
            "--rate",
            "5",
            "--duration",
            "2s",
            "--saturation-budget",
            "15s",
            "--cost-per-hour",
            str(PRICE),
            "--replicas",
            "2",
            "--expected-rps",
            "60",
            "--slo",
            "cost_per_1m<=1000000",
            "--out",
            str(out),
            "--seed",
            "4",
            "-q",
        )
    saved = result_io.load(out / "result.json")
    s, cost = saved.saturation, saved.cost
    capacity = s.max_sustainable_rps if s.found else s.capacity_floor_rps
    assert capacity is not None and 0 < capacity <= 55  # never above what one 20 ms slot can serve
    assert cost.at_capacity.rps == capacity
    assert cost.at_capacity.per_1m == pytest.approx(PRICE * 2 * 1e6 / (capacity * 3600))
    assert cost.at_load.rps == saved.main_phase.throughput_rps
    assert cost.sizing.replicas == math.ceil(60 * 1.3 / (capacity / 2) - 1e-9)
    gate = next(g for g in saved.gates if g.name == "cost_per_1m")
    assert gate.passed is True and gate.observed == pytest.approx(cost.at_capacity.per_1m)
    assert f"{cost.at_capacity.per_1m:.2f} per 1M requests at capacity" in outcome.out
    assert "expected load:" in outcome.out and "per 1M requests" in (out / "summary.md").read_text()
    assert 'id="cost"' in (out / "report.html").read_text()
    assert saved.plan["cost"] == {"cost_per_hour": PRICE, "replicas": 2, "expected_rps": 60.0, "headroom": 0.3}
    from benchbox.report.checklist import rows

    answered = {r.item: r for r in rows(saved)}
    assert answered["Cost per decision at the capacity found within the SLO"].status == "passed"
    assert "replicas" in answered["Known saturation point; capacity against expected load"].why
    # The candidate: the same run with a third less capacity. At the same price it costs 1.5x.
    slower = dataclasses.replace(
        s,
        max_sustainable_rps=s.max_sustainable_rps and s.max_sustainable_rps * 2 / 3,
        capacity_floor_rps=s.capacity_floor_rps and s.capacity_floor_rps * 2 / 3,
    )
    plan = CostPlan(PRICE, replicas=2, expected_rps=60.0)
    candidate = dataclasses.replace(saved, saturation=slower, cost=cost_of(plan, slower, saved.main_phase))
    result_io.save(candidate, tmp_path / "cand.json")
    compared = benchbox_cli(
        "compare", str(out / "result.json"), str(tmp_path / "cand.json"), "--out", str(tmp_path / "cmp")
    )
    assert "cost per request rises (+50.0%)" in compared.out, compared.out
    section = json.loads((tmp_path / "cmp" / "compare.json").read_text())["sections"]["cost"]
    assert section["change"] == pytest.approx(0.5) and section["basis"] == "price"
    assert "cost per request rises" in (tmp_path / "cmp" / "summary.md").read_text()
