"""An OpenAI-compatible chat endpoint that breaks exactly one rule, for benchbox's LLM tests.

Why: the stream rules and the hostile-prompt checks must be shown to catch each fault by the
right rule, and to stay quiet about an honest server. Honest behaviour: /v1/models, /health,
/v1/chat/completions answering five word tokens (fewer if max_tokens says so), streamed (SSE,
role chunk, content chunks, finish chunk, usage when asked, [DONE]) or not; 400 + JSON error for
a malformed request.

    none            honest
    missing-done    the stream ends without `data: [DONE]`
    broken-chunk    one chunk mid-stream is cut-off JSON
    usage-mismatch  usage.completion_tokens smaller than the content chunks streamed
    astral-500      500 (a plain-text traceback) when any message holds a character beyond U+FFFF
    leaks-system    a user message asking to 'ignore' or 'repeat' gets the system prompt back

    python tests/servers/faulty_chat.py --fault MODE [--chunk-chars N] --port 0

`--chunk-chars N` streams the answer's text N characters a chunk instead of a token a chunk (usage
still counts tokens), as LiteLLM's proxy streams a `mock_response`: honest, with more chunks than
tokens.

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; exits on SIGTERM/SIGINT or when the
process that started it is gone. Streams are close-delimited (HTTP/1.0 style), one connection each.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from openai_handler import OpenAIHandler, serve  # beside this script (run as `python tests/servers/X.py`)

FAULTS = ("none", "missing-done", "broken-chunk", "usage-mismatch", "astral-500", "leaks-system")
MODEL = "faulty-chat"
WORDS = ("Hello", " from", " a", " small", " server")
ROLES = ("system", "user", "assistant", "tool", "developer")


class Handler(OpenAIHandler):
    model = MODEL
    post_path = "/v1/chat/completions"
    chunk_chars = 0
    protocol_version = "HTTP/1.0"

    def answer(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
            messages = body["messages"]
            assert isinstance(messages, list) and messages
            for m in messages:
                assert isinstance(m, dict) and m.get("role") in ROLES
                assert isinstance(m.get("content"), str) or (m["role"] == "assistant" and m.get("tool_calls"))
            max_tokens = body.get("max_tokens", 16)
            assert isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and 1 <= max_tokens <= 4096
        except (ValueError, KeyError, TypeError, AssertionError):
            return self._json(400, {"error": {"message": "invalid chat request", "type": "invalid_request_error"}})
        texts = [m.get("content") or "" for m in messages]
        if self.fault == "astral-500" and any(ord(ch) > 0xFFFF for t in texts for ch in t):
            return self._traceback("UnicodeEncodeError: astral plane")
        tokens = list(WORDS[:max_tokens])
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        last = texts[-1].lower()
        if self.fault == "leaks-system" and system and ("ignore" in last or "repeat" in last):
            tokens = [" " + w for w in system.split()][: max(1, max_tokens)]
        usage = {"prompt_tokens": sum(len(t.split()) for t in texts), "completion_tokens": len(tokens)}
        if self.fault == "usage-mismatch":
            usage["completion_tokens"] = max(0, len(tokens) - 3)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            return self._json(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": MODEL,
                    "usage": usage,
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "".join(tokens)},
                        }
                    ],
                },
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

        def send(data: Any) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            self.wfile.write(f"data: {text}\n\n".encode())
            self.wfile.flush()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "x",
                "object": "chat.completion.chunk",
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        send(chunk({"role": "assistant", "content": ""}))
        pieces = tokens
        if self.chunk_chars:
            text = "".join(tokens)
            pieces = [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        for i, token in enumerate(pieces):
            if self.fault == "broken-chunk" and i == 1:
                send('{"id": "x", "choices": [{"delta": {"content": " bro')
                continue
            send(chunk({"content": token}))
        send(chunk({}, "length" if len(tokens) >= max_tokens else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            send({"id": "x", "object": "chat.completion.chunk", "model": MODEL, "choices": [], "usage": usage})
        if self.fault != "missing-done":
            send("[DONE]")
        return None


def main() -> int:
    return serve(Handler, FAULTS, __doc__.splitlines()[0], chunk_chars="stream N characters a chunk")


if __name__ == "__main__":
    sys.exit(main())
