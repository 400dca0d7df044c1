"""Replay and mixes against a real server that keeps its own record (tests/servers/arrivals.py):
the trace's rhythm and the mix's shares as the target saw them, a stall in the percentiles,
per-class SLOs, batch-size buckets, workers that split a mix without changing it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.servers.harness import HERE, start_server

ARRIVALS = HERE / "arrivals.py"
ROUTES = ("/search", "/browse", "/slow")
QUICK = ("--skip", "contract,adversarial,saturation", "--seed", "7", "-q")


def burst_trace(path: Path, shape: tuple[tuple[float, float], ...]) -> list[float]:
    """A trace at each (rate, seconds) in turn, written as JSONL; returns its offsets."""
    offsets: list[float] = []
    t = 0.0
    for rate, seconds in shape:
        offsets += [round(t + i / rate, 6) for i in range(int(rate * seconds))]
        t += seconds
    path.write_text("".join(json.dumps({"offset": o, "route": "/predict"}) + "\n" for o in offsets))
    return offsets


def served(srv: Any, paths: tuple[str, ...] = ("/predict",)) -> tuple[list[list[Any]], dict[str, Any]]:
    """The server's own record of the load's requests (preflight's health checks left out)."""
    stats = json.loads(srv._call("GET", "/__stats", 10))
    return [a for a in stats["arrivals"] if a[2].split("?")[0] in paths], stats


def phase_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "result.json").read_text())["load"]["phases"][0]


