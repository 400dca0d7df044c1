"""A real OTLP/HTTP receiver for the tests and benchmarks: VictoriaMetrics (Debian's
`victoria-metrics` package), which takes OTLP metrics at /opentelemetry/v1/metrics and answers
PromQL at /api/v1/query.

Debian 12's package (1.79) predates VictoriaMetrics' OTLP receiver (1.92), and Debian's Prometheus
builds (2.42 in Debian 12, 2.53 in 13) leave Prometheus's own OTLP receiver out. So unless the
installed package is new enough, Debian 13's package is fetched with `apt-get download` through a
private apt configuration (the machine's own sources and installed packages stay untouched), checked
by apt against Debian's archive keyring, and unpacked with `dpkg-deb -x` into a cache directory;
its binary needs only libc and libzstd. Once per machine, under a file lock.

    python tests/victoria.py        # fetch it now (.ci/run does), print the binary's path
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PACKAGE = "victoria-metrics"
SUITE = "trixie"  # Debian 13: victoria-metrics 1.112, with the OTLP receiver
OTLP_SINCE = "1.92"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
APT_TIMEOUT_S = 600
START_TIMEOUT_S = 30


class ReceiverUnavailable(RuntimeError):
    """VictoriaMetrics could not be had here; the message says what failed."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "benchbox-tests" / PACKAGE


def installed() -> str | None:
    """The system's victoria-metrics, when its package is new enough to take OTLP."""
    binary = shutil.which(PACKAGE) or f"/usr/bin/{PACKAGE}"
    if not Path(binary).exists() or shutil.which("dpkg") is None:
        return None
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", PACKAGE], capture_output=True, text=True, check=False
    ).stdout
    newer = subprocess.run(["dpkg", "--compare-versions", version or "0", "ge", OTLP_SINCE], check=False)
    return binary if newer.returncode == 0 else None


def fetched() -> str | None:
    binary = cache_dir() / "bin" / PACKAGE
    return str(binary) if binary.exists() else None


def find() -> str | None:
    return installed() or fetched()


def ensure() -> str:
    """The path of a victoria-metrics binary that takes OTLP; fetched first when there is none."""
    found = find()
    if found:
        return found
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "fetch.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel pytest workers fetch it once
        found = find()
        if found is None:
            _fetch(cache)
            found = fetched()
    if found is None:
        raise ReceiverUnavailable(f"{PACKAGE} was unpacked into {cache} but its binary is not there")
    return found


def _fetch(cache: Path) -> None:
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise ReceiverUnavailable(
                f"{PACKAGE} >= {OTLP_SINCE} is not installed and fetching it takes Debian's {tool}: install "
                f"{PACKAGE} {OTLP_SINCE} or newer (Debian 13's package has the OTLP receiver)"
            )
    apt_dir = cache / "apt"
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    sources = apt_dir / "sources.list"
    sources.write_text(f"deb [signed-by={KEYRING}] http://deb.debian.org/debian {SUITE} main\n")
    apt = [
        "apt-get",
        "-q",
        "-o",
        f"Dir::Etc::SourceList={sources}",
        "-o",
        "Dir::Etc::SourceParts=/dev/null",
        "-o",
        f"Dir::State::Lists={apt_dir / 'lists'}",
        "-o",
        f"Dir::Cache={apt_dir / 'cache'}",
    ]
    if os.geteuid() == 0:  # apt's _apt user may not enter a private cache: fetch as ourselves
        apt += ["-o", "APT::Sandbox::User=root"]
    download = cache / "download"
    shutil.rmtree(download, ignore_errors=True)
    download.mkdir()
    for argv in ([*apt, "update"], [*apt, "download", PACKAGE]):
        _run(argv, download)
    debs = sorted(download.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        raise ReceiverUnavailable(f"`apt-get download {PACKAGE}` left no .deb in {download}")
    unpacked = download / "root"
    _run(["dpkg-deb", "-x", str(debs[-1]), str(unpacked)], download)
    (cache / "bin").mkdir(exist_ok=True)
    shutil.move(unpacked / "usr" / "bin" / PACKAGE, cache / "bin" / PACKAGE)  # the rest (vmagent, ...) unused
    shutil.rmtree(download, ignore_errors=True)
    shutil.rmtree(apt_dir, ignore_errors=True)


def _run(argv: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=APT_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise ReceiverUnavailable(f"fetching {PACKAGE}: `{' '.join(argv)}` took over {APT_TIMEOUT_S}s") from exc
    if done.returncode != 0:
        raise ReceiverUnavailable(
            f"fetching {PACKAGE}: `{' '.join(argv)}` exited {done.returncode}: {(done.stderr or done.stdout)[-1500:]}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Victoria:
    """A running VictoriaMetrics: where to send OTLP, and how to read back what arrived."""

    base: str
    proc: subprocess.Popen[bytes]

    @property
    def otlp_url(self) -> str:
        return f"{self.base}/opentelemetry/v1/metrics"

    def query(self, promql: str, settle_s: float = 10.0) -> list[dict]:
        """An instant query, after making everything received so far searchable, read until it holds.

        VictoriaMetrics makes what it was sent searchable asynchronously: a series that the run's
        last push created can be missing from the first query after it (seen once in a full
        parallel run: the push was answered 204, yet the query found nothing), and on a busy machine
        a sum over a run's seconds once read 40 of the 60 requests the run had pushed (every push
        answered 204, no point dropped). So the answer is read until two reads 0.5 s apart agree,
        for up to `settle_s`: a point that benchbox never sent stays missing in every read, and
        what the caller checks is the value that arrived."""
        deadline = time.monotonic() + settle_s
        last: list[dict] | None = None
        while True:
            httpx.get(f"{self.base}/internal/force_flush", timeout=10.0)
            answer = httpx.get(f"{self.base}/api/v1/query", params={"query": promql}, timeout=10.0).json()
            if answer.get("status") != "success":
                raise AssertionError(f"query {promql!r} failed: {answer}")
            found = list(answer["data"]["result"])
            values = [r.get("value", [None, None])[1] for r in found]
            if (found and last is not None and values == [r.get("value", [None, None])[1] for r in last]) or (
                time.monotonic() >= deadline
            ):
                return found
            last = found or None
            time.sleep(0.5)


@contextmanager
def start(tmp: Path) -> Iterator[Victoria]:
    """VictoriaMetrics on a free 127.0.0.1 port, its data in `tmp`; stopped at the end."""
    binary = ensure()
    port = free_port()
    log = (tmp / "victoria.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"-httpListenAddr=127.0.0.1:{port}",
            f"-storageDataPath={tmp / 'data'}",
            "-search.latencyOffset=0s",  # answer with the newest points at once (default: hide the last 30 s)
            "-search.disableCache",
            "-retentionPeriod=1d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise ReceiverUnavailable(f"victoria-metrics exited {proc.returncode}: {_tail(tmp)}")
            try:
                if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ReceiverUnavailable(f"victoria-metrics not ready in {START_TIMEOUT_S}s: {_tail(tmp)}")
            time.sleep(0.1)
        yield Victoria(base, proc)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _tail(tmp: Path) -> str:
    return (tmp / "victoria.log").read_text(errors="replace")[-1500:]


if __name__ == "__main__":
    try:
        print(ensure())
    except ReceiverUnavailable as exc:
        sys.exit(f"tests/victoria.py: {exc}")
