"""Shadow outputs: the same inputs to both sides, and what differs in their answers.

Three questions, each answered from the answers alone (no labels needed):
- agreement: does the candidate give the same answer to the same input? Strings, integers and
  booleans must be equal, numbers within a relative tolerance; keys that name the server rather
  than the answer (model_version, id, timestamps...) are ignored;
- where not: the inputs with the largest disagreements, label changes first;
- did the output distribution shift? Per categorical output (a label), the class shares on each
  side and a chi-square test of homogeneity; per numeric output (a score), a two-sample
  Kolmogorov-Smirnov test (scipy.stats). Bonferroni over all tests, so many outputs do not
  make a false alarm likely.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from benchbox.compare.model import Disagreement, ScoreShift, ShadowSection, ShareShift
from benchbox.findings import scrub, secret_values, truncate

DEFAULT_IGNORED = (
    "model_version",
    "version",
    "model",
    "model_name",
    "id",
    "request_id",
    "created",
    "timestamp",
    "latency_ms",
    "elapsed_ms",
)
MAX_LISTED = 10
INPUT_LIMIT = 2000
ANSWER_LIMIT = 1000
# A leaf with more distinct values than this across both sides is not a class label.
MAX_CLASSES = 20
# Numeric vectors up to this length keep their positions (a probability per class); longer ones pool.
MAX_VECTOR = 16


@dataclass(frozen=True)
class Answer:
    status: int | None
    text: str
    json: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Send = Callable[[str, str], Answer]


def http_sender(
    method: str,
    headers: Mapping[str, str],
    timeout_s: float,
    *,
    insecure: bool = False,
    max_rps: float | None = None,
    max_bytes: int | None = None,
) -> tuple[Send, Callable[[], None]]:
    """A thread-safe sender over one bounded client (benchbox.bounded), and its closer."""
    from benchbox import bounded

    # Bounded like every phase's client: a runaway or endless answer cannot hold the comparison.
    client = bounded.client(
        headers=headers,
        timeout_s=timeout_s,
        trust_env=False,
        follow_redirects=False,
        insecure=insecure,
        max_rps=max_rps,
        max_bytes=max_bytes or bounded.MAX_BODY_BYTES,
    )

    def send(url: str, body: str) -> Answer:
        reply = bounded.send(client, method, url, content=body.encode("utf-8"))
        if reply.status is None:
            return Answer(None, "", error=reply.error)
        try:
            parsed = json.loads(reply.body)
        except ValueError:
            parsed = None
        return Answer(reply.status, reply.text, parsed)

    return send, client.close


def run_shadow(
    bodies: Sequence[str],
    send: Send,
    baseline_url: str,
    candidate_url: str,
    *,
    tolerance: float,
    source: str,
    headers: Mapping[str, str] | None = None,
    ignored: Sequence[str] = DEFAULT_IGNORED,
    alpha: float = 0.01,
    threads: int = 4,
) -> ShadowSection:
    """Send each body to both sides (the pair concurrently, so both see the same moment) and compare."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pairs = list(pool.map(lambda body: (send(baseline_url, body), send(candidate_url, body)), bodies))
    return judge_answers(
        bodies, pairs, tolerance=tolerance, source=source, headers=headers or {}, ignored=ignored, alpha=alpha
    )


def judge_answers(
    bodies: Sequence[str],
    pairs: Sequence[tuple[Answer, Answer]],
    *,
    tolerance: float,
    source: str,
    headers: Mapping[str, str],
    ignored: Sequence[str] = DEFAULT_IGNORED,
    alpha: float = 0.01,
) -> ShadowSection:
    secrets = secret_values(headers)
    ignore = frozenset(k.lower() for k in ignored)
    compared = agreed = status_mismatches = 0
    unanswered = 0
    found: list[Disagreement] = []
    base_outputs: list[Any] = []
    cand_outputs: list[Any] = []
    for body, (a, b) in zip(bodies, pairs):
        if a.status is None or b.status is None:
            unanswered += 1
            continue
        compared += 1
        if a.ok and a.json is not None:
            base_outputs.append(a.json)
        if b.ok and b.json is not None:
            cand_outputs.append(b.json)
        if a.status != b.status:
            status_mismatches += 1
            found.append(_disagreement(body, a, b, ("status",), True, None, secrets))
            continue
        if not a.ok:
            agreed += 1  # both refused the input the same way
            continue
        fields, label_changed, largest = diff_answers(_payload(a), _payload(b), tolerance, ignore)
        if fields:
            found.append(_disagreement(body, a, b, fields, label_changed, largest, secrets))
        else:
            agreed += 1
    # Label flips first, then the largest differences; among equals the shortest input, the easiest to replay.
    found.sort(key=lambda d: (not d.label_changed, -(d.largest_difference or 0.0), len(d.input)))
    shares, scores = distribution_shift(base_outputs, cand_outputs, ignore, alpha)
    notes = []
    if unanswered:
        notes.append(f"{unanswered} inputs got no answer from one side (connection error or timeout); not compared")
    return ShadowSection(
        inputs=len(bodies),
        compared=compared,
        agreed=agreed,
        agreement=round(agreed / compared, 6) if compared else None,
        tolerance=tolerance,
        source=source,
        ignored_keys=tuple(sorted(ignore)),
        status_mismatches=status_mismatches,
        disagreements=tuple(found[:MAX_LISTED]),
        shares=shares,
        scores=scores,
        shifted=any(s.shifted for s in shares) or any(s.shifted for s in scores),
        alpha=alpha,
        notes=tuple(notes),
    )


def _payload(answer: Answer) -> Any:
    return answer.json if answer.json is not None else answer.text


