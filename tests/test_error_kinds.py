"""One error vocabulary on both sides: the parent's request layer (benchbox.bounded, httpx) and the
load generator's clients (benchbox.load.client and .wire, gevent) must name the same fault the same way.

Each fault is a real server on 127.0.0.1 (tests/servers/misbehave.py), a closed port or a name
that cannot resolve. The generator's side runs in its own process, monkey-patched first, as the
generator itself is; the parent's side runs here, without gevent.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchbox import bounded
from benchbox.error_kinds import KINDS, classify
from tests.servers.harness import MISBEHAVE, ServerProcess, start_server

ROOT = Path(__file__).resolve().parent.parent
MAX_BODY = 4 * 1024 * 1024  # the default --max-body: slow-body's 1 MB is under it, so only the deadline ends it
HUGE_MAX_BODY = 64 * 1024  # under the 1 MB that `huge` sends
TIMEOUT_S = 1.0

GENERATOR_SIDE = """
from gevent import monkey
monkey.patch_all()  # as benchbox/load/generator.py does, before anything imports ssl or socket
import json, sys
from benchbox.load.client import Connection, Outcome
from benchbox.load.spec import RequestSpec
from benchbox.load.wire import WireConnection

kinds = {}
for client in (Connection, WireConnection):  # a user's locustfile's client, and the lean one
    for name, url, timeout_s, max_body in json.loads(sys.argv[1]):
        spec = RequestSpec(url=url, method="POST", headers=(("Content-Type", "application/json"),), bodies=("{}",),
                           timeout_s=timeout_s, max_body_bytes=max_body)
        connection = client(spec)
        out = connection.send(b"{}", Outcome())
        connection.close()
        kinds.setdefault(client.__name__, {})[name] = [out.status, out.error_kind]
print(json.dumps(kinds))
"""


def _closed_port() -> int:
    """A port nothing listens on: bound by us, then released (connect gets ECONNREFUSED)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def targets(tls_cert: tuple[str, str]) -> Iterator[dict[str, tuple[str, str]]]:
    """name -> (url, the kind both sides must report)."""
    cert, key = tls_cert
    modes = {
        "hang": ("hang",),
        "slow-body": ("slow-body",),
        "huge": ("huge", "--huge-mb", "1"),
        "reset": ("reset",),
        "garbage": ("garbage",),
        "tls-untrusted": ("ok", "--tls-cert", str(cert), "--tls-key", str(key)),
    }
    servers: list[ServerProcess] = []
    try:
        urls = {}
        for name, (mode, *extra) in modes.items():
            server = start_server(MISBEHAVE, "--mode", mode, *extra)
            servers.append(server)
            urls[name] = server.url + "/predict"
        yield {
            "refused": (f"http://127.0.0.1:{_closed_port()}/predict", "connect"),
            "dns": ("http://benchbox-kinds-test.invalid:8000/predict", "dns"),
            "hang": (urls["hang"], "timeout"),
            "slow-body": (urls["slow-body"], "timeout"),
            "huge": (urls["huge"], "too_large"),
            "reset": (urls["reset"], "reset"),
            "garbage": (urls["garbage"], "protocol"),
            "tls-untrusted": (urls["tls-untrusted"], "tls"),
        }
    finally:
        for server in servers:
            server.stop()


def test_parent_and_generator_name_every_fault_alike(targets: dict[str, tuple[str, str]]) -> None:
    cases = [
        (name, url, TIMEOUT_S, HUGE_MAX_BODY if name == "huge" else MAX_BODY) for name, (url, _) in targets.items()
    ]
    proc = subprocess.run(
        [sys.executable, "-c", GENERATOR_SIDE, json.dumps(cases)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    generator = json.loads(proc.stdout)
    parent = {}
    for name, url, timeout_s, max_body in cases:
        with bounded.client(timeout_s=timeout_s, max_bytes=max_body, trust_env=False) as client:
            reply = bounded.send(client, "POST", url, content=b"{}", headers={"Content-Type": "application/json"})
        parent[name] = [reply.status, reply.error_kind]
        assert reply.error is not None and reply.error.startswith(f"{reply.error_kind}:"), reply.error
    expected = {name: [None, kind] for name, (_, kind) in targets.items()}
    assert parent == expected
    assert generator == {"Connection": expected, "WireConnection": expected}


def test_the_vocabulary_is_closed() -> None:
    """Whatever a client raises, the kind is one of KINDS (an unknown failure is `client`)."""
    import httpx

    assert classify(RuntimeError("boom")) == "client"
    assert classify(httpx.ConnectError("x")) == "connect"
    wrapped = httpx.ConnectError("x")
    wrapped.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert classify(wrapped) == "dns"  # the OS-level cause decides, as in the generator
    for exc in (OSError(5, "io"), ValueError("bad line"), httpx.ReadError("x"), httpx.DecodingError("x")):
        assert classify(exc) in KINDS
