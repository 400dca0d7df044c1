"""The load phase against purpose-built servers whose own counts and clocks are the reference.

Every figure here is checked against what the server itself saw: request counts exactly; latency
percentiles never below the server's own clock (a client cannot see an answer sooner than the
server wrote it) and within a bound that catches a wrong clock, unit or lost request. How close
they come, the issue's max(2 ms, 5 %), depends on how busy the machine is: a wall-clock figure
that benchmarks/accuracy.py prints rather than a test asserts.
"""

from __future__ import annotations

import pytest

from benchbox import hdr
from benchbox.errors import Interrupted
from benchbox.load.process import GeneratorSession, PhaseInterrupted, run_phase
from benchbox.load.spec import PhaseSpec, RequestSpec
from tests.servers.harness import FIXED, start_server


def spec(
    url: str,
    *,
    mode: str = "open",
    rate: float | None = None,
    users: int | None = None,
    duration: float = 4.0,
    timeout: float = 5.0,
    arrival: str = "constant",
    body: str | None = None,
) -> PhaseSpec:
    request = RequestSpec(
        url=url + "/predict",
        method="POST" if body else "GET",
        headers=(("Content-Type", "application/json"),) if body else (),
        bodies=(body,) if body else (),
        timeout_s=timeout,
    )
    return PhaseSpec(
        name="steady",
        mode=mode,
        duration_s=duration,
        request=request,
        rate=rate,
        users=users,
        arrival=arrival,
        connections=64,
        seed=7,
    )  # type: ignore[arg-type]


def tracks(measured: float, reference: float) -> bool:
    """Not below the server's clock (HDR's 3 digits may round by 0.1 %), not far above it."""
    return reference * 0.999 <= measured <= reference + max(10.0, 0.5 * reference)


@pytest.mark.alone
def test_open_loop_sends_rate_times_duration_and_matches_the_server_clock():
    """Counts must match exactly, and percentiles must track the server's own clock.

    The issue's accuracy goal, max(2 ms, 5 %) at P50/P95/P99, is measured and printed by
    benchmarks/accuracy.py: on this shared machine even P50 swings by several ms with whatever
    else runs (a timed assertion would be noise). Here every percentile is held to a bound that
    still catches every real mistake: a wrong clock, a wrong unit, a lost request."""
    with start_server(FIXED, "--service-ms", "20") as server:
        phase = run_phase(spec(server.url, rate=100, duration=5.0, body='{"x": [1, 2, 3]}'))
        stats = server.stats()
    assert phase.requests == 500  # constant arrivals: exactly rate x duration
    assert stats.count == phase.requests == phase.responses
    assert phase.errors == 0 and phase.status_counts == {"200": 500}
    lat = phase.latency_ms
    assert lat is not None and lat.count == 500
    assert phase.throughput_rps == pytest.approx(100, rel=0.05)
    assert phase.generator.schedule_lag_ms is not None
    assert lat.min >= 20.0  # never faster than the server's fixed service time
    for p, measured in ((50, lat.p50), (95, lat.p95), (99, lat.p99)):
        reference = stats.percentile_ms(p)
        assert tracks(measured, reference), f"P{p}: {measured} vs server {reference} ms"


def test_every_latency_is_in_the_phase_histogram_and_the_seconds_add_up():
    with start_server(FIXED, "--service-ms", "5") as server:
        phase = run_phase(spec(server.url, rate=80, duration=3.0, arrival="poisson"))
    assert phase.hdr is not None
    decoded = hdr.decode(phase.hdr)
    assert decoded.get_total_count() == phase.responses == phase.requests
    assert sum(p.requests for p in phase.timeseries) == phase.responses
    merged = hdr.merge(p.hdr for p in phase.timeseries if p.hdr)
    assert merged.get_total_count() == decoded.get_total_count()
    assert merged.get_value_at_percentile(99) == decoded.get_value_at_percentile(99)
    assert all(p.p50 is not None for p in phase.timeseries if p.requests)


