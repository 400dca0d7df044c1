"""An HTTP target that fails in one chosen way, for benchbox's fault and robustness tests.

Why: a tool that vouches for endpoints must be shown to report hangs, resets, garbage, huge or
endless bodies, broken JSON, wrong content types and 5xx for what they are, without hanging or
crashing itself. Each mode is one deterministic failure:

    hang        read the request, never answer (the connection stays open)
    reset       read the request, then close with SO_LINGER 0 so the client gets a TCP RST
    garbage     answer bytes that are not HTTP, then close
    huge        a valid 200 application/json response with a ~10 MB body (--huge-mb)
    slow-body   headers with Content-Length 1 MB, then one body byte a second, forever
    bad-json    200, Content-Type application/json, a body that is not valid JSON
    wrong-type  200, Content-Type text/html
    status-500  always 500 with a JSON body
    echo-500    500 whose body echoes the request's headers, as a debug error page does (a secret
                the client sent comes straight back: benchbox must not record it)
    ok          200 ``{"ok":true}``: a well-behaved target, for the TLS tests (``--tls-cert/--tls-key``)

    python tests/servers/misbehave.py --mode MODE --port 0 [--healthy /health]

``--healthy PATH`` (repeatable) answers 200 ``{"status":"ok"}`` on PATH (not counted), so preflight
passes and the fault meets the later phases (contract, adversarial, load) instead.
``--tls-cert FILE --tls-key FILE`` serves HTTPS (the URL printed says https).

Prints ``LISTENING http://127.0.0.1:PORT`` once ready, serves until SIGTERM/SIGINT. In every mode
``GET /__stats`` and ``POST /__reset`` answer normally (same JSON as fixed.py, not counted): ``count``
is requests fully received, ``latencies_us`` one entry per complete response written (none in the
hang/reset/slow-body modes). Deliberately on the stdlib loop and streams: simplicity and exact socket
control (SO_LINGER) matter here, speed does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import sys
import time

from lifecycle import until_stopped  # beside this script (run as `python tests/servers/X.py`)

MODES = ("hang", "reset", "garbage", "huge", "slow-body", "bad-json", "wrong-type", "status-500", "ok", "echo-500")
MAX_HEAD = 64 * 1024
GARBAGE = b"\x00\xff\xfeSSH-2.0-not-http \x1b[31m\x07\r\n\x89PNG\r\n\x1a\n\xde\xad\xbe\xef\r\n\r\n"
SLOW_BODY_LENGTH = 1_000_000  # under any sane body cap: only a whole-answer deadline ends it


class BadRequest(Exception):
    """The request could not be parsed: answer 400 and close."""


class Stats:
    """Same shape as fixed.py's, so the harness reads both alike."""

    def __init__(self) -> None:
        self.count = 0
        self.latencies_us: list[int] = []

    def to_json(self) -> bytes:
        return json.dumps(
            {"count": self.count, "latencies_us": self.latencies_us, "freezes": []}, separators=(",", ":")
        ).encode()


def response(
    status: int,
    reason: str,
    body: bytes,
    content_type: str = "application/json",
    length: int | None = None,
    close: bool = False,
) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n"
    ).encode("latin-1")
    return head + body


