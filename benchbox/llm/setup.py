"""Is the target an OpenAI-compatible chat (or text completion) endpoint? If so, turn the plan into an LLM plan.

Detection, cheapest first: the path (`.../chat/completions`, `.../completions`), then, for a base URL (`/`, `/v1`,
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
COMPLETIONS_SUFFIX = "/completions"  # a text completion: /v1/completions
EMBEDDINGS_SUFFIX = "/embeddings"
_BASE_PATHS = ("", "/", "/v1", "/v1/", "/v1/models", "/models")
# For streams the user-facing latency is the first token: the default P95 <= 2 s applies to it.
DEFAULT_TTFT_SLO = "ttft_p95=2s"

Notify = Callable[[str], None]


def resolve(plan: Plan, notify: Notify | None = None) -> Plan:
    """The plan for an LLM target (`plan.llm` set, bodies built from the prompts), or the plan as it was."""
    protocol = plan.contract.protocol
    if protocol not in ("auto", "openai-chat", "openai-completions"):
        return plan
    path = urlsplit(plan.target).path.rstrip("/")
    list_url = models_url(plan.target)
    if path.endswith(CHAT_SUFFIX):
        chat_url, api = plan.target, "chat"
    elif path.endswith(COMPLETIONS_SUFFIX) and protocol != "openai-chat":
        chat_url, api = plan.target, "completions"
    elif path in _BASE_PATHS or protocol != "auto":
        if list_url is None or model_ids(plan, list_url) is None:
            if protocol == "auto":
                return plan
        api = "completions" if protocol == "openai-completions" else "chat"
        chat_url = base(plan.target) + "/v1" + (CHAT_SUFFIX if api == "chat" else COMPLETIONS_SUFFIX)
    else:
        return plan
    model = plan.chat.model
    if model is None and list_url is not None:
        ids = model_ids(plan, list_url)
        model = ids[0] if ids else None
    if notify:
        notify(
            f"openai-{api}: {chat_url} (model {model or 'not named'}, "
            f"{'streaming' if plan.chat.stream else 'not streaming'}, max_tokens {plan.chat.max_tokens})"
        )
    return as_chat_plan(plan, chat_url, model, api)


def as_chat_plan(plan: Plan, chat_url: str, model: str | None, api: str = "chat") -> Plan:
    """Bodies from the prompt set, the TTFT default gate, and the generator's ChatSpec."""
    c = plan.chat
    bodies = chat_bodies(
        c.prompts, model=model, max_tokens=c.max_tokens, stream=c.stream, system_prompt=c.system_prompt, api=api
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
    spec = ChatSpec(stream=c.stream, api=api, max_tokens=c.max_tokens, good_ttft_ms=ttft, good_itl_ms=itl)
    chat = dataclasses.replace(c, model=model, api=api)
    return dataclasses.replace(
        plan, target=chat_url, request=request, gates=gates, llm=spec, chat=chat, method_given=True
    )


def base(url: str) -> str:
    """The URL up to (not including) /v1 or /chat/completions: where /v1/... routes hang."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    for tail in (CHAT_SUFFIX, COMPLETIONS_SUFFIX, EMBEDDINGS_SUFFIX, "/models"):
        if path.endswith(tail):
            path = path[: -len(tail)]
            break
    if path.endswith("/v1"):
        path = path[:-3]
    return f"{parts.scheme}://{parts.netloc}{path}"


def models_url(url: str) -> str | None:
    return base(url) + "/v1/models" if urlsplit(url).scheme in ("http", "https") else None


def model_ids(plan: Plan, url: str) -> list[str] | None:
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
