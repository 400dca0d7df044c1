"""Why the generator calls grpc.experimental.gevent.init_gevent(): one closed-loop gRPC phase with and without it.

    python benchmarks/grpc_gevent.py on  grpc://127.0.0.1:8081/demo     # as benchbox runs
    python benchmarks/grpc_gevent.py off grpc://127.0.0.1:8081/demo     # init_gevent made a no-op

Each run is its own process (monkey-patched as the generator is) and runs one phase of --users for
--duration through benchbox's own load machinery. Without grpcio's gevent support a blocking call
holds the whole hub: the phase's clock and its stop never get to run (Locust PR #1016, #3221).
Run `off` under `timeout`: it may never end.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import time  # noqa: E402

import grpc.experimental.gevent as grpc_gevent  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("on", "off"))
    parser.add_argument("target")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    if args.mode == "off":
        grpc_gevent.init_gevent = lambda: None  # what a generator without it does
    from gevent.event import Event

    from benchbox.load.phase import run_phase
    from benchbox.load.spec import PhaseSpec, RequestSpec

    body = '{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}'
    request = RequestSpec(args.target, "POST", (), (body,), 5.0)
    spec = PhaseSpec("p", "closed", args.duration, request, users=args.users)
    started = time.perf_counter()
    phase = run_phase(spec, lambda _: None, Event())
    wall = time.perf_counter() - started
    print(f"init_gevent {args.mode}: {phase.requests} requests, {phase.throughput_rps:.1f} req/s, wall {wall:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
