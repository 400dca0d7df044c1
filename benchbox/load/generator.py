"""The load generator process: `python -m benchbox.load.generator`, a PhaseSpec on stdin.

Load runs in its own process because Locust monkey-patches the whole interpreter with gevent
(field notes): the engine, the preflight's httpx client, Hypothesis and the report stay in an
unpatched parent. This process writes JSON lines to stdout: a `tick` per second and one
`result` at the end, also when it is interrupted (SIGINT/SIGTERM end the phase early and mark it
partial) or when the phase fails (an `error` line).
"""

from gevent import monkey

monkey.patch_all()  # before anything imports ssl or socket (Locust issues #1178, #2661)

import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

from benchbox.load.distributed import WorkersMissing, run_master, run_worker  # noqa: E402
from benchbox.load.locustfile import LocustfileError  # noqa: E402
from benchbox.load.phase import run_phase  # noqa: E402
from benchbox.load.spec import RunSpec  # noqa: E402
from benchbox.result import to_dict  # noqa: E402


def main() -> int:
    logging.getLogger("locust").setLevel(logging.ERROR)
    out = sys.stdout

    def emit(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    stop = Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    try:
        if len(sys.argv) == 3 and sys.argv[1] == "--worker":
            host, _, port = sys.argv[2].rpartition(":")
            run_worker(host or "127.0.0.1", int(port), stop)
            return 0
        run = RunSpec.from_json(sys.stdin.read())
        if run.distributed:
            run_master(run, emit, stop)
            return 0
        for index, spec in enumerate(run.phases):
            if stop.is_set():
                break
            emit({"type": "phase", "index": index, "phase": spec.name})
            phase = run_phase(spec, emit, stop)
            emit({"type": "result", "index": index, "phase": to_dict(phase)})
            if phase.aborted:  # the brake: later steps would only load a broken target harder
                break
    except (LocustfileError, WorkersMissing) as exc:
        emit({"type": "error", "kind": "usage", "message": str(exc)})
        return 1
    except Exception as exc:  # noqa: BLE001 - the parent turns this into a one-line error
        emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
