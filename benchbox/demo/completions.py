"""The demo's OpenAI-compatible text completions face: POST /v1/completions, stream or not.

The chat face's generator and pacing (benchbox.demo.chat: first token at `first_token_ms`, then
one every `token_ms`), answered in the completions shape: `prompt` in, `choices[].text` out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from benchbox.demo.chat import (
    CHAT_MODEL,
    DEFAULT_MAX_TOKENS,
    MAX_TOKENS_CEILING,
    ChatError,
    _error,
    _sleep_until,
    count_tokens,
    generate,
)

COMPLETIONS_PATH = "/v1/completions"


def parse_request(body: Any) -> tuple[str, int, bool, bool, str]:
    """Check a completions request; return (prompt, max_tokens, stream, include_usage, model)."""
    if not isinstance(body, dict):
        raise ChatError("request body must be a JSON object")
    model = body.get("model", CHAT_MODEL)
    if not isinstance(model, str):
        raise ChatError("model must be a string", "model")
    if model != CHAT_MODEL:
        raise ChatError(f"The model {model!r} does not exist", "model", 404)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ChatError("prompt must be a string (or an array of one)", "prompt")
    max_tokens = body.get("max_tokens", DEFAULT_MAX_TOKENS)
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
    return prompt, max_tokens, stream, bool(options and options.get("include_usage") is True), model


def completions_router(first_token_ms: float, token_ms: float, slot: Callable[[], Any], seed: int = 0) -> APIRouter:
    router = APIRouter(tags=["openai-completions"])
    first_s, gap_s = first_token_ms / 1000.0, token_ms / 1000.0

    @router.post(COMPLETIONS_PATH)
    async def completions(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            body = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(ChatError("request body is not valid JSON"))
        try:
            prompt, max_tokens, stream, include_usage, model = parse_request(body)
        except ChatError as exc:
            return _error(exc)
        tokens, finish = generate(prompt, max_tokens, seed)
        n_prompt = count_tokens(prompt)
        usage = {"prompt_tokens": n_prompt, "completion_tokens": len(tokens), "total_tokens": n_prompt + len(tokens)}
        ident = "cmpl-" + hashlib.sha1(f"{t0}{prompt}".encode("utf-8", "surrogatepass")).hexdigest()[:24]
        created = int(time.time())

        def choice(text: str, reason: str | None) -> dict[str, Any]:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}

        def envelope(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }

        if not stream:
            waiting = loop.time()
            async with slot():
                await _sleep_until(t0 + (loop.time() - waiting) + first_s + gap_s * (len(tokens) - 1))
            answer = envelope([choice("".join(tokens), finish)], usage=usage)
            return Response(json.dumps(answer), media_type="application/json")

        async def events() -> AsyncIterator[bytes]:
            def sse(data: dict[str, Any]) -> bytes:
                return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"

            waiting = loop.time()
            async with slot():
                start = t0 + (loop.time() - waiting)
                for i, token in enumerate(tokens):
                    await _sleep_until(start + first_s + gap_s * i)
                    yield sse(envelope([choice(token, None)]))
                yield sse(envelope([choice("", finish)]))
                if include_usage:
                    yield sse(envelope([], usage=usage))
                yield b"data: [DONE]\n\n"

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    return router
