"""How fast is benchbox's load generator next to plain Locust, against the same server, in one run?

Why: benchbox drives load with its own users and an open-loop scheduler on top of Locust's
runner. Its numbers are only worth trusting if the generator is not the bottleneck, so it has to be
at least as cheap as plain Locust per request. This script measures, against ONE local target
(``tests/servers/fixed.py --service-ms 0``, which counts every request on its own):

    A  plain Locust, closed loop: ``python -m locust`` headless, one FastHttpUser, constant(0) wait
    B  benchbox closed loop:      ``benchbox.load.process.run_phase`` with mode="closed"
    B0 benchbox closed loop on its previous client (geventhttpclient, BENCHBOX_LOAD_CLIENT): the
       lean client's gain in the same run (leave it out with --no-full-client)
    C  benchbox open loop:        mode="open" at ~80 % of what B achieved: an open-loop request costs
       more than a closed-loop one, so this is at or past the open loop's own ceiling
    C2 benchbox open loop at 80 % of the open loop's own ceiling (C's requests per second of a
       fully busy core, measured just before): its schedule lag P99 is the goal's second half
    D  plain Locust, paced:       FastHttpUser under ``constant_throughput``, as many users as C has
       connections, at C's offered rate: Locust's own open-ish loop, C's baseline

alternating them per round, and prints requests/s and requests per generator CPU-second for
each, with ratios against plain Locust, per round and as median [min-max] over the rounds.
It is a script, not a test: it prints figures and never
asserts anything about timings (a shared 2-core machine makes any threshold flaky).

    .venv/bin/python benchmarks/generator.py            # 10 s runs, 3 rounds
    .venv/bin/python benchmarks/generator.py --quick    # 3 s runs, 1 round: a smoke check

How things are counted (the same way for every contender):
  * requests: what the *server* counted (``/__stats``), reset before every run; each tool's own
    count is printed next to it as a cross-check.
  * req/s: server-counted requests over the tool's own load window (Locust: first to last request
    from its final JSON stats; benchbox: the phase's ``elapsed_s``).
  * CPU s: ``getrusage(RUSAGE_CHILDREN)`` user+sys delta around the generator subprocess. Both
    Locust and benchbox's generator run in a child process, so this includes interpreter start-up,
    imports and shutdown for both (about a second of CPU each, which weighs ~5-10 % on a 10 s run).
    The server is also our child but is only reaped at the very end, so it is never in a delta.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchbox.load.process import run_phase  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from benchbox.load.wire import CLIENT_ENV  # noqa: E402
from benchbox.result import LoadPhase  # noqa: E402
from tests.servers.harness import FIXED, ServerProcess, start_server  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
# A generator below this share of one core was not what limited the throughput (benchbox's own
# recorder uses the same threshold to call a generator "limited").
SATURATED_PERCENT = 90.0
# Open loop is asked for this share of what the closed-loop benchbox run achieved.
OPEN_RATE_SHARE = 0.8
OPEN_CONNECTIONS = 64

LOCUSTFILE = textwrap.dedent('''\
    """Plain Locust: one FastHttpUser hammering GET /bench, closed loop, no think time."""
    from locust import FastHttpUser, constant, task


    class Bench(FastHttpUser):
        wait_time = constant(0)

        @task
        def bench(self):
            self.client.get("/bench")
    ''')
PACED_LOCUSTFILE = textwrap.dedent('''\
    """Plain Locust paced: each FastHttpUser sends BENCH_PER_USER requests/s (constant_throughput)."""
    import os

    from locust import FastHttpUser, constant_throughput, task


    class Paced(FastHttpUser):
        wait_time = constant_throughput(float(os.environ["BENCH_PER_USER"]))

        @task
        def bench(self):
            self.client.get("/bench")
    ''')


# -- measurement helpers ------------------------------------------------------------------------
def children_cpu() -> float:
    """User+sys CPU of every reaped child so far; deltas around one subprocess isolate it."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def machine_ticks() -> tuple[float, float]:
    """(busy, steal) CPU-seconds summed over all cores since boot, from /proc/stat.

    Why: other engineers run tests on this machine; busy time not spent by the generator or the
    server shows how much the run was disturbed, and steal shows the hypervisor taking cores.
    """
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in parts[:8])
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def process_cpu(pid: int) -> float:
    """User+sys CPU of a live process (the server), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Run:
    """One contender's run: counts, windows and CPU, measured alike for every contender."""

    contender: str
    round: int
    server_requests: int
    tool_requests: int  # the tool's own count of completed requests
    window_s: float  # the tool's own load window
    wall_s: float  # wall time of the whole generator subprocess, start-up included
    cpu_s: float  # rusage user+sys of the generator subprocess
    server_cpu_s: float
    other_cpu_s: float  # busy CPU on the machine not used by generator or server
    steal_s: float
    errors: int
    phase_cpu_s: float | None = None  # benchbox only: the generator's own CPU over the phase
    gen_busy_percent: float | None = None  # generator CPU during the load window, % of one core
    extra: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.server_requests / self.window_s if self.window_s > 0 else 0.0

    @property
    def per_cpu(self) -> float:
        return self.server_requests / self.cpu_s if self.cpu_s > 0 else 0.0

    @property
    def per_phase_cpu(self) -> float | None:
        return self.server_requests / self.phase_cpu_s if self.phase_cpu_s else None

    @property
    def server_busy_percent(self) -> float:
        return 100.0 * self.server_cpu_s / self.window_s if self.window_s > 0 else 0.0


