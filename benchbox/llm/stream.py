"""OpenAI chat streams: an incremental SSE reader, token timing, and the stream's rules.

One `StreamTally` reads one answer line by line as the bytes arrive, so the same code times
tokens inside the load generator (gevent, no asyncio) and judges streams in the contract phase
(httpx). Why our own SSE reader: the maintained ones (httpx-sse, sseclient-py) wrap a specific
client's response object; here we need one that takes a line and a timestamp and costs a few
microseconds, whatever the client.

Timing follows vLLM's benchmark: TTFT is the arrival of the first chunk carrying output
(content, reasoning or a tool call); inter-token latency is each gap between such chunks.
Token counts come from `usage` when the server sends it, else one output chunk is one token
(what vLLM, TGI and llama.cpp stream) — an approximation the result marks (`usage_reported`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Rule names, as contract findings carry them.
CHUNK_JSON = "stream.chunk_json"
DONE = "stream.done"
ROLE = "stream.role"
FINISH = "stream.finish_reason"
USAGE = "stream.usage"
MAX_TOKENS = "stream.max_tokens"
ERROR_EVENT = "stream.error_event"
BODY = "completion.body"
RULES = (CHUNK_JSON, DONE, ROLE, FINISH, USAGE, MAX_TOKENS, ERROR_EVENT, BODY)

_OUTPUT_KEYS = ("content", "reasoning_content", "reasoning", "tool_calls")


@dataclass(frozen=True)
class Problem:
    """One broken stream rule, with what was seen."""

    rule: str
    message: str
    detail: str = ""


class StreamTally:
    """Everything one streamed answer showed, fed one SSE line at a time (`line`), then `close`."""

    __slots__ = (
        "started",
        "events",
        "output_chunks",
        "first_at",
        "last_at",
        "gaps",
        "roles",
        "role_late",
        "finish_reason",
        "usage",
        "done",
        "after_done",
        "bad_chunks",
        "first_bad",
        "error_event",
        "text",
        "_data",
        "keep_text",
        "words",
        "_in_word",
        "api",
    )

    def __init__(self, started: float, keep_text: bool = False, api: str = "chat") -> None:
        self.started = started
        self.api = api  # "completions": the output is choices[0].text, and there is no role
        self.events = 0
        self.output_chunks = 0
        self.words = 0  # whitespace-separated words across all output text (a word may span chunks)
        self._in_word = False
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.gaps: list[float] = []
        self.roles = 0
        self.role_late = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.done = False
        self.after_done = 0
        self.bad_chunks = 0
        self.first_bad = ""
        self.error_event = ""
        self.keep_text = keep_text  # the contract and canary checks read the reply; the load does not
        self.text: list[str] = []
        self._data: list[str] | None = None

    def line(self, raw: bytes | str, now: float) -> None:
        """One line of the SSE stream (its line ending may still be attached)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        text = text.rstrip("\r\n")
        if not text:  # a blank line dispatches the event (SSE spec)
            if self._data is not None:
                self._event("\n".join(self._data), now)
                self._data = None
            return
        if text.startswith(":"):  # a comment: keep-alives
            return
        name, _, value = text.partition(":")
        if name == "data":
            if value.startswith(" "):
                value = value[1:]
            if self._data is None:
                self._data = [value]
            else:
                self._data.append(value)

    def close(self, now: float) -> None:
        """The body ended: an event still pending (no blank line after it) still counts."""
        if self._data is not None:
            self._event("\n".join(self._data), now)
            self._data = None

    def _event(self, payload: str, now: float) -> None:
        self.events += 1
        if self.done:
            self.after_done += 1
            return
        if payload.strip() == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(payload)
        except ValueError:
            self.bad_chunks += 1
            if not self.first_bad:
                self.first_bad = f"event {self.events}: {payload[:120]!r}"
            return
        if not isinstance(chunk, dict):
            self.bad_chunks += 1
            if not self.first_bad:
                self.first_bad = f"event {self.events}: not a JSON object: {payload[:120]!r}"
            return
        if "error" in chunk and not self.error_event:
            self.error_event = json.dumps(chunk["error"])[:300]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = {"content": choice.get("text")} if self.api == "completions" else choice.get("delta")
        if isinstance(delta, dict):
            if delta.get("role"):
                self.roles += 1
                if self.output_chunks:
                    self.role_late = True
            if any(delta.get(k) for k in _OUTPUT_KEYS):
                self.output_chunks += 1
                if self.first_at is None:
                    self.first_at = now
                elif self.last_at is not None:  # always, once first_at is set
                    self.gaps.append(now - self.last_at)
                self.last_at = now
                self._count_words(delta)
                if self.keep_text and isinstance(delta.get("content"), str):
                    self.text.append(delta["content"])
        reason = choice.get("finish_reason")
        if reason:
            self.finish_reason = str(reason)

    # --- what the stream says --------------------------------------------------------------

    @property
    def output_tokens(self) -> int:
        """From `usage` when it is there and sane, else one output chunk per token."""
        reported = completion_tokens(self.usage)
        return reported if reported is not None else self.output_chunks

    def _count_words(self, delta: dict[str, Any]) -> None:
        for key in ("content", "reasoning_content", "reasoning"):
            piece = delta.get(key)
            if not isinstance(piece, str):
                continue
            for ch in piece:
                if ch.isspace():
                    self._in_word = False
                elif not self._in_word:
                    self._in_word = True
                    self.words += 1

    @property
    def reply(self) -> str:
        return "".join(self.text)

    def malformed(self) -> str | None:
        """Why this stream cannot be trusted as an answer (the load phase counts it an error)."""
        if self.bad_chunks:
            return f"{self.bad_chunks} stream chunks are not JSON objects ({self.first_bad})"
        if self.error_event:
            return f"the stream carried an error event: {self.error_event}"
        if not self.done:
            return "the stream ended without data: [DONE]"
        return None

    def problems(self, max_tokens: int | None, usage_asked: bool) -> list[Problem]:
        """Every stream rule this answer broke."""
        out: list[Problem] = []
        if self.bad_chunks:
            out.append(Problem(CHUNK_JSON, "a stream chunk is not a JSON object", self.first_bad))
        if self.error_event:
            out.append(Problem(ERROR_EVENT, "a 2xx stream carried an error event", self.error_event))
        if not self.done:
            out.append(
                Problem(
                    DONE, "the stream ended without `data: [DONE]`", f"{self.events} events, the last one not [DONE]"
                )
            )
        elif self.after_done:
            out.append(Problem(DONE, "events arrived after `data: [DONE]`", f"{self.after_done} after it"))
        chat = self.api != "completions"  # a text completion's chunks carry no role
        if chat and self.roles == 0:
            out.append(Problem(ROLE, "no chunk's delta carried the assistant role"))
        elif chat and (self.roles > 1 or self.role_late):
            out.append(
                Problem(
                    ROLE,
                    "the role came more than once or after content",
                    f"{self.roles} role deltas; after content: {self.role_late}",
                )
            )
        if self.finish_reason is None:
            out.append(Problem(FINISH, "no chunk carried a finish_reason"))
        out += usage_problems(self.usage, self.words, usage_asked, streamed=True)
        tokens = self.output_tokens
        if max_tokens is not None and tokens > max_tokens:
            out.append(
                Problem(
                    MAX_TOKENS,
                    "the answer has more tokens than max_tokens allows",
                    f"{tokens} tokens, max_tokens {max_tokens}",
                )
            )
        return out


