"""Smoke check of the test servers and the harness, by hand: ``python tests/servers/selfcheck.py``.

Why: the integration tests trust these servers' own counts and clocks, so the servers are checked
first, with real clients over real sockets. Not collected by pytest on purpose (no ``test_`` prefix):
it starts ~12 processes and takes ~10 s.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests.servers` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from tests.servers.harness import FIXED, MISBEHAVE, ServerProcess, ServerStartError, ServerStats, start_server

REQ = b"GET /predict HTTP/1.1\r\nHost: t\r\n\r\n"


def _client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)  # never route 127.0.0.1 through a proxy


def _raw(srv: ServerProcess, payload: bytes, wait: float = 1.0) -> tuple[bytes, str]:
    """Send raw bytes, read until EOF/timeout. Returns (bytes read, how it ended)."""
    s = socket.create_connection((srv.host, srv.port))
    s.sendall(payload)
    out = b""
    deadline = time.monotonic() + wait
    try:
        while True:
            s.settimeout(max(0.001, deadline - time.monotonic()))  # total, not per recv
            d = s.recv(1 << 20)
            if not d:
                return out, "eof"
            out += d
    except TimeoutError:
        return out, "timeout"
    except ConnectionResetError:
        return out, "reset"
    finally:
        s.close()


def check(cond: bool, what: str) -> None:
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        check.failed += 1  # type: ignore[attr-defined]


check.failed = 0  # type: ignore[attr-defined]


def check_stats_helper() -> None:
    print("ServerStats")
    st = ServerStats(count=5, latencies_us=(5000, 1000, 3000, 2000, 4000))
    check(
        st.percentile_ms(50) == 3.0
        and st.percentile_ms(0) == 1.0
        and st.percentile_ms(100) == 5.0
        and st.percentile_ms(81) == 5.0,
        "nearest-rank percentiles",
    )


def check_fixed() -> None:
    print("fixed.py --service-ms 20")
    with start_server(FIXED, "--service-ms", "20") as srv, _client() as c:
        r = [c.get(srv.url + "/predict") for _ in range(20)]
        r.append(c.post(srv.url + "/predict", json={"x": list(range(1000))}))
        check(all(x.status_code == 200 and x.json() == {"ok": True} for x in r), "21 x 200 {ok:true}")
        check(all(x.http_version == "HTTP/1.1" for x in r), "HTTP/1.1")
        st = srv.stats()
        check(st.count == 21 and len(st.latencies_us) == 21, f"server counted 21 (got {st.count})")
        check(
            20.0 <= st.percentile_ms(0) and st.percentile_ms(99) < 25,
            f"server-side latency p0 {st.percentile_ms(0)} p50 {st.percentile_ms(50)} p99 {st.percentile_ms(99)} ms",
        )
        # pipelined: 50 requests in one write, served concurrently -> ~20 ms, not 50 x 20 ms
        t = time.perf_counter()
        out, _ = _raw(srv, REQ * 49 + b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", wait=5)
        dt = time.perf_counter() - t
        check(out.count(b"HTTP/1.1 200 OK") == 50 and dt < 0.5, f"50 pipelined in {dt * 1e3:.0f} ms")
        srv.reset()
        check(srv.stats() == ServerStats(0, ()), "reset clears, stats calls not counted")
        out, how = _raw(srv, b"NONSENSE\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400") and how == "eof", "malformed request -> 400 + close")
        pid = srv.pid
    check(srv.returncode == 0, f"SIGTERM -> clean exit 0 (pid {pid})")

    print("fixed.py --status 503 --body ...")
    with start_server(FIXED, "--status", "503", "--body", '{"error":"overloaded"}') as srv, _client() as c:
        x = c.get(srv.url + "/")
        check(x.status_code == 503 and x.json() == {"error": "overloaded"}, "status and body")

    print("fixed.py --freeze-every 1 --freeze-for 0.3")
    with start_server(FIXED, "--freeze-every", "1", "--freeze-for", "0.3") as srv, _client() as c:
        t_end = time.perf_counter() + 1.6
        worst = 0.0
        while time.perf_counter() < t_end:
            t = time.perf_counter()
            c.get(srv.url + "/")
            worst = max(worst, time.perf_counter() - t)
        st = srv.stats()
        # With no service time nothing is in flight inside the server when it freezes: the request
        # sent during the stall is parsed after it, so the server's own clock never sees the stall.
        check(
            len(st.freezes) == 1 and 0.25 < worst < 0.4 and st.percentile_ms(100) < 50,
            f"one stall: client worst {worst * 1e3:.0f} ms, server worst "
            f"{st.percentile_ms(100):.1f} ms (blind to it), freezes {len(st.freezes)}",
        )
    with (
        start_server(FIXED, "--service-ms", "50", "--freeze-every", "0.5", "--freeze-for", "0.3") as srv,
        _client() as c,
    ):
        for _ in range(12):
            c.get(srv.url + "/")
        st = srv.stats()
        check(
            st.freezes and st.percentile_ms(100) > 250,
            f"--service-ms 50: a request in flight during the stall shows it on the server "
            f"clock ({st.percentile_ms(100):.0f} ms)",
        )

    print("kill()")
    srv = start_server("fixed")
    rc = srv.kill()
    try:
        socket.create_connection((srv.host, srv.port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    check(rc == -9 and refused, f"SIGKILL -> rc {rc}, port refuses connections")

    print("start failure")
    try:
        start_server(FIXED, "--status", "abc")
        check(False, "bad args should raise")
    except ServerStartError as e:
        check("invalid int value" in str(e), "exits before LISTENING -> ServerStartError with stderr")


def check_misbehave() -> None:
    def mb(mode: str) -> ServerProcess:
        print(f"misbehave.py --mode {mode}")
        return start_server(MISBEHAVE, "--mode", mode)

    with mb("hang") as srv:
        out, how = _raw(srv, REQ, wait=1.0)
        check(out == b"" and how == "timeout", "no answer within 1 s")
        check(srv.stats().count == 1, "counted, /__stats answers")
    with mb("reset") as srv:
        out, how = _raw(srv, REQ)
        check(how == "reset", f"connection reset ({how})")
        check(srv.stats().count == 1, "counted")
    with mb("garbage") as srv:
        out, how = _raw(srv, REQ)
        check(bool(out) and not out.startswith(b"HTTP/"), f"non-HTTP bytes {out[:12]!r}")
        check(srv.stats().count == 1, "counted")
    with mb("huge") as srv, _client() as c:
        x = c.get(srv.url + "/")
        check(
            x.status_code == 200 and len(x.content) > 9_900_000 and "items" in x.json(),
            f"valid JSON of {len(x.content) / 1e6:.1f} MB",
        )
    with mb("slow-body") as srv:
        out, how = _raw(srv, REQ, wait=2.5)
        head, _, body = out.partition(b"\r\n\r\n")
        check(
            b"200 OK" in head and b"Content-Length: 1000000000" in head and 2 <= len(body) <= 4,
            f"headers then {len(body)} body bytes in 2.5 s",
        )
    with mb("bad-json") as srv, _client() as c:
        x = c.get(srv.url + "/")
        try:
            x.json()
            bad = False
        except json.JSONDecodeError:
            bad = True
        check(
            x.status_code == 200 and x.headers["content-type"] == "application/json" and bad,
            "200 application/json, body does not parse",
        )
    with mb("wrong-type") as srv, _client() as c:
        x = c.get(srv.url + "/")
        check(x.status_code == 200 and x.headers["content-type"].startswith("text/html"), "text/html")
    with mb("status-500") as srv, _client() as c:
        xs = [c.post(srv.url + "/predict", json={"a": 1}) for _ in range(3)]
        check(all(x.status_code == 500 and "error" in x.json() for x in xs), "3 x 500 with JSON")
        st = srv.stats()
        check(st.count == 3 and len(st.latencies_us) == 3, "counted 3 on one keep-alive connection")


def main() -> int:
    t = time.perf_counter()
    check_stats_helper()
    check_fixed()
    check_misbehave()
    failed = check.failed  # type: ignore[attr-defined]
    print(f"{'FAILED ' + str(failed) if failed else 'all ok'} in {time.perf_counter() - t:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
