"""The load phase's LLM side: read OpenAI chat answers as they stream, time every token.

Imported only in the generator process (gevent). A `StreamConnection` reads the SSE body line by
line with geventhttpclient's `readline` (it returns as soon as a line is in, so a token's time is
its arrival, not the end of a block); a `StreamTally` (benchbox.llm.stream) times the tokens; an
`LlmRecorder` keeps one HDR histogram each for TTFT, inter-token latency, end-to-end latency and
per-request tokens/s, merged exactly like the request-latency ones (load/merge.py).
"""

from __future__ import annotations

import json
import re
import time

import gevent
from hdrh.histogram import HdrHistogram

from benchbox import hdr
from benchbox.error_kinds import BodyTooLarge, classify
from benchbox.latency import LatencySummary
from benchbox.llm.model import ChatSpec
from benchbox.llm.stream import StreamTally, completion_problems, completion_tokens
from benchbox.load.client import Connection, Outcome
from benchbox.phase_record import LlmPoint, LlmStats

_EMBEDDING_KEY = re.compile(rb'"embedding"\s*:')  # one per vector ("object": "embedding" is a value)
_USAGE = re.compile(rb'"usage"\s*:\s*(\{[^{}]*\})')


class ChatOutcome(Outcome):
    """An Outcome plus what the answer said as an LLM answer."""

    __slots__ = ("api", "tally", "tokens", "prompt_tokens", "inputs", "from_usage", "malformed")

    def __init__(self, api: str = "chat") -> None:
        super().__init__(False)
        self.api = api
        self.inputs = 0  # embeddings: vectors in the answer
        self.tally: StreamTally | None = None
        self.tokens = 0
        self.prompt_tokens = 0
        self.from_usage = False
        self.malformed: str | None = None


class StreamConnection(Connection):
    """A Connection that reads a 2xx text/event-stream answer incrementally."""

    def send_chat(self, body: bytes | None, out: ChatOutcome) -> ChatOutcome:
        timer = gevent.Timeout(self.timeout)
        timer.start()
        clock = time.perf_counter
        out.sent_at = clock()
        try:
            response = self._client.request(self.method, self.uri, body=body)
            try:
                out.status = response.status_code
                ctype = response.get("content-type")
                ctype = ctype if isinstance(ctype, str) else (ctype[0] if ctype else "")
                if out.status < 300 and "event-stream" in ctype:
                    tally = out.tally = StreamTally(out.sent_at, api=out.api)
                    seen = 0
                    while line := response.readline(b"\n"):
                        seen += len(line)
                        if seen > self.max_body:  # --max-body holds for streams too: a runaway stream ends here
                            raise BodyTooLarge(f"stream over {self.max_body} bytes (--max-body): reading stopped there")
                        tally.line(line, clock())
                    tally.close(clock())
                else:
                    kept = bytearray()
                    while block := response.read(65536):
                        kept += block
                        if len(kept) > self.max_body:
                            raise BodyTooLarge(
                                f"answer body over {self.max_body} bytes (--max-body): reading stopped there"
                            )
                    out.body = bytes(kept)
            finally:
                response.release()
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            out.status = None
            out.error_kind, out.detail = "timeout", f"no complete answer within {self.timeout:g}s"
            self._reset()
        except Exception as exc:  # noqa: BLE001 - every failure is data about the target
            out.status = None
            out.error_kind, out.detail = classify(exc), f"{type(exc).__name__}: {exc}"
            self._reset()
        finally:
            timer.close()
        out.done_at = clock()
        return out


def read_answer(out: ChatOutcome, spec: ChatSpec) -> None:
    """Token counts and a format verdict from what arrived (a stream, or one JSON body)."""
    if out.status is None or out.status >= 300:
        return
    tally = out.tally
    if tally is not None:
        out.malformed = tally.malformed()
        out.tokens = tally.output_tokens
        out.from_usage = completion_tokens(tally.usage) is not None
        prompt = tally.usage.get("prompt_tokens") if tally.usage else None
        out.prompt_tokens = prompt if isinstance(prompt, int) else 0
        return
    if spec.api == "embeddings":
        _read_embeddings(out, out.body)
        return
    try:
        body = json.loads(out.body)
    except ValueError:
        out.malformed = "the answer is not JSON"
        return
    problems, _, out.tokens = completion_problems(body, None, spec.api)
    usage = body.get("usage") if isinstance(body, dict) else None
    out.from_usage = completion_tokens(usage) is not None
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    out.prompt_tokens = prompt if isinstance(prompt, int) else 0
    if any(p.rule == "completion.body" for p in problems):
        out.malformed = problems[0].message


