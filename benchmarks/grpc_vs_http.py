"""gRPC vs HTTP: the same model's two KServe V2 faces, answers and generator throughput, in the same run.

    python benchmarks/grpc_vs_http.py                       # the demo, started here with --grpc-port
    python benchmarks/grpc_vs_http.py --http http://127.0.0.1:8080/v2/models/iris/infer \\
        --grpc grpc://127.0.0.1:8081/iris                   # any V2 server with both faces (MLServer...)

1. Agreement: inputs drawn from the gRPC ModelMetadata go to both faces; every output (name,
   datatype, shape, values within 1e-6) must be the same.
2. Throughput: a closed loop of --users for --duration against each face with the same body,
   alternated --rounds times (the box is shared: the ratio of neighbouring runs is the figure).
   Without `grpc.experimental.gevent.init_gevent()` in the generator the gRPC figure collapses to
   a few requests per second (Locust #1016, #3221); the issue asks it to reach the HTTP face's.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
    return bool(a == b)


def agreement(http: str, target: str, n: int) -> tuple[int, int, list[str]]:
    import httpx

    from benchbox.contract import valid_inputs
    from benchbox.grpc_v2.calls import Client, parse_target
    from benchbox.grpc_v2.contract import read_metadata
    from benchbox.grpc_v2.tensors import to_json, to_request

    t = parse_target(target)
    agree, problems = 0, []
    with Client(t, {}, 10.0, False, 4 << 20) as client:
        contract, why = read_metadata(client)
        assert contract is not None, why
        docs = valid_inputs(contract, n, 7)
        for doc in docs:
            over_http = httpx.post(http, json=doc, timeout=10).json()
            answer = client.call("ModelInfer", to_request(doc, t.model, t.version))
            assert answer.code == "OK", answer
            over_grpc = to_json(answer.reply)
            a = {o["name"]: o for o in over_http["outputs"]}
            b = {o["name"]: o for o in over_grpc["outputs"]}
            same = a.keys() == b.keys() and all(
                a[k]["datatype"] == b[k]["datatype"]
                and list(a[k]["shape"]) == list(b[k]["shape"])
                and len(_flat(a[k]["data"])) == len(b[k]["data"])
                and all(_same(x, y) for x, y in zip(_flat(a[k]["data"]), b[k]["data"]))
                for k in a
            )
            agree += same
            if not same and len(problems) < 3:
                problems.append(f"{json.dumps(doc)[:120]}: http {over_http['outputs']} grpc {over_grpc['outputs']}")
    return agree, len(docs), problems


def _flat(data: Any) -> list[Any]:
    return [x for item in data for x in _flat(item)] if isinstance(data, list) else [data]


def throughput(target: str, body: str, users: int, duration: float, out: Path) -> float:
    argv = [sys.executable, "-m", "benchbox", "run", "--target", target, "--body", body, "--users", str(users)]
    argv += ["--duration", f"{duration:g}", "--skip", "contract,adversarial,saturation", "--out", str(out), "-q"]
    subprocess.run(argv, check=False, capture_output=True)
    phase = json.loads((out / "result.json").read_text())["load"]["phases"][-1]
    assert phase["errors"] == 0, phase["errors_by_kind"]
    return float(phase["throughput_rps"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--http", help="the HTTP infer URL (default: start the demo)")
    parser.add_argument("--grpc", help="the gRPC target, grpc://host:port/model")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--inputs", type=int, default=20)
    args = parser.parse_args()
    demo = None
    if not (args.http and args.grpc):
        hp, gp = _free_port(), _free_port()
        demo = subprocess.Popen([sys.executable, "-m", "benchbox.demo", "--port", str(hp), "--grpc-port", str(gp)])
        args.http, args.grpc = f"http://127.0.0.1:{hp}/v2/models/demo/infer", f"grpc://127.0.0.1:{gp}/demo"
        time.sleep(6)  # the model fits in the background
    try:
        agree, n, problems = agreement(args.http, args.grpc, args.inputs)
        print(f"answers: {agree}/{n} inputs answered alike over HTTP and gRPC")
        for p in problems:
            print(f"  differs: {p}")
        from benchbox.contract import body_text, valid_inputs
        from benchbox.grpc_v2.calls import Client, parse_target
        from benchbox.grpc_v2.contract import read_metadata

        with Client(parse_target(args.grpc), {}, 10.0, False, 4 << 20) as client:
            contract, _ = read_metadata(client)
        assert contract is not None
        body = body_text(valid_inputs(contract, 1, 3)[0])
        print(f"throughput: closed loop, {args.users} users, {args.duration:g}s per face, {args.rounds} rounds")
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.rounds):
                h = throughput(args.http, body, args.users, args.duration, Path(tmp) / f"h{r}")
                g = throughput(args.grpc, body, args.users, args.duration, Path(tmp) / f"g{r}")
                print(f"  round {r + 1}: http {h:8.1f} req/s   grpc {g:8.1f} req/s   grpc/http {g / h:5.2f}")
    finally:
        if demo is not None:
            demo.terminate()
            demo.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