def measured(
    server: ServerProcess, body: Callable[[], tuple[int, float, int, dict[str, object]]], contender: str, rnd: int
) -> Run:
    """Reset the server, run ``body`` (one generator subprocess), and take every delta around it.

    ``body`` returns (tool_requests, window_s, errors, extra).
    """
    server.reset()
    cpu0, (busy0, steal0), srv0 = children_cpu(), machine_ticks(), process_cpu(server.pid)
    t0 = time.perf_counter()
    tool_requests, window_s, errors, extra = body()
    wall = time.perf_counter() - t0
    cpu1, (busy1, steal1), srv1 = children_cpu(), machine_ticks(), process_cpu(server.pid)
    count = server.stats().count
    gen_cpu, srv_cpu = cpu1 - cpu0, srv1 - srv0
    return Run(
        contender=contender,
        round=rnd,
        server_requests=count,
        tool_requests=tool_requests,
        window_s=window_s,
        wall_s=wall,
        cpu_s=gen_cpu,
        server_cpu_s=srv_cpu,
        other_cpu_s=max(0.0, (busy1 - busy0) - gen_cpu - srv_cpu),
        steal_s=steal1 - steal0,
        errors=errors,
        extra=extra,
    )


# -- contenders ---------------------------------------------------------------------------------
def run_locust(
    server: ServerProcess,
    workdir: Path,
    users: int,
    duration: float,
    rnd: int,
    startup_cpu: float | None,
    rate: float | None = None,
) -> Run:
    """Contenders A and D (`rate`): plain Locust as its own process, its CPU accounted like benchbox's."""
    locustfile = workdir / ("locustfile_paced.py" if rate else "locustfile.py")
    prefix = workdir / f"locust{'_paced' if rate else ''}_r{rnd}"
    env = {**os.environ, "BENCH_PER_USER": f"{(rate or 0) / users:.6f}"}
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{duration:g}s",
        "--host",
        server.url,
        "--only-summary",
        "--csv",
        str(prefix),
        "--json-file",
        str(prefix),
        "--loglevel",
        "WARNING",
    ]
    out_path = workdir / f"locust_r{rnd}.out"

    def body() -> tuple[int, float, int, dict[str, object]]:
        with open(out_path, "wb") as out:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=duration + 120,
                cwd=workdir,
                env=env,
            )
        entries = json.loads(Path(f"{prefix}.json").read_text())
        count = sum(int(e["num_requests"]) for e in entries)
        failures = sum(int(e["num_failures"]) for e in entries)
        window = max((float(e["last_request_timestamp"]) - float(e["start_time"]) for e in entries), default=0.0)
        csv_count, csv_rps = read_locust_csv(Path(f"{prefix}_stats.csv"))
        return count, window, failures, {"returncode": proc.returncode, "csv_requests": csv_count, "csv_rps": csv_rps}

    run = measured(server, body, "D locust paced" if rate else "A locust closed", rnd)
    if rate:
        run.extra["offered_rps"] = rate
    if run.extra["returncode"] != 0:
        tail = out_path.read_text(errors="replace").strip().splitlines()[-15:]
        run.notes.append(f"locust exited {run.extra['returncode']}: " + " | ".join(tail))
    if startup_cpu is not None and run.window_s > 0:
        run.gen_busy_percent = 100.0 * max(0.0, run.cpu_s - startup_cpu) / run.window_s
    return run


