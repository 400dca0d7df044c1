"""The saturation search: its pure parts on constructed data, then against servers of known capacity.

Integration targets are tests/servers/capacity.py: `--slots N --service-ms MS` serves exactly N
requests at a time for exactly MS each, so its capacity is N / MS by construction (a little less
in practice: each request also costs ~0.5 ms of the server's and the loopback's time). Nothing here
asserts a timing; load seconds are counted by the search. How close a real search comes to the
capacity (the issue's ±10 %) is printed by benchmarks/saturation.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence

import dacite
import pytest

from benchbox import hdr
from benchbox.gates import parse_slo
from benchbox.load.spec import RequestSpec
from benchbox.result import GeneratorHealth, LoadPhase, TimePoint
from benchbox.saturation import knee, overload, usl
from benchbox.saturation.generator_bound import generator_reasons
from benchbox.saturation.model import Saturation, Step
from benchbox.saturation.runner import GeneratorProbe, run_search
from benchbox.saturation.search import ProbeOrder, ProbeRun, Watch, search
from benchbox.saturation.settings import Criteria, SearchSettings
from benchbox.saturation.windows import climbing, stable
from tests.servers.harness import FIXED, start_server

CAPACITY = "capacity"
SETTINGS = SearchSettings()
CRITERIA = Criteria.from_gates(None)


# -- constructed phases --------------------------------------------------------------------------
def window(t: int, requests: int, latency_ms: float, errors: int = 0) -> TimePoint:
    h = hdr.new()
    if requests:
        h.record_value(max(1, int(latency_ms * 1000)), requests)
    return TimePoint(
        t=t,
        requests=requests,
        errors=errors,
        p50=latency_ms,
        p95=latency_ms,
        p99=latency_ms,
        max=latency_ms,
        hdr=hdr.encode(h) if requests else None,
    )


def phase(
    windows: Sequence[TimePoint],
    *,
    rate: float | None,
    cpu: float = 20.0,
    service_ms: float | None = None,
    errors_by_kind: dict[str, int] | None = None,
    status_counts: dict[str, int] | None = None,
    connections: int = 256,
    waited: int = 0,
    users: int | None = None,
) -> LoadPhase:
    merged = hdr.merge(w.hdr for w in windows if w.hdr)
    requests = sum(w.requests for w in windows)
    errors = sum(w.errors for w in windows)
    lat = hdr.summarize(merged)
    svc = dataclasses.replace(lat, p95=service_ms) if lat is not None and service_ms is not None else lat
    return LoadPhase(
        name="probe",
        mode="open" if rate else "closed",
        duration_s=float(len(windows)),
        elapsed_s=float(len(windows)),
        requests=requests,
        responses=requests,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        throughput_rps=requests / max(len(windows), 1),
        status_counts=status_counts or {"200": requests - errors},
        errors_by_kind=errors_by_kind or {},
        generator=GeneratorHealth(
            cpu_seconds=1.0, cpu_percent_mean=cpu, cpu_percent_max=cpu, waited_for_connection=waited, limited=cpu >= 90
        ),
        offered_rps=rate,
        users=users,
        connections=connections,
        latency_ms=lat,
        service_ms=svc if rate else None,
        timeseries=tuple(windows),
    )


def queue_server(capacity: float, service_ms: float = 20.0, generator_max: float = math.inf):
    """A fake probe: a target that serves `capacity` req/s and queues the rest, driven by a
    generator that runs out of CPU above `generator_max` req/s."""

    def probe(order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        seen: list[TimePoint] = []
        if order.mode == "closed":
            x = min(capacity, (order.users or 1) * 1000.0 / service_ms)
            latency = (order.users or 1) / x * 1000.0
            seen = [window(t, int(x), latency) for t in range(int(order.duration_s))]
            return ProbeRun(phase(seen, rate=None, users=order.users))
        rate = order.rate or 0.0
        served = min(rate, capacity, generator_max)  # what the generator sends, the target serves
        for t in range(int(order.duration_s)):
            backlog_s = (rate - served) * (t + 1) / served  # waiting: in the target's queue or the generator's
            seen.append(window(t, int(round(served)), service_ms + 1000.0 * backlog_s))
            if watch is not None and watch(tuple(seen)):
                break
        behind = rate > generator_max  # then the wait is before the send, and the CPU is spent
        return ProbeRun(phase(seen, rate=rate, cpu=97.0 if behind else 20.0, service_ms=service_ms if behind else None))

    return probe


def roundtrip(sat: Saturation) -> Saturation:
    text = json.dumps(dataclasses.asdict(sat), allow_nan=False)
    return dacite.from_dict(Saturation, json.loads(text), config=dacite.Config(cast=[tuple]))


# -- USL -------------------------------------------------------------------------------------------
def test_usl_fit_recovers_known_coefficients():
    lam, sigma, kappa = 100.0, 0.05, 0.001
    points = [(n, usl.predict(n, lam, sigma, kappa)) for n in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64)]
    fit = usl.fit(points)
    assert fit.fitted and fit.r_squared == pytest.approx(1.0)
    assert fit.lambda_ == pytest.approx(lam, rel=1e-6)
    assert fit.sigma == pytest.approx(sigma, rel=1e-6)
    assert fit.kappa == pytest.approx(kappa, rel=1e-6)
    assert fit.peak_concurrency == pytest.approx(math.sqrt((1 - sigma) / kappa), rel=1e-6)
    assert fit.peak_rps == pytest.approx(usl.predict(fit.peak_concurrency, lam, sigma, kappa), rel=1e-6)
    assert "fits well" in fit.statement


def test_usl_without_coherency_cost_has_a_ceiling_not_a_peak():
    points = [(n, usl.predict(n, 50.0, 0.1, 0.0)) for n in (1, 2, 4, 8, 16, 32)]
    fit = usl.fit(points)
    assert fit.fitted and fit.kappa == pytest.approx(0.0, abs=1e-9)
    assert fit.peak_concurrency is None and fit.peak_rps == pytest.approx(500.0, rel=1e-6)
    assert "never falls" in fit.statement


def test_usl_needs_four_distinct_concurrencies():
    fit = usl.fit([(1.0, 10.0), (1.01, 10.1), (2.0, 19.0), (3.0, 27.0)])
    assert not fit.fitted and "3 distinct" in fit.statement and fit.sigma is None


# -- knee --------------------------------------------------------------------------------------------
def step(offered: float, p95: float, **kw) -> Step:
    base = dict(
        index=0,
        stage="ramp",
        mode="open",
        offered_rps=offered,
        users=None,
        achieved_rps=offered,
        p50_ms=p95,
        p95_ms=p95,
        p99_ms=p95,
        mean_ms=p95,
        error_rate=0.0,
        status_counts={},
        errors_by_kind={},
        concurrency=offered * p95 / 1000,
        load_s=4.0,
        windows=3,
        stable=True,
        held=True,
        generator_limited=False,
    )
    return Step(**{**base, **kw})


def test_knee_two_segments_meet_where_latency_turns_up():
    steps = [step(x, 20.0 + 0.01 * x) for x in (50, 100, 200, 300, 400)] + [
        step(x, 24.0 * 3 ** ((x - 400) / 50)) for x in (450, 500, 550)
    ]
    found, note = knee.find(steps)
    assert found is not None and found.method == "two_segment" and not note
    assert 400 <= found.offered_rps <= 450


def test_knee_by_threshold_with_few_probes_and_none_on_a_flat_curve():
    found, _ = knee.find([step(25, 21.0), step(50, 24.0), step(55, 300.0)])
    assert found is not None and found.method == "threshold" and found.offered_rps == 55
    none, note = knee.find([step(25, 21.0), step(50, 24.0), step(60, 30.0)])
    assert none is None and "no knee" in note


# -- stability -------------------------------------------------------------------------------------
def test_stable_windows_climbing_windows_and_jitter_below_the_floor():
    assert stable([window(1, 100, 20.0), window(2, 102, 23.0), window(3, 99, 21.0)], SETTINGS)
    assert not stable([window(1, 100, 20.0), window(2, 100, 40.0), window(3, 100, 20.0)], SETTINGS)
    assert not stable([window(1, 100, 20.0), window(2, 70, 20.0), window(3, 100, 20.0)], SETTINGS)
    rising = [window(1, 48, 60.0), window(2, 48, 90.0), window(3, 48, 120.0)]
    assert climbing(rising, SETTINGS) and not stable(rising, SETTINGS)
    assert not climbing([window(1, 48, 20.0), window(2, 48, 21.0), window(3, 48, 22.0)], SETTINGS)


# -- who set the limit -----------------------------------------------------------------------------
def test_generator_reasons_separate_the_generator_from_a_slow_target():
    slow = [window(t, 500, 800.0 + 100 * t) for t in range(4)]
    # A target holding requests: service time ~ latency, and a pool big enough for the SLO ran out.
    assert generator_reasons(phase(slow, rate=750, connections=1532, waited=200), CRITERIA) == ()
    # The same, with a pool too small for what the SLO allows in flight: the generator's limit.
    reasons = generator_reasons(phase(slow, rate=750, connections=256, waited=200), CRITERIA)
    assert any("connections" in r for r in reasons)
    fast = [window(t, 4000, 10.0) for t in range(4)]
    assert any("CPU" in r for r in generator_reasons(phase(fast, rate=4000, cpu=97.0), CRITERIA))
    # Most of the P95 spent before the send: the generator was behind its schedule.
    reasons = generator_reasons(phase(fast, rate=4000, service_ms=2.0), CRITERIA)
    assert any("before requests were sent" in r for r in reasons)


def test_criteria_fill_in_default_slos_and_leave_throughput_gates_out():
    c = Criteria.from_gates([parse_slo("p99=150ms"), parse_slo("min_rps=100")], timeout_s=5.0)
    assert [g.name for g in c.gates] == ["p99", "errors"]
    assert c.error_budget == 0.01 and c.allowance_s == pytest.approx(0.15)


# -- overload grading --------------------------------------------------------------------------------
def test_overload_grades_shedding_queueing_and_failing_apart():
    shed = phase(
        [window(t, 75, 21.0, errors=25) for t in range(3)],
        rate=75,
        errors_by_kind={"http_429": 75},
        status_counts={"200": 150, "429": 75},
    )
    queue = phase([window(t, 50, 300.0 * (t + 1)) for t in range(3)], rate=75)
    fail = phase(
        [window(t, 75, 120.0, errors=25) for t in range(3)], rate=75, errors_by_kind={"http_500": 40, "reset": 35}
    )
    graded = {
        name: overload.grade(p, 50.0, CRITERIA, SETTINGS)
        for name, p in (("shed", shed), ("queue", queue), ("fail", fail))
    }
    assert {k: v.grade for k, v in graded.items()} == {"shed": "sheds", "queue": "queues", "fail": "fails"}
    assert graded["queue"].p95_last_ms > graded["queue"].p95_first_ms
    assert graded["shed"].shed_share == pytest.approx(1 / 3) and "Retry-After not checked" in graded["shed"].finding
    assert "reset" in graded["fail"].finding and graded["fail"].severity == "high"


# -- the search, with a fake target ------------------------------------------------------------------
@pytest.mark.parametrize("capacity", [50.0, 500.0, 5000.0])
def test_search_brackets_and_bisects_to_the_capacity(capacity):
    notes: list[str] = []
    sat = search(queue_server(capacity), None, SETTINGS, notes.append)
    assert sat.found and sat.limited_by == "throughput" and not sat.generator_bound
    assert sat.max_sustainable_rps <= capacity * 1.01  # never above what the target serves
    assert sat.max_sustainable_rps >= capacity * 0.95
    assert sat.upper_bound_rps / sat.max_sustainable_rps <= 1 + SETTINGS.resolution + 1e-9
    assert sat.load_s_used <= 60 and sat.overload is not None and sat.overload.grade == "queues"
    assert [s.stage for s in sat.steps][:2] == ["estimate", "ramp"] and sat.steps[-1].stage == "overload"
    assert sat.usl is not None and notes and roundtrip(sat) == sat


def test_a_generator_slower_than_the_target_gives_a_floor_not_a_capacity():
    sat = search(queue_server(capacity=10_000, generator_max=3000), None, SETTINGS)
    assert not sat.found and sat.generator_bound and sat.limited_by == "generator"
    assert sat.max_sustainable_rps is None and 2800 <= sat.capacity_floor_rps <= 3000
    assert "generator-bound" in sat.statement and sat.overload is None
    assert roundtrip(sat) == sat


def test_the_budget_is_load_time_and_is_kept():
    sat = search(queue_server(capacity=500), None, dataclasses.replace(SETTINGS, budget_s=15, overload_factor=0))
    assert sat.load_s_used <= 15 and any("budget" in n for n in sat.notes)


def test_nothing_holds_when_every_request_fails():
    def broken(order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        n = max(1, int(order.rate or 20))
        ws = [window(t, n, 5.0, errors=n) for t in range(int(order.duration_s))]
        return ProbeRun(phase(ws, rate=order.rate, errors_by_kind={"http_500": n * len(ws)}))

    sat = search(broken, None, dataclasses.replace(SETTINGS, estimate_users=0, budget_s=40))
    assert not sat.found and sat.limited_by == "nothing_held" and "errors" in sat.statement


# -- against real servers of known capacity ---------------------------------------------------------
def request(url: str) -> RequestSpec:
    return RequestSpec(url=url + "/predict", method="GET", headers=(), bodies=(), timeout_s=10.0)


def test_finds_a_known_capacity_using_at_most_60s_of_load():
    """A server that serves exactly 250 req/s (5 slots x 20 ms, sleeping): the search brackets it,
    keeps its load budget and grades the overload. The limit is the server's sleeps, not the
    machine's speed, so the test shares the machine (at 500 req/s it needed it to itself). How close
    the search comes (the issue's ±10 %) is a figure of a shared machine's noise, printed by
    benchmarks/saturation.py; the bisection's own precision is pinned above on a fake target. Here:
    not above what the server can serve (10 % of slack for per-second windows), and not off by
    anything like a factor of two. The 50 req/s server is searched end to end by tests/test_pipeline.py."""
    true = 5 * 1000.0 / 20
    with start_server(CAPACITY, "--slots", "5", "--service-ms", "20") as server:
        sat = run_search(request(server.url))
    assert sat.found, sat.statement
    assert 0.5 * true <= sat.max_sustainable_rps <= 1.1 * true, sat.statement
    assert sat.load_s_used <= 60
    assert sat.overload is not None and sat.overload.grade == "queues", sat.overload
    assert all(s.offered_rps or s.users for s in sat.steps) and roundtrip(sat) == sat


@pytest.mark.parametrize("mode,grade", [("shed", "sheds"), ("queue", "queues"), ("fail", "fails")])
def test_overload_behaviour_is_graded_from_one_probe_above_capacity(mode, grade):
    """150 req/s at a server that serves 100 (two 20 ms slots, sleeping): its own limit, not the
    machine's, so the grade holds beside other tests."""
    with start_server(CAPACITY, "--slots", "2", "--service-ms", "20", "--overload", mode) as server:
        probe = GeneratorProbe(request(server.url), SETTINGS)
        run = probe(
            ProbeOrder(
                index=0, stage="overload", mode="open", rate=150.0, duration_s=3.0, connections=400, sample_headers=True
            ),
            None,
        )
    graded = overload.grade(run.phase, 100.0, CRITERIA, SETTINGS, run.samples)
    assert graded.grade == grade, graded.finding
    if mode == "shed":
        assert graded.retry_after == "1" and graded.status_counts.get("429", 0) > 0


def test_a_target_faster_than_the_generator_is_reported_generator_bound():
    """A target that serves any concurrency in 5 ms, and a generator held to 8 connections (at most
    ~1600 req/s): every rate it cannot offer is the generator's limit, never the target's. The
    generator's CPU ceiling is the same verdict by another reason (its branch is pinned above on
    constructed phases); a pool limit keeps this end-to-end check off the machine's speed, so it
    neither needs the machine to itself nor a budget that reaches a quiet core's ceiling."""
    with start_server(FIXED, "--service-ms", "5") as server:
        # From 300 req/s (1.5 connections busy) doubling: a rate the pool cannot offer comes by the 4th probe
        # (a busy machine stretches each probe towards its 8 s cap: 20 s once ran out at 1200 req/s, holding).
        settings = dataclasses.replace(SETTINGS, budget_s=40, max_connections=8, estimate_users=0, start_rps=300)
        sat = run_search(request(server.url), settings=settings)
    assert not sat.found and sat.generator_bound, sat.statement
    assert sat.max_sustainable_rps is None and "generator-bound" in sat.statement
    assert sat.capacity_floor_rps is not None and sat.capacity_floor_rps <= 1600, sat.statement
    inconclusive = [s for s in sat.steps if s.stage != "estimate" and s.held is None]
    assert inconclusive and all("connections" in " ".join(s.reasons) for s in inconclusive), sat.steps


def test_an_interrupted_search_still_hands_over_what_it_measured():
    from benchbox.saturation.search import SearchInterrupted

    target = queue_server(capacity=100)
    calls = 0

    def interrupted_on_the_fourth_probe(order: ProbeOrder, watch: Watch | None) -> ProbeRun:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt
        return target(order, watch)

    with pytest.raises(SearchInterrupted) as caught:
        search(interrupted_on_the_fourth_probe, None, SETTINGS)
    partial = caught.value.saturation
    assert caught.value.signal_name == "SIGINT" and len(partial.steps) == 3 and partial.overload is None
    assert any("interrupted" in n for n in partial.notes)