@pytest.mark.alone
def test_closed_loop_users_back_to_back():
    with start_server(FIXED, "--service-ms", "10") as server:
        phase = run_phase(spec(server.url, mode="closed", users=3, duration=3.0))
        stats = server.stats()
    assert phase.mode == "closed" and phase.users == 3
    assert stats.count == phase.requests == phase.responses > 0
    lat = phase.latency_ms
    assert lat is not None and tracks(lat.p50, stats.percentile_ms(50)), (lat.p50, stats.percentile_ms(50))
    # Back to back, each user always has a request in flight: by Little's law, throughput x mean
    # latency ~ 3. Users pausing between requests (a think time) would show as far fewer; the
    # client's own turnaround between answer and next send, more on a busy machine, as a little less.
    in_flight = phase.throughput_rps * lat.mean / 1000.0
    assert 1.5 <= in_flight <= 3.05, (in_flight, phase.throughput_rps, lat.mean)


@pytest.mark.alone  # the server's own clock misses the stall only while it keeps up: a busy CPU makes it late
def test_a_stalling_server_shows_its_stall_in_p99_in_open_loop():
    """Coordinated omission: requests due during a 1 s freeze wait for it, and that wait counts."""
    with start_server(FIXED, "--service-ms", "2", "--freeze-every", "2", "--freeze-for", "1") as server:
        phase = run_phase(spec(server.url, rate=50, duration=5.0))
        stats = server.stats()
    assert stats.freezes, "the server should have frozen at least once"
    lat = phase.latency_ms
    assert lat is not None
    # The server's own clock never sees the stall (it starts timing after parsing)...
    assert stats.percentile_ms(99) < 100
    # ...but latency from the intended send time does.
    assert lat.p99 >= 500, f"P99 {lat.p99} ms hides a 1 s freeze"
    assert max(p.max or 0 for p in phase.timeseries) >= 500


def test_errors_are_counted_by_kind():
    with start_server(FIXED, "--service-ms", "1", "--status", "503") as server:
        phase = run_phase(spec(server.url, rate=50, duration=2.0))
    assert phase.errors == phase.requests == 100
    assert phase.errors_by_kind == {"http_503": 100}
    assert phase.error_rate == 1.0


def test_a_dead_target_gives_connect_errors_not_a_crash():
    with start_server(FIXED) as server:
        url = server.url
    phase = run_phase(spec(url, rate=20, duration=1.0, timeout=1.0))
    assert phase.responses == 0 and phase.errors == phase.requests == 20
    assert set(phase.errors_by_kind) == {"connect"}
    assert phase.latency_ms is None and phase.error_samples


def test_one_generator_process_takes_run_after_run_and_a_stopped_run_still_hands_over():
    """A session's process serves every run; a run stopped from a tick (as a saturation probe is
    once decided) hands over its partial phase, and the same process then takes the next run."""

    def stop_at_first_tick(tick: dict) -> None:
        raise Interrupted("decided")

    with start_server(FIXED, "--service-ms", "1") as server, GeneratorSession() as gen:
        first = gen.run(spec(server.url, rate=20, duration=2.0))
        pid = gen.pid
        with pytest.raises(PhaseInterrupted) as stopped:
            gen.run(spec(server.url, rate=20, duration=30.0), stop_at_first_tick)
        assert gen.pid == pid
        third = gen.run(spec(server.url, rate=20, duration=2.0))
        assert gen.pid == pid
        served = server.stats().count
    assert stopped.value.signal_name == "decided"
    (partial,) = stopped.value.phases
    assert partial.partial and 1 <= partial.requests < 20 * 30
    assert not first.partial and not third.partial and first.requests == third.requests == 40
    assert first.requests + partial.requests + third.requests == served  # nothing sent went unrecorded
    assert gen.pid is None  # closed with the session