def read_locust_csv(path: Path) -> tuple[int, float]:
    """The Aggregated row of Locust's _stats.csv: (Request Count, Requests/s)."""
    import csv

    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated":
                return int(row["Request Count"]), float(row["Requests/s"])
    return 0, 0.0


def locust_startup_cpu(server: ServerProcess, workdir: Path) -> float:
    """CPU of a Locust process that starts, idles 1 s with no users, and shuts down.

    Why: subtracting it from contender A's CPU estimates Locust's CPU during the load window alone,
    the figure comparable with benchbox's own phase CPU and needed to judge whether Locust was
    saturated. It is an estimate (start-up cost varies with what else runs on the machine).
    """
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(workdir / "locustfile.py"),
        "--headless",
        "-u",
        "0",
        "-r",
        "1",
        "-t",
        "1s",
        "--host",
        server.url,
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    cpu0 = children_cpu()
    subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120, cwd=workdir
    )
    return children_cpu() - cpu0


def run_benchbox(server: ServerProcess, spec: PhaseSpec, contender: str, rnd: int, client: str | None = None) -> Run:
    """Contenders B, B0 and C: benchbox's own load phase (run_phase starts the generator process);
    `client` sets BENCHBOX_LOAD_CLIENT for it (the generator inherits the environment)."""
    holder: dict[str, LoadPhase] = {}

    def body() -> tuple[int, float, int, dict[str, object]]:
        before = os.environ.get(CLIENT_ENV)
        if client:
            os.environ[CLIENT_ENV] = client
        try:
            phase = run_phase(spec)
        finally:
            if client:
                if before is None:
                    os.environ.pop(CLIENT_ENV, None)
                else:
                    os.environ[CLIENT_ENV] = before
        holder["phase"] = phase
        return (
            phase.responses,
            phase.elapsed_s,
            phase.errors,
            {
                "sent": phase.requests,
                "throughput_rps": phase.throughput_rps,
                "errors_by_kind": dict(phase.errors_by_kind),
            },
        )

    run = measured(server, body, contender, rnd)
    phase = holder["phase"]
    gen = phase.generator
    run.phase_cpu_s = gen.cpu_seconds
    run.gen_busy_percent = gen.cpu_percent_mean
    run.extra.update(
        cpu_percent_max=gen.cpu_percent_max,
        limited=gen.limited,
        reasons=list(gen.reasons),
        offered_rps=phase.offered_rps,
        partial=phase.partial,
        lag_p50=gen.schedule_lag_ms.p50 if gen.schedule_lag_ms else None,
        lag_p99=gen.schedule_lag_ms.p99 if gen.schedule_lag_ms else None,
        lag_max=gen.schedule_lag_ms.max if gen.schedule_lag_ms else None,
        waited=gen.waited_for_connection,
        peak_in_flight=gen.peak_in_flight,
        latency_p50=phase.latency_ms.p50 if phase.latency_ms else None,
        latency_p99=phase.latency_ms.p99 if phase.latency_ms else None,
    )
    return run


# -- printing -----------------------------------------------------------------------------------
def machine_line() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    nproc = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: nproc={nproc} ({model}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, load average {load} at start"
    )


