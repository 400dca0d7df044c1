"""Send one case and judge the answer: what a careful attacker's request must never get.

Rules, in the order they are checked (the first broken one is the case's problem, so each case
tells one story and shrinking keeps to it):
    no_hang (timeout), connection (crash), no_server_error (5xx), no_stack_trace (info_leak),
    rejects_malformed (a 2xx for an invalid input: status_mismatch), and for a 2xx on an input
    the contract calls valid, the contract's own checks (contract_violation).
A 4xx on a valid input is the contract phase's business, not this one's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from benchbox import bounded
from benchbox.adversarial.cases import Case
from benchbox.contract.checks import evaluate
from benchbox.contract.model import Contract
from benchbox.error_kinds import finding_kind

LEAK_PATTERNS = (
    ("python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("python frame", re.compile(r'File "[^"\n]+", line \d+')),
    ("python file path", re.compile(r'\.py", line \d+|/(?:site|dist)-packages/')),
    (
        "java stack frame",
        re.compile(r"\bat (?:com|org|java|javax|sun|io|net)\.[\w.$]+\([\w$]+\.(?:java|kt|scala):\d+\)"),
    ),
    ("java exception", re.compile(r"Exception in thread \"|\bjava\.lang\.\w+(?:Exception|Error)\b")),
    ("node stack frame", re.compile(r"\bat [\w.<>$ ]+ \((?:/|[A-Z]:\\)[^)]+\.(?:js|ts|mjs):\d+:\d+\)")),
    ("go panic", re.compile(r"goroutine \d+ \[running\]|panic: .+\n\ngoroutine")),
    (".NET stack frame", re.compile(r"\bat [\w.]+\(.*\) in [A-Z]:\\.*:line \d+")),
    (
        "server file path",
        re.compile(r"(?<![\w.])/(?:home|usr|opt|srv|var|app|root)/[\w.\-/]+\.(?:py|js|ts|java|rb|go|php)\b"),
    ),
)


@dataclass
class Outcome:
    """What one request got back; status None means no answer (`error_kind` says which way)."""

    status: int | None = None
    content_type: str | None = None
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    latency_ms: float = 0.0
    error: str | None = None
    error_kind: str | None = None  # the finding kind: "timeout" or "crash" (error_kinds.finding_kind)


@dataclass(frozen=True)
class Problem:
    kind: str
    rule: str
    message: str
    detail: str = ""
    pointer: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.rule)


def headers_for(base: Mapping[str, str], case: Case) -> dict[str, str]:
    out = {k: v for k, v in base.items() if k.lower() != "content-type"}
    if case.content_type is not None and case.body is not None:
        out["Content-Type"] = case.content_type
    return out


def send(client: httpx.Client, url: str, headers: Mapping[str, str], case: Case) -> Outcome:
    reply = bounded.send(client, case.method, url, content=case.body, headers=headers_for(headers, case))
    latency_ms = reply.elapsed_s * 1000
    if reply.status is None:
        return Outcome(latency_ms=latency_ms, error=reply.error, error_kind=finding_kind(reply.error_kind))
    return Outcome(reply.status, reply.content_type, reply.body, reply.headers, latency_ms)


def leak(body: bytes, sent: bytes | None) -> str | None:
    """The first stack-trace or file-path pattern in `body` that our own request did not contain
    (a server echoing our input back is not leaking anything)."""
    text = body[:65536].decode("utf-8", "replace")
    mine = (sent or b"")[:65536].decode("utf-8", "replace")
    for name, pattern in LEAK_PATTERNS:
        m = pattern.search(text)
        if m and m.group(0) not in mine:
            return f"{name}: {m.group(0)[:120]!r}"
    return None


def judge(case: Case, out: Outcome, contract: Contract | None, timeout_s: float) -> Problem | None:
    if out.status is None:
        if out.error_kind == "timeout":
            return Problem(
                "timeout",
                "no_hang",
                f"every input must be answered within {timeout_s:g} s",
                f"{case.what}: no answer within {timeout_s:g} s",
            )
        return Problem(
            "crash", "connection", "the target must answer, not drop the connection", f"{case.what}: {out.error}"
        )
    status = out.status
    if out.latency_ms > timeout_s * 1000:
        return Problem(
            "timeout",
            "no_hang",
            f"every input must be answered within {timeout_s:g} s",
            f"{case.what}: answered {status} only after {out.latency_ms:.0f} ms",
        )
    # 501: RFC 9110's answer to an unknown method
    if status >= 500 and not (status == 501 and case.cls == "odd_method"):
        return Problem(
            "server_error",
            "no_server_error",
            "a hostile or malformed input must not cause a 5xx",
            f"{case.what}: answered {status}",
        )
    found = leak(out.content, case.body)
    if found:
        return Problem(
            "info_leak",
            "no_stack_trace",
            "an answer must not show a stack trace or server file path",
            f"{case.what}: {found}",
        )
    if case.expect == "invalid" and 200 <= status < 300:
        return Problem(
            "status_mismatch",
            "rejects_malformed",
            "a malformed input must get a 4xx answer",
            f"{case.what}: accepted with {status}",
        )
    if case.expect == "valid" and 200 <= status < 300 and contract is not None:
        j = evaluate(contract, case.doc, status, out.content_type, out.content, "valid")
        bad = [p for p in j.problems if p.kind == "contract_violation"]
        if bad:
            p = bad[0]
            return Problem("contract_violation", p.rule, p.message, f"{case.what}: {p.detail}", p.pointer)
    return None


def retry_after_s(out: Outcome) -> float:
    value = {k.lower(): v for k, v in out.headers.items()}.get("retry-after")
    try:
        return float(value) if value else 0.2
    except ValueError:
        return 0.5
