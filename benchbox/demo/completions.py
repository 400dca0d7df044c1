"""The demo's OpenAI-compatible text completions face: POST /v1/completions, stream or not.

The chat face's generator (benchbox.demo.chat) and pacing (benchbox.demo.openai_wire: first
token at `first_token_ms`, then one every `token_ms`), answered in the completions shape: `prompt`
in, `choices[].text` out.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from benchbox.demo import openai_wire as wire
from benchbox.demo.chat import CHAT_MODEL, count_tokens, generate

COMPLETIONS_PATH = "/v1/completions"


def parse_request(body: Any) -> tuple[str, int, bool, bool, str]:
    """Check a completions request; return (prompt, max_tokens, stream, include_usage, model)."""
    model = wire.checked_model(body, CHAT_MODEL)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise wire.ChatError("prompt must be a string (or an array of one)", "prompt")
    return (prompt, *wire.generation_options(body, body.get("max_tokens", wire.DEFAULT_MAX_TOKENS)), model)


def completions_router(first_token_ms: float, token_ms: float, slot: Callable[[], Any], seed: int = 0) -> APIRouter:
    router = APIRouter(tags=["openai-completions"])
    first_s, gap_s = first_token_ms / 1000.0, token_ms / 1000.0

    @router.post(COMPLETIONS_PATH)
    async def completions(request: Request) -> Response:
        t0 = time.monotonic()  # the arrival, on sleep_until's clock
        try:
            prompt, max_tokens, stream, include_usage, model = await wire.parsed(request, parse_request)
        except wire.ChatError as exc:
            return wire.error_response(exc)
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
            await wire.hold_answer(slot, t0, first_s, gap_s, len(tokens))
            answer = envelope([choice("".join(tokens), finish)], usage=usage)
            return Response(json.dumps(answer), media_type="application/json")
        closing = [wire.sse(envelope([choice("", finish)]))]
        if include_usage:
            closing.append(wire.sse(envelope([], usage=usage)))
        return wire.paced_stream(
            slot, t0, first_s, gap_s, tokens, lambda token: wire.sse(envelope([choice(token, None)])), closing=closing
        )

    return router
