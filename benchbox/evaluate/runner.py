"""The evaluation phase: send every labelled row, read every answer, score them.

`predict` talks to the target; `score` is pure (rows and answers in, a section out), so tests,
`versus` and a saved result can recompute the same figures without a server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from benchbox.evaluate.answers import Answer, read_answer
from benchbox.evaluate.data import EvalRow
from benchbox.evaluate.model import BOOTSTRAP_RESAMPLES, CONFIDENCE, WORST_SHOWN, EvalPlan, EvaluationSection, Task


@dataclass(frozen=True)
class Endpoint:
    """How to reach the target and in which shape it takes one instance."""

    url: str
    method: str = "POST"
    headers: Mapping[str, str] | None = None
    protocol: str = "json"  # "kserve-v2": feature rows go out as a V2 tensor
    input_name: str = "input-0"
    datatype: str = "FP64"
    timeout_s: float = 10.0
    # Bounds and brakes, as every phase has them (benchbox.bounded, benchbox.brakes).
    insecure: bool = False
    max_body_bytes: int = 4 * 1024 * 1024
    max_rps: float | None = None
    max_concurrency: int | None = None


def body_for(row: EvalRow, endpoint: Endpoint) -> Any:
    """The request body of one row: as given, or its features as one instance of the protocol."""
    if row.features is None:
        return row.body
    data = list(row.features)
    if endpoint.protocol == "kserve-v2":
        return {
            "inputs": [
                {"name": endpoint.input_name, "shape": [1, len(data)], "datatype": endpoint.datatype, "data": data}
            ]
        }
    return {"instances": [data]}  # KServe V1 / TF Serving / the demo's predict API


def predict(
    rows: Sequence[EvalRow],
    endpoint: Endpoint,
    regression: bool,
    concurrency: int = 4,
    notify: Callable[[str], None] | None = None,
) -> tuple[list[Answer], int]:
    """Every row's answer, in row order, and the number of requests sent (retries included)."""
    from benchbox.contract.session import Session

    answers: list[Answer | None] = [None] * len(rows)
    sent = 0
    workers = max(1, min(concurrency, len(rows), endpoint.max_concurrency or concurrency))
    stop = threading.Event()  # Ctrl-C or SIGTERM lands in this thread: the workers finish their request and stop
    from benchbox import bounded

    with bounded.client(
        timeout_s=endpoint.timeout_s,
        trust_env=False,
        insecure=endpoint.insecure,
        max_rps=endpoint.max_rps,
        max_bytes=endpoint.max_body_bytes,
    ) as client:

        def work(offset: int) -> int:
            session = Session(client, endpoint.url, endpoint.method, dict(endpoint.headers or {}))
            for i in range(offset, len(rows), workers):
                if stop.is_set():
                    break
                answers[i] = _answer(session.send(body_for(rows[i], endpoint)), regression)
            return session.requests

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="benchbox-eval") as pool:
            try:
                sent = sum(pool.map(work, range(workers)))
            except BaseException:
                stop.set()
                raise
    if notify:
        failed = sum(1 for a in answers if a is not None and a.error)
        notify(f"evaluation: {len(rows)} rows sent, {failed} without a usable answer")
    return [a if a is not None else Answer(error="not sent") for a in answers], sent


def _answer(exchange: Any, regression: bool) -> Answer:
    if exchange.status is None:
        return Answer(error=exchange.error or "no answer")
    if not 200 <= exchange.status < 300:
        return Answer(error=f"HTTP {exchange.status}")
    try:
        doc = json.loads(exchange.content)
    except (ValueError, UnicodeDecodeError):
        return Answer(error=f"HTTP {exchange.status} with a body that is not JSON")
    return read_answer(doc, regression)


def decide_task(plan: EvalPlan, rows: Sequence[EvalRow]) -> Task:
    """auto: regression when every label is a number and one is not a whole number."""
    if plan.task != "auto":
        return plan.task
    numbers = []
    for row in rows:
        try:
            numbers.append(float(row.label))
        except ValueError:
            return "classification"
    return "regression" if any(not n.is_integer() for n in numbers) else "classification"


