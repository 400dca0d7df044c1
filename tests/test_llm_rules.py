"""OpenAI chat streams: the SSE reader, the stream rules (against a server that breaks each one),
hostile prompts (a 500 found and shrunk, a canary leak), the LLM gates and the detection."""

from __future__ import annotations

import json

import pytest

from benchbox.errors import UsageError
from benchbox.gates import goodput_thresholds, judge, parse_slo
from benchbox.llm.contract import run_chat_contract
from benchbox.llm.probes import run_chat_adversarial
from benchbox.llm.setup import resolve
from benchbox.llm.stream import StreamTally
from benchbox.plan import build_plan
from benchbox.shrinking import ddmin
from tests.servers.harness import start_server


def _chunk(delta: dict, finish: str | None = None, **extra: object) -> str:
    return "data: " + json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})


def _feed(lines: list[str], times: list[float] | None = None) -> StreamTally:
    tally = StreamTally(0.0, keep_text=True)
    for i, line in enumerate(lines):
        tally.line((line + "\n").encode(), times[i] if times else float(i))
    tally.close(99.0)
    return tally


def test_tally_times_tokens_and_reads_usage() -> None:
    lines = [
        _chunk({"role": "assistant", "content": ""}),
        "",
        ": keep-alive",
        "",
        _chunk({"content": "Hel"}),
        "",
        _chunk({"content": "lo"}),
        "",
        _chunk({}, "stop"),
        "",
        "data: "
        + json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
        "",
        "data: [DONE]",
        "",
    ]
    times = [0.0, 0, 0, 0, 0.25, 0.25, 0.30, 0.30, 0.31, 0.31, 0.32, 0.32, 0.33, 0.33]
    t = _feed(lines, times)
    assert t.first_at == 0.25 and t.gaps == [pytest.approx(0.05)]
    assert t.reply == "Hello" and t.output_tokens == 2 and t.done and t.finish_reason == "stop"
    assert t.problems(max_tokens=2, usage_asked=True) == []
    assert [p.rule for p in t.problems(max_tokens=1, usage_asked=True)] == ["stream.max_tokens"]


def test_tally_joins_multi_line_data_and_counts_chunks_without_usage() -> None:
    body = json.dumps(
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "a"}, "finish_reason": None}]}
    )
    half = body.index('"delta"')  # between two members: a newline there is still JSON
    t = _feed(
        [f"data: {body[:half]}", f"data:{body[half:]}", "", _chunk({"content": "b"}, "length"), "", "data: [DONE]"]
    )
    # One event split over two data lines is one chunk (SSE joins them with a newline: still JSON).
    assert t.bad_chunks == 0 and t.output_chunks == 2 and t.output_tokens == 2
    assert [p.rule for p in t.problems(None, usage_asked=True)] == ["stream.usage"]


@pytest.mark.parametrize(
    "lines, rule",
    [
        ([_chunk({"role": "assistant"}), "", _chunk({"content": "x"}, "stop"), ""], "stream.done"),
        (
            [_chunk({"role": "assistant"}), "", 'data: {"choices": [', "", _chunk({}, "stop"), "", "data: [DONE]", ""],
            "stream.chunk_json",
        ),
        ([_chunk({"content": "x"}), "", _chunk({"role": "assistant"}, "stop"), "", "data: [DONE]", ""], "stream.role"),
        ([_chunk({"role": "assistant", "content": "x"}), "", "data: [DONE]", ""], "stream.finish_reason"),
    ],
)
def test_each_broken_stream_rule_is_named(lines: list[str], rule: str) -> None:
    assert rule in [p.rule for p in _feed(lines).problems(None, usage_asked=False)]


def test_llm_gates_parse_and_goodput_needs_a_per_request_slo() -> None:
    ttft, itl, good = parse_slo("ttft_p95=500ms"), parse_slo("itl_p95=50ms"), parse_slo("goodput=90%")
    assert (ttft.metric, ttft.threshold, itl.threshold, good.op, good.threshold) == (
        "llm.ttft_ms.p95",
        500.0,
        50.0,
        ">=",
        0.9,
    )
    assert goodput_thresholds([ttft, itl, parse_slo("ttft_p50=200ms")]) == (200.0, 50.0)
    with pytest.raises(UsageError, match="goodput"):
        build_plan({"target": "http://127.0.0.1:1/v1/chat/completions", "slo": ("goodput=90%",)}, env={})
    # A non-LLM phase leaves LLM gates 'not checked', never passed or failed.
    assert judge([ttft], None)[0].passed is None


def test_bad_chat_flags_are_one_line_usage_errors(tmp_path) -> None:
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"nope": 1}\n')
    with pytest.raises(UsageError, match="line 2"):
        build_plan({"target": "http://127.0.0.1:1/", "prompts": str(bad)}, env={})
    with pytest.raises(UsageError, match="--canary"):
        build_plan({"target": "http://127.0.0.1:1/", "system_prompt": "hello", "canary": "ZEBRA42"}, env={})


