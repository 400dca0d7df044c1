"""The demo's OpenAI-compatible chat face: /v1/models and /v1/chat/completions, stream or not.

Backed by a real (if tiny) generator: a seeded word-bigram Markov chain over a bundled text, so
answers are varied, repeatable per prompt, and cost nothing. Tokens are paced on an absolute
schedule from the request's arrival (first token at `first_token_ms`, token i at first + i *
`token_ms`, later by any wait for a concurrency slot), so the delays a client measures have a
known answer and sleep overshoot never accumulates along a stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
CHAT_MODEL = "benchbox-markov"
DEFAULT_MAX_TOKENS = 64
MAX_TOKENS_CEILING = 4096
_ROLES = ("system", "user", "assistant", "tool", "developer")
_CORPUS = Path(__file__).with_name("chat_corpus.txt")


class ChatError(Exception):
    """A request the API refuses, answered the OpenAI way: {"error": {message, type, param}}."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


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
    if not isinstance(body, dict):
        raise ChatError("request body must be a JSON object")
    model = body.get("model", CHAT_MODEL)
    if not isinstance(model, str):
        raise ChatError("model must be a string", "model")
    if model != CHAT_MODEL:
        raise ChatError(f"The model {model!r} does not exist", "model", 404)
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
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= MAX_TOKENS_CEILING:
        raise ChatError(f"max_tokens must be an integer from 1 to {MAX_TOKENS_CEILING}", "max_tokens")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ChatError("stream must be a boolean", "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise ChatError("stream_options must be an object", "stream_options")
    include_usage = bool(options and options.get("include_usage") is True)
    return checked, max_tokens, stream, include_usage, model


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
        t0 = asyncio.get_running_loop().time()
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(ChatError("request body is not valid JSON"))
        try:
            messages, max_tokens, stream, include_usage, model = parse_request(body)
        except ChatError as exc:
            return _error(exc)
        text = prompt_text(messages)
        tokens, finish = generate(text, max_tokens, seed)
        usage = {
            "prompt_tokens": count_tokens(text),
            "completion_tokens": len(tokens),
            "total_tokens": count_tokens(text) + len(tokens),
        }
        ident = "chatcmpl-" + hashlib.sha1(f"{t0}{text}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
        if not stream:
            loop = asyncio.get_running_loop()
            waiting = loop.time()
            async with slot():  # time spent waiting for a slot is queueing: part of TTFT
                await _sleep_until(t0 + (loop.time() - waiting) + first_s + gap_s * (len(tokens) - 1))
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
        events = _events(ident, model, tokens, finish, usage if include_usage else None, t0, first_s, gap_s, slot)
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    return router


async def _events(
    ident: str,
    model: str,
    tokens: list[str],
    finish: str,
    usage: dict[str, int] | None,
    arrival: float,
    first_s: float,
    gap_s: float,
    slot: Callable[[], Any],
) -> AsyncIterator[bytes]:
    """The SSE stream: role chunk, one chunk per token, the finish chunk, usage (if asked), [DONE]."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> bytes:
        data = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }
        return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

    loop = asyncio.get_running_loop()
    waiting = loop.time()
    async with slot():
        # The schedule runs from the request's arrival (parsing it is part of TTFT, as on a real
        # server), pushed back by the time spent waiting for a slot (queueing is too).
        t0 = arrival + (loop.time() - waiting)
        yield chunk({"role": "assistant", "content": ""})
        for i, token in enumerate(tokens):
            await _sleep_until(t0 + first_s + gap_s * i)
            yield chunk({"content": token})
        yield chunk({}, finish)
        if usage is not None:
            data = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"


async def _sleep_until(deadline: float) -> None:
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def _error(exc: ChatError) -> Response:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    body = {"error": {"message": exc.message, "type": kind, "param": exc.param, "code": None}}
    return Response(json.dumps(body), status_code=exc.status, media_type="application/json")
