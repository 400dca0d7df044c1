"""Preflight: is the target reachable, healthy and ready, before any load is aimed at it?

Probes poll until the target is ready or the readiness budget runs out, the way a Kubernetes
readiness gate would: a server that is still loading its model answers 503 and gets waited for;
one that never answers is reported as unreachable (exit 3), not load-tested.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from benchbox import bounded
from benchbox.plan import Plan
from benchbox.result import Preflight, Probe, ProbeOutcome
from benchbox.version import __version__

Notify = Callable[[str], None]
PROBE_TIMEOUT_S = 5.0


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def preflight(plan: Plan, notify: Notify | None = None) -> tuple[Preflight, str | None]:
    """Probe health and readiness; return the outcome and the model version if the target says it."""
    origin = origin_of(plan.target)
    headers = {"User-Agent": f"benchbox/{__version__}", **dict(plan.request.headers)}
    headers.pop("Content-Type", None)
    started = time.monotonic()
    deadline = started + plan.probes.ready_timeout_s
    delay, announced = 0.1, False
    brakes = plan.brakes
    with bounded.client(
        base_url=origin,
        headers=headers,
        timeout_s=min(PROBE_TIMEOUT_S, plan.request.timeout_s),
        insecure=plan.insecure,
        max_bytes=plan.request.max_body_bytes,
        max_rps=brakes.max_rps,
    ) as client:
        while True:
            health, health_probes, _ = _probe_paths(client, plan.probes.health_paths, deadline)
            ready, ready_probes, ready_body = _probe_paths(client, plan.probes.ready_paths, deadline)
            reachable = any(p.status is not None for p in health_probes + ready_probes)
            # No retry can fix a name that does not resolve or a certificate we were told to trust.
            dns_failed = any(p.error and p.error.startswith(("dns", "tls")) for p in health_probes)
            done = reachable and health is not False and ready is not False
            if done or dns_failed or time.monotonic() >= deadline:
                break
            if notify and not announced:
                notify(
                    f"waiting up to {plan.probes.ready_timeout_s:g}s for {origin} to be "
                    + ("ready" if reachable else "reachable")
                )
                announced = True
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)
    waited = round(time.monotonic() - started, 3)
    health_outcome = _outcome(health, health_probes, "healthy", "no health endpoint")
    ready_outcome = _outcome(ready, ready_probes, "ready", "no readiness endpoint")
    error = None
    if not reachable:
        last = next((p.error for p in reversed(health_probes + ready_probes) if p.error), "no answer")
        error = f"target {origin} unreachable after {waited:g}s: {last}"
    elif health is False or ready is False:
        failing = health_outcome if health is False else ready_outcome
        error = f"target {origin} never became ready within {plan.probes.ready_timeout_s:g}s: {failing.detail}"
    result = Preflight(reachable=reachable, health=health_outcome, ready=ready_outcome, waited_s=waited, error=error)
    return result, _model_version(ready_body)


def _probe_paths(
    client: httpx.Client, paths: tuple[str, ...], deadline: float | None = None
) -> tuple[bool | None, list[Probe], bytes]:
    """True: some path answered 2xx (its body is returned, bounded). None: every path is
    missing (404/405). False: otherwise. No probe outlives the readiness deadline by more than
    a moment: a target that accepts and hangs must not stretch --ready-timeout fourfold."""
    probes: list[Probe] = []
    for path in paths:
        left = PROBE_TIMEOUT_S if deadline is None else max(0.2, deadline - time.monotonic())
        reply = bounded.send(
            client, "GET", path, timeout_s=min(left, client.timeout.read or PROBE_TIMEOUT_S), keep=4096
        )
        if reply.status is None:
            probes.append(Probe(path=path, status=None, latency_ms=None, error=reply.error))
            continue
        probes.append(Probe(path=path, status=reply.status, latency_ms=round(reply.elapsed_s * 1000.0, 3)))
        if reply.ok:
            return True, probes, reply.body
    if probes and all(p.status in (404, 405) for p in probes):
        return None, probes, b""
    return False, probes, b""


def _outcome(state: bool | None, probes: list[Probe], good: str, missing: str) -> ProbeOutcome:
    if state is True:
        path = probes[-1].path
        return ProbeOutcome(
            ok=True, path=path, detail=f"{good}: GET {path} answered {probes[-1].status}", probes=tuple(probes)
        )
    if state is None:
        tried = ", ".join(p.path for p in probes)
        return ProbeOutcome(ok=None, path=None, detail=f"{missing} (tried {tried})", probes=tuple(probes))
    shown = "; ".join(f"GET {p.path} -> {p.status if p.status is not None else p.error}" for p in probes)
    return ProbeOutcome(ok=False, path=None, detail=f"not {good}: {shown}", probes=tuple(probes))


def _model_version(body: bytes) -> str | None:
    """Readiness answers often name the model version (KServe, our demo); record it as evidence."""
    try:
        data = json.loads(body) if body else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and isinstance(data.get("model_version"), str):
        return data["model_version"][:100]
    return None
