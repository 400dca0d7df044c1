"""A `benchbox worker` that is held off the CPU right after the master accepts it.

Why it exists: on a busy machine the scheduler can leave a freshly connected worker without CPU for
a few hundred ms. Locust counts a worker as ready as soon as it connects, before the worker's
constructor has returned and benchbox has registered its message handlers; a phase message that
arrived in that gap used to be dropped as unknown, and the worker was reported lost at the phase's
deadline. This process makes the gap deterministic: after handling Locust's "ack" it blocks the
whole process (a real sleep, not gevent's) for `--hold` seconds, then runs the ordinary worker.

    python tests/servers/slow_worker.py --master 127.0.0.1:PORT [--hold 0.5]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # as benchbox.load.generator does, before anything imports socket

import argparse  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

from locust.runners import WorkerRunner  # noqa: E402

from benchbox.load import generator  # noqa: E402

blocking_sleep = monkey.get_original("time", "sleep")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True, help="HOST:PORT of the master")
    parser.add_argument("--hold", type=float, default=0.5, help="seconds without CPU after the ack")
    args = parser.parse_args()
    handle = WorkerRunner.handle_message

    def held(self: WorkerRunner, msg: Any) -> None:
        handle(self, msg)
        if msg.type == "ack":
            blocking_sleep(args.hold)  # messages the master sends meanwhile queue up in the socket

    WorkerRunner.handle_message = held  # type: ignore[method-assign]
    sys.argv = [sys.argv[0], "--worker", args.master]
    return generator.main()


if __name__ == "__main__":
    sys.exit(main())