def score(
    rows: Sequence[EvalRow],
    answers: Sequence[Answer],
    plan: EvalPlan,
    task: Task,
    seed: int,
    requests: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
) -> EvaluationSection:
    """Every figure of the section from the rows and their answers (no I/O)."""
    from benchbox.evaluate import scoring

    notes: list[str] = []
    if task == "regression":
        outcomes = tuple(scoring.outcome(r, a, None) for r, a in zip(rows, answers))
        core = scoring.regression_section(outcomes, plan.slices, seed, resamples, confidence, notes)
    else:
        classes = scoring.class_order(rows, answers, notes, plan.classes)
        outcomes = tuple(scoring.outcome(r, a, classes) for r, a in zip(rows, answers))
        core = scoring.classification_section(
            outcomes, classes, plan.slices, seed, resamples, confidence, notes, plan.positive
        )
    answered = sum(o.error is None for o in outcomes)
    if answered < len(outcomes):
        how = "counted as wrong" if task == "classification" else "left out of MAE/RMSE"
        first = next(o for o in outcomes if o.error)
        notes.append(
            f"{len(outcomes) - answered} of {len(outcomes)} rows got no usable answer ({how}); "
            f"first: line {first.line}: {first.error}"
        )
    return EvaluationSection(
        source=plan.path,
        task=task,
        rows=len(outcomes),
        answered=answered,
        requests=requests,
        metrics=core.metrics,
        classes=core.classes,
        per_class=core.per_class,
        confusion=core.confusion,
        slices=core.slices,
        worst=core.worst[:WORST_SHOWN],
        outcomes=outcomes,
        resamples=resamples,
        confidence=confidence,
        input_columns=plan.input_columns,
        label_column=plan.label,
        slice_columns=plan.slices,
        notes=tuple(notes),
        gaps=core.gaps,
    )


__all__ = ["Endpoint", "body_for", "predict", "score", "decide_task"]


def evaluate(
    plan: EvalPlan,
    url: str,
    request: Any,
    contract: Any,
    seed: int,
    notify: Callable[[str], None] | None = None,
    protocol: str = "auto",
    brakes: Any = None,
) -> EvaluationSection:
    """The phase: read the set, send it in the endpoint's shape, score the answers."""
    from benchbox.evaluate.data import read_set

    rows = read_set(plan.path, plan.input_columns, plan.label, plan.slices, regression=plan.task == "regression")
    task = decide_task(plan, rows)
    if task == "regression" and plan.task == "auto":
        rows = read_set(plan.path, plan.input_columns, plan.label, plan.slices, regression=True)
    headers = dict(request.headers)
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    endpoint = Endpoint(
        url=url,
        method="POST" if request.method == "GET" else request.method,
        headers=headers,
        timeout_s=request.timeout_s,
        protocol=_protocol(url, protocol),
        insecure=getattr(request, "insecure", False),
        max_body_bytes=getattr(request, "max_body_bytes", 4 * 1024 * 1024),
        max_rps=getattr(brakes, "max_rps", None),
        max_concurrency=getattr(brakes, "max_concurrency", None),
    )
    if contract is not None and getattr(contract, "source", None):
        spec = contract.inputs[0] if contract.inputs else None
        endpoint = replace(
            endpoint,
            method=contract.method,
            protocol=contract.protocol,
            input_name=spec.name if spec else endpoint.input_name,
            datatype=spec.datatype if spec and spec.datatype.startswith("FP") else endpoint.datatype,
        )
    answers, sent = predict(rows, endpoint, task == "regression", plan.concurrency, notify)
    return score(rows, answers, plan, task, seed, requests=sent)


def _protocol(url: str, given: str) -> str:
    """Without a discovered contract: --protocol, else a KServe V2 infer path says V2, else plain JSON."""
    if given != "auto":
        return given
    from urllib.parse import urlsplit

    from benchbox.contract.kserve import metadata_path

    return "kserve-v2" if metadata_path(urlsplit(url).path) else "json"
