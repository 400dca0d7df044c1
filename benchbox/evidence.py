"""Who, what, where: the machine and commit saved with every run, as pytest-benchmark does.

Two runs are only comparable on like machines; an auditor wants to know which code ran. Every
probe here is best-effort and bounded: evidence must never be why a run fails.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path

from benchbox.result import Machine


def machine() -> Machine:
    return Machine(
        hostname=socket.gethostname(),
        platform=platform.platform(),
        python=platform.python_version(),
        cpu_count=os.cpu_count() or 1,
        cpu_model=_cpu_model(),
        memory_gb=_memory_gb(),
    )


def commit(cwd: Path | None = None) -> str | None:
    """The git commit of the working directory, with '+dirty' when it has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=2)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None
