"""The load generator process: `python -m benchbox.load.generator`, commands on stdin.

Load runs in its own process because Locust monkey-patches the whole interpreter with gevent
(field notes): the engine, the preflight's httpx client, Hypothesis and the report stay in an
unpatched parent. The process lives for a whole benchbox run and takes its work one command at a
time, so a saturation probe or a step costs no interpreter start-up (about 1 s each before).

Commands are JSON lines on stdin: `{"type": "run", "run": RunSpec}` runs its phases back to back,
`{"type": "stop"}` ends the current run early (its phase marked partial, still reported), and
end of input ends the process (after stopping whatever runs: the parent is done or gone). Answers
are JSON lines on stdout: `phase`, a `tick` per second and a `result` per phase (or an `error`),
then one `done` per run, when the process is ready for the next command. SIGINT/SIGTERM sent to
the process itself stop the current run and end it, as they always did.
"""

from collections.abc import Callable
from importlib import metadata
from typing import Any

from gevent import monkey


def _patch_all() -> None:
    """gevent's patch_all, before anything imports ssl or socket (Locust issues #1178, #2661).

    gevent asks for its plugins' entry points at each of its 25 patch events, and each ask reads
    every installed distribution's metadata: 0.15 CPU-s of every generator start (a fifth of it),
    measured. Read once here and answered from that for the duration; the same entry points, so
    any gevent plugin still runs. (gevent imports importlib.metadata before it patches anything.)"""
    every = metadata.entry_points()

    def read_once(**selection: Any) -> Any:
        return every.select(**selection) if selection else every

    real = metadata.entry_points
    patched: Callable[..., Any] = read_once
    metadata.entry_points = patched
    try:
        monkey.patch_all()
    finally:
        metadata.entry_points = real


_patch_all()

import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.fileobject import FileObjectPosix  # noqa: E402
from gevent.queue import Queue  # noqa: E402

from benchbox.load.distributed import Master, WorkersMissing, run_worker  # noqa: E402
from benchbox.load.locustfile import LocustfileError  # noqa: E402
from benchbox.load.phase import Emit, run_phase  # noqa: E402
from benchbox.load.spec import RunSpec  # noqa: E402
from benchbox.phase_record import to_dict  # noqa: E402


def main() -> int:
    logging.getLogger("locust").setLevel(logging.ERROR)
    # Everything imported so far (Locust, gevent, their dependencies: ~50k objects) lives as long as
    # the process. Frozen, the cyclic collector never walks it again: a full collection over it
    # stalled the hub for 25-60 ms mid-phase (measured), and every slot due meanwhile went out late.
    gc.freeze()
    out = sys.stdout

    def emit(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        stop = Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(sig, stop.set)
        host, _, port = sys.argv[2].rpartition(":")
        run_worker(host or "127.0.0.1", int(port), stop)
        return 0
    return _Server(emit).serve()


class _Server:
    """Takes runs one at a time; keeps a distributed run's master and workers up between them."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.stop = Event()  # ends the current run
        self.leaving = False  # no further runs: end of input, or a signal
        self.commands: Queue[RunSpec | None] = Queue()
        self.master: Master | None = None

    def serve(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(sig, self._leave)
        gevent.spawn(self._read_commands)
        try:
            while True:
                run = self.commands.get()
                if run is None or self.leaving:
                    return 0
                self.stop.clear()  # a stop that came after the previous run ended was for that run
                code = self._run(run)
                self.emit({"type": "done"})
                if code:
                    return code
        finally:
            if self.master is not None:
                self.master.close()

    def _read_commands(self) -> None:
        stdin = FileObjectPosix(sys.stdin.fileno(), "rb", close=False)
        for line in stdin:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "stop":
                self.stop.set()
            elif kind == "run":
                self.commands.put(RunSpec.from_dict(message["run"]))
        self._leave()

    def _leave(self) -> None:
        self.leaving = True
        self.stop.set()
        self.commands.put(None)

    def _run(self, run: RunSpec) -> int:
        try:
            if run.distributed:
                self._master(run).run(run.phases)
                return 0
            for index, spec in enumerate(run.phases):
                if self.stop.is_set():
                    break
                self.emit({"type": "phase", "index": index, "phase": spec.name})
                phase = run_phase(spec, self.emit, self.stop)
                self.emit({"type": "result", "index": index, "phase": to_dict(phase)})
                if phase.aborted:  # the brake: later steps would only load a broken target harder
                    break
        except (LocustfileError, WorkersMissing) as exc:
            if isinstance(exc, WorkersMissing):
                self._drop_master()
            self.emit({"type": "error", "kind": "usage", "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the parent turns this into a one-line error
            self.emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
            return 1  # its state is unknown: the parent starts a fresh process for the next run
        return 0

    def _master(self, run: RunSpec) -> Master:
        """The running master if it was started for the same workers, else a new one."""
        if self.master is not None and self.master.serves(run):
            return self.master
        self._drop_master()
        self.master = Master(run, self.emit, self.stop)
        self.master.start()
        return self.master

    def _drop_master(self) -> None:
        if self.master is not None:
            self.master.close()
            self.master = None


if __name__ == "__main__":
    sys.exit(main())