@pytest.mark.alone  # the arrival times and percentiles are held to the server's clock
def test_a_burst_is_replayed_on_schedule_and_the_server_sees_it(benchbox_cli, tmp_path):
    offsets = burst_trace(tmp_path / "burst.jsonl", ((20, 1.0), (200, 2.0), (20, 1.0)))  # 10x for 2 s
    with start_server(ARRIVALS) as srv:
        out = tmp_path / "out"
        run = benchbox_cli(
            "run", "--target", srv.url + "/predict", "--replay", str(tmp_path / "burst.jsonl"),
            "--body", '{"x": 1}', "--out", str(out), *QUICK,
        )  # fmt: skip
        arrivals, _ = served(srv)
    assert run.code == 0, run.out + run.err
    phase = phase_of(out)
    assert phase["requests"] == phase["responses"] == len(arrivals) == len(offsets) == 440
    # The server's clock against the trace's: aligned on the median gap, every request where it belongs.
    seen = sorted(a[0] for a in arrivals)
    gaps = sorted(s - o for s, o in zip(seen, offsets))
    zero = gaps[len(gaps) // 2]
    deviation_ms = sorted(abs(s - zero - o) * 1000 for s, o in zip(seen, offsets))
    assert deviation_ms[len(deviation_ms) // 2] < 10, deviation_ms[::46]
    per_second = [sum(1 for s in seen if k <= s - zero < k + 1) for k in range(4)]
    assert all(abs(got - want) <= max(3, 0.05 * want) for got, want in zip(per_second, [20, 200, 200, 20])), per_second
    classes = phase["traffic"]["classes"]
    assert list(classes) == ["POST /predict"] and classes["POST /predict"]["requests"] == 440


def test_a_stall_during_the_burst_shows_in_the_percentiles_not_just_on_the_server(benchbox_cli, tmp_path):
    burst_trace(tmp_path / "burst.jsonl", ((20, 1.0), (200, 1.0), (20, 0.5)))
    with start_server(ARRIVALS, "--stall-at", "80", "--stall-for", "0.4") as srv:
        out = tmp_path / "out"
        run = benchbox_cli(
            "run", "--target", srv.url + "/predict", "--replay", str(tmp_path / "burst.jsonl"),
            "--body", '{"x": 1}', "--out", str(out), *QUICK,
        )  # fmt: skip
        arrivals, stats = served(srv)
    assert run.code == 0, run.out + run.err
    phase = phase_of(out)
    assert phase["requests"] == len(arrivals) == 230 and stats["stalls"]
    latency = phase["latency_ms"]
    # Requests due during the 0.4 s stall waited for it: latency from their intended times shows it...
    assert latency["p90"] >= 200 and latency["p99"] >= 250 and latency["p50"] < 100, latency
    # ...while the server, which starts its clock only once it reads a request, saw it in a few
    # (those it had begun to read when it froze), not in the ~80 that were due meanwhile.
    slow_on_server = sum(1 for us in stats["latencies_us"] if us >= 200_000)
    assert slow_on_server <= 0.05 * 230, slow_on_server


def write_mix(tmp_path: Path, slos: bool = True) -> Path:
    config = tmp_path / "mix.toml"
    slo = (' slo = {p99 = "1s"}', ' slo = {p99 = "1s", errors = "1%"}', ' slo = {p99 = "30ms"}') if slos else ("",) * 3
    config.write_text(
        f'[[mix]]\nname = "search"\nweight = 60\nroute = "/search"\n{slo[0]}\n'
        f'[[mix]]\nname = "browse"\nweight = 30\nroute = "/browse"\n{slo[1]}\n'
        f'[[mix]]\nname = "slow"\nweight = 10\nroute = "/slow"\n{slo[2]}\n'
    )
    return config


def test_a_three_class_mix_keeps_its_weights_and_each_class_its_own_slo(benchbox_cli, tmp_path):
    config = write_mix(tmp_path)
    body = '{"instances": [[1.0, 2.0, 3.0, 4.0]]}'
    with start_server(ARRIVALS, "--slow", "/slow=60") as srv:
        out = tmp_path / "out"
        run = benchbox_cli(
            "run", "--target", srv.url + "/search", "--mix", str(config), "--rate", "500", "--duration", "4s",
            "--body", body, "--batch-sizes", "1:70,8:25,64:5", "--out", str(out), *QUICK,
        )  # fmt: skip
        arrivals, stats = served(srv, ROUTES)
    assert run.code == 1, run.out + run.err  # the slow class fails its own SLO, so the run fails
    phase = phase_of(out)
    traffic = phase["traffic"]
    assert phase["requests"] == len(arrivals) == 2000
    by_path = Counter(a[2] for a in arrivals)
    for name, weight in (("search", 0.6), ("browse", 0.3), ("slow", 0.1)):
        cls = traffic["classes"][name]
        assert cls["requests"] == by_path[f"/{name}"], (name, cls["requests"], by_path)
        assert abs(cls["requests"] / 2000 - weight) <= 0.02, (name, cls["requests"])
    gates = {g["name"]: g["passed"] for g in json.loads((out / "result.json").read_text())["gates"]}
    assert gates["slow: p99"] is False and gates["search: p99"] is True and gates["browse: p99"] is True
    assert gates["browse: errors"] is True and gates["p95"] is True  # overall gates still judged
    # Batch sizes: three buckets at their weights, each a body of that many rows on the wire.
    sizes = traffic["sizes"]
    assert sorted(sizes, key=int) == ["1", "8", "64"]
    for size, weight in (("1", 0.7), ("8", 0.25), ("64", 0.05)):
        assert abs(sizes[size]["requests"] / 2000 - weight) <= 0.03, (size, sizes[size]["requests"])
    by_bytes = Counter(a[3] for a in arrivals)
    assert sorted(by_bytes.values()) == sorted(s["requests"] for s in sizes.values())
    report = (out / "report.html").read_text()
    assert "slow" in report and "browse" in report


def test_workers_split_a_mix_without_changing_it(benchbox_cli, tmp_path):
    config = write_mix(tmp_path, slos=False)
    with start_server(ARRIVALS) as srv:
        out = tmp_path / "out"
        run = benchbox_cli(
            "run", "--target", srv.url + "/search", "--mix", str(config), "--rate", "300", "--duration", "2s",
            "--workers", "2", "--out", str(out), *QUICK,
        )  # fmt: skip
        arrivals, _ = served(srv, ROUTES)
    assert run.code == 0, run.out + run.err
    phase = phase_of(out)
    classes = phase["traffic"]["classes"]
    assert len(phase["workers"]) == 2 and phase["requests"] == len(arrivals) == 600
    by_path = Counter(a[2] for a in arrivals)
    for name, weight in (("search", 0.6), ("browse", 0.3), ("slow", 0.1)):
        assert classes[name]["requests"] == by_path[f"/{name}"]
        assert abs(classes[name]["requests"] / 600 - weight) <= 0.05, (name, classes[name]["requests"])
    assert sum(p["requests"] for p in classes["search"]["timeseries"]) == classes["search"]["requests"]
