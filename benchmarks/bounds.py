"""What the bounds and brakes cost, and how well they hold (a script: it prints, never asserts).

1. The bounded httpx client (benchbox.bounded: body cap, whole-answer deadline, pacing) against a
   plain httpx.Client, sequential GETs to tests/servers/fixed.py: requests/s of each and the ratio,
   interleaved rounds in one run so machine noise hits both alike; and `bounded.send` (the request
   layer every parent-side request goes through: the same client plus an Exchange and the error
   classification) on that client.
2. The pacer under --max-rps: N threads sending through one bounded client capped at R req/s;
   achieved rate / R (goal: <= 1.0, and close to it when the target is fast).

    .venv/bin/python benchmarks/bounds.py [--requests 2000] [--rounds 3] [--max-rps 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchbox import bounded  # noqa: E402
from tests.servers.harness import FIXED, start_server  # noqa: E402


def rate(client: httpx.Client, url: str, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        client.get(url).read()
    return n / (time.perf_counter() - t0)


def send_rate(client: httpx.Client, url: str, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        bounded.send(client, "GET", url)
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--max-rps", type=float, default=200.0)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args()
    with start_server(FIXED) as server:
        url = server.url + "/x"
        plain_rates, bounded_rates, send_rates = [], [], []
        with httpx.Client(trust_env=False, timeout=10) as plain, bounded.client(timeout_s=10, trust_env=False) as bc:
            rate(plain, url, 200), rate(bc, url, 200), send_rate(bc, url, 200)  # warm both connections
            for _ in range(args.rounds):
                plain_rates.append(rate(plain, url, args.requests))
                bounded_rates.append(rate(bc, url, args.requests))
                send_rates.append(send_rate(bc, url, args.requests))
        p_med, b_med = statistics.median(plain_rates), statistics.median(bounded_rates)
        s_med = statistics.median(send_rates)
        print(f"plain httpx:    {p_med:8.0f} req/s (median of {args.rounds})")
        print(f"bounded client: {b_med:8.0f} req/s  ratio bounded/plain {b_med / p_med:.3f}")
        print(f"bounded.send:   {s_med:8.0f} req/s  ratio send/plain {s_med / p_med:.3f}")

        n = int(args.max_rps * 3)
        with bounded.client(timeout_s=10, trust_env=False, max_rps=args.max_rps) as paced:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(lambda _: paced.get(url).read(), range(n)))
            took = time.perf_counter() - t0
        achieved = (n - 1) / took  # n sends span n-1 intervals
        print(
            f"paced at --max-rps {args.max_rps:g} with {args.threads} threads: {achieved:.1f} req/s "
            f"(achieved / cap {achieved / args.max_rps:.3f})"
        )


if __name__ == "__main__":
    main()
