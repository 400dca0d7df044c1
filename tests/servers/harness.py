"""Start the purpose-built servers as real processes and read their own stats.

Why: integration tests compare what benchbox measured with what the target itself saw. The target
must be a separate process (its own GIL, its own clock, killable mid-run), so this module owns the
process: launch, learn the URL from the ``LISTENING http://127.0.0.1:PORT`` line, read ``/__stats``,
reset, stop or kill.

    from tests.servers.harness import FIXED, start_server

    with start_server(FIXED, "--service-ms", "20") as srv:
        ...  # drive srv.url
        st = srv.stats()
        assert st.count == 1000 and st.percentile_ms(99) < 25

The stats calls use urllib with proxies disabled (an http_proxy in the environment must never see
127.0.0.1 traffic); urllib also works under gevent's monkey-patching.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import selectors
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import IO

HERE = Path(__file__).resolve().parent
FIXED = HERE / "fixed.py"
MISBEHAVE = HERE / "misbehave.py"

# Test servers on loopback may serve HTTPS with a throwaway self-signed certificate.
_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ssl._create_unverified_context())
)


class ServerStartError(RuntimeError):
    """The server exited, or never said LISTENING, before the timeout."""


@dataclass(frozen=True)
class ServerStats:
    """The server's own view of the requests it received (from ``GET /__stats``).

    ``count``: requests fully received. ``latencies_us``: one per response written, in completion
    order, parse-to-write on the server's clock. ``freezes``: stall windows (fixed.py only) as
    ``(start, end)`` in ``time.perf_counter()`` seconds, which on Linux is CLOCK_MONOTONIC and so
    comparable with the test process's own ``time.perf_counter()``.
    """

    count: int
    latencies_us: tuple[int, ...]
    freezes: tuple[tuple[float, float], ...] = field(default=(), compare=False)

    @cached_property
    def _sorted(self) -> tuple[int, ...]:
        return tuple(sorted(self.latencies_us))

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the server-side latencies, in milliseconds (p in [0, 100])."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile out of range: {p}")
        values = self._sorted
        if not values:
            raise ValueError("no latencies recorded")
        rank = max(1, math.ceil(p / 100 * len(values)))
        return values[rank - 1] / 1000.0

    @classmethod
    def from_json(cls, data: dict) -> ServerStats:
        return cls(
            count=int(data["count"]),
            latencies_us=tuple(int(v) for v in data["latencies_us"]),
            freezes=tuple((float(a), float(b)) for a, b in data.get("freezes", ())),
        )


class ServerProcess:
    """A running server process. Use as a context manager, or call ``stop()`` yourself."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, stderr_path: Path, argv: list[str]) -> None:
        self.proc = proc
        self.url = url
        self.argv = argv
        self.stderr_path = stderr_path
        self.host, _, port = url.removeprefix("https://").removeprefix("http://").rpartition(":")
        self.port = int(port)
        self._stderr_final: str | None = None
        self._drainer = threading.Thread(target=_drain, args=(proc.stdout,), daemon=True, name=f"drain-{proc.pid}")
        self._drainer.start()
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- stats ----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, timeout: float) -> bytes:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.read()

    def stats(self, timeout: float = 30.0) -> ServerStats:
        """The server's own count and latencies (``GET /__stats``; not itself counted)."""
        return ServerStats.from_json(json.loads(self._call("GET", "/__stats", timeout)))

    def reset(self, timeout: float = 30.0) -> None:
        """Forget every request seen so far (``POST /__reset``; not itself counted)."""
        self._call("POST", "/__reset", timeout)

    # -- lifetime ---------------------------------------------------------------------------------
    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds. Returns the exit code; idempotent."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._close_pipes()
        return self.proc.wait()

    def kill(self) -> int:
        """SIGKILL now: a target that dies mid-run. Returns the exit code (-9)."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        self._close_pipes()
        return self.proc.wait()

    def stderr_text(self) -> str:
        """Everything the server wrote on stderr so far (still available after stop/kill)."""
        if self._stderr_final is not None:
            return self._stderr_final
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def _close_pipes(self) -> None:
        """Reap the child, let the drain thread finish, keep stderr in memory, remove its file."""
        self.proc.wait()
        _LIVE.discard(self)
        if self._drainer is not None:
            self._drainer.join(2.0)
        if self._stderr_final is None:
            self._stderr_final = self.stderr_text()
            try:
                self.stderr_path.unlink()
            except OSError:
                pass

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "alive" if self.alive() else f"exited {self.proc.returncode}"
        return f"<ServerProcess {Path(self.argv[1]).name} {self.url} pid={self.pid} {state}>"


def _resolve(script: str | Path) -> Path:
    """Accept a path, or a bare name of a server in this directory ("fixed", "misbehave.py")."""
    p = Path(script)
    if p.exists():
        return p.resolve()
    for cand in (HERE / p, HERE / f"{p}.py"):
        if cand.exists():
            return cand
    raise FileNotFoundError(f"no server script {script!r}")


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _drain(pipe: IO[bytes]) -> None:
    """Keep reading the child's stdout so a chatty server never blocks on a full pipe; close at EOF."""
    try:
        while os.read(pipe.fileno(), 65536):
            pass
    except (OSError, ValueError):
        pass
    finally:
        pipe.close()


_LIVE: set[ServerProcess] = set()  # strong refs: a dropped, un-stopped server is still killed


@atexit.register
def _kill_leftovers() -> None:
    """A test that forgot stop() (or crashed) must not leave servers running after the session."""
    for srv in list(_LIVE):
        try:
            srv.kill()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


def start_server(script: str | Path, *args: str, timeout: float = 15) -> ServerProcess:
    """Launch ``sys.executable script *args`` (plus ``--port 0`` unless a port is given).

    Returns once the server printed its LISTENING line. Raises ServerStartError (with the tail of
    the child's stderr) if it exits first or the timeout passes.
    """
    path = _resolve(script)
    argv = [sys.executable, str(path), *map(str, args)]
    if not any(a == "--port" or a.startswith("--port=") for a in argv[2:]):
        argv += ["--port", "0"]
    fd, name = tempfile.mkstemp(prefix=f"benchbox-{path.stem}-", suffix=".stderr")
    stderr_path = Path(name)
    env = dict(os.environ, PYTHONUNBUFFERED="1", BENCHBOX_SERVER_PARENT_PID=str(os.getpid()))
    with os.fdopen(fd, "wb") as err:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env, start_new_session=True
        )
    assert proc.stdout is not None

    def fail(why: str) -> ServerStartError:
        """Kill and reap the child, release its pipe and stderr file, keep the stderr tail."""
        proc.kill()
        rc = proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
        tail = _tail(stderr_path)
        try:
            stderr_path.unlink()
        except OSError:
            pass
        return ServerStartError(f"{path.name} (exit {rc}) {why}; stderr tail:\n{tail}")

    deadline = time.monotonic() + timeout
    buf = b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise fail(f"did not print LISTENING within {timeout} s (stdout so far {buf!r})")
            if not sel.select(min(left, 0.1)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:  # EOF: the child exited (or closed stdout)
                break
            buf += chunk
    finally:
        sel.close()
    line = buf.partition(b"\n")[0].decode(errors="replace").strip()
    if not line.startswith(("LISTENING http://", "LISTENING https://")):
        raise fail(f"exited or printed {line!r} before LISTENING")
    text = line
    url = text.split(None, 1)[1]
    return ServerProcess(proc, url, stderr_path, argv)
