"""Does a replayed trace (or a mix) cost the generator more than plain open loop? And does
--time-scale 2 halve the time and double the rate?

Why: issue 18 asks that generator throughput with --replay stays within 10 % of plain open loop,
and a replay is only honest if requests leave when the trace says. Against ONE local target
(tests/servers/fixed.py --service-ms 0, which counts every request itself), alternating per round:

    plain   open loop at R req/s (run_phase, no traffic)
    replay  the same schedule as a trace (R req/s, one line each 1/R s) through --replay's path
    mix     a 3-class mix at R req/s (three routes on the same server)

each at a modest rate (every one keeps up: compare CPU per request) and at a rate past what one
generator core can do (compare what was achieved). Prints req/s (server-counted), generator
CPU-seconds per 1,000 requests, schedule lag P99, and ratios to plain. A script, not a test: it
prints figures and asserts nothing (a shared machine makes thresholds flaky).

    .venv/bin/python benchmarks/replay.py            # 5 s runs, 2 rounds
    .venv/bin/python benchmarks/replay.py --quick    # 3 s runs, 1 round
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchbox.load.process import GeneratorSession
from benchbox.load.spec import PhaseSpec
from benchbox.plan import build_plan
from tests.servers.harness import FIXED, HERE, start_server


def specs(url: str, rate: float, seconds: float, tmp: Path) -> dict[str, PhaseSpec]:
    trace = tmp / "trace.jsonl"
    trace.write_text("".join(json.dumps({"offset": i / rate}) + "\n" for i in range(int(rate * seconds))))
    mix = tmp / "mix.toml"
    mix.write_text(
        '[[mix]]\nname = "a"\nweight = 6\nroute = "/a"\n[[mix]]\nname = "b"\nweight = 3\nroute = "/b"\n'
        '[[mix]]\nname = "c"\nweight = 1\nroute = "/c"\n'
    )
    base = {"target": url, "body": '{"x": 1}', "rate": str(rate), "duration": f"{seconds}s", "seed": "1"}
    plain = build_plan(base).phase_spec()
    replay = build_plan({**base, "replay": str(trace), "rate": None}).phase_spec()
    mixed = build_plan({**base, "mix": str(mix)}).phase_spec()
    return {"plain": plain, "replay": dataclasses.replace(replay, duration_s=plain.duration_s), "mix": mixed}


def burst(gen: GeneratorSession, tmp: Path) -> None:
    """A 10x burst for 2 s: when did each request reach the server, against the trace's offset?
    (arrivals.py records arrival times; aligned on the median gap, so a constant offset is not error)."""
    offsets = [i / 20 for i in range(20)] + [1 + i / 200 for i in range(400)] + [3 + i / 20 for i in range(20)]
    trace = tmp / "burst.jsonl"
    trace.write_text("".join(json.dumps({"offset": o}) + "\n" for o in offsets))
    for stall in ((), ("--stall-at", "150", "--stall-for", "0.4")):
        with start_server(HERE / "arrivals.py", *stall) as srv:
            spec = build_plan({"target": srv.url + "/p", "replay": str(trace), "body": "{}"}).phase_spec()
            phase = gen.run(spec)
            seen = sorted(a[0] for a in json.loads(srv._call("GET", "/__stats", 10))["arrivals"] if a[2] == "/p")
        gaps = sorted(s - o for s, o in zip(seen, offsets))
        dev = sorted(abs(s - gaps[len(gaps) // 2] - o) * 1000 for s, o in zip(seen, offsets))
        lat = phase.latency_ms
        print(
            f"burst{' with a 0.4 s stall' if stall else ''}: {len(seen)}/{len(offsets)} arrived; arrival vs trace "
            f"median {dev[len(dev) // 2]:.2f} ms, p95 {dev[int(0.95 * len(dev))]:.2f} ms, max {dev[-1]:.1f} ms; "
            f"latency p50 {lat.p50 if lat else 0:.1f} ms, p99 {lat.p99 if lat else 0:.1f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rates", default="800,6000", help="comma-separated open-loop rates")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per rate (default 2; 1 with --quick)")
    args = parser.parse_args()
    seconds, rounds = (3.0, 1) if args.quick else (5.0, 2)
    rounds = args.rounds or rounds
    figures: dict[tuple[float, str], list[tuple[float, float, float, float]]] = {}
    with start_server(FIXED, "--service-ms", "0") as srv, GeneratorSession() as gen, tempfile.TemporaryDirectory() as d:
        for rate in [float(r) for r in args.rates.split(",")]:
            runs = specs(srv.url + "/predict", rate, seconds, Path(d))
            names = list(runs)
            for r in range(rounds):
                for name in names[r % 3 :] + names[: r % 3]:  # each kind goes first in turn: no warm-up bias
                    spec = runs[name]
                    srv.reset()
                    phase = gen.run(spec)
                    served = srv.stats().count
                    lag = phase.generator.schedule_lag_ms.p99 if phase.generator.schedule_lag_ms else float("nan")
                    per_k = 1000 * phase.generator.cpu_seconds / max(served, 1)
                    cpu = phase.generator.cpu_percent_mean  # near 100 %: the generator itself was the limit
                    figures.setdefault((rate, name), []).append((served / phase.elapsed_s, per_k, lag, cpu))
        burst(gen, Path(d))
        # --time-scale 2: half the time, twice the rate, on the server's own count and clock.
        trace = Path(d) / "scale.jsonl"
        trace.write_text("".join(json.dumps({"offset": i / 100}) + "\n" for i in range(400)))  # 100/s for 4 s
        for scale in ("1", "2"):
            srv.reset()
            spec = build_plan({"target": srv.url + "/predict", "replay": str(trace), "time_scale": scale}).phase_spec()
            phase = gen.run(spec)
            count = srv.stats().count
            print(
                f"--time-scale {scale}: planned {spec.duration_s:.3f} s at {spec.rate:g} req/s; "
                f"served {count} in {phase.elapsed_s:.3f} s = {count / phase.elapsed_s:.1f} req/s"
            )
    head = f"{'rate':>6} {'kind':<7} {'req/s':>9} {'CPU s/1k':>9} {'lag p99':>8} {'gen CPU':>7}"
    print(f"\n{head}  vs plain (req/s, CPU/req)")
    for (rate, name), rows in figures.items():
        rps = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        lag = statistics.median(r[2] for r in rows)
        gen_cpu = statistics.median(r[3] for r in rows)
        plain = figures[(rate, "plain")]
        p_rps = statistics.median(r[0] for r in plain)
        p_cpu = statistics.median(r[1] for r in plain)
        print(
            f"{rate:>6g} {name:<7} {rps:>9.1f} {cpu:>9.3f} {lag:>7.2f}ms {gen_cpu:>6.0f}%  "
            f"{rps / p_rps:.3f}  {cpu / p_cpu:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
