"""The lean load client (benchbox.load.wire) reads every answer framing HTTP/1.1 allows, reuses a
keep-alive connection, reconnects when the target closed it, and sends the request it was given.

The target is a scripted socket server on 127.0.0.1 (a thread here) whose answers are exact bytes,
split into pieces so the reader meets partial heads and bodies. The client runs in its own
process, monkey-patched first, as the generator does.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SIZED = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
ANSWERS: dict[str, tuple[list[bytes], bool]] = {  # path -> (pieces written with a pause between, keep open)
    "/sized": ([SIZED], True),
    "/again": ([SIZED], True),
    "/split": ([SIZED[:20], SIZED[20:70], SIZED[70:75], SIZED[75:]], True),
    "/chunked": (
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n4\r\nWi",
            b"ki\r\n5;ext=1\r\npedia\r\n0\r\n",
            b"X-Trailer: 1\r\n\r\n",
        ],
        True,
    ),
    "/until-close": ([b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ", b"the end"], False),
    "/said-close": ([b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"], True),
    "/continue": ([b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"], True),
    "/no-content": ([b"HTTP/1.1 204 No Content\r\n\r\n"], True),
    "/stale": ([SIZED], False),  # keep-alive promised, then closed: as a server's idle timeout does
    "/cut": ([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"], False),
    "/bad-length": ([b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n"], False),
}

CLIENT_SIDE = """
from gevent import monkey
monkey.patch_all()
import json, sys, time
from benchbox.load.client import Outcome
from benchbox.load.spec import RequestSpec
from benchbox.load.wire import WireConnection

base, paths = sys.argv[1], json.loads(sys.argv[2])
seen = {}
for path in paths:
    method = "POST" if path == "/sized" else "GET"
    spec = RequestSpec(url=base + path + "?q=1", method=method, headers=(("X-Key", "v"),), bodies=(), timeout_s=5)
    connection = WireConnection(spec)
    outs = [connection.send(b'{"n":1}' if method == "POST" else None, Outcome(keep=True)) for _ in range(3)]
    connection.close()
    seen[path] = [[o.status, o.error_kind, o.body.decode(), o.content_type] for o in outs]
# Past its own timeout, a connection's later requests still get their whole timeout each.
spec = RequestSpec(url=base + "/again", method="GET", headers=(), bodies=(), timeout_s=0.3)
connection, kinds, end = WireConnection(spec), set(), time.monotonic() + 1.0
while time.monotonic() < end:
    kinds.add(connection.send(None, Outcome()).error_kind)
seen["past-timeout"] = sorted(map(str, kinds))
# A header value that would smuggle a second header fails the send; nothing reaches the wire.
smuggled = (("X-Key", "v\\r\\nX-Injected: 1"),)
spec = RequestSpec(url=base + "/again", method="GET", headers=smuggled, bodies=(), timeout_s=5)
out = WireConnection(spec).send(None, Outcome())
seen["injected"] = [out.status, out.error_kind]
print(json.dumps(seen))
"""


class Scripted:
    """Answers each request with ANSWERS[path]; records request heads, bodies and connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: dict[str, int] = {}
        self.requests: list[tuple[str, bytes]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf, first = b"", True
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    block = conn.recv(65536)
                    if not block:
                        return
                    buf += block
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next(
                    (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0
                )
                while len(buf) < length:
                    buf += conn.recv(65536)
                self.requests.append((head.decode(), buf[:length]))
                buf = buf[length:]
                path = head.split(b" ")[1].decode().partition("?")[0]
                if first:
                    self.connections[path] = self.connections.get(path, 0) + 1
                    first = False
                pieces, keep = ANSWERS[path]
                for piece in pieces:
                    conn.sendall(piece)
                    time.sleep(0.01)
                if not keep or b"Connection: close" in pieces[-1]:
                    return


@pytest.fixture(scope="module")
def exchanges() -> Iterator[tuple[Scripted, dict[str, list[list[object]]]]]:
    server = Scripted()
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT_SIDE, server.url, json.dumps(list(ANSWERS))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    yield server, json.loads(proc.stdout)
    server.sock.close()


def test_every_framing_is_read_whole(exchanges: tuple[Scripted, dict[str, list[list[object]]]]) -> None:
    _, seen = exchanges
    assert seen["/sized"] == [[200, None, '{"ok":true}', "application/json"]] * 3
    assert seen["/split"] == seen["/sized"]
    assert seen["/chunked"] == [[200, None, "Wikipedia", ""]] * 3
    assert seen["/until-close"] == [[200, None, "until the end", "text/plain"]] * 3
    assert seen["/said-close"] == [[200, None, "ok", ""]] * 3
    assert seen["/continue"] == [[201, None, "ok", ""]] * 3
    assert seen["/no-content"] == [[204, None, "", ""]] * 3


def test_keep_alive_is_reused_and_a_closed_one_reopened(
    exchanges: tuple[Scripted, dict[str, list[list[object]]]],
) -> None:
    server, seen = exchanges
    assert server.connections["/sized"] == 1
    assert server.connections["/chunked"] == 1  # the trailers were consumed: the next answer parsed cleanly
    assert server.connections["/until-close"] == server.connections["/said-close"] == 3
    assert seen["/stale"] == [[200, None, '{"ok":true}', "application/json"]] * 3  # reconnected, no error
    assert server.connections["/stale"] == 3


def test_a_broken_answer_is_counted_by_kind(exchanges: tuple[Scripted, dict[str, list[list[object]]]]) -> None:
    _, seen = exchanges
    assert seen["past-timeout"] == ["None"]  # each request its own deadline, not the first one's
    assert [kind for _, kind, _, _ in seen["/cut"]] == ["reset"] * 3
    assert [kind for _, kind, _, _ in seen["/bad-length"]] == ["protocol"] * 3


def test_the_request_is_the_template(exchanges: tuple[Scripted, dict[str, list[list[object]]]]) -> None:
    server, seen = exchanges
    assert seen["injected"] == [None, "protocol"]
    assert not any("X-Injected" in head for head, _ in server.requests)
    posts = [(head, body) for head, body in server.requests if head.startswith("POST")]
    assert len(posts) == 3
    head, body = posts[0]
    lines = head.split("\r\n")
    assert lines[0] == "POST /sized?q=1 HTTP/1.1"
    assert f"Host: {server.url.removeprefix('http://')}" in lines
    assert "X-Key: v" in lines and "Content-Length: 7" in lines
    assert any(line.startswith("User-Agent: benchbox/") for line in lines)
    assert body == b'{"n":1}'