def diff_answers(
    a: Any, b: Any, tolerance: float, ignore: frozenset[str]
) -> tuple[tuple[str, ...], bool, float | None]:
    """Paths where two answers differ, whether a categorical value changed, the largest numeric gap."""
    fields: list[str] = []
    state: dict[str, Any] = {"label": False, "largest": None}

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                if str(key).lower() in ignore:
                    continue
                if key not in x or key not in y:
                    fields.append(f"{path}/{key}")
                    continue
                walk(x[key], y[key], f"{path}/{key}")
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                fields.append(f"{path} (length {len(x)} vs {len(y)})")
                return
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}/{i}")
        elif _is_number(x) and _is_number(y) and (isinstance(x, float) or isinstance(y, float)):
            gap = abs(float(x) - float(y))
            if not gap <= tolerance * max(abs(float(x)), abs(float(y)), 1.0):
                fields.append(path)
                state["largest"] = gap if state["largest"] is None else max(state["largest"], gap)
        elif x != y or type(x) is not type(y):
            fields.append(path)
            state["label"] = True

    walk(a, b, "")
    largest = state["largest"]
    return tuple(f or "/" for f in fields), bool(state["label"]), (None if largest is None else float(largest))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _disagreement(
    body: str,
    a: Answer,
    b: Answer,
    fields: tuple[str, ...],
    label_changed: bool,
    largest: float | None,
    secrets: Sequence[str],
) -> Disagreement:
    def clip(text: str, limit: int) -> str:
        shown, cut = truncate(scrub(text, secrets), limit)
        return shown + ("…" if cut else "")

    return Disagreement(
        input=clip(body, INPUT_LIMIT),
        baseline=clip(a.text, ANSWER_LIMIT),
        candidate=clip(b.text, ANSWER_LIMIT),
        baseline_status=a.status,
        candidate_status=b.status,
        fields=fields[:12],
        label_changed=label_changed,
        largest_difference=None if largest is None or not math.isfinite(largest) else largest,
    )


def leaves(value: Any, ignore: frozenset[str], path: str = "") -> list[tuple[str, Any]]:
    """(pattern, leaf) pairs: list positions pooled ('[]'), except in short numeric vectors, whose
    positions mean something (the probability of class k)."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, v in value.items():
            if str(key).lower() not in ignore:
                out += leaves(v, ignore, f"{path}/{key}")
    elif isinstance(value, list):
        vector = 0 < len(value) <= MAX_VECTOR and all(_is_number(v) for v in value)
        for i, v in enumerate(value):
            out += leaves(v, ignore, f"{path}/{i}" if vector else f"{path}/[]")
    elif value is not None:
        out.append((path or "/", value))
    return out


def distribution_shift(
    base: Sequence[Any], cand: Sequence[Any], ignore: frozenset[str], alpha: float
) -> tuple[tuple[ShareShift, ...], tuple[ScoreShift, ...]]:
    """Class shares (chi-square) and score distributions (KS), Bonferroni-corrected together."""
    from scipy import stats

    by_side: list[dict[str, list[Any]]] = []
    for outputs in (base, cand):
        grouped: dict[str, list[Any]] = {}
        for output in outputs:
            for path, leaf in leaves(output, ignore):
                grouped.setdefault(path, []).append(leaf)
        by_side.append(grouped)
    paths = sorted(set(by_side[0]) & set(by_side[1]))
    categorical, numeric = [], []
    for path in paths:
        a, b = by_side[0][path], by_side[1][path]
        if all(isinstance(v, float) for v in a + b if _is_number(v)) and any(isinstance(v, float) for v in a + b):
            numeric.append(path)
        elif len({json.dumps(v) for v in a + b}) <= MAX_CLASSES:
            categorical.append(path)
    tests = max(1, len(categorical) + len(numeric))
    shares = []
    for path in categorical:
        ca, cb = Counter(json.dumps(v) for v in by_side[0][path]), Counter(json.dumps(v) for v in by_side[1][path])
        classes = sorted(set(ca) | set(cb))
        if len(classes) < 2:
            continue
        table = [[ca[c] for c in classes], [cb[c] for c in classes]]
        chi2, p, _, _ = stats.chi2_contingency(table)
        na, nb = sum(table[0]), sum(table[1])
        share_a = {_show(c): round(ca[c] / na, 4) for c in classes}
        share_b = {_show(c): round(cb[c] / nb, 4) for c in classes}
        change = max(abs(share_a[k] - share_b[k]) for k in share_a) * 100
        shares.append(
            ShareShift(
                path=path,
                baseline_shares=share_a,
                candidate_shares=share_b,
                baseline_n=na,
                candidate_n=nb,
                statistic=round(float(chi2), 4),
                p_value=float(f"{p:.4g}"),
                largest_change_pp=round(change, 2),
                shifted=bool(p < alpha / tests),
            )
        )
    scores = []
    for path in numeric:
        a = [float(v) for v in by_side[0][path] if _is_number(v) and math.isfinite(v)]
        b = [float(v) for v in by_side[1][path] if _is_number(v) and math.isfinite(v)]
        if len(a) < 5 or len(b) < 5:
            continue
        result = stats.ks_2samp(a, b)
        scores.append(
            ScoreShift(
                path=path,
                baseline_mean=round(sum(a) / len(a), 6),
                candidate_mean=round(sum(b) / len(b), 6),
                n=min(len(a), len(b)),
                statistic=round(float(result.statistic), 4),
                p_value=float(f"{result.pvalue:.4g}"),
                shifted=bool(result.pvalue < alpha / tests),
            )
        )
    return tuple(shares), tuple(scores)


def _show(encoded: str) -> str:
    value = json.loads(encoded)
    return value if isinstance(value, str) else encoded
