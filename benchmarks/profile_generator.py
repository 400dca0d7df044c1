"""One load phase inside this process, monkey-patched as the generator is: a target for a profiler.

Why: the generator normally runs as a child of the parent, which makes it awkward to profile; this
runs the same phase driver (benchbox.load.phase.run_phase) in-process and prints requests per
CPU-second of this process. Against a fast local target (started here) unless --url is given.

    .venv/bin/python benchmarks/profile_generator.py closed 8
    py-spy record -r 250 -f raw -o prof.txt -- .venv/bin/python benchmarks/profile_generator.py open 8 --rate 8000
    BENCHBOX_LOAD_CLIENT=geventhttpclient .venv/bin/python benchmarks/profile_generator.py closed 8   # the old client
"""

from gevent import monkey

monkey.patch_all()  # as benchbox/load/generator.py does, before anything imports ssl or socket

import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gevent.event import Event  # noqa: E402

from benchbox.load.phase import run_phase  # noqa: E402
from benchbox.load.spec import PhaseSpec, RequestSpec  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("closed", "open"))
    p.add_argument("seconds", type=float)
    p.add_argument("--rate", type=float, default=8000.0, help="open loop: requests/s (default 8000)")
    p.add_argument("--users", type=int, default=32, help="closed loop users (default 32)")
    p.add_argument("--url", help="an already running target (default: start tests/servers/fixed.py)")
    args = p.parse_args()
    gc.freeze()  # as the generator does once its imports are in (generator.py)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(start_server(FIXED, "--service-ms", "0")).url
        request = RequestSpec(url=url + "/bench", method="GET", headers=(), bodies=(), timeout_s=10)
        spec = PhaseSpec(
            name="profile",
            mode=args.mode,
            duration_s=args.seconds,
            request=request,
            users=args.users,
            rate=args.rate if args.mode == "open" else None,
            connections=64,
        )
        cpu = time.process_time()
        phase = run_phase(spec, lambda _: None, Event())
        cpu = time.process_time() - cpu
    lag = phase.generator.schedule_lag_ms
    print(
        f"{args.mode}: {phase.responses} answers, {phase.throughput_rps:.0f} req/s, this process {cpu:.2f} CPU-s "
        f"-> {phase.responses / max(cpu, 1e-9):.0f} req per CPU-s; errors {dict(phase.errors_by_kind)}"
        + (f"; schedule lag p99 {lag.p99:.2f} ms" if lag else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
