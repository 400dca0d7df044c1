"""Is the target an OpenAI embeddings endpoint? If so, the plan that load-tests it.

Detection: the path (`.../embeddings`) or --protocol openai-embeddings (then a base URL gets
`/v1/embeddings`). The model is --model, else the first id of `<base>/v1/models` that embeds
(a server may list chat models beside embedding ones: each candidate gets one tiny request).
Inputs: the --prompts file's texts, else seeded generated text of varied lengths (a word to a few
hundred), so the figures are not those of one input size; --batch-sizes sets the inputs per request.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Callable, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from benchbox import bounded
from benchbox.llm.model import ChatSpec
from benchbox.llm.prompts import BUNDLED, load_prompts, prompt_text
from benchbox.llm.setup import EMBEDDINGS_SUFFIX, base, model_ids, models_url
from benchbox.plan import Plan
from benchbox.version import __version__

Notify = Callable[[str], None]
GENERATED = 64  # texts when no --prompts
MAX_WORDS = 400
MAX_BODIES = 64  # per batch size
MAX_CANDIDATES = 4  # model ids tried when --model is not given


def resolve(plan: Plan, notify: Notify | None = None) -> Plan | None:
    """The embeddings plan, or None when the target is not (said to be) an embeddings endpoint."""
    protocol = plan.contract.protocol
    path = urlsplit(plan.target).path.rstrip("/")
    if protocol == "openai-embeddings":
        url = plan.target if path.endswith(EMBEDDINGS_SUFFIX) else base(plan.target) + "/v1" + EMBEDDINGS_SUFFIX
    elif protocol == "auto" and path.endswith(EMBEDDINGS_SUFFIX):
        url = plan.target
    else:
        return None
    texts = input_texts(plan)
    model = plan.chat.model or _pick_model(plan, url, texts[0])
    if notify:
        notify(
            f"openai-embeddings: {url} (model {model or 'not named'}, {len(texts)} texts, "
            f"batch sizes {','.join(map(str, plan.chat.batch_sizes))})"
        )
    bodies = tuple(json.dumps(b, separators=(",", ":"), ensure_ascii=False) for b in batches(texts, plan, model))
    headers = dict(plan.request.headers)
    if not any(n.lower() == "content-type" for n in headers):
        headers["Content-Type"] = "application/json"
    request = dataclasses.replace(plan.request, url=url, method="POST", bodies=bodies, headers=tuple(headers.items()))
    chat = dataclasses.replace(plan.chat, model=model, api="embeddings")
    spec = ChatSpec(stream=False, api="embeddings", max_tokens=None)
    return dataclasses.replace(plan, target=url, request=request, llm=spec, chat=chat, method_given=True)


def body(inputs: str | Sequence[str], model: str | None) -> dict[str, object]:
    out: dict[str, object] = {"model": model} if model else {}
    out["input"] = inputs if isinstance(inputs, str) else list(inputs)
    return out


def batches(texts: Sequence[str], plan: Plan, model: str | None) -> list[dict[str, object]]:
    """Bodies of each batch size (consecutive texts, wrapping), as many per size as the smallest
    size needs to send every text once (at most MAX_BODIES), interleaved: the load sends them
    round-robin, so every size gets an equal share of the requests from the first second on."""
    sizes = plan.chat.batch_sizes
    n = min(MAX_BODIES, max(1, math.ceil(len(texts) / min(sizes))))
    return [body([texts[(i * size + j) % len(texts)] for j in range(size)], model) for i in range(n) for size in sizes]


def input_texts(plan: Plan) -> list[str]:
    """The --prompts file's texts, else generated ones (seeded: the same run, the same texts)."""
    if plan.chat.prompts_file:
        return [prompt_text(p) or " " for p in plan.chat.prompts]
    rng = random.Random(plan.seed)
    words = vocabulary()
    # Log-uniform lengths: as many short inputs (queries) as long ones (passages).
    return [
        " ".join(rng.choice(words) for _ in range(max(1, int(math.exp(rng.uniform(0, math.log(MAX_WORDS)))))))
        for _ in range(GENERATED)
    ]


@lru_cache(maxsize=1)
def vocabulary() -> tuple[str, ...]:
    """The words of the bundled prompt set: ordinary English, no new data file."""
    words = {w.strip(".,;:!?\"'()").lower() for p in load_prompts(BUNDLED) for w in prompt_text(p).split()}
    return tuple(sorted(w for w in words if w.isalpha()))


def _pick_model(plan: Plan, url: str, text: str) -> str | None:
    list_url = models_url(url)
    ids = model_ids(plan, list_url) if list_url else None
    if not ids:
        return None
    headers = {
        "User-Agent": f"benchbox/{__version__}",
        **dict(plan.request.headers),
        "Content-Type": "application/json",
    }
    with bounded.client(
        timeout_s=min(10.0, plan.request.timeout_s),
        insecure=plan.insecure,
        max_rps=plan.brakes.max_rps,
        max_bytes=plan.request.max_body_bytes,
        trust_env=False,
    ) as client:
        for model in ids[:MAX_CANDIDATES]:
            content = json.dumps(body([text[:200]], model)).encode()
            if bounded.send(client, "POST", url, content=content, headers=headers).ok:
                return model
    return ids[0]
