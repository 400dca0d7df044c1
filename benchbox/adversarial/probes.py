"""Security probes and the after-check: does the endpoint need its key, does it limit bursts,
and is it still healthy and correct once the hostile inputs are over."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchbox.adversarial.cases import JSON, Case, dumps
from benchbox.adversarial.judge import Outcome, Problem, send
from benchbox.contract.checks import evaluate
from benchbox.contract.model import Contract
from benchbox.findings import is_secret_header

WRONG_KEY = "benchbox-wrong-key-0000"
WRONG_KEY_ENV = "BENCHBOX_WRONG_KEY"
MAX_BURST = 400
Report = Callable[..., None]  # (case, outcome, problem, headers, secret_env, url=None)


def good_case(method: str, base: Any, cls: str = "known_good") -> Case:
    return Case(cls, method, dumps(base), JSON, "valid", "a known-good input", base)


def without_and_wrong_key(headers: Mapping[str, str], secret: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The request's headers without the key, and with a wrong key in the same scheme."""
    secret = set(secret)
    bare = {k: v for k, v in headers.items() if k not in secret}
    wrong = dict(headers)
    for k in secret:
        scheme = next((s for s in ("Bearer ", "Basic ", "Token ", "ApiKey ") if headers[k].startswith(s)), "")
        wrong[k] = scheme + WRONG_KEY
    return bare, wrong


def auth_probe(
    client: httpx.Client, url: str, headers: Mapping[str, str], base: Any, method: str, report: Report, notes: list[str]
) -> int:
    """Without the key and with a wrong one, the target operation must answer 401/403."""
    secret = [k for k in headers if is_secret_header(k)]
    if not secret:
        notes.append("auth probe skipped: the plan names an api key but no secret header is sent")
        return 0
    case = good_case(method, base, "auth")
    bare, wrong = without_and_wrong_key(headers, secret)
    sent = 0
    for label, hdrs, env in (("no key", bare, {}), ("a wrong key", wrong, {k: WRONG_KEY_ENV for k in secret})):
        out = _send_patiently(client, url, hdrs, case)
        sent += 1
        if out.status in (401, 403):
            continue
        got = f"answered {out.status}" if out.status is not None else f"no answer ({out.error})"
        hint = f" (replay with {WRONG_KEY_ENV} set to any wrong value)" if env else ""
        report(
            case,
            out,
            Problem(
                "auth_missing",
                "requires_key" if not env else "rejects_wrong_key",
                "a request without a valid api key must get 401 or 403",
                f"with {label}: {got}{hint}",
            ),
            hdrs,
            env,
        )
    return sent


def rate_limit_probe(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    base: Any,
    method: str,
    rate: float,
    report: Report,
    notes: list[str],
    max_workers: int = 16,
) -> int:
    """About 2R requests as fast as a small pool sends them: some must meet a 429."""
    n = min(MAX_BURST, max(2, math.ceil(2 * rate)))
    case = good_case(method, base, "rate_limit")
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(16, max_workers, n))) as pool:  # --max-concurrency
        outs = list(pool.map(lambda _: send(client, url, headers, case), range(n)))
    took = max(time.monotonic() - start, 1e-6)
    limited = [o for o in outs if o.status == 429]
    if limited:
        after = {k.lower(): v for k, v in limited[0].headers.items()}.get("retry-after")
        notes.append(
            f"rate limit: {len(limited)}/{n} burst requests got 429"
            + (f" (Retry-After: {after})" if after else " (no Retry-After header)")
        )
        time.sleep(min(2.0, float(after) if after and after.replace(".", "", 1).isdigit() else 1.0))
        return n
    achieved = n / took
    if took > 1.0 and achieved < 1.2 * rate:
        notes.append(
            f"rate-limit probe inconclusive: the burst reached only {achieved:.0f} req/s (expected limit {rate:g})"
        )
        return n
    ok = [o for o in outs if o.status is not None] or outs
    report(
        case,
        ok[-1],
        Problem(
            "rate_limit_missing",
            "burst_limited",
            "a burst above the expected rate limit must meet 429",
            f"{n} requests in {took:.2f} s ({achieved:.0f} req/s, limit {rate:g}): no 429",
        ),
        headers,
        {},
    )
    return n


def health_after(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    base: Any,
    method: str,
    contract: Contract | None,
    paths: tuple[str, ...],
    timeout_s: float,
    report: Report,
    notes: list[str],
) -> tuple[bool | None, int]:
    """/health, readiness and one known-good request, after everything else."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    answered, healthy, checked, sent = False, True, False, 0
    for path in paths:
        case = Case("health_after", "GET", None, None, "any", f"GET {path} after the adversarial inputs")
        out = send(client, origin + path, plain, case)
        sent += 1
        if out.status is None:
            continue
        answered = True
        if out.status == 404:
            continue
        checked = True
        if not 200 <= out.status < 300:
            healthy = False
            report(
                case,
                out,
                Problem(
                    "unhealthy_after",
                    "health",
                    "the target must stay healthy and ready",
                    f"GET {path} answered {out.status} after the adversarial inputs",
                ),
                plain,
                {},
                url=origin + path,
            )
    if base is not None:
        case = good_case(method, base, "health_after")
        out = _send_patiently(client, url, headers, case)
        sent += 1
        checked = True
        if out.status is not None:
            answered = True
            problems = (
                evaluate(contract, base, out.status, out.content_type, out.content, "valid").problems
                if contract is not None
                else ([] if 200 <= out.status < 300 else [None])
            )
            if problems:
                healthy = False
                why = problems[0].detail if problems[0] is not None else f"answered {out.status}"
                report(
                    case,
                    out,
                    Problem(
                        "unhealthy_after",
                        "known_good",
                        "a known-good input must still be answered correctly afterwards",
                        f"after the adversarial inputs: {why}",
                    ),
                    headers,
                    {},
                )
    if not answered:
        case = Case("health_after", "GET", None, None, "any", "any request after the adversarial inputs")
        report(
            case,
            Outcome(error="no answer to any health or known-good request", error_kind="crash"),
            Problem(
                "crash",
                "alive_after",
                "the target must still answer after the adversarial inputs",
                "nothing answered afterwards: the target is gone",
            ),
            plain,
            {},
            url=origin + (paths[0] if paths else "/"),
        )
        return False, sent
    if not checked:
        notes.append("health after: no health path answered and no known-good body to send")
        return None, sent
    return healthy, sent


def _send_patiently(client: httpx.Client, url: str, headers: Mapping[str, str], case: Case) -> Outcome:
    """Send; on 429 wait (Retry-After, at most 1 s) and try again, twice."""
    out = send(client, url, headers, case)
    for _ in range(2):
        if out.status != 429:
            break
        time.sleep(1.0)
        out = send(client, url, headers, case)
    return out