def print_run(run: Run) -> None:
    """One line per run with every cross-check, then any warning about what limited it."""
    print(
        f"  [{run.round}] {run.contender:<18} server {run.server_requests:>8} req in "
        f"{run.window_s:5.2f} s = {run.rps:8.0f} req/s | gen CPU {run.cpu_s:5.2f} s "
        f"(wall {run.wall_s:5.2f} s) -> {run.per_cpu:7.0f} req/CPU-s | errors {run.errors}"
    )
    x = run.extra
    if run.contender.startswith(("A", "D")):
        json_n, csv_n = run.tool_requests, int(x["csv_requests"])  # type: ignore[call-overload]
        print(
            f"      locust counts: final JSON {json_n} ({pct(json_n, run.server_requests)} of server), "
            f"CSV Aggregated {csv_n} ({pct(csv_n, run.server_requests)} of server), "
            f"CSV Requests/s {float(x['csv_rps']):.0f}"  # type: ignore[arg-type]
        )
    else:
        print(
            f"      benchbox counts: responses {run.tool_requests} "
            f"({pct(run.tool_requests, run.server_requests)} of server), sent {x['sent']}, "
            f"own throughput {float(x['throughput_rps']):.0f} req/s; phase CPU "  # type: ignore[arg-type]
            f"{run.phase_cpu_s:.2f} s -> {run.per_phase_cpu or 0:.0f} req/phase-CPU-s; "
            f"CPU mean/max {run.gen_busy_percent:.0f}/{float(x['cpu_percent_max']):.0f}% "  # type: ignore[arg-type]
            f"of a core; start-up+shutdown {run.cpu_s - (run.phase_cpu_s or 0):.2f} CPU-s"
        )
        print(
            f"      latency p50/p99 {fmt_ms(x['latency_p50'])}/{fmt_ms(x['latency_p99'])} ms, "
            f"peak in flight {x['peak_in_flight']}",
            end="",
        )
        if x.get("offered_rps"):
            print(
                f"; offered {float(x['offered_rps']):.0f} req/s, schedule lag p50/p99/max "  # type: ignore[arg-type]
                f"{fmt_ms(x['lag_p50'])}/{fmt_ms(x['lag_p99'])}/{fmt_ms(x['lag_max'])} ms, "
                f"waited for a connection {x['waited']}",
                end="",
            )
        print(f"; limited={x['limited']}" + (f" ({'; '.join(x['reasons'])})" if x["reasons"] else ""))  # type: ignore[arg-type]
        if x.get("errors_by_kind"):
            print(f"      errors by kind: {x['errors_by_kind']}")
    busy = run.gen_busy_percent
    print(
        f"      generator busy {fmt_pct(busy)} of one core during the load window"
        f"{' (est.: CPU minus an idle Locust start-up)' if run.contender.startswith(('A', 'D')) else ''}; "
        f"server {run.server_busy_percent:.0f}% of one core; other processes {run.other_cpu_s:.2f} CPU-s"
        f" (~{100 * run.other_cpu_s / max(run.wall_s, 1e-9):.0f}% of a core)"
        + (f"; steal {run.steal_s:.2f} s" if run.steal_s >= 0.05 else "")
    )
    if busy is not None and busy < SATURATED_PERCENT:
        print(
            f"      NOTE: generator below {SATURATED_PERCENT:.0f}% of a core: {why_unsaturated(run)}; "
            "req/s says little here, req per CPU-s is the meaningful figure"
        )
    elif run.other_cpu_s > 0.2 * run.wall_s:
        print("      NOTE: other processes competed for the 2 cores during this run: figures are noisy")
    for note in run.notes:
        print(f"      WARNING: {note}")


def why_unsaturated(run: Run) -> str:
    """Name the likelier limit when the generator used less than a core: a busy machine starves it
    of CPU (it waits to run, it is not idle), a busy server makes it wait on responses."""
    other = run.other_cpu_s / max(run.wall_s, 1e-9)
    if other > 0.2:
        return (
            f"other processes used ~{100 * other:.0f}% of a core, so on 2 cores the generator was likely "
            "waiting for CPU rather than idle (figures are noisy)"
        )
    if run.server_busy_percent >= SATURATED_PERCENT:
        return "the server was at a full core and set the pace"
    if run.contender.startswith(("C", "D")):
        return "the open-loop schedule set the pace, as intended"
    return "the generator was not the bottleneck (it waited on the server)"


def pct(n: int, of: int) -> str:
    return f"{100.0 * n / of:.1f}%" if of else "n/a"


def fmt_ms(v: object) -> str:
    return "n/a" if v is None else f"{float(v):.2f}"  # type: ignore[arg-type]


