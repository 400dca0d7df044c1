"""Install a Debian package a test needs, when it is missing: as root or through passwordless sudo,
once per machine (under a file lock, so parallel pytest workers do not race). Where it cannot be
installed the test fails saying so; it is never skipped."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

APT_TIMEOUT_S = 1200


def apt_install(packages: tuple[str, ...], need: str = "") -> None:
    """`apt-get update` and `install`; a failure says why. `need`: what the test needs them for."""
    if os.geteuid() == 0:
        prefix: list[str] | None = []
    elif shutil.which("sudo"):
        prefix = ["sudo", "-n"]
    else:
        prefix = None
    names = " ".join(packages)
    if prefix is None or shutil.which("apt-get") is None:
        pytest.fail(
            f"{names} not installed and cannot be installed here (that takes apt-get, as root or with "
            f"passwordless sudo): install Debian's {names}. {need} It is never skipped."
        )
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-o", "DPkg::Lock::Timeout=300"]
    for argv in ([*apt, "update"], [*apt, "install", "-y", "--no-install-recommends", *packages]):
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
        if done.returncode != 0:
            pytest.fail(
                f"installing {names} failed: `{' '.join(argv)}` exited {done.returncode}: "
                f"{(done.stderr or done.stdout)[-2000:]}"
            )


def ensure(find: Callable[[], str | None], packages: tuple[str, ...], need: str = "") -> str:
    """The tool's path from `find`; its packages installed first when it is missing."""
    found = find()
    if found is None:
        lock_path = Path(tempfile.gettempdir()) / f"benchbox-{packages[0]}-install.lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            found = find()  # another worker may have installed it while we waited
            if found is None:
                apt_install(packages, need)
                found = find()
    if found is None:
        pytest.fail(f"`apt-get install {' '.join(packages)}` succeeded but {packages[0]} is not to be found")
    return found
