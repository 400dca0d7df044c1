"""What every purpose-built server shares: dying with the test process that started it."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Coroutine
from http.server import ThreadingHTTPServer
from typing import Any

PARENT_ENV = "BENCHBOX_SERVER_PARENT_PID"


def watch_parent(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Exit when the process that started us (the harness, via $BENCHBOX_SERVER_PARENT_PID) is gone.

    A test process killed with SIGKILL or SIGTERM runs no cleanup; without this its servers would
    outlive it and hold ports and CPU. Checked once a second.
    """
    want = os.environ.get(PARENT_ENV)
    if not want:
        return

    def check() -> None:
        if os.getppid() != int(want):
            stop.set()
        else:
            loop.call_later(1.0, check)

    check()


def loop_factory(no_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed and wanted (the fast servers), else the stdlib loop."""
    if no_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(main: Coroutine[Any, Any, None], no_uvloop: bool = False) -> int:
    with asyncio.Runner(loop_factory=loop_factory(no_uvloop)) as runner:
        runner.run(main)
    return 0


async def serve_threaded(server: ThreadingHTTPServer, host: str) -> None:
    """Serve a stdlib threaded HTTP server until SIGTERM/SIGINT or the parent's death.

    The simple fault servers use http.server (one thread a request: a hang or a crash in one
    handler stays there); this is their shared lifecycle: announce, serve, stop cleanly."""
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    await until_stopped(host, server.server_address[1])
    server.shutdown()
    server.server_close()


async def until_stopped(host: str, port: int, scheme: str = "http") -> None:
    """Say LISTENING (the harness waits for that line), then wait for SIGTERM/SIGINT or the
    parent's death: every server's life between binding and closing."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch_parent(loop, stop)
    print(f"LISTENING {scheme}://{host}:{port}", flush=True)
    await stop.wait()


async def serve_protocols(server: asyncio.Server, host: str, conns: set[Any]) -> None:
    """An asyncio protocol server's life: announce, serve until stopped, then abort every open
    connection (a client mid-request must see the server go, not wait on it)."""
    await until_stopped(host, server.sockets[0].getsockname()[1])
    server.close()
    for c in list(conns):
        if c.transport is not None:
            c.transport.abort()
    await server.wait_closed()