def fmt_pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f}%"


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_summary(runs: list[Run], startup: list[float]) -> None:
    """The final table: medians per contender and ratios against plain Locust."""
    by: dict[str, list[Run]] = {}
    for r in runs:
        by.setdefault(r.contender, []).append(r)
    a = by.get("A locust closed", [])
    base_rps, base_cpu = med([r.rps for r in a]), med([r.per_cpu for r in a])
    start = med(startup)
    base_steady = med([r.server_requests / max(1e-9, r.cpu_s - start) for r in a]) if startup else 0.0

    rows: list[tuple[str, float, float, float, str]] = []
    for name, rs in by.items():
        rows.append(
            (
                name,
                med([r.rps for r in rs]),
                med([r.cpu_s for r in rs]),
                med([r.per_cpu for r in rs]),
                f"{ratio(med([r.rps for r in rs]), base_rps)}, {ratio(med([r.per_cpu for r in rs]), base_cpu)}",
            )
        )

    print()
    print(
        f"SUMMARY (median of {max(len(v) for v in by.values())} run(s) each; requests as counted by "
        f"the server; CPU = rusage of the generator process, start-up and imports included)"
    )
    head = (
        f"{'contender':<32} | {'req/s':>8} | {'CPU s':>6} | {'req per CPU-s':>13} | ratio vs locust (req/s, per CPU-s)"
    )
    print(head)
    print("-" * len(head))
    for name, rps, cpu, per, rat in rows:
        print(f"{name:<32} | {rps:8.0f} | {cpu:6.2f} | {per:13.0f} | {rat}")

    print("  req/s windows: Locust's own first-to-last-request span (its -t timer fires early on gevent's")
    print("  cached clock); benchbox's elapsed_s, which starts before its users spawn (if anything, this")
    print("  favours Locust). Start-up CPU weighs on every contender's 'req per CPU-s' above.")
    print()
    print("Load window only (start-up/shutdown CPU removed):")
    if startup:
        print(
            f"  A locust closed      : {base_steady:7.0f} req/CPU-s  (est.: CPU minus {start:.2f} CPU-s "
            f"measured for an idle Locust start-up+shutdown, median of {len(startup)})"
        )
    for name in ("B benchbox closed", "B0 benchbox closed, full client", "C benchbox open"):
        rs = by.get(name, [])
        if rs:
            v = med([r.per_phase_cpu or 0.0 for r in rs])
            print(
                f"  {name:<21}: {v:7.0f} req/CPU-s  (the phase's own cpu_seconds)"
                + (f"  ratio vs locust est. {ratio(v, base_steady)}" if startup else "")
            )

    print()
    print("Goals (reported, never asserted; ratios are per round, same run, then median [min-max]):")
    print_goals(runs, startup)
    print()
    for name, rs in by.items():
        busy = [r.gen_busy_percent for r in rs if r.gen_busy_percent is not None]
        if busy and med(busy) < SATURATED_PERCENT:
            print(
                f"  {name}: generator ran at a median {med(busy):.0f}% of one core, below "
                f"{SATURATED_PERCENT:.0f}%: the generator's CPU did not set its req/s (see per-run notes: "
                "server, schedule, or CPU taken by other processes), so compare it by req per CPU-s."
            )
        srv = [r.server_busy_percent for r in rs]
        if med(srv) >= SATURATED_PERCENT:
            print(
                f"  {name}: the server ran at a median {med(srv):.0f}% of one core: it, not only the "
                "generator, limited req/s."
            )
        other = [r.other_cpu_s / max(r.wall_s, 1e-9) for r in rs]
        if med(other) > 0.2:
            print(
                f"  {name}: other processes used a median {100 * med(other):.0f}% of a core during "
                "its runs: the machine was shared, figures are noisy."
            )


