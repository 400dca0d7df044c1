"""What the demo's OpenAI-compatible faces (chat, completions, embeddings) share: the error body,
the request checks every face makes, and the paced answer.

Pacing runs on an absolute schedule from the request's arrival (first token at `first_s`, token i
at first + i * `gap_s`, later by any wait for a concurrency slot), so the delays a client measures
have a known answer and sleep overshoot never accumulates along a stream.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

DEFAULT_MAX_TOKENS = 64
MAX_TOKENS_CEILING = 4096
_T = TypeVar("_T")


class ChatError(Exception):
    """A request the API refuses, answered the OpenAI way: {"error": {message, type, param}}."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


def error_response(exc: ChatError) -> Response:
    kind = "invalid_request_error" if exc.status < 500 else "server_error"
    body = {"error": {"message": exc.message, "type": kind, "param": exc.param, "code": None}}
    return Response(json.dumps(body), status_code=exc.status, media_type="application/json")


async def parsed(request: Request, parse: Callable[[Any], _T]) -> _T:
    """The request's JSON body through `parse`; ChatError for a body that is not JSON or that
    `parse` refuses."""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ChatError("request body is not valid JSON") from None
    return parse(body)


def checked_model(body: Any, served: str) -> str:
    """The request's model (default: the one served); 404 for another, as OpenAI answers."""
    if not isinstance(body, dict):
        raise ChatError("request body must be a JSON object")
    model = body.get("model", served)
    if not isinstance(model, str):
        raise ChatError("model must be a string", "model")
    if model != served:
        raise ChatError(f"The model {model!r} does not exist", "model", 404)
    return model


def generation_options(body: dict[str, Any], max_tokens: Any) -> tuple[int, bool, bool]:
    """Check a generating request's `max_tokens` (as given) and stream options; return
    (max_tokens, stream, include_usage)."""
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
    return max_tokens, stream, bool(options and options.get("include_usage") is True)


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


async def sleep_until(deadline: float) -> None:
    """Until `deadline` on time.monotonic(), never earlier. uvloop's timers run on the loop's
    cached clock, which lags the real one by however long the current loop pass has run, so one
    asyncio.sleep can end a fraction of a millisecond early: a first token 0.3 ms before the
    promised delay once made a client measure less than the server's own TTFT."""
    while (delay := deadline - time.monotonic()) > 0:
        await asyncio.sleep(delay)


async def hold_answer(slot: Callable[[], Any], arrival: float, first_s: float, gap_s: float, n_tokens: int) -> None:
    """Hold a concurrency slot until the last of `n_tokens` is due (a whole answer, not streamed):
    time spent waiting for the slot is queueing, part of TTFT."""
    waiting = time.monotonic()
    async with slot():
        await sleep_until(arrival + (time.monotonic() - waiting) + first_s + gap_s * (n_tokens - 1))


def paced_stream(
    slot: Callable[[], Any],
    arrival: float,
    first_s: float,
    gap_s: float,
    tokens: Sequence[str],
    chunk: Callable[[str], bytes],
    opening: Sequence[bytes] = (),
    closing: Sequence[bytes] = (),
) -> StreamingResponse:
    """An SSE answer: `opening` once a slot is held, `chunk(token)` for each token on its
    schedule, then `closing` and [DONE]."""

    async def events() -> AsyncIterator[bytes]:
        waiting = time.monotonic()
        async with slot():
            # The schedule runs from the request's arrival (parsing it is part of TTFT, as on a
            # real server), pushed back by the time spent waiting for a slot (queueing is too).
            t0 = arrival + (time.monotonic() - waiting)
            for data in opening:
                yield data
            for i, token in enumerate(tokens):
                await sleep_until(t0 + first_s + gap_s * i)
                yield chunk(token)
            for data in closing:
                yield data
            yield b"data: [DONE]\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
