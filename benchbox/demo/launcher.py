"""Run the demo server as a child process on 127.0.0.1, for `benchbox demo` and the tests.

A separate process, not a thread: benchbox must measure a real HTTP server whose event loop
it does not share, and tests need to kill it mid-load like a real crash.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import httpx

import benchbox
from benchbox.demo.options import ENV_API_KEY, DemoOptions

_HOST = "127.0.0.1"
_LOG_TAIL_BYTES = 4000
_PORT_ATTEMPTS = 3  # the free port we picked can be taken before the child binds it


class DemoServerError(RuntimeError):
    """The demo server exited or never became ready; the message carries its stderr tail."""


class DemoServer:
    """`with DemoServer(DemoOptions(...)) as server: httpx.post(server.predict_url, ...)`.

    wait_for="ready" returns once GET /ready is 200 (model loaded); "live" returns as soon
    as GET /health answers, so callers can watch readiness change themselves.
    """

    def __init__(
        self,
        options: DemoOptions | None = None,
        *,
        ready_timeout: float = 30.0,
        wait_for: Literal["ready", "live"] = "ready",
        python: str = sys.executable,
    ) -> None:
        self.options = options if options is not None else DemoOptions()
        self.ready_timeout = ready_timeout
        self.wait_for = wait_for
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._finalizer: weakref.finalize | None = None

    # --- addresses -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise DemoServerError("demo server not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    @property
    def predict_url(self) -> str:
        return f"{self.url}/v1/models/demo/predict"

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/demo/infer"

    @property
    def chat_url(self) -> str:
        return f"{self.url}/v1/chat/completions"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise DemoServerError("demo server not started")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """None while running (or never started), else the exit status (negative: signal)."""
        return self._proc.poll() if self._proc is not None else None

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> DemoServer:
        if self._proc is not None:
            raise DemoServerError("demo server already started")
        for attempt in range(_PORT_ATTEMPTS):
            self._spawn(_free_port())
            try:
                self._wait_until_up()
                return self
            except DemoServerError as exc:
                self.stop()
                lost_port_race = "address already in use" in str(exc).lower()
                if not lost_port_race or attempt == _PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` s; returns the exit status. Idempotent."""
        proc = self._proc
        if proc is None:
            return None
        if self._finalizer is not None:
            self._finalizer.detach()
        code = _terminate(proc, timeout)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def kill(self) -> None:
        """SIGKILL now, like a crash; the log stays readable until stop()."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def log_tail(self, max_bytes: int = _LOG_TAIL_BYTES) -> str:
        """The end of the server's combined stdout/stderr (api key redacted)."""
        if self._log is None:
            return ""
        fd = self._log.fileno()
        size = os.fstat(fd).st_size
        # pread leaves the shared file offset alone: the child is still writing through it.
        text = os.pread(fd, max_bytes, max(0, size - max_bytes)).decode("utf-8", "replace")
        if self.options.api_key:
            text = text.replace(self.options.api_key, "***")
        return text

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None and self._proc is not None else "not running"
        return f"DemoServer({self.options!r}, {where})"

    # --- internals -----------------------------------------------------------------

    def _spawn(self, port: int) -> None:
        env = dict(os.environ)
        env.pop(ENV_API_KEY, None)  # a key in our environment must not silently turn auth on
        if self.options.api_key is not None:
            env[ENV_API_KEY] = self.options.api_key
        # Make the child import this very benchbox, installed or not.
        package_root = str(Path(benchbox.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        argv = [self._python, "-m", "benchbox.demo", "--host", _HOST, "--port", str(port)]
        argv += self.options.to_argv()
        # An anonymous temp file, not a pipe: nobody drains a pipe during a load test, and a
        # full pipe would block the server.
        self._log = tempfile.TemporaryFile(prefix="benchbox-demo-")
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Own process group: a Ctrl-C aimed at benchbox must not kill the target first.
            start_new_session=True,
        )
        self._port = port
        self._finalizer = weakref.finalize(self, _terminate, self._proc, 1.0)

    def _wait_until_up(self) -> None:
        assert self._proc is not None
        path = "/ready" if self.wait_for == "ready" else "/health"
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.url, timeout=2.0, trust_env=False) as client:
            while True:
                code = self._proc.poll()
                if code is not None:
                    raise DemoServerError(
                        f"demo server exited with status {code} before it was ready:\n{self.log_tail()}"
                    )
                try:
                    status = client.get(path).status_code
                    if status == 200:
                        return
                    last = f"GET {path} -> {status}"
                except httpx.TransportError as exc:
                    last = f"GET {path} -> {type(exc).__name__}"
                if time.monotonic() >= deadline:
                    raise DemoServerError(
                        f"demo server at {self.url} not ready after {self.ready_timeout:g} s ({last}):\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.05)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
