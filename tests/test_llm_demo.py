"""The demo's OpenAI-compatible chat face: a real generator, the OpenAI wire format, known delays."""

from __future__ import annotations

import json

import httpx

from benchbox.demo.chat import CHAT_MODEL, generate


def _stream(url: str, body: dict) -> list[str]:
    with httpx.stream("POST", url, json=body, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return [line for line in r.iter_lines() if line]


def test_generator_is_repeatable_and_bounded() -> None:
    a, finish_a = generate("user: hello", 30)
    b, _ = generate("user: hello", 30)
    c, _ = generate("user: something else entirely", 30)
    assert a == b and a != c
    assert 1 <= len(a) <= 30 and finish_a in ("stop", "length")
    short, finish = generate("user: hello", 3)
    assert len(short) == 3 and finish == "length"


def test_models_and_non_stream_answer(chat_demo) -> None:
    models = httpx.get(chat_demo.url + "/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["id"] == CHAT_MODEL
    r = httpx.post(
        chat_demo.chat_url, json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    )
    answer = r.json()
    assert r.status_code == 200 and answer["object"] == "chat.completion"
    assert answer["usage"]["completion_tokens"] == len(answer["choices"][0]["message"]["content"].split()) <= 5
    assert answer["choices"][0]["finish_reason"] in ("stop", "length")


def test_stream_is_openai_shaped_with_usage_when_asked(chat_demo) -> None:
    body = {
        "messages": [{"role": "user", "content": "tell me"}],
        "max_tokens": 6,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    lines = _stream(chat_demo.chat_url, body)
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = [
        c["choices"][0]["delta"]["content"] for c in chunks if c["choices"] and "content" in c["choices"][0]["delta"]
    ]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len([t for t in content if t]) == 6
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    without = _stream(chat_demo.chat_url, {**body, "stream_options": None})
    assert not any('"usage"' in line for line in without)


def test_bad_requests_get_openai_errors(chat_demo) -> None:
    for body in (
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
    ):
        r = httpx.post(chat_demo.chat_url, json=body)
        assert r.status_code == 400 and "message" in r.json()["error"]
    r = httpx.post(chat_demo.chat_url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = httpx.post(chat_demo.chat_url, json={"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404
