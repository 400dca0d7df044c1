"""OpenAI text completions (/v1/completions) on chat's machinery: detection from the path, the
completions body and chunk text, the stream rules without a role, and TTFT/ITL measured against
the demo's known delays, under run and smoke."""

from __future__ import annotations

import json

from benchbox.llm.stream import StreamTally, completion_problems
from tests.conftest import CHAT_FIRST_TOKEN_MS, CHAT_TOKEN_MS


def _chunk(text: str, finish: str | None = None) -> bytes:
    return ("data: " + json.dumps({"choices": [{"index": 0, "text": text, "finish_reason": finish}]}) + "\n\n").encode()


def test_a_completions_stream_is_read_from_its_text_field() -> None:
    tally = StreamTally(0.0, keep_text=True, api="completions")
    for i, raw in enumerate([_chunk("Hel"), _chunk("lo there"), _chunk("", "stop"), b"data: [DONE]\n\n"]):
        for line in raw.split(b"\n"):
            tally.line(line, 0.1 * (i + 1))
    tally.close(1.0)
    assert tally.reply == "Hello there" and tally.output_chunks == 2 and tally.first_at == 0.1
    assert tally.problems(max_tokens=8, usage_asked=False) == []  # no role is asked of a text completion
    chat = StreamTally(0.0, api="chat")
    for line in _chunk("Hello").split(b"\n"):
        chat.line(line, 0.1)
    assert chat.output_chunks == 0  # a chat reader ignores `text`: the two must not be confused
    problems, text, _ = completion_problems({"choices": [{"text": "Hi", "finish_reason": "stop"}]}, None, "completions")
    assert problems == [] and text == "Hi"
    chat_shaped = {"choices": [{"message": {"content": "Hi"}, "finish_reason": "stop"}]}
    assert [p.rule for p in completion_problems(chat_shaped, None, "completions")[0]] == ["completion.body"]


def test_completions_contract_and_run_against_the_demo(chat_demo, benchbox_cli, tmp_path) -> None:
    out = benchbox_cli(
        "run",
        "--target",
        f"{chat_demo.url}/v1/completions",
        "--rate",
        "6",
        "--duration",
        "1s",
        "--max-tokens",
        "6",
        "--skip",
        "adversarial,saturation",
        "--out",
        str(tmp_path),
        "-q",
    )
    result = json.loads((tmp_path / "result.json").read_text())
    assert out.code == 0, out.out
    assert result["target"]["protocol"] == result["ran"]["adapter"] == "openai-completions"
    body = json.loads(result["ran"]["body_example"])
    assert isinstance(body["prompt"], str) and "messages" not in body and body["stream"] is True
    assert body["model"] == "benchbox-markov"  # named from /v1/models
    contract = result["contract"]
    assert contract["passed"] and contract["protocol"] == "openai-completions" and contract["requests"] >= 3
    llm = result["load"]["phases"][-1]["llm"]
    assert llm["api"] == "completions" and llm["completed"] >= 4 and llm["malformed"] == 0
    # The demo sends the first token CHAT_FIRST_TOKEN_MS after the request arrived, then one per CHAT_TOKEN_MS.
    assert llm["ttft_ms"]["min"] >= CHAT_FIRST_TOKEN_MS * 0.999
    assert llm["itl_ms"]["p50"] >= CHAT_TOKEN_MS * 0.9 and llm["output_tokens"] == 6 * llm["completed"]


def test_completions_smoke(chat_demo, benchbox_cli, tmp_path) -> None:
    out = benchbox_cli(
        "smoke",
        "--target",
        f"{chat_demo.url}/v1/completions",
        "--rate",
        "6",
        "--duration",
        "1s",
        "--max-tokens",
        "4",
        "--skip",
        "contract,adversarial",
        "--out",
        str(tmp_path),
        "-q",
    )
    assert out.code == 0, out.out
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["command"] == "smoke" and result["target"]["protocol"] == "openai-completions"
    assert result["load"]["phases"][-1]["llm"]["ttft_ms"]["count"] >= 4
