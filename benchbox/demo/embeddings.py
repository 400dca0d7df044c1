"""The demo's OpenAI-compatible embeddings face: POST /v1/embeddings.

A real (if simple) text embedding: hashed bag of words (each lower-cased word hashed to one of
DIMENSION coordinates with a sign, the counts L2-normalised), so the same text always gets the
same vector, similar texts get similar ones, and it costs microseconds. Tokens are whitespace
words (as the chat face counts them). Refusals are the OpenAI way: 400 with {"error": {...}}.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from benchbox.demo.chat import count_tokens
from benchbox.demo.openai_wire import ChatError, checked_model, error_response, parsed

EMBEDDINGS_PATH = "/v1/embeddings"
EMBED_MODEL = "benchbox-hash-embed"
DIMENSION = 64
MAX_INPUTS = 2048  # OpenAI's limit per request
MAX_TOKENS = 8192  # per input, as OpenAI's embedding models
_WORD = re.compile(r"\w+")


def embed(text: str) -> list[float]:
    """The text's vector: hashed word counts, L2-normalised (a text with no word is refused first)."""
    vec = [0.0] * DIMENSION
    for word in _WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
        vec[h % DIMENSION] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [round(x / norm, 7) for x in vec]


def parse_request(body: Any) -> tuple[list[str], str]:
    """Check an embeddings request; return (inputs, model)."""
    model = checked_model(body, EMBED_MODEL)
    value = body.get("input")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not all(isinstance(v, str) for v in inputs):
        raise ChatError("input must be a string or an array of strings", "input")
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ChatError(f"input must hold 1 to {MAX_INPUTS} strings", "input")
    for i, text in enumerate(inputs):
        if not _WORD.search(text):
            raise ChatError(f"input[{i}] has no words to embed", f"input[{i}]")
        if count_tokens(text) > MAX_TOKENS:
            raise ChatError(f"input[{i}] is longer than {MAX_TOKENS} tokens", f"input[{i}]")
    fmt = body.get("encoding_format", "float")
    if fmt != "float":
        raise ChatError("encoding_format must be 'float' (the demo sends no base64)", "encoding_format")
    return inputs, model


def embeddings_router(service_ms: float, slot: Callable[[], Any]) -> APIRouter:
    """The route. Each request holds the server's concurrency slot for `service_ms` (if any), so
    capacity = slots / service time, as for the demo's predictions."""
    router = APIRouter(tags=["openai-embeddings"])

    @router.post(EMBEDDINGS_PATH)
    async def embeddings(request: Request) -> Response:
        try:
            inputs, model = await parsed(request, parse_request)
        except ChatError as exc:
            return error_response(exc)
        async with slot():
            if service_ms > 0:
                await asyncio.sleep(service_ms / 1000.0)
            data = [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(inputs)]
        tokens = sum(count_tokens(t) for t in inputs)
        answer = {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Response(json.dumps(answer, separators=(",", ":")), media_type="application/json")

    return router
