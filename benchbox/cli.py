"""The command line: flags in, a Plan to the engine, a Result out, an exit code back.

This is the only module that imports click, prints, or exits. Everything heavy (Locust, httpx,
Jinja2, numpy) is imported inside the commands, so `benchbox --help` starts instantly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import click

from benchbox.errors import BenchboxError, ExitCode
from benchbox.profiles import SMOKE_PROFILE
from benchbox.version import __version__

_RUN_HELP = """Check that the endpoint at --target is ready for production traffic.

The pipeline, in order (leave stages out with --skip):

\b
  preflight    reachable, healthy, ready (--health-path, --ready-path)
  contract     valid inputs from its OpenAPI document, KServe V2 metadata
               or --input-schema; every answer checked (--output-schema)
  adversarial  malformed and hostile inputs; each finding a curl line
  evaluation   with --eval FILE: answers scored on a labelled set (--gate)
  load         steady, ramped or stepped load into HDR histograms (default
               open loop at 10 requests/s for 30s; --rate, --users)
  saturation   the highest throughput within the SLOs, and what lies past it
  gates        --slo (default P95 <= 2s, errors <= 1%), contract,
               adversarial and evaluation findings decide the verdict

The brakes (--max-rps, --max-concurrency, --abort-on, --max-body) bound every stage. Writes
result.json, report.html, summary.md and junit.xml, also when interrupted (marked partial).

\b
Exit codes:
  0    all gates passed
  1    a gate failed
  2    bad usage or configuration (one line names the value)
  3    target unreachable or never ready
  130  interrupted by Ctrl-C (the partial report is still written)
  143  stopped by SIGTERM (the partial report is still written)"""


def _options(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The click options of `command`, from the one option table (benchbox.options). Values stay
    strings (None when not given): benchbox.plan layers them over benchbox.toml and parses them."""
    from benchbox.options import for_command

    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for o in reversed(for_command(command)):
            decls = [f"{o.flag}/--no-{o.flag[2:]}"] if o.kind == "switch" else [d for d in (o.short, o.flag) if d]
            kwargs: dict[str, Any] = {"help": o.help_of(command), "multiple": o.multiple, "required": o.required}
            if o.kind == "value":
                kwargs["metavar"] = o.metavar_of(command)
            else:  # a flag or a --x/--no-x switch; None means not given, so a config key can set it
                kwargs["is_flag"] = True if o.kind == "flag" else None
                kwargs["default"] = None if o.toml_key else False
            func = click.option(*decls, o.name, **kwargs)(func)
        return func

    return apply


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="benchbox")
def cli() -> None:
    """benchbox: is this model or API endpoint ready for production traffic?"""


@cli.command(help=_RUN_HELP)
@_options("run")
def run(quiet: bool, config: str | None, dry_run: bool, **flags: Any) -> None:
    _fail_or_exit(lambda: _run(flags, config, quiet, command="run", dry_run=dry_run))


@cli.command(
    help="""The CI smoke-test stage: preflight, a short load at the expected rate (--rate),
no saturation search; the same outputs and exit codes as `run`, in about 15 s by default."""
)
@_options("smoke")
def smoke(quiet: bool, config: str | None, dry_run: bool, **flags: Any) -> None:
    _fail_or_exit(lambda: _run(flags, config, quiet, command="smoke", profile=SMOKE_PROFILE, dry_run=dry_run))


@cli.command()
@_options("demo")
def demo(
    serve: bool,
    port: str | None,
    service_ms: str | None,
    concurrency: str | None,
    model_version: str | None,
    duration: str | None,
    rate: str | None,
    out: str | None,
    quiet: bool,
) -> None:
    """Run the whole pipeline against the bundled demo model server and show the report."""
    from benchbox.demo.profile import demo_options, serve_forever, start_demo

    def go() -> ExitCode:
        options = demo_options(service_ms, concurrency, model_version)
        if serve:
            _say(f"serving the demo model on http://127.0.0.1:{port or 8000} (Ctrl-C to stop)")
            return serve_forever(options, port)
        _say(
            f"starting the demo model server ({options.model_version}, "
            f"{options.service_ms:g} ms service time, {options.concurrency} at once)"
        )
        with start_demo(options) as (server, flags):
            _say(f"demo server ready at {server.url}")
            flags.update({k: v for k, v in {"duration": duration, "rate": rate, "out": out}.items() if v})
            return _run(flags, None, quiet, command="demo")

    _fail_or_exit(go)


