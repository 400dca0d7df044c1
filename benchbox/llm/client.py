"""One chat request from the parent process (contract and adversarial phases), on httpx.

Not the load path (that is load/llm.py, on gevent): here every answer is kept (bounded) so the
rules and the canary check can read it, and a whole-answer deadline turns a stream that drips
forever into a `timeout`, not a hung phase.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from benchbox import bounded
from benchbox.llm.stream import StreamTally

KEEP_BYTES = 65536


@dataclass
class Exchange:
    """What one request came to. `tally` is set for a 2xx event stream."""

    body_text: str
    status: int | None = None
    content_type: str = ""
    raw: str = ""  # the answer as received, bounded (a stream's lines included)
    tally: StreamTally | None = None
    json_body: Any = None
    error: str | None = None  # no answer: why ("timeout: ...", "reset: ...")
    elapsed_s: float = 0.0

    @property
    def is_json_error(self) -> bool:
        body = self.json_body
        return isinstance(body, dict) and ("error" in body or "detail" in body or "message" in body)


def chat_client(plan: Any) -> httpx.Client:
    """The contract's and probes' client: every answer bounded (--max-body, a whole-answer
    deadline), paced by --max-rps, --insecure honoured, as every other phase's (benchbox.bounded)."""
    return bounded.client(
        timeout_s=plan.request.timeout_s,
        insecure=plan.insecure,
        max_rps=plan.brakes.max_rps,
        max_bytes=plan.request.max_body_bytes,
        trust_env=False,
    )


def encode(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def exchange(
    client: httpx.Client, url: str, headers: Mapping[str, str], body: Any, timeout_s: float, api: str = "chat"
) -> Exchange:
    """POST `body` and read the answer to its end (or the deadline), through benchbox.bounded."""
    text = encode(body)
    out = Exchange(body_text=text)
    tally = StreamTally(time.perf_counter(), keep_text=True, api=api)
    reply = bounded.send(
        client,
        "POST",
        url,
        content=text.encode("utf-8", "surrogatepass"),
        headers=dict(headers),
        timeout_s=timeout_s,
        keep=KEEP_BYTES,
        on_line=tally.line,
    )
    out.elapsed_s, out.error = reply.elapsed_s, reply.error
    if reply.status is None:
        return out
    out.status, out.content_type = reply.status, reply.content_type or ""
    out.raw = reply.text[:KEEP_BYTES]
    if reply.status < 300 and "event-stream" in out.content_type:
        tally.close(time.perf_counter())
        out.tally = tally
    elif out.raw:
        try:
            out.json_body = json.loads(out.raw)
        except ValueError:
            out.json_body = None
    return out
