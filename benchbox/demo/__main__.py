"""`python -m benchbox.demo`: run the demo model server in the foreground.

Options are parsed by build_parser()/config_from_args() so benchbox's own CLI can offer the
same flags with the same checks. The api key may come from BENCHBOX_DEMO_API_KEY instead of
--api-key, so it need not appear in argv (which every local user can read via ps).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn

from benchbox.demo.options import ENV_API_KEY, MODEL_VERSIONS, DemoOptions

PROG = "python -m benchbox.demo"


@dataclass(frozen=True)
class ServeConfig:
    """Where to listen and how to behave."""

    host: str
    port: int
    options: DemoOptions
    grpc_port: int | None = None  # the KServe V2 gRPC face too (benchbox.demo.grpc_face)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line and exit 2, like every other benchbox usage error (no usage dump).
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Run benchbox's demo model server (a small softmax classifier).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--api-key",
        default=None,
        help=f"require 'Authorization: Bearer KEY' on model endpoints (prefer the {ENV_API_KEY} env var)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="R",
        help="requests/s over predict and infer; past it, 429 with Retry-After",
    )
    parser.add_argument(
        "--service-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="extra service time per prediction, in ms (default: 0)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="predictions served at once; the rest queue (default: unlimited)",
    )
    parser.add_argument(
        "--model-version",
        default="v1",
        choices=MODEL_VERSIONS,
        help="model to serve (default: %(default)s)",
    )
    parser.add_argument(
        "--startup-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds before the model starts loading; /ready is 503 until it has",
    )
    parser.add_argument(
        "--first-token-ms",
        type=float,
        default=50.0,
        metavar="MS",
        help="chat completions: delay before the first token, in ms (default: %(default)s)",
    )
    parser.add_argument(
        "--token-ms",
        type=float,
        default=10.0,
        metavar="MS",
        help="chat completions: delay between tokens, in ms (default: %(default)s)",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the model's KServe V2 face over gRPC on this port (benchbox.demo.grpc_face)",
    )
    return parser


def config_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> ServeConfig:
    """Turn parsed flags into a ServeConfig; raises ValueError with a one-line message."""
    env = os.environ if environ is None else environ
    if not 1 <= args.port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {args.port}")
    if not args.host:
        raise ValueError("host must not be empty")
    api_key = args.api_key if args.api_key is not None else (env.get(ENV_API_KEY) or None)
    options = DemoOptions(
        api_key=api_key,
        rate_limit=args.rate_limit,
        service_ms=args.service_ms,
        concurrency=args.concurrency,
        model_version=args.model_version,
        startup_delay_s=args.startup_delay,
        first_token_ms=args.first_token_ms,
        token_ms=args.token_ms,
    )
    return ServeConfig(host=args.host, port=args.port, options=options, grpc_port=args.grpc_port)


def parse_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServeConfig:
    """Parse argv; on any bad value print one line to stderr and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return config_from_args(args, environ)
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_config(argv)
    # Imported late: a usage error should not pay for (or fail on) the server stack.
    import uvicorn

    from benchbox.demo.grpc_face import serve  # grpcio itself is imported only when serving
    from benchbox.demo.server import create_app

    # Its own threads, beside uvicorn's loop; kept in a name, because a dropped grpc.Server stops.
    grpc_server = serve(config.options, config.host, config.grpc_port) if config.grpc_port is not None else None
    uvicorn.run(
        create_app(config.options),
        host=config.host,
        port=config.port,
        access_log=False,  # per-request logging would dominate at load-test rates
        log_level="warning",
        server_header=False,
        # SIGTERM under load should not hang on keep-alive connections for long.
        timeout_graceful_shutdown=2,
    )
    if grpc_server is not None:
        grpc_server.stop(grace=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