def _chat_plan(url: str, **flags: object):
    plan = build_plan({"target": url, "seed": "7", "adversarial_budget": "20s", **flags}, env={})
    return resolve(plan)


@pytest.mark.parametrize(
    "fault, rule",
    [
        ("missing-done", "stream.done"),
        ("broken-chunk", "stream.chunk_json"),
        ("usage-mismatch", "stream.usage"),
    ],
)
def test_malformed_stream_is_caught_by_the_right_rule(fault: str, rule: str) -> None:
    with start_server("faulty_chat", "--fault", fault) as srv:
        plan = _chat_plan(srv.url + "/v1")  # detected from /v1/models, model named from it
        assert plan.llm is not None and plan.chat.model == "faulty-chat"
        section = run_chat_contract(plan)
    assert not section.passed
    assert rule in {f.rule for f in section.violations}
    found = next(f for f in section.violations if f.rule == rule)
    assert found.curl.startswith("curl") and "/v1/chat/completions" in found.curl


def test_honest_chat_server_has_no_finding() -> None:
    with start_server("faulty_chat", "--fault", "none") as srv:
        plan = _chat_plan(srv.url + "/v1/chat/completions", canary="ZEBRA42")
        contract = run_chat_contract(plan)
        adversarial = run_chat_adversarial(plan, ("/health",))
    assert contract.passed and contract.violations == () and contract.requests >= 3
    assert adversarial.findings == () and adversarial.healthy_after is True
    classes = {c.name for c in adversarial.by_class}
    assert {
        "prompt_injection",
        "jailbreak_wrapper",
        "long_prompt",
        "unusual_unicode",
        "empty_message",
        "wrong_role",
        "tool_call_shape",
    } <= classes


def test_prompt_that_makes_the_server_fail_is_found_and_shrunk() -> None:
    with start_server("faulty_chat", "--fault", "astral-500") as srv:
        section = run_chat_adversarial(_chat_plan(srv.url + "/v1/chat/completions"), ("/health",))
    errors = [f for f in section.findings if f.kind == "server_error"]
    assert errors and errors[0].minimal
    body = json.loads(errors[0].request.body)
    content = body["messages"][-1]["content"]
    # Shrunk to the one character that breaks it (sent as a \\u escape pair, astral plane).
    assert len(content) == 1 and ord(content) > 0xFFFF, content
    assert len(body["messages"]) == 1


def test_canary_leak_is_a_finding() -> None:
    with start_server("faulty_chat", "--fault", "leaks-system") as srv:
        section = run_chat_adversarial(_chat_plan(srv.url + "/v1/chat/completions", canary="ZEBRA42"), ())
    leaks = [f for f in section.findings if f.kind == "info_leak"]
    assert leaks and leaks[0].rule == "canary_leak" and leaks[0].severity == "high"
    assert not section.passed


def test_the_model_list_is_read_within_max_body() -> None:
    """The /v1/models probe goes through the bounded layer: a list longer than --max-body is not
    read (it was a raw httpx.get that read whatever came)."""
    with start_server("faulty_chat") as srv:
        assert _chat_plan(srv.url + "/v1").chat.model == "faulty-chat"
        tiny = _chat_plan(srv.url + "/v1", max_body="16B")
    assert tiny.llm is None and tiny.chat.model is None  # not even detected: the list was never read


def test_ddmin_keeps_the_failing_core() -> None:
    shrunk = ddmin("aaaaXbbbbbYcccc", lambda t: t if "X" in t and "Y" in t else None)
    assert shrunk.value == "XY" and shrunk.witness == "XY" and shrunk.minimal


def test_llm_figures_of_workers_merge_exactly() -> None:
    from benchbox import hdr
    from benchbox.load.merge import merge_llm
    from benchbox.result import LlmPoint, LlmStats

    def part(ttfts_ms: list[float], tokens: int, good: int) -> LlmStats:
        h = hdr.new()
        for v in ttfts_ms:
            hdr.record_us(h, v * 1000)
        return LlmStats(
            streamed=True,
            completed=len(ttfts_ms),
            output_tokens=tokens,
            prompt_tokens=0,
            usage_reported=len(ttfts_ms),
            malformed=0,
            output_tokens_per_s=0.0,
            ttft_ms=hdr.summarize(h),
            ttft_hdr=hdr.encode(h),
            good=good,
            timeseries=(LlmPoint(t=0, completed=len(ttfts_ms), output_tokens=tokens, good=good),),
        )

    merged = merge_llm([part([100.0] * 9, 90, 9), part([300.0] * 11, 110, 0)], requests=20, elapsed_s=2.0)
    assert merged is not None and merged.completed == 20 and merged.output_tokens == 200
    assert merged.output_tokens_per_s == 100.0 and merged.good == 9 and merged.goodput == 0.45
    # Percentiles come from the merged histogram, never from averaging the parts' percentiles.
    assert merged.ttft_ms is not None and merged.ttft_ms.p50 == pytest.approx(300.0, rel=1e-3)
    assert merged.ttft_ms.count == 20 and merged.timeseries[0].output_tokens == 200
