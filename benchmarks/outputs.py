"""What live outputs cost the load generator (a script: it prints, never asserts).

The same closed-loop phase against tests/servers/fixed.py (0 ms service: the generator is the
bottleneck), alternately with no output and with every output on (csv, jsonl, remote write
into a real Prometheus started here when /usr/bin/prometheus exists, and OTLP/HTTP into a real
VictoriaMetrics (tests/victoria.py fetches Debian's package when missing); a receiver that cannot
be had gets a closed port instead, which exercises the drop path). The outputs work in the parent,
off the generator's process, so the goal (issue 20) is a throughput ratio within 5 % of 1.0,
measured in the same run. The parent's CPU per second of load is printed too: the outputs' whole
cost is there (the receivers, on this same machine, cost CPU of their own, which a shared small
machine feels).

    .venv/bin/python benchmarks/outputs.py [--users 8] [--duration 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchbox.adapters import run_load  # noqa: E402
from benchbox.events import ignore  # noqa: E402
from benchbox.load.process import GeneratorSession  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec, RunSpec  # noqa: E402
from benchbox.outputs import parse_output  # noqa: E402
from benchbox.outputs.fanout import Outputs  # noqa: E402
from tests import victoria  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prometheus(tmp: Path) -> Iterator[str]:
    """A remote-write URL: a real Prometheus when installed, else a port nobody listens on."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    port = free_port()
    if not Path(binary).exists():
        print("prometheus not installed: remote write goes to a closed port (the drop path)")
        yield f"http://127.0.0.1:{port}/api/v1/write"
        return
    (tmp / "p.yml").write_text("global:\n  scrape_interval: 1h\n")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'p.yml'}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        print(f"prometheus on 127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}/api/v1/write"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def otlp_receiver(tmp: Path) -> Iterator[str]:
    """An OTLP/HTTP URL: a real VictoriaMetrics, else a port nobody listens on."""
    (tmp / "vm").mkdir()
    try:
        with victoria.start(tmp / "vm") as vm:
            print(f"victoria-metrics on {vm.base}")
            yield vm.otlp_url
    except victoria.ReceiverUnavailable as exc:
        print(f"no OTLP receiver ({exc}): OTLP goes to a closed port (the drop path)")
        yield f"http://127.0.0.1:{free_port()}/v1/metrics"


@dataclass(frozen=True)
class Figures:
    rps: float  # throughput
    per_cpu: float  # requests per CPU-second of the generator process: what a busy machine blurs less
    parent_ms: float  # this (parent) process's CPU-ms per second of load: the outputs' whole cost lands here
    notes: tuple[str, ...]  # what an output said it lost


def one(session: GeneratorSession, spec: PhaseSpec, outputs: Outputs | None) -> Figures:
    observer = outputs.observe(ignore) if outputs else ignore
    cpu = time.process_time()
    phases, _ = run_load(RunSpec(phases=(spec,)), observer, announce=False, session=session)
    notes = outputs.end() if outputs else []
    phase = phases[0]
    per_cpu = phase.requests / phase.generator.cpu_seconds if phase.generator.cpu_seconds else float("nan")
    return Figures(phase.throughput_rps, per_cpu, (time.process_time() - cpu) * 1000 / spec.duration_s, tuple(notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rounds: list[tuple[Figures, Figures]] = []
    with (
        tempfile.TemporaryDirectory(prefix="benchbox-outbench-") as name,
        start_server(FIXED, "--service-ms", "0") as server,
        prometheus(Path(name)) as write_url,
        otlp_receiver(Path(name)) as otlp_url,
        GeneratorSession() as session,
    ):
        tmp = Path(name)
        request = RequestSpec(url=server.url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        spec = PhaseSpec(name="bench", mode="closed", duration_s=args.duration, request=request, users=args.users)
        specs = [
            parse_output("--output", v)
            for v in (
                f"csv={tmp / 's.csv'}",
                f"jsonl={tmp / 's.jsonl'}",
                f"prometheus-rw={write_url}",
                f"otlp={otlp_url}",
            )
        ]
        for rnd in range(1, args.repeat + 1):
            first_on = rnd % 2 == 0  # alternate which goes first: a busy machine's drift hits both
            results = {}
            for on in (True, False) if first_on else (False, True):
                tags = {"run_id": f"bench-{rnd}", "label": "bench", "target": server.url}
                results[on] = one(session, spec, Outputs(specs, tags) if on else None)
            off, on_ = results[False], results[True]
            rounds.append((off, on_))
            print(
                f"round {rnd}: none {off.rps:6.0f} req/s {off.per_cpu:6.0f} req/CPU-s (parent {off.parent_ms:4.1f} "
                f"CPU-ms/s)   all outputs {on_.rps:6.0f} req/s {on_.per_cpu:6.0f} req/CPU-s (parent "
                f"{on_.parent_ms:4.1f} CPU-ms/s)   ratios {on_.rps / off.rps:.3f} {on_.per_cpu / off.per_cpu:.3f}"
                + (f"   ({'; '.join(on_.notes)})" if on_.notes else "")
            )
    median = statistics.median
    print(
        f"median: none {median(a.rps for a, _ in rounds):.0f} req/s, all outputs {median(b.rps for _, b in rounds):.0f}"
        f" req/s; paired ratio (all/none) of throughput {median(b.rps / a.rps for a, b in rounds):.3f}, of requests "
        f"per generator CPU-second {median(b.per_cpu / a.per_cpu for a, b in rounds):.3f}; parent CPU "
        f"{median(a.parent_ms for a, _ in rounds):.1f} vs {median(b.parent_ms for _, b in rounds):.1f} CPU-ms per "
        "second of load (goal: within 5 %, i.e. ratios >= 0.95)"
    )


if __name__ == "__main__":
    main()
