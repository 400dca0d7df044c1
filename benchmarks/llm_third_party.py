"""benchbox against an OpenAI-compatible server no one here wrote (a manual check; it prints).

fakellm (PyPI `fakellm`, a FastAPI mock of the OpenAI API) is installed into a throwaway venv
outside the project, so it never becomes a dependency; this script starts `fakellm serve` on a free
port, runs `benchbox run` against its /v1/chat/completions, and prints what benchbox found.

    python3 -m venv /tmp/fakellm && /tmp/fakellm/bin/pip install fakellm
    .venv/bin/python benchmarks/llm_third_party.py --fakellm /tmp/fakellm/bin/fakellm [--duration 5]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fakellm", default="fakellm", help="the fakellm executable")
    ap.add_argument("--duration", default="5")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchbox-fakellm-"))
    subprocess.run([args.fakellm, "init"], cwd=work, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [args.fakellm, "serve", "--port", str(port)], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=1)
            except urllib.error.HTTPError:
                break  # it answers (a 4xx for an empty body)
            except OSError:
                time.sleep(0.1)
        out = work / "report"
        cmd = [
            str(ROOT / ".venv/bin/benchbox"),
            "run",
            "--target",
            url,
            "--model",
            "gpt-4o",
            "--users",
            "4",
            "--duration",
            f"{args.duration}s",
            "--max-tokens",
            "32",
            "--canary",
            "ZEBRA42",
            "--slo",
            "ttft_p95=200ms",
            "--slo",
            "goodput=90%",
            "--saturation-budget",
            "20s",
            "--adversarial-budget",
            "30s",
            "--out",
            str(out),
            "-q",
        ]
        print("$", " ".join(cmd))
        code = subprocess.run(cmd).returncode
        result = json.loads((out / "result.json").read_text())
        llm = result["load"]["phases"][-1]["llm"]
        print(
            f"exit {code}; protocol {result['target']['protocol']}; TTFT p50 {llm['ttft_ms']['p50']} ms, "
            f"ITL p50 {llm['itl_ms']['p50']} ms, {llm['output_tokens_per_s']} tokens/s, "
            f"usage in {llm['usage_reported']} of {llm['completed']} answers"
        )
        for f in result["contract"]["violations"] + result["adversarial"]["findings"]:
            print(f"  {f['kind']:18} {f['rule']:22} {f['message']}{' (shrunk)' if f['minimal'] else ''}")
            print(f"  {'':18} {f['curl'][:160]}")
        if result.get("saturation"):
            print("saturation:", result["saturation"]["statement"])
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
