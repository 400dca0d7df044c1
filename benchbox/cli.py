"""The command line: flags in, a Plan to the engine, a Result out, an exit code back.

This is the only module that imports click, prints, or exits. Everything heavy (Locust, httpx,
Jinja2, numpy) is imported inside the commands, so `benchbox --help` starts instantly.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from benchbox import __version__
from benchbox.errors import BenchboxError, ExitCode, Interrupted

if TYPE_CHECKING:
    from benchbox.engine import Written
    from benchbox.plan import Plan
    from benchbox.result import Result

_RUN_HELP = """Check that the endpoint at --target is ready for production traffic.

Preflight (reachable, healthy, ready); the contract (discovered and checked); malformed and
hostile inputs; with --eval, scores on a labelled set; steady load recorded in HDR histograms; a
search for the highest sustainable throughput; then gates (default: P95 <= 2s, errors <= 1%).
--skip leaves phases out. Writes result.json, report.html, summary.md and junit.xml.

With neither --rate nor --users, the load is open loop at 10 requests/s for 30 s.

Exit codes: 0 all gates passed, 1 a gate failed, 2 bad usage, 3 target unreachable or never
ready, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); the partial report is still written."""


def _run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The flags of `run` (values stay strings: benchbox.plan parses them with one-line errors)."""
    options = [
        click.option("--target", metavar="URL", help="Endpoint to test, e.g. http://127.0.0.1:8000/v1/models/demo/predict."),
        click.option("--config", "config", metavar="FILE", help="benchbox.toml to read; flags override its keys."),
        click.option("--body", metavar="JSON|@FILE", help="Request body: JSON text, @file.json, or @file.jsonl (one per line, round-robin)."),
        click.option("--method", metavar="METHOD", help="HTTP method (default POST with a body, else GET)."),
        click.option("-H", "--header", "header", multiple=True, metavar="'NAME: VALUE'", help="Extra request header; repeatable."),
        click.option("--api-key-env", metavar="VAR", help="Send 'Authorization: Bearer $VAR'; the key is never written anywhere."),
        click.option("--rate", metavar="R", help="Open loop: R requests/s on a fixed schedule (latency from the intended send time)."),
        click.option("--users", metavar="N", help="Closed loop: N users sending back to back."),
        click.option("--arrival", metavar="constant|poisson", help="Open-loop arrivals (default constant)."),
        click.option("--duration", metavar="30s", help="Length of the load phase (default 30s)."),
        click.option("--timeout", metavar="10s", help="Per-request timeout (default 10s)."),
        click.option("--connections", metavar="N", help="Open loop: most requests in flight at once (default 256)."),
        click.option("--ramp", is_flag=True, default=None, help="Ramp the rate (from 0) or users (from 1) linearly over --duration."),
        click.option("--steps", metavar="L1,L2,...", help="Step shape: one phase per level (req/s, or users with --users)."),
        click.option("--step-duration", metavar="10s", help="Length of each step (default --duration split evenly)."),
        click.option("--scenario", metavar="LOCUSTFILE", help="Run an existing locustfile's users against --target (its host)."),
        click.option("--workers", metavar="N", help="Run the load on a Locust master plus N local worker processes."),
        click.option("--expect-workers", metavar="N", help="Also wait for N workers joining with `benchbox worker`."),
        click.option("--master-bind", metavar="HOST", help="Where the master listens for workers (default 127.0.0.1)."),
        click.option("--master-port", metavar="PORT", help="The master's port (default: a free one, printed)."),
        click.option("--slo", "slo", multiple=True, metavar="KEY=VALUE",
                     help="Gate: p50|p90|p95|p99|p99_9|max=200ms, errors=1%, min_rps=100; LLM: "
                          "ttft_p95=500ms, itl_p95=50ms, goodput=90%, min_tps=500; repeatable."),
        click.option("--skip", metavar="PHASE[,PHASE]", help="Phases to leave out: contract, adversarial, eval, load, saturation."),
        click.option("--eval", "eval", metavar="FILE", help="Held-out labelled set (.jsonl or .csv) to score the endpoint on."),
        click.option("--eval-input", metavar="COLUMN|COL1,COL2,...", help="The column holding the request body, or feature columns making one instance (default 'input')."),
        click.option("--eval-label", metavar="COLUMN", help="The column holding the expected label or value (default 'label')."),
        click.option("--eval-slice", "eval_slice", multiple=True, metavar="COLUMN", help="Also score per value of this column (e.g. region); repeatable."),
        click.option("--eval-task", metavar="auto|classification|regression", help="What the labels are (default auto: numbers with fractions are regression)."),
        click.option("--eval-classes", metavar="NAME,NAME,...", help="Class names in index order, when the answers give only an index (KServe V2)."),
        click.option("--gate", "gate", multiple=True, metavar="EXPR",
                     help="Evaluation gate: accuracy>=0.9, f1_macro>=0.85, slice:region=eu:accuracy>=0.85, ece<=0.05, mae<=2; repeatable."),
        click.option("--openapi", metavar="URL|FILE", help="OpenAPI document (default: <origin>/openapi.json, /docs/openapi.json)."),
        click.option("--input-schema", metavar="FILE", help="JSON Schema of a valid request body."),
        click.option("--output-schema", metavar="FILE", help="JSON Schema of a 2xx answer."),
        click.option("--protocol", metavar="auto|json|kserve-v2|openai-chat", help="Force the protocol (default auto)."),
        click.option("--prompts", metavar="FILE.jsonl", help="openai-chat: prompts, one per line (default: a bundled set of varied lengths)."),
        click.option("--max-tokens", metavar="N", help="openai-chat: max_tokens per request (default 128)."),
        click.option("--model", metavar="NAME", help="openai-chat: the model to ask for (default: the first in /v1/models)."),
        click.option("--stream/--no-stream", "stream", default=None, help="openai-chat: stream answers (SSE; the default)."),
        click.option("--system-prompt", metavar="TEXT|@FILE", help="openai-chat: a system prompt sent with every prompt."),
        click.option("--canary", metavar="WORD", help="openai-chat: a secret word in the system prompt; a reply that leaks it is a finding."),
        click.option("--contract-cases", metavar="N", help="Generated valid inputs to check (default 100)."),
        click.option("--tolerance", metavar="X", help="Relative difference allowed between two answers to one input (default 1e-6)."),
        click.option("--accept", metavar="FILE", help="Accepted findings: listed ones do not fail the verdict."),
        click.option("--write-accept", metavar="FILE", help="Write this run's contract findings as an accept file."),
        click.option("--saturation-budget", metavar="90s", help="Load time the saturation search may use (default 90s)."),
        click.option("--adversarial-budget", metavar="30s", help="Time the adversarial phase may take (default 30s)."),
        click.option("--adversarial-cases", metavar="N", help="Most malformed or hostile inputs to send (default 150)."),
        click.option("--expect-rate-limit", metavar="R", help="The endpoint promises a limit of R req/s: a burst must meet 429."),
        click.option("--health-path", "health_path", multiple=True, metavar="PATH", help="Health probe path (default /health, /healthz)."),
        click.option("--ready-path", "ready_path", multiple=True, metavar="PATH", help="Readiness probe path (default /ready, /v2/health/ready)."),
        click.option("--ready-timeout", metavar="30s", help="How long to wait for the target to become ready (default 30s)."),
        click.option("--out", metavar="DIR", help="Where to write results (default reports/<time>-<label>/)."),
        click.option("--label", metavar="NAME", help="Name for this run (default host-port)."),
        click.option("--seed", metavar="N", help="Seed for every random choice (default: random, recorded in the result)."),
        click.option("--insecure", is_flag=True, default=None, help="Accept any TLS certificate (self-signed, expired, wrong host)."),
        click.option("--max-rps", metavar="R", help="Brake: no phase sends more than R requests/s (load, saturation, contract, adversarial)."),
        click.option("--max-concurrency", metavar="N", help="Brake: no phase keeps more than N requests in flight."),
        click.option("--abort-on", metavar="errors=20%[,after=5s]|off",
                     help="Brake: stop the load once this share of requests fails over the grace period (default errors=20%,after=5s)."),
        click.option("--max-body", metavar="4MiB", help="Read answers up to this size; longer ones are cut off and counted as errors (default 4MiB)."),
        click.option("--dry-run", is_flag=True, help="Validate every flag and file, print the plan as JSON, send nothing."),
        click.option("-q", "--quiet", is_flag=True, help="No progress output while the run goes."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="benchbox")
def cli() -> None:
    """benchbox: is this model or API endpoint ready for production traffic?"""


@cli.command(help=_RUN_HELP)
@_run_options
def run(quiet: bool, config: str | None, dry_run: bool, **flags: Any) -> None:
    _fail_or_exit(lambda: _run(flags, config, quiet, command="run", dry_run=dry_run))


# The CI profile: a short load at the expected rate, no saturation search; ends well under 45 s.
SMOKE_PROFILE = {"duration": "15s", "ready_timeout": "15s", "skip": ["saturation"], "contract_cases": 20,
                 "adversarial_budget": "8s", "adversarial_cases": 40}


@cli.command(help="""The CI smoke-test stage: preflight, a short load at the expected rate (--rate),
no saturation search; the same outputs and exit codes as `run`, in well under 45 s by default.""")
@_run_options
def smoke(quiet: bool, config: str | None, dry_run: bool, **flags: Any) -> None:
    _fail_or_exit(lambda: _run(flags, config, quiet, command="smoke", profile=SMOKE_PROFILE, dry_run=dry_run))


@cli.command()
@click.option("--serve", is_flag=True, help="Only serve the demo model (Ctrl-C to stop).")
@click.option("--port", metavar="PORT", help="With --serve: port to listen on (default 8000).")
@click.option("--service-ms", metavar="MS", help="Extra service time per request (default 5 for the run).")
@click.option("--concurrency", metavar="N", help="Most requests the demo serves at once (default 8 for the run).")
@click.option("--model-version", metavar="v1|v2", help="Which demo model to serve (default v1).")
@click.option("--duration", metavar="10s", help="Length of the demo's load phase (default 10s).")
@click.option("--rate", metavar="R", help="Open-loop rate of the demo's load phase (default 50 req/s).")
@click.option("--out", metavar="DIR", help="Where to write the demo's report.")
@click.option("-q", "--quiet", is_flag=True, help="No per-second progress lines.")
def demo(serve: bool, port: str | None, service_ms: str | None, concurrency: str | None,
         model_version: str | None, duration: str | None, rate: str | None, out: str | None, quiet: bool) -> None:
    """Run the whole pipeline against the bundled demo model server and show the report."""
    from benchbox.demo.profile import demo_options, serve_forever, start_demo

    def go() -> ExitCode:
        options = demo_options(service_ms, concurrency, model_version)
        if serve:
            _say(f"serving the demo model on http://127.0.0.1:{port or 8000} (Ctrl-C to stop)")
            return serve_forever(options, port)
        _say(f"starting the demo model server ({options.model_version}, "
             f"{options.service_ms:g} ms service time, {options.concurrency} at once)")
        with start_demo(options) as (server, flags):
            _say(f"demo server ready at {server.url}")
            flags.update({k: v for k, v in {"duration": duration, "rate": rate, "out": out}.items() if v})
            return _run(flags, None, quiet, command="demo")

    _fail_or_exit(go)


@cli.command()
@click.option("--master", "master", required=True, metavar="HOST[:PORT]", help="The master to join (default port 5557).")
def worker(master: str) -> None:
    """Join a `benchbox run --expect-workers N` from this machine as a Locust worker."""

    def go() -> ExitCode:
        from benchbox.errors import bad_value

        host, _, port = master.rpartition(":") if ":" in master else (master, ":", "5557")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise bad_value("--master", master, "HOST or HOST:PORT, e.g. 10.0.0.5:5557")
        _say(f"joining the benchbox master at {host}:{port} (Ctrl-C to leave)")
        # The worker is the generator process itself: become it, so signals reach it directly.
        os.execv(sys.executable, [sys.executable, "-m", "benchbox.load.generator", "--worker", f"{host}:{port}"])

    _fail_or_exit(go)


@cli.command()
@click.argument("result_json", metavar="RESULT.json")
@click.option("--out", metavar="DIR", help="Where to write the reports (default: beside RESULT.json).")
def report(result_json: str, out: str | None) -> None:
    """Re-render report.html, summary.md and junit.xml from a saved result.json alone."""

    def go() -> ExitCode:
        from benchbox import result as result_io
        from benchbox.engine import prepare_out_dir
        from benchbox.report import render_all

        saved = result_io.load(Path(result_json))
        out_dir = prepare_out_dir(Path(out) if out else Path(result_json).parent)
        files = render_all(saved, out_dir)
        click.echo(f"verdict: {saved.verdict.upper()}")
        for path in (files.html, files.markdown, files.junit):
            click.echo(f"wrote {path}")
        return ExitCode.PASS

    _fail_or_exit(go)


_COMPARE_HELP = """Is the candidate better, worse or the same as the baseline?

Saved: `benchbox compare BASELINE.json CANDIDATE.json` compares two results from their HDR
histograms and per-second series. Live: `benchbox compare --baseline URL --candidate URL` drives
the same load at both in alternating windows (default 50 req/s for 30s per side), sends the same
inputs to both (shadow outputs), and saves each side's result.json.

Per percentile and throughput: the difference, a bootstrap confidence interval over seconds, and
a verdict (regression, improvement, no significant change). With no --max-regression, a
significant regression beyond --min-effect in P50, P95, P99, throughput or error rate fails;
`--max-regression none` only reports. Exit codes: 0 no gate failed, 1 a gate failed (significant
and beyond its threshold), 2 bad usage, 3 a target unreachable, 130/143 interrupted."""


@cli.command(help=_COMPARE_HELP)
@click.argument("results", nargs=-1, metavar="[BASELINE.json CANDIDATE.json]")
@click.option("--baseline", metavar="URL", help="Live: the version running today.")
@click.option("--candidate", metavar="URL", help="Live: the version to ship.")
@click.option("--max-regression", "max_regression", multiple=True, metavar="KEY=PCT",
              help="Gate: p50|p90|p95|p99|rps|errors may be at most PCT worse, e.g. p95=10%; repeatable.")
@click.option("--min-agreement", metavar="PCT", help="Gate: at least PCT of shadow answers agree, e.g. 99%.")
@click.option("--confidence", metavar="95%", help="Confidence level of the intervals (default 95%).")
@click.option("--min-effect", metavar="5%", help="Smaller changes are not called (default 5%).")
@click.option("--window", metavar="2s", help="Live: length of each alternating window (default 2s).")
@click.option("--shadow-cases", metavar="N", help="Live: most inputs sent to both sides (default 200).")
@click.option("--skip", metavar="PART[,PART]", help="Live: leave out load, shadow, eval or contract (input discovery).")
@click.option("--eval", "eval", metavar="FILE", help="Live: both sides score this labelled set (.jsonl or .csv); compared row by row.")
@click.option("--eval-input", metavar="COLUMN|COL1,COL2,...", help="The column holding the request body, or feature columns.")
@click.option("--eval-label", metavar="COLUMN", help="The column holding the expected label or value (default 'label').")
@click.option("--eval-slice", "eval_slice", multiple=True, metavar="COLUMN", help="Also score per value of this column; repeatable.")
@click.option("--eval-task", metavar="auto|classification|regression", help="What the labels are (default auto).")
@click.option("--eval-classes", metavar="NAME,NAME,...", help="Class names in index order, when answers give only an index.")
@click.option("--body", metavar="JSON|@FILE", help="Request body, or @file.jsonl of inputs (also the shadow inputs).")
@click.option("--method", metavar="METHOD", help="HTTP method (default POST with a body, else GET).")
@click.option("-H", "--header", "header", multiple=True, metavar="'NAME: VALUE'", help="Extra request header; repeatable.")
@click.option("--api-key-env", metavar="VAR", help="Send 'Authorization: Bearer $VAR' to both sides.")
@click.option("--rate", metavar="R", help="Open loop at R requests/s on each side (default 50).")
@click.option("--users", metavar="N", help="Closed loop: N users on each side.")
@click.option("--arrival", metavar="constant|poisson", help="Open-loop arrivals (default constant).")
@click.option("--duration", metavar="30s", help="Load time per side (default 30s).")
@click.option("--timeout", metavar="10s", help="Per-request timeout (default 10s).")
@click.option("--connections", metavar="N", help="Open loop: most requests in flight at once (default 256).")
@click.option("--openapi", metavar="URL|FILE", help="OpenAPI document to generate inputs from.")
@click.option("--input-schema", metavar="FILE", help="JSON Schema of a valid request body.")
@click.option("--protocol", metavar="auto|json|kserve-v2", help="Force the protocol (default auto).")
@click.option("--tolerance", metavar="X", help="Shadow: relative difference allowed between two numbers (default 1e-6).")
@click.option("--health-path", "health_path", multiple=True, metavar="PATH", help="Health probe path.")
@click.option("--ready-path", "ready_path", multiple=True, metavar="PATH", help="Readiness probe path.")
@click.option("--ready-timeout", metavar="30s", help="How long to wait for each side to become ready.")
@click.option("--out", metavar="DIR", help="Where to write (default reports/<time>-compare/, or beside CANDIDATE.json).")
@click.option("--seed", metavar="N", help="Seed for the inputs, the load and the bootstrap.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def compare(results: tuple[str, ...], quiet: bool, **flags: Any) -> None:
    _fail_or_exit(lambda: _compare(results, flags, quiet))


def _compare(results: tuple[str, ...], flags: Mapping[str, Any], quiet: bool) -> ExitCode:
    from benchbox.compare.options import build_request
    from benchbox.engine import prepare_out_dir
    from benchbox.report.compare_files import write_compare

    request = build_request(results, flags)
    prepare_out_dir(request.out_dir)
    say = (lambda text: None) if quiet else _say
    if request.saved is not None:
        from benchbox import result as result_io
        from benchbox.compare.saved import compare_results

        base, cand = (result_io.load(p) for p in request.saved)
        comparison = compare_results(base, cand, request.settings, request.gates,
                                     sources=(str(request.saved[0]), str(request.saved[1])))
    else:
        from benchbox.compare.live import run_live

        assert request.baseline is not None and request.candidate is not None
        say(f"benchbox {__version__}: compare {request.baseline.target} -> {request.candidate.target}")
        previous = signal.signal(signal.SIGTERM, _raise_sigterm)
        try:
            outcome = run_live(request.baseline, request.candidate, request.live, request.settings,
                               request.gates, request.out_dir, say)
        finally:
            signal.signal(signal.SIGTERM, previous)
        comparison = outcome.comparison
        click.echo(f"baseline result: {outcome.baseline_json}")
        click.echo(f"candidate result: {outcome.candidate_json}")
    files = write_compare(comparison, request.out_dir)
    _print_comparison(comparison)
    click.echo(f"report: {files.html}")
    click.echo(f"compare: {files.document}")
    if request.saved is None and outcome.interrupted:  # written first: nothing measured is lost
        return ExitCode.TERMINATED if outcome.interrupted == "SIGTERM" else ExitCode.INTERRUPTED
    return ExitCode.GATE_FAILED if comparison.verdict == "fail" else (
        ExitCode.USAGE if comparison.verdict == "error" else ExitCode.PASS)


def _print_comparison(c: Any) -> None:
    from benchbox.report.compare_html import metric_label, show_change, show_ci, show_value

    click.echo("")
    click.echo(f"verdict: {c.verdict.upper()}")
    for warning in c.warnings:
        click.echo(f"  warning: {warning}")
    for problem in c.problems:
        click.echo(f"  problem: {problem}")
    if all(m.verdict == "not measured" for m in c.metrics):
        click.echo("  latency and throughput: not compared (no load measured on both sides)")
    for m in (m for m in c.metrics if m.verdict != "not measured"):
        note = "" if m.stable else "  (unstable: too little data)"
        click.echo(f"  {metric_label(m.name):>10}: {show_value(m, m.baseline)} -> {show_value(m, m.candidate)}  "
                   f"{show_change(m)}  [{show_ci(m)}]  {m.verdict}{note}")
    s = c.shadow
    if s is not None:
        agreement = "n/a" if s.agreement is None else f"{100 * s.agreement:.2f}%"
        click.echo(f"  shadow: {agreement} of {s.compared} answers agree"
                   + ("; output distribution SHIFTED" if s.shifted else "; no distribution shift"))
    if "eval" in c.sections:
        from benchbox.report.evaluation import versus_headline

        click.echo(f"  evaluation: {versus_headline(c.sections['eval'])}")
    for gate in c.gates:
        mark = {True: "pass", False: "FAIL", None: "skip"}[gate.passed]
        click.echo(f"  [{mark}] {gate.name}: {gate.detail}")


def _run(flags: Mapping[str, Any], config: str | None, quiet: bool, command: str,
         profile: Mapping[str, Any] | None = None, dry_run: bool = False) -> ExitCode:
    from benchbox import engine
    from benchbox.plan import build_plan, read_config

    # Hypothesis keeps an example database; it belongs in a cache, not the user's project.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                          str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "benchbox" / "hypothesis"))
    layered = {**(profile or {}), **(read_config(config) if config else {})}  # a file beats a profile
    plan = build_plan(flags, layered or None)
    if dry_run:  # like `k6 inspect`: everything validated, nothing sent, nothing written
        import json

        engine.check_out_dir(plan.out_dir)
        click.echo(json.dumps(plan.redacted(), indent=2))
        return ExitCode.PASS
    engine.prepare_out_dir(plan.out_dir)
    what = (f"locustfile {plan.load.scenario} against {plan.target}" if plan.load.scenario
            else f"{plan.request.method} {plan.target}" if plan.method_given or plan.request.bodies
            else f"{plan.target} (method: from its contract, else GET)")
    _say(f"benchbox {__version__}: {what} (seed {plan.seed})")
    from benchbox.console import Console

    console = Console(quiet)
    previous = signal.signal(signal.SIGTERM, _raise_sigterm)
    try:
        result = engine.run(plan, command=command, observer=console)
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.close()
    written = engine.write_outputs(result, plan.out_dir)
    _print_result(result, plan, written)
    return engine.exit_code(result)


def _raise_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Interrupted("SIGTERM")


def _print_result(result: Result, plan: Plan, written: Written) -> None:
    from benchbox.units import format_ms

    click.echo("")
    click.echo(f"verdict: {result.verdict.upper()}" + (" (partial run)" if result.partial else ""))
    for problem in result.problems:
        click.echo(f"  problem: {problem}")
    for note in result.notes:
        click.echo(f"  brake: {note}")
    for gate in result.gates:
        mark = {True: "pass", False: "FAIL", None: "skip"}[gate.passed]
        click.echo(f"  [{mark}] {gate.name}: {gate.detail}")
    phase = result.main_phase
    if phase is not None:
        lat = phase.latency_ms
        click.echo(f"  {phase.requests} requests, {phase.throughput_rps:.1f} req/s, "
                   f"errors {100 * phase.error_rate:.2f}%")
        if lat is not None:
            click.echo(f"  latency p50 {format_ms(lat.p50)}  p95 {format_ms(lat.p95)}  p99 {format_ms(lat.p99)}  "
                       f"p99.9 {format_ms(lat.p99_9)}  max {format_ms(lat.max)}")
        lost = [w for w in phase.workers if w.state != "ok"]
        if phase.workers:
            click.echo(f"  {len(phase.workers)} workers" + (f", {len(lost)} lost" if lost else ""))
        for w in lost:
            click.echo(f"  warning: worker {w.index} lost: {w.detail}; its {w.requests} requests up to then are counted")
        for reason in phase.generator.reasons:
            click.echo(f"  warning: {reason}: these figures describe the generator, not the target")
    if result.evaluation is not None:
        from benchbox.report.evaluation import headline as evaluation_headline

        click.echo(f"  evaluation: {evaluation_headline(result.evaluation)}")
        for note in result.evaluation.notes:
            click.echo(f"  evaluation note: {note}")
    if result.saturation is not None:
        click.echo(f"  saturation: {result.saturation.statement}")
        if result.saturation.overload is not None:
            click.echo(f"  past capacity: {result.saturation.overload.grade}: {result.saturation.overload.finding}")
    for warning in written.warnings:
        click.echo(f"  warning: {warning}")
    click.echo(f"report: {written.report_html}")
    click.echo(f"result: {written.result_json}")


def _say(text: str) -> None:
    click.echo(text, err=True)


def _fail_or_exit(action: Callable[[], ExitCode]) -> NoReturn:
    """The one place a BenchboxError becomes a one-line message and an exit code."""
    try:
        code = action()
    except BenchboxError as exc:
        click.echo(f"benchbox: error: {exc.message}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("benchbox: interrupted", err=True)
        code = ExitCode.INTERRUPTED
    except Exception as exc:  # a bug in benchbox: one line for the user, the traceback on request
        if os.environ.get("BENCHBOX_DEBUG"):
            raise
        click.echo(f"benchbox: internal error: {type(exc).__name__}: {exc} "
                   "(set BENCHBOX_DEBUG=1 for the traceback)", err=True)
        code = ExitCode.USAGE
    sys.exit(int(code))


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point: click's own usage errors also become one line and exit 2."""
    try:
        cli.main(args=argv, prog_name="benchbox", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(int(ExitCode.USAGE))
    except click.UsageError as exc:
        hint = f" (see 'benchbox {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.info_name != "benchbox" else " (see 'benchbox --help')"
        click.echo(f"benchbox: error: {exc.format_message()}{hint}", err=True)
        sys.exit(int(ExitCode.USAGE))
    except click.exceptions.Abort:
        click.echo("benchbox: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as exc:
        click.echo(f"benchbox: error: {exc.format_message()}", err=True)
        sys.exit(int(ExitCode.USAGE))
    sys.exit(0)


if __name__ == "__main__":
    main()