def huge_body(mb: float) -> bytes:
    """Valid JSON of about `mb` megabytes: a list of numbers, like an embedding dump gone wrong."""
    item = b"0.1234567890123456"
    n = max(1, int(mb * 1_000_000) // (len(item) + 1))
    return b'{"items":[' + b",".join([item] * n) + b"]}"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes, bool, bytes] | None:
    """One HTTP/1.1 request: (method, path, keep_alive, head), the body read and dropped. None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError as e:
        raise BadRequest from e
    lines = head[:-4].split(b"\r\n")
    while lines and not lines[0]:
        lines.pop(0)
    parts = lines[0].split(b" ") if lines else []
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise BadRequest
    method, target, version = parts
    keep_alive = version == b"HTTP/1.1"
    length, chunked = 0, False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError as e:
                raise BadRequest from e
        elif name == b"transfer-encoding" and b"chunked" in value:
            chunked = True
        elif name == b"connection":
            keep_alive = b"close" not in value and (keep_alive or b"keep-alive" in value)
    try:
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    break
                await reader.readexactly(size + 2)
        elif length > 0:
            await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
    except (ValueError, asyncio.LimitOverrunError) as e:
        raise BadRequest from e
    return method, target.split(b"?", 1)[0], keep_alive, head


class Misbehaver:
    """Holds the mode and the pre-built bodies; one handle() task per connection."""

    def __init__(self, mode: str, huge_mb: float, healthy: tuple[str, ...] = ()) -> None:
        self.mode = mode
        self.healthy = frozenset(p.encode() for p in healthy)
        self.stats = Stats()
        self.writers: set[asyncio.StreamWriter] = set()
        self.canned: bytes | None = {
            "huge": lambda: response(200, "OK", huge_body(huge_mb)),
            "bad-json": lambda: response(200, "OK", b'{"ok": tru, "items": [1, 2,'),
            "wrong-type": lambda: response(
                200, "OK", b"<html><body><h1>It works!</h1></body></html>", content_type="text/html; charset=utf-8"
            ),
            "status-500": lambda: response(500, "Internal Server Error", b'{"error":"internal server error"}'),
            "ok": lambda: response(200, "OK", b'{"ok":true}'),
        }.get(mode, lambda: None)()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.add(writer)
        sock = writer.get_extra_info("socket")
        try:
            while True:
                try:
                    req = await read_request(reader)
                except BadRequest:
                    writer.write(response(400, "Bad Request", b'{"error":"bad request"}', close=True))
                    await writer.drain()
                    break
                if req is None:
                    break
                t0 = time.perf_counter()
                method, path, keep_alive, head = req
                if path == b"/__stats":
                    writer.write(response(200, "OK", self.stats.to_json(), close=not keep_alive))
                elif path == b"/__reset":
                    self.stats.count, self.stats.latencies_us = 0, []
                    writer.write(response(200, "OK", b'{"ok":true,"reset":true}', close=not keep_alive))
                elif path in self.healthy:
                    writer.write(response(200, "OK", b'{"status":"ok"}', close=not keep_alive))
                else:
                    self.stats.count += 1
                    if self.mode == "echo-500":
                        echoed = json.dumps({"error": "internal error", "request": head.decode("latin-1")})
                        writer.write(response(500, "Internal Server Error", echoed.encode()))
                    elif not await self.misbehave(reader, writer, sock, t0):
                        return
                    self.stats.latencies_us.append(int((time.perf_counter() - t0) * 1e6))
                await writer.drain()
                if not keep_alive:
                    break
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:  # server shutdown: end quietly (3.11 streams log otherwise)
            pass
        finally:
            self.writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def misbehave(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock: socket.socket, t0: float
    ) -> bool:
        """Answer one counted request per the mode. False: the connection is finished (or dead)."""
        mode = self.mode
        if self.canned is not None:
            writer.write(self.canned)
            return True
        if mode == "hang":
            while await reader.read(65536):  # swallow anything more until the client gives up
                pass
        elif mode == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif mode == "garbage":
            writer.write(GARBAGE)
            await writer.drain()
            self.stats.latencies_us.append(int((time.perf_counter() - t0) * 1e6))
            writer.close()
        elif mode == "slow-body":
            writer.write(response(200, "OK", b"[", length=SLOW_BODY_LENGTH))
            while True:
                await writer.drain()
                await asyncio.sleep(1.0)
                if writer.is_closing():
                    break
                writer.write(b" ")
        return False


async def serve(args: argparse.Namespace) -> None:
    m = Misbehaver(args.mode, args.huge_mb, tuple(args.healthy))
    tls = None
    if args.tls_cert:
        import ssl

        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    server = await asyncio.start_server(
        m.handle, args.host, args.port, backlog=1024, reuse_address=True, limit=MAX_HEAD, ssl=tls
    )
    port = server.sockets[0].getsockname()[1]
    await until_stopped(args.host, port, scheme="https" if tls else "http")
    server.close()
    for w in list(m.writers):
        w.transport.abort()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    p.add_argument(
        "--healthy",
        action="append",
        default=[],
        metavar="PATH",
        help="answer 200 on PATH (repeatable): preflight passes, later phases meet the fault",
    )
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument("--huge-mb", type=float, default=10.0, help="body size for --mode huge")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