def completion_tokens(usage: Any) -> int | None:
    if not isinstance(usage, dict):
        return None
    value = usage.get("completion_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_problems(usage: Any, words: int, asked: bool, *, streamed: bool) -> list[Problem]:
    """`usage` must add up, and a stream cannot have fewer tokens than the words it streamed.

    Words, not chunks: a server or proxy may cut its text into chunks smaller than tokens (LiteLLM's
    mock streams three characters at a time), so chunks can outnumber tokens in an honest stream;
    but BPE and SentencePiece tokenizers split on whitespace first, so no token spans two words."""
    if usage is None:
        return [Problem(USAGE, "usage was asked for (stream_options.include_usage) but never sent")] if asked else []
    fields = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    bad = [k for k, v in fields.items() if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0)]
    if bad:
        return [Problem(USAGE, "usage has a missing or non-integer count", f"{bad[0]} = {fields[bad[0]]!r}")]
    p, c, t = fields["prompt_tokens"], fields["completion_tokens"], fields["total_tokens"]
    if p + c != t:
        return [Problem(USAGE, "usage.total_tokens is not prompt_tokens + completion_tokens", f"{p} + {c} != {t}")]
    if streamed and c < words:
        return [
            Problem(
                USAGE,
                "usage.completion_tokens is smaller than the number of words streamed",
                f"completion_tokens {c}, words streamed {words}",
            )
        ]
    return []


def completion_problems(body: Any, max_tokens: int | None, api: str = "chat") -> tuple[list[Problem], str, int]:
    """A non-streamed answer: its rules, its reply text and its output token count (the text is
    choices[0].message.content for chat, choices[0].text for a text completion)."""
    field = "text" if api == "completions" else "message.content"
    try:
        if api == "completions":
            content = body["choices"][0]["text"]
        else:
            content = body["choices"][0]["message"].get("content")
        reason = body["choices"][0].get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError):
        return [Problem(BODY, f"the answer has no choices[0].{field.split('.')[0]}")], "", 0
    out: list[Problem] = []
    text = content if isinstance(content, str) else ""
    if content is not None and not isinstance(content, str):
        out.append(Problem(BODY, f"choices[0].{field} is not a string", repr(content)[:100]))
    if not reason:
        out.append(Problem(FINISH, "choices[0].finish_reason is missing"))
    usage = body.get("usage")
    out += usage_problems(usage, 0, False, streamed=False)
    tokens = completion_tokens(usage)
    count = tokens if tokens is not None else len(text.split())
    if max_tokens is not None and tokens is not None and tokens > max_tokens:
        out.append(
            Problem(
                MAX_TOKENS,
                "the answer has more tokens than max_tokens allows",
                f"{tokens} tokens, max_tokens {max_tokens}",
            )
        )
    return out, text, count
