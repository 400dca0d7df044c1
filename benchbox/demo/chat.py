"""The demo's OpenAI-compatible chat face: /v1/models and /v1/chat/completions, stream or not.

Backed by a real (if tiny) generator: a seeded word-bigram Markov chain over a bundled text, so
answers are varied, repeatable per prompt, and cost nothing. Tokens are paced as
benchbox.demo.openai_wire says (first token at `first_token_ms`, then one every `token_ms`).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from benchbox.demo.openai_wire import (
    DEFAULT_MAX_TOKENS,
    ChatError,
    checked_model,
    error_response,
    generation_options,
    hold_answer,
    paced_stream,
    parsed,
    sse,
)

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
CHAT_MODEL = "benchbox-markov"
_ROLES = ("system", "user", "assistant", "tool", "developer")
_CORPUS = Path(__file__).with_name("chat_corpus.txt")


@lru_cache(maxsize=1)
def _chain() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """Word bigrams of the bundled text: (sentence starts, word -> possible next words)."""
    nexts: dict[str, list[str]] = {}
    starts: list[str] = []
    for line in _CORPUS.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if not words:
            continue
        starts.append(words[0])
        for a, b in zip(words, words[1:]):
            nexts.setdefault(a, []).append(b)
    return tuple(starts), {k: tuple(v) for k, v in nexts.items()}


def generate(prompt: str, max_tokens: int, seed: int = 0) -> tuple[list[str], str]:
    """Up to max_tokens word tokens for this prompt (same prompt, same answer) and the finish
    reason: 'stop' when the chain ends a sentence past a few words, else 'length'."""
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode("utf-8", "surrogatepass")).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    starts, nexts = _chain()
    # A prompt sets the answer's length too, so a prompt set gives varied stream lengths.
    want = rng.randint(8, 96)
    tokens: list[str] = []
    word = rng.choice(starts)
    while len(tokens) < max_tokens:
        tokens.append(word if not tokens else " " + word)
        if word.endswith(".") and len(tokens) >= want:
            return tokens, "stop"
        options = nexts.get(word)
        word = rng.choice(options) if options else rng.choice(starts)
    return tokens, "length"


def prompt_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


def count_tokens(text: str) -> int:
    """The demo's tokenizer is whitespace: one word, one token (its answers are words too)."""
    return len(text.split())


def parse_request(body: Any) -> tuple[list[dict[str, Any]], int, bool, bool, str]:
    """Check a chat request; return (messages, max_tokens, stream, include_usage, model)."""
    model = checked_model(body, CHAT_MODEL)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatError("messages must be a non-empty array", "messages")
    checked = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ChatError(f"messages[{i}] must be an object", f"messages[{i}]")
        role = m.get("role")
        if role not in _ROLES:
            raise ChatError(f"messages[{i}].role must be one of {', '.join(_ROLES)}", f"messages[{i}].role")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if len(parts) != len(content) or not all(isinstance(p, str) for p in parts):
                raise ChatError(f"messages[{i}].content parts must be text parts", f"messages[{i}].content")
            content = "".join(p for p in parts if isinstance(p, str))  # all are, checked above
        if content is None and role == "assistant" and m.get("tool_calls"):
            content = ""
        if not isinstance(content, str):
            raise ChatError(f"messages[{i}].content must be a string", f"messages[{i}].content")
        checked.append({"role": role, "content": content})
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens", DEFAULT_MAX_TOKENS))
    return (checked, *generation_options(body, max_tokens), model)


def chat_router(
    first_token_ms: float, token_ms: float, slot: Callable[[], Any], seed: int = 0, others: tuple[str, ...] = ()
) -> APIRouter:
    """The two OpenAI routes. `slot()` is the server's concurrency slot, held for a whole answer
    (so capacity = slots / generation time, which a concurrency search can find). `others`: the
    server's other models, listed after the chat one in /v1/models (the embeddings face's)."""
    router = APIRouter(tags=["openai-chat"])
    first_s, gap_s = first_token_ms / 1000.0, token_ms / 1000.0
    created = int(time.time())

    @router.get(MODELS_PATH)
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": created, "owned_by": "benchbox"} for m in (CHAT_MODEL, *others)
            ],
        }

    @router.post(CHAT_PATH)
    async def completions(request: Request) -> Response:
        t0 = time.monotonic()  # the arrival, on sleep_until's clock
        try:
            messages, max_tokens, stream, include_usage, model = await parsed(request, parse_request)
        except ChatError as exc:
            return error_response(exc)
        text = prompt_text(messages)
        tokens, finish = generate(text, max_tokens, seed)
        usage = {
            "prompt_tokens": count_tokens(text),
            "completion_tokens": len(tokens),
            "total_tokens": count_tokens(text) + len(tokens),
        }
        ident = "chatcmpl-" + hashlib.sha1(f"{t0}{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
        if not stream:
            await hold_answer(slot, t0, first_s, gap_s, len(tokens))
            answer = {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "".join(tokens)}, "finish_reason": finish}
                ],
                "usage": usage,
            }
            return Response(json.dumps(answer), media_type="application/json")
        # The SSE stream: role chunk, one chunk per token, the finish chunk, usage (if asked), [DONE].
        head = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            return sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

        closing = [chunk({}, finish)] + ([sse({**head, "choices": [], "usage": usage})] if include_usage else [])
        return paced_stream(
            slot,
            t0,
            first_s,
            gap_s,
            tokens,
            lambda token: chunk({"content": token}),
            opening=[chunk({"role": "assistant", "content": ""})],
            closing=closing,
        )

    return router
