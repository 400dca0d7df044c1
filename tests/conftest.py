"""Shared fixtures: real servers on 127.0.0.1, and a way to run the CLI in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from benchbox.demo.launcher import DemoServer

# Bytecode is cached even where the environment turns caching off (PYTHONDONTWRITEBYTECODE, which
# some container images set; this one does). Set before this file imports any of benchbox, and
# inherited by every process the tests start (xdist workers included): a few hundred Python
# processes (each `benchbox run` in a subprocess, each load generator, each test server), which
# without a cache each compiled benchbox from source again; and every xdist worker redid pytest's
# assertion rewriting of each module it imported (benchbox and hypothesis are pytest plugins, so
# all their modules are rewritten): collecting took 7.6 CPU-s per worker, 2.2 with the cache.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# The `alone` marker and the locks that keep the other xdist workers off the machine meanwhile.
pytest_plugins = ["tests.alone"]

DEMO_BODY = '{"instances": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}'


@dataclass(frozen=True)
class CliOutcome:
    code: int
    out: str
    err: str


@pytest.fixture
def benchbox_cli(capsys: pytest.CaptureFixture[str]):
    """Run `benchbox ARGS` in this process; return its exit code and what it printed."""

    def invoke(*args: str) -> CliOutcome:
        capsys.readouterr()
        from benchbox.cli import main

        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capsys.readouterr()
        return CliOutcome(code, captured.out, captured.err)

    return invoke


@pytest.fixture(scope="session")
def demo_server() -> Iterator[DemoServer]:
    """The bundled demo model server, with a known service time and concurrency."""
    from benchbox.demo.launcher import DemoServer
    from benchbox.demo.options import DemoOptions

    with DemoServer(DemoOptions(service_ms=2.0, concurrency=8)) as server:
        yield server


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


# The chat face's known delays: the LLM accuracy tests compare measured TTFT/ITL against them.
CHAT_FIRST_TOKEN_MS = 200.0
CHAT_TOKEN_MS = 40.0


@pytest.fixture(scope="session")
def chat_demo() -> Iterator[DemoServer]:
    """The demo server with known first-token and per-token delays, for the LLM tests."""
    from benchbox.demo.launcher import DemoServer
    from benchbox.demo.options import DemoOptions

    with DemoServer(DemoOptions(first_token_ms=CHAT_FIRST_TOKEN_MS, token_ms=CHAT_TOKEN_MS)) as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl command."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(cert), str(key)
