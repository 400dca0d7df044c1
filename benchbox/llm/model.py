"""What the generator is told about an LLM target (its measurements live in benchbox.result:
`LlmStats`, a load phase's optional LLM part). Stdlib only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChatSpec:
    """How the generator reads an OpenAI chat answer, and which per-request SLOs make it 'good'
    (goodput, as vLLM's and genai-perf's --goodput: a request counts only if it meets every one)."""

    stream: bool = True
    # Which OpenAI API: "chat" (choices[].delta), "completions" (choices[].text) or "embeddings"
    # (data[].embedding: no tokens out, so the figures are inputs/s and prompt tokens/s).
    api: str = "chat"
    max_tokens: int | None = None
    good_ttft_ms: float | None = None
    good_itl_ms: float | None = None  # the request's mean inter-token latency (genai-perf's ITL)
    good_e2e_ms: float | None = None

    @property
    def has_goodput(self) -> bool:
        return any(v is not None for v in (self.good_ttft_ms, self.good_itl_ms, self.good_e2e_ms))