def print_goals(runs: list[Run], startup: list[float]) -> None:
    """Each goal as a per-round ratio (the rounds' contenders ran back to back), then its spread."""
    rounds = sorted({r.round for r in runs})
    got = {(r.round, r.contender[:2].strip()): r for r in runs}

    def spread(name: str, pick: Callable[[int], float | None], goal: float, unit: str = "x") -> None:
        values = [v for v in (pick(n) for n in rounds) if v is not None]
        if not values:
            return
        mid = med(values)
        verdict = "met" if (mid >= goal if unit == "x" else mid < goal) else "NOT met"
        print(
            f"  {name:<58} {mid:6.2f}{unit} [{min(values):.2f}-{max(values):.2f}] over {len(values)} round(s)"
            f" -> {verdict} (goal {'>=' if unit == 'x' else '<'} {goal:g}{unit})"
        )

    def per_cpu(n: int, a: str, b: str) -> float | None:
        x, y = got.get((n, a)), got.get((n, b))
        return x.per_cpu / y.per_cpu if x and y and y.per_cpu else None

    def rps(n: int, a: str, b: str) -> float | None:
        x, y = got.get((n, a)), got.get((n, b))
        return x.rps / y.rps if x and y and y.rps else None

    def lag(n: int) -> float | None:
        c = got.get((n, "C"))
        return float(c.extra["lag_p99"]) if c and c.extra.get("lag_p99") is not None else None  # type: ignore[arg-type]

    spread("closed loop B/A, req per CPU-s", lambda n: per_cpu(n, "B", "A"), 2.0)
    spread("closed loop B/A, req/s (server-bound when both below a core)", lambda n: rps(n, "B", "A"), 1.0)
    spread("lean client's gain: B/B0, req per CPU-s", lambda n: per_cpu(n, "B", "B0"), 1.0)
    spread("open loop C/D (Locust constant_throughput, same rate), req per CPU-s", lambda n: per_cpu(n, "C", "D"), 2.0)
    spread("open loop C/A (plain Locust closed loop), req per CPU-s", lambda n: per_cpu(n, "C", "A"), 2.0)
    spread("open loop C/B (benchbox's own closed loop), req per CPU-s", lambda n: per_cpu(n, "C", "B"), 0.5)
    spread(f"open loop C schedule lag P99 at {OPEN_RATE_SHARE:.0%} of B's rate", lag, 5.0, " ms")

    def lag2(n: int) -> float | None:
        c2 = got.get((n, "C2"))
        return float(c2.extra["lag_p99"]) if c2 and c2.extra.get("lag_p99") is not None else None  # type: ignore[arg-type]

    spread(f"open loop C2 schedule lag P99 at {OPEN_RATE_SHARE:.0%} of its own ceiling", lag2, 5.0, " ms")

    def idle(n: int) -> float | None:
        c = got.get((n, "C"))
        return float(c.extra["idle_lag_p99"]) if c and c.extra.get("idle_lag_p99") is not None else None  # type: ignore[arg-type]

    spread("  the same schedule with no requests (the machine's share)", idle, 5.0, " ms")


def ratio(x: float, base: float) -> str:
    return f"{x / base:.2f}x" if base > 0 else "n/a"


IDLE_SCHEDULE = textwrap.dedent('''\
    """The open-loop schedule alone: gevent timers at the phase's rate, no request sent."""
    from gevent import monkey

    monkey.patch_all()
    import sys, time
    import gevent
    from benchbox.load.dispatch import EARLY_WAKE_S
    from benchbox.load.schedule import offsets

    rate, duration = float(sys.argv[1]), float(sys.argv[2])
    lags, clock, start = [], time.perf_counter, time.perf_counter() + 0.05
    for offset in offsets(rate, duration, "constant", 0):
        intended = start + offset
        delay = intended - clock() - EARLY_WAKE_S
        if delay > 0:
            gevent.sleep(delay)
        lags.append(max(0.0, clock() - intended))
    lags.sort()
    print(lags[int(0.99 * (len(lags) - 1))] * 1000.0, lags[-1] * 1000.0)
    ''')


