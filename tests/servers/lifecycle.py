"""What every purpose-built server shares: dying with the test process that started it."""

from __future__ import annotations

import asyncio
import os

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
