"""Prompt sets and the chat request bodies made from them.

A prompt file is JSON Lines, one prompt per line, in any of three forms: a JSON string (one user
message), {"prompt": "..."} , or {"messages": [...]} (an OpenAI message list). The bundled set
(prompts.jsonl) mixes lengths from a word to a few KB, so TTFT figures are not those of one
prompt size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchbox.errors import bad_value

BUNDLED = Path(__file__).with_name("prompts.jsonl")
EXPECTED = 'JSON Lines: a string, {"prompt": "..."} or {"messages": [{"role": "user", "content": "..."}]} per line'


def load_prompts(path: str | Path | None = None, flag: str = "--prompts") -> tuple[tuple[dict[str, Any], ...], ...]:
    """Message lists, one per prompt line; a bad file is a one-line usage error naming the line."""
    p = Path(path) if path else BUNDLED
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_value(
            flag, str(p), f"a readable UTF-8 file of {EXPECTED} ({getattr(exc, 'strerror', None) or exc})"
        ) from None
    out: list[tuple[dict[str, Any], ...]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bad_value(f"{flag} {p} line {n}", line[:60], f"{EXPECTED} ({exc.msg})") from None
        messages = _messages(value)
        if messages is None:
            raise bad_value(f"{flag} {p} line {n}", line[:60], EXPECTED)
        out.append(messages)
    if not out:
        raise bad_value(flag, str(p), f"at least one prompt, as {EXPECTED}")
    return tuple(out)


def _messages(value: Any) -> tuple[dict[str, Any], ...] | None:
    if isinstance(value, str):
        return ({"role": "user", "content": value},)
    if isinstance(value, dict) and isinstance(value.get("prompt"), str):
        return ({"role": "user", "content": value["prompt"]},)
    if isinstance(value, dict) and isinstance(value.get("messages"), list) and value["messages"]:
        if all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in value["messages"]):
            return tuple(value["messages"])
    return None


def chat_body(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str | None,
    max_tokens: int | None,
    stream: bool,
    system_prompt: str | None = None,
    api: str = "chat",
) -> dict[str, Any]:
    """One request body; usage is asked for in streams (`stream_options.include_usage`), so token
    counts come from the server rather than from counting chunks. For a text completion (`api`
    "completions") the messages become one `prompt`: their texts, one per paragraph."""
    msgs = list(messages)
    if system_prompt is not None and not any(m.get("role") == "system" for m in msgs):
        msgs.insert(0, {"role": "system", "content": system_prompt})
    body: dict[str, Any] = {}
    if model:
        body["model"] = model
    if api == "completions":
        body["prompt"] = prompt_text(msgs)
    else:
        body["messages"] = msgs
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def chat_bodies(prompts: Sequence[Sequence[Mapping[str, Any]]], **kw: Any) -> tuple[str, ...]:
    return tuple(json.dumps(chat_body(p, **kw), separators=(",", ":"), ensure_ascii=False) for p in prompts)


def prompt_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """A prompt's plain text: its messages' string contents, one per paragraph."""
    return "\n\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))
