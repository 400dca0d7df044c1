"""A live compare's shadow over gRPC: each V2 JSON body sent to both sides as a ModelInferRequest.

The same `send(url, body) -> Answer` as the HTTP sender (benchbox.compare.shadow), so the shadow's
judging does not know the protocol. An OK answer is read back into the V2 JSON form and recorded as
status 200 (the shadow's "answered"); any other code is recorded as no answer, its name in `error`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any


def grpc_sender(
    headers: Mapping[str, str], timeout_s: float, *, insecure: bool = False, max_bytes: int = 4 << 20
) -> tuple[Callable[[str, str], Any], Callable[[], None]]:
    from benchbox.compare.shadow import Answer
    from benchbox.grpc_v2.calls import Client, parse_target
    from benchbox.grpc_v2.tensors import to_json, to_request

    clients: dict[str, Client] = {}
    lock = threading.Lock()

    def send(url: str, body: str) -> Answer:
        with lock:
            client = clients.get(url)
            if client is None:
                client = clients[url] = Client(parse_target(url), headers, timeout_s, insecure, max_bytes)
        try:
            request = to_request(json.loads(body), client.target.model, client.target.version)
        except ValueError as exc:
            return Answer(None, "", error=f"not a V2 request: {exc}")
        answer = client.call("ModelInfer", request)
        if answer.code != "OK":
            return Answer(None, "", error=f"grpc {answer.code}: {answer.details}"[:300])
        doc = to_json(answer.reply)
        return Answer(200, json.dumps(doc), doc)

    def close() -> None:
        for client in clients.values():
            client.close()

    return send, close