@cli.command()
@_options("worker")
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
@_options("report")
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
`--max-regression none` only reports. The brakes (--max-rps, --max-concurrency, --abort-on,
--max-body) bound each side's load and probes as in `run`.

\b
Exit codes:
  0    no gate failed
  1    a gate failed (significant and beyond its threshold)
  2    bad usage or configuration
  3    a target unreachable
  130  interrupted by Ctrl-C (what was measured is still written)
  143  stopped by SIGTERM (what was measured is still written)"""


@cli.command(help=_COMPARE_HELP)
@click.argument("results", nargs=-1, metavar="[BASELINE.json CANDIDATE.json]")
@_options("compare")
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
        comparison = compare_results(
            base, cand, request.settings, request.gates, sources=(str(request.saved[0]), str(request.saved[1]))
        )
    else:
        from benchbox.compare.live import run_live

        assert request.baseline is not None and request.candidate is not None
        say(f"benchbox {__version__}: compare {request.baseline.target} -> {request.candidate.target}")
        from benchbox.interrupts import catching

        with catching():
            outcome = run_live(
                request.baseline, request.candidate, request.live, request.settings, request.gates, request.out_dir, say
            )
        comparison = outcome.comparison
        click.echo(f"baseline result: {outcome.baseline_json}")
        click.echo(f"candidate result: {outcome.candidate_json}")
    files = write_compare(comparison, request.out_dir)
    from benchbox.summary import compare_summary

    _echo(compare_summary(comparison))
    click.echo(f"report: {files.html}")
    click.echo(f"compare: {files.document}")
    if request.saved is None and outcome.interrupted:  # written first: nothing measured is lost
        return ExitCode.TERMINATED if outcome.interrupted == "SIGTERM" else ExitCode.INTERRUPTED
    return (
        ExitCode.GATE_FAILED
        if comparison.verdict == "fail"
        else (ExitCode.USAGE if comparison.verdict == "error" else ExitCode.PASS)
    )


def _run(
    flags: Mapping[str, Any],
    config: str | None,
    quiet: bool,
    command: str,
    profile: Mapping[str, Any] | None = None,
    dry_run: bool = False,
) -> ExitCode:
    from benchbox import engine
    from benchbox.profiles import plan_for

    plan = plan_for(flags, config, profile)
    if dry_run:  # like `k6 inspect`: everything validated, nothing sent, nothing written
        import json

        engine.check_out_dir(plan.out_dir)
        click.echo(json.dumps(plan.redacted(), indent=2))
        return ExitCode.PASS
    engine.prepare_out_dir(plan.out_dir)
    what = (
        f"locustfile {plan.load.scenario} against {plan.target}"
        if plan.load.scenario
        else f"{plan.request.method} {plan.target}"
        if plan.method_given or plan.request.bodies
        else plan.target
        if plan.target.startswith(("grpc://", "grpcs://"))  # one method, ModelInfer
        else f"{plan.target} (method: from its contract, else GET)"
    )
    _say(f"benchbox {__version__}: {what} (seed {plan.seed})")
    from benchbox.console import Console

    console = Console(quiet)
    from benchbox.interrupts import catching

    try:
        with catching():
            result = engine.run(plan, command=command, observer=console)
    finally:
        console.close()
    written = engine.write_outputs(result, plan.out_dir)
    from benchbox.summary import run_summary

    _echo(run_summary(result, written))
    return engine.exit_code(result)


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


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
        click.echo(
            f"benchbox: internal error: {type(exc).__name__}: {exc} (set BENCHBOX_DEBUG=1 for the traceback)", err=True
        )
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
        hint = (
            f" (see 'benchbox {exc.ctx.info_name} --help')"
            if exc.ctx and exc.ctx.info_name != "benchbox"
            else " (see 'benchbox --help')"
        )
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
