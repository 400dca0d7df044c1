"""An OpenAI-compatible embeddings endpoint that breaks exactly one rule, for benchbox's tests.

Why: the embeddings rules and hostile inputs must be shown to catch each fault by the right rule,
and to stay quiet about an honest server. Honest behaviour: /v1/models, /health, POST
/v1/embeddings answering one 8-dimensional unit vector per input (from the text's hash), usage
with prompt_tokens == total_tokens == words; 400 + JSON error for a wrong type or an empty input.

    none          honest
    nan-empty     an empty string gets 200 and a vector of NaNs (mean pooling over no tokens)
    number-500    `input` a number gets 500 (a plain-text traceback)
    drops-last    a batch of two or more gets one vector fewer than its inputs
    noisy         each vector moves by ~1e-2 from one request to the next
    usage-total   usage.total_tokens is prompt_tokens + 1

    python tests/servers/faulty_embeddings.py --fault MODE --port 0

Prints ``LISTENING http://127.0.0.1:PORT`` once ready; exits on SIGTERM/SIGINT or when the
process that started it is gone.
"""

from __future__ import annotations

import hashlib
import json
import math
import random

from openai_handler import OpenAIHandler, serve  # beside this script (run as `python tests/servers/X.py`)

FAULTS = ("none", "nan-empty", "number-500", "drops-last", "noisy", "usage-total")
MODEL = "faulty-embed"
DIM = 8


def vector(text: str, noise: float = 0.0) -> list[float]:
    seed = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    v = [b - 127.5 + random.uniform(-noise, noise) * 128 for b in seed[:DIM]]
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


class Handler(OpenAIHandler):
    model = MODEL
    post_path = "/v1/embeddings"

    def answer(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
            value = body["input"]
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"error": {"message": "body must be a JSON object with `input`"}})
        if self.fault == "number-500" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return self._traceback("TypeError: object of type 'int' has no len()")
        inputs = [value] if isinstance(value, str) else value
        if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
            return self._json(400, {"error": {"message": "input must be a string or an array of strings"}})
        if any(not t.split() for t in inputs) and self.fault != "nan-empty":
            return self._json(400, {"error": {"message": "input must not be empty"}})
        noise = 1e-2 if self.fault == "noisy" else 0.0
        vectors = [[math.nan] * DIM if not t.split() else vector(t, noise) for t in inputs]
        if self.fault == "drops-last" and len(vectors) > 1:
            vectors = vectors[:-1]
        tokens = sum(len(t.split()) for t in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens + (self.fault == "usage-total")}
        data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        self._json(200, {"object": "list", "data": data, "model": MODEL, "usage": usage})


def main() -> int:
    return serve(Handler, FAULTS, __doc__.splitlines()[0])


if __name__ == "__main__":
    raise SystemExit(main())
