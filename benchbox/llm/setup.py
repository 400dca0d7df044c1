"""Is the target an OpenAI-compatible chat endpoint? If so, turn the plan into an LLM plan.

Detection, cheapest first: the path (`.../chat/completions`), then, for a base URL (`/`, `/v1`,
`.../models`), one GET of `<base>/v1/models` that answers an OpenAI model list. The model to ask
for is --model, else the first one that list names (servers such as vLLM require one).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from benchbox import bounded
from benchbox.gates import goodput_thresholds, parse_slo
from benchbox.llm.model import ChatSpec
from benchbox.llm.prompts import chat_bodies
from benchbox.plan import Plan
from benchbox.version import __version__

CHAT_SUFFIX = "/chat/completions"
_BASE_PATHS = ("", "/", "/v1", "/v1/", "/v1/models", "/models")
# For streams the user-facing latency is the first token: the default P95 <= 2 s applies to it.
DEFAULT_TTFT_SLO = "ttft_p95=2s"

Notify = Callable[[str], None]


def resolve(plan: Plan, notify: Notify | None = None) -> Plan:
    """The plan for an LLM target (`plan.llm` set, bodies built from the prompts), or the plan as it was."""
    protocol = plan.contract.protocol
    if protocol not in ("auto", "openai-chat"):
        return plan
    path = urlsplit(plan.target).path
    models_url = _models_url(plan.target)
    if path.rstrip("/").endswith(CHAT_SUFFIX):
        chat_url = plan.target
    elif path in _BASE_PATHS or protocol == "openai-chat":
        if models_url is None or _model_ids(plan, models_url) is None:
            if protocol == "auto":
                return plan
        chat_url = _base(plan.target) + "/v1" + CHAT_SUFFIX
    else:
        return plan
    model = plan.chat.model
    if model is None and models_url is not None:
        ids = _model_ids(plan, models_url)
        model = ids[0] if ids else None
    if notify:
        notify(
            f"openai-chat: {chat_url} (model {model or 'not named'}, "
            f"{'streaming' if plan.chat.stream else 'not streaming'}, max_tokens {plan.chat.max_tokens})"
        )
    return as_chat_plan(plan, chat_url, model)


def as_chat_plan(plan: Plan, chat_url: str, model: str | None) -> Plan:
    """Bodies from the prompt set, the TTFT default gate, and the generator's ChatSpec."""
    c = plan.chat
    bodies = chat_bodies(
        c.prompts, model=model, max_tokens=c.max_tokens, stream=c.stream, system_prompt=c.system_prompt
    )
    headers = dict(plan.request.headers)
    if not any(n.lower() == "content-type" for n in headers):
        headers["Content-Type"] = "application/json"
    request = dataclasses.replace(
        plan.request, url=chat_url, method="POST", bodies=bodies, headers=tuple(headers.items())
    )
    gates = plan.gates
    if c.stream and "p95" not in plan.slo_given:
        # A long answer streams for seconds by design: the default P95 <= 2 s is a first-token
        # promise here (kept as ttft_p95 unless the user gave one), not an end-to-end one.
        has_ttft = any(g.name == "ttft_p95" for g in gates)
        gates = tuple(
            parse_slo(DEFAULT_TTFT_SLO) if g.name == "p95" else g for g in gates if not (g.name == "p95" and has_ttft)
        )
    ttft, itl = goodput_thresholds(gates)
    spec = ChatSpec(stream=c.stream, max_tokens=c.max_tokens, good_ttft_ms=ttft, good_itl_ms=itl)
    chat = dataclasses.replace(c, model=model)
    return dataclasses.replace(
        plan, target=chat_url, request=request, gates=gates, llm=spec, chat=chat, method_given=True
    )


def _base(url: str) -> str:
    """The URL up to (not including) /v1 or /chat/completions: where /v1/... routes hang."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    for tail in (CHAT_SUFFIX, "/models"):
        if path.endswith(tail):
            path = path[: -len(tail)]
    if path.endswith("/v1"):
        path = path[:-3]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _models_url(url: str) -> str | None:
    return _base(url) + "/v1/models" if urlsplit(url).scheme in ("http", "https") else None


def _model_ids(plan: Plan, url: str) -> list[str] | None:
    """The model ids of an OpenAI model list at `url`, or None when it is not one."""
    headers = {"User-Agent": f"benchbox/{__version__}", **dict(plan.request.headers)}
    headers.pop("Content-Type", None)
    # Bounded, paced and TLS-configured as every other request (--max-body, --max-rps, --insecure).
    with bounded.client(
        timeout_s=min(5.0, plan.request.timeout_s),
        insecure=plan.insecure,
        max_rps=plan.brakes.max_rps,
        max_bytes=plan.request.max_body_bytes,
        trust_env=False,
    ) as client:
        reply = bounded.send(client, "GET", url, headers=headers)
    try:
        data = json.loads(reply.body) if reply.status == 200 else None
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    return [m["id"] for m in data["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