def idle_schedule_lag(rate: float, duration: float) -> tuple[float, float]:
    """(P99, max) schedule lag in ms of a generator process that only keeps the schedule.

    Why: on a shared machine the OS alone can hold a runnable process off the CPU for many ms; this
    is the lag C would have if sending cost nothing, measured in the same round, so C's own share
    of its lag is what lies above it."""
    out = subprocess.run(
        [sys.executable, "-c", IDLE_SCHEDULE, str(rate), str(duration)],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        cwd=REPO,
        check=True,
    )
    p99, worst = (float(x) for x in out.stdout.split())
    return p99, worst


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run (default 10)")
    p.add_argument("--users", type=int, default=32, help="closed-loop users (default 32)")
    p.add_argument("--repeat", type=int, default=3, help="rounds of A, B, B0, C, D (default 3)")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help=f"open-loop rate for C (default {OPEN_RATE_SHARE * 100:.0f}%% of B's median so far)",
    )
    p.add_argument("--quick", action="store_true", help="3 s runs, 1 round: a smoke check")
    p.add_argument("--no-full-client", action="store_true", help="leave out B0 (benchbox on geventhttpclient)")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.repeat = 3.0, 1

    import locust  # only for its version: the parent never runs load, so no monkey-patching here

    print(machine_line())
    print(
        f"locust {locust.__version__}; target: tests/servers/fixed.py --service-ms 0 (uvloop, HTTP/1.1), "
        f"sharing this {len(os.sched_getaffinity(0))}-core machine with the generator (and with "
        "anything else running)"
    )
    print(
        f"runs: {args.repeat} round(s) of A, B, B0, C, D; {args.duration:g} s each; {args.users} users closed loop; "
        f"open loop {OPEN_CONNECTIONS} connections at "
        f"{f'{args.rate:g} req/s' if args.rate else f'{OPEN_RATE_SHARE:.0%} of B'}"
    )
    if args.duration < 10:
        print("NOTE: runs shorter than 10 s overstate what is sustainable and weigh start-up cost heavily")
    print()

    runs: list[Run] = []
    startup: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="benchbox-genbench-") as tmp,
        start_server(FIXED, "--service-ms", "0") as server,
    ):
        workdir = Path(tmp)
        (workdir / "locustfile.py").write_text(LOCUSTFILE)
        (workdir / "locustfile_paced.py").write_text(PACED_LOCUSTFILE)
        print(f"server {server.url} (pid {server.pid})")
        req = RequestSpec(url=server.url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        for rnd in range(1, args.repeat + 1):
            startup.append(locust_startup_cpu(server, workdir))
            print(f"round {rnd}: idle Locust start-up+shutdown took {startup[-1]:.2f} CPU-s")
            a = run_locust(server, workdir, args.users, args.duration, rnd, startup[-1])
            runs.append(a)
            print_run(a)

            spec_b = PhaseSpec(name="bench", mode="closed", duration_s=args.duration, request=req, users=args.users)
            b = run_benchbox(server, spec_b, "B benchbox closed", rnd)
            runs.append(b)
            print_run(b)

            if not args.no_full_client:
                b0 = run_benchbox(server, spec_b, "B0 benchbox closed, full client", rnd, client="geventhttpclient")
                runs.append(b0)
                print_run(b0)

            rate = args.rate or round(OPEN_RATE_SHARE * med([r.rps for r in runs if r.contender.startswith("B ")]))
            spec_c = PhaseSpec(
                name="bench",
                mode="open",
                duration_s=args.duration,
                request=req,
                rate=float(max(rate, 1)),
                connections=OPEN_CONNECTIONS,
            )
            c = run_benchbox(server, spec_c, "C benchbox open", rnd)
            c.extra["idle_lag_p99"], idle_max = idle_schedule_lag(float(max(rate, 1)), args.duration)
            runs.append(c)
            print_run(c)
            print(
                f"      the schedule alone in an idle generator (no requests), same rate, just after: lag p99/max "
                f"{float(c.extra['idle_lag_p99']):.2f}/{idle_max:.2f} ms: what this machine's scheduling adds"  # type: ignore[arg-type]
            )

            # The open loop's own ceiling: what C sends per second of a fully busy core (its busy share
            # measured over the phase). The lag goal is judged at 80 % of that, in C2.
            ceiling = c.rps / max((c.gen_busy_percent or 100.0) / 100.0, 0.01)
            c.extra["open_ceiling"] = ceiling
            if not args.rate:
                spec_c2 = dataclasses.replace(spec_c, rate=float(max(round(OPEN_RATE_SHARE * ceiling), 1)))
                c2 = run_benchbox(server, spec_c2, "C2 benchbox open, 80% of its ceiling", rnd)
                runs.append(c2)
                print_run(c2)
                print(
                    f"      the open loop's own ceiling, from C: {ceiling:.0f} req/s "
                    f"({c.rps:.0f} req/s at {c.gen_busy_percent or 0:.0f}% of a core); C2 offered "
                    f"{spec_c2.rate:.0f} req/s"
                )

            d = run_locust(server, workdir, OPEN_CONNECTIONS, args.duration, rnd, startup[-1], rate=float(max(rate, 1)))
            runs.append(d)
            print_run(d)
            print()
            sys.stdout.flush()
        server_err = server.stderr_text().strip()
    if server_err:
        print("server stderr (tail):\n  " + "\n  ".join(server_err.splitlines()[-10:]))
    print_summary(runs, startup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