def _read_embeddings(out: ChatOutcome, body: bytes) -> None:
    """An embeddings answer: how many vectors, how many prompt tokens. Counted, not parsed: a batch
    of 32 vectors of 384 floats is 250 KB of JSON, ~10 ms of json.loads that would hold the gevent
    loop (and every other user's clock) still; the contract phase parses and checks the vectors."""
    text = body.strip()
    if not (text.startswith(b"{") and text.endswith(b"}")) or b'"data"' not in text:
        out.malformed = "the answer is not a JSON object with `data`"
        return
    out.inputs = len(_EMBEDDING_KEY.findall(text))
    at = text.rfind(b'"usage"')
    found = _USAGE.match(text, at) if at >= 0 else None
    try:
        usage = json.loads(found.group(1)) if found else None
    except ValueError:
        usage = None
    prompt = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    out.from_usage = isinstance(prompt, int) and not isinstance(prompt, bool)
    out.prompt_tokens = prompt if isinstance(prompt, int) and out.from_usage else 0


class LlmRecorder:
    """TTFT, ITL, end-to-end and tokens/s histograms of one phase, and the goodput count."""

    def __init__(self, spec: ChatSpec) -> None:
        self.spec = spec
        self.ttft = hdr.new()
        self.itl = hdr.new()
        self.e2e = hdr.new()
        self.tps = hdr.new()
        self.completed = self.output_tokens = self.prompt_tokens = self.inputs = 0
        self.usage_reported = self.malformed = self.good = 0
        self.timeseries: list[LlmPoint] = []
        self._second = [0, 0, 0]  # completed, output tokens, good

    def record(self, out: ChatOutcome, start: float) -> None:
        """One 2xx answer read to its end; `start` is when its latency clock started."""
        self.completed += 1
        self.output_tokens += out.tokens
        self.prompt_tokens += out.prompt_tokens
        self.inputs += out.inputs
        self.usage_reported += out.from_usage
        second = self._second
        second[0] += 1
        second[1] += out.tokens
        if out.malformed:
            self.malformed += 1
            return
        e2e = out.done_at - start
        hdr.record_us(self.e2e, e2e * 1e6)
        if out.tokens and e2e > 0:
            hdr.record_us(self.tps, 1e3 * out.tokens / e2e)  # milli-tokens/s: µs-scale integers
        ttft = mean_itl = None
        tally = out.tally
        if tally is not None and tally.first_at is not None:
            ttft = tally.first_at - start
            hdr.record_us(self.ttft, ttft * 1e6)
            for gap in tally.gaps:
                hdr.record_us(self.itl, gap * 1e6)
            if tally.gaps:
                mean_itl = (tally.last_at - tally.first_at) / len(tally.gaps)  # type: ignore[operator]
        if self.spec.has_goodput and self._is_good(ttft, mean_itl, e2e):
            self.good += 1
            second[2] += 1

    def _is_good(self, ttft: float | None, mean_itl: float | None, e2e: float) -> bool:
        s = self.spec
        if s.good_ttft_ms is not None and (ttft is None or ttft * 1e3 > s.good_ttft_ms):
            return False
        if s.good_itl_ms is not None and mean_itl is not None and mean_itl * 1e3 > s.good_itl_ms:
            return False  # a one-token answer has no gap, so no inter-token latency to miss
        return s.good_e2e_ms is None or e2e * 1e3 <= s.good_e2e_ms

    def flush(self, t: int) -> None:
        completed, tokens, good = self._second
        self.timeseries.append(LlmPoint(t=t, completed=completed, output_tokens=tokens, good=good))
        self._second = [0, 0, 0]

    def build(self, requests: int, elapsed_s: float) -> LlmStats:
        def summary(h: HdrHistogram) -> LatencySummary | None:
            return hdr.summarize(h) if h.get_total_count() else None

        def encoded(h: HdrHistogram) -> str | None:
            return hdr.encode(h) if h.get_total_count() else None

        s = self.spec
        criteria = tuple(
            f"{name} <= {v:g} ms"
            for name, v in (("ttft", s.good_ttft_ms), ("mean itl", s.good_itl_ms), ("e2e", s.good_e2e_ms))
            if v is not None
        )
        good = self.good if s.has_goodput else None
        embeddings = s.api == "embeddings"
        return LlmStats(
            api=s.api,
            inputs=self.inputs if embeddings else None,
            inputs_per_s=round(self.inputs / elapsed_s, 3) if embeddings and elapsed_s > 0 else None,
            prompt_tokens_per_s=round(self.prompt_tokens / elapsed_s, 3) if embeddings and elapsed_s > 0 else None,
            streamed=s.stream,
            completed=self.completed,
            output_tokens=self.output_tokens,
            prompt_tokens=self.prompt_tokens,
            usage_reported=self.usage_reported,
            malformed=self.malformed,
            output_tokens_per_s=round(self.output_tokens / elapsed_s, 3) if elapsed_s > 0 else 0.0,
            ttft_ms=summary(self.ttft),
            itl_ms=summary(self.itl),
            e2e_ms=summary(self.e2e),
            tokens_per_s=summary(self.tps),
            ttft_hdr=encoded(self.ttft),
            itl_hdr=encoded(self.itl),
            e2e_hdr=encoded(self.e2e),
            tokens_per_s_hdr=encoded(self.tps),
            good=good,
            goodput=round(good / requests, 6) if good is not None and requests else None,
            goodput_rps=round(good / elapsed_s, 3) if good is not None and elapsed_s > 0 else None,
            good_criteria=criteria,
            timeseries=tuple(self.timeseries),
        )
