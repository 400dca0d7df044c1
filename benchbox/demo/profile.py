"""`benchbox demo`: the demo server plus a short run profile, so a newcomer sees a full report.

The server's capacity is made known on purpose (service time x concurrency), so the report shows
an endpoint with a real queue behind it rather than an idle loop.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchbox.demo.options import DemoOptions
from benchbox.errors import ExitCode, TargetUnreachable, UsageError, bad_value
from benchbox.units import parse_duration, parse_positive

DEMO_SERVICE_MS = 20.0
DEMO_CONCURRENCY = 4
# Varied, valid inputs: one per class region and a small batch, sent round-robin.
DEMO_BODIES = (
    {"instances": [[5.1, 3.5, 1.4, 0.2]]},
    {"instances": [[6.2, 2.9, 4.3, 1.3]]},
    {"instances": [[7.7, 3.0, 6.1, 2.3]]},
    {"instances": [[5.0, 3.4, 1.5, 0.2], [6.4, 3.2, 4.5, 1.5], [6.9, 3.1, 5.4, 2.1]]},
)
# The demo's held-out labelled set (benchbox/demo/evalset.py says how it was made) and its gates.
DEMO_EVAL: dict[str, Any] = {
    "eval": str(Path(__file__).with_name("eval.csv")),
    "eval_input": "sepal_length,sepal_width,petal_length,petal_width",
    "eval_label": "species",
    "eval_slice": ("region",),
    "gate": ("accuracy>=0.9", "f1_macro>=0.85", "slice:region=eu:accuracy>=0.85"),
}


def demo_options(service_ms: str | None, concurrency: str | None, model_version: str | None) -> DemoOptions:
    """The demo server's options from CLI strings, with one-line errors for bad ones."""
    ms = DEMO_SERVICE_MS
    if service_ms is not None:
        ms = parse_duration("--service-ms", service_ms, default_unit="ms") * 1000.0
    n = DEMO_CONCURRENCY if concurrency is None else int(parse_positive("--concurrency", concurrency, integer=True))
    version = (model_version or "v1").lower()
    try:
        return DemoOptions(service_ms=ms, concurrency=n, model_version=version)
    except ValueError as exc:
        raise UsageError(f"bad demo option: {exc}") from None


@contextlib.contextmanager
def start_demo(options: DemoOptions) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Start the server; yield it and the `run` flags of the demo profile; stop it afterwards."""
    from benchbox.demo.launcher import DemoServer, DemoServerError

    server = DemoServer(options)
    try:
        server.start()
    except DemoServerError as exc:
        raise TargetUnreachable(f"the demo server did not start: {str(exc).splitlines()[0]}") from None
    body_file = _bodies_file()
    try:
        flags: dict[str, Any] = {
            "target": server.predict_url,
            "body": f"@{body_file}",
            "rate": "50",
            "duration": "10s",
            "label": f"demo-{options.model_version}",
            "slo": ("p95=250ms", "errors=1%"),
            "saturation_budget": "30s",
            **DEMO_EVAL,
        }
        yield server, flags
    finally:
        server.stop()
        os.unlink(body_file)


def serve_forever(options: DemoOptions, port: str | None) -> ExitCode:
    """`benchbox demo --serve`: the server in the foreground until Ctrl-C."""
    from benchbox.demo.__main__ import main as serve_main

    if port is not None:
        number = parse_positive("--port", port, integer=True)
        if number > 65535:
            raise bad_value("--port", port, "a port number from 1 to 65535")
    return ExitCode(serve_main(["--port", port or "8000", *options.to_argv()]))


def _bodies_file() -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=".jsonl", prefix="benchbox-demo-", delete=False)
    with handle:
        for body in DEMO_BODIES:
            handle.write(json.dumps(body) + "\n")
    return handle.name
