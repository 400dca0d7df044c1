"""Auth over the whole API surface: every route the contract lists must refuse a missing or wrong key.

Why: a target that enforces its key proves nothing about the routes beside it. The same model is
often served on two faces (a JSON route and a KServe V2 route), and one forgotten dependency
leaves the other open. With --api-key-env, each route is sent twice, without the key and with a
wrong one; a 2xx is `auth_missing` (high) naming the route. Which routes:

- each operation of the OpenAPI document: GET, and POST unless its path names a change of state
  (load, unload, delete, reset, restart, repository, admin, ...); never DELETE, PUT or PATCH. The
  sweep must change nothing even on a server that checks no key at all;
- for a KServe V2 target, its model's metadata and ready routes; for a JSON target whose model
  also answers `GET /v2/models/<name>` (with the key), that model's V2 infer, metadata and ready;
- for an OpenAI-compatible target (a /v1/ chat, completions, embeddings or models route), the
  other /v1/ routes of that family.

Public by default: health and readiness routes (last segment health, healthz, ready, readyz, live,
livez, ping, ...), the API documents (/, /docs, /redoc, /openapi.json) and the V2 server health
routes; `--public-path PATH` (repeatable) declares others. A 4xx other than 401/403 says nothing
(the body may be refused before the key is looked at) and is not a finding.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchbox import bounded
from benchbox.adversarial.cases import JSON, Case, dumps
from benchbox.adversarial.judge import Problem, send
from benchbox.adversarial.model import AdversarialOptions
from benchbox.adversarial.probes import WRONG_KEY_ENV, without_and_wrong_key
from benchbox.contract import kserve
from benchbox.contract.model import Contract, Route
from benchbox.findings import is_secret_header

MAX_ROUTES = 40
# A route whose name says it changes the server is never sent, with or without a key: on a server
# that checks no key at all, the sweep would otherwise unload models or restart things.
MUTATING = re.compile(
    r"(^|[/_.-])(un)?load|delete|remove|shutdown|stop|restart|reload|reset|repository|admin"
    r"|train|update|upload|register|deploy|config|settings|logging|trace|kill|drop",
    re.IGNORECASE,
)
PUBLIC_NAMES = frozenset({"health", "healthz", "ready", "readyz", "live", "livez", "liveness", "readiness", "ping"})
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/docs/openapi.json",
        "/favicon.ico",
        "/v2/health/live",
        "/v2/health/ready",
    }
)
OPENAI_ROUTES = (("GET", "/models"), ("POST", "/chat/completions"), ("POST", "/completions"), ("POST", "/embeddings"))
Report = Callable[..., None]


def is_public(path: str, declared: tuple[str, ...] = ()) -> bool:
    clean = "/" + path.strip("/")
    if clean in PUBLIC_PATHS or clean in {"/" + p.strip("/") for p in declared}:
        return True
    return clean.rsplit("/", 1)[-1].lower() in PUBLIC_NAMES


def routes_of(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    contract: Contract | None,
    method: str,
    include_target: bool = False,
) -> list[Route]:
    """The routes to sweep: the contract's, the model's V2 face, the OpenAI family; the target
    itself left out (the target's own auth probe covers it)."""
    parts = urlsplit(url)
    path = parts.path or "/"
    found = list(contract.routes if contract is not None else ())
    segments = path.strip("/").split("/")
    if "/v2/" not in path and "models" in segments[:-1]:
        name = segments[segments.index("models") + 1]
        prefix = path[: path.find("/models/")]
        prefix = prefix.removesuffix("/v1")
        meta = bounded.send(
            client, "GET", f"{parts.scheme}://{parts.netloc}{prefix}/v2/models/{name}", headers=_plain(headers)
        )
        if meta.status == 200:
            found += kserve.face_routes(prefix, name)
    if "/v1/" in path and path.rstrip("/").endswith(("/chat/completions", "/completions", "/embeddings", "/models")):
        root = path[: path.find("/v1/") + 3]
        found += [Route(m, root + p, None, "OpenAI-compatible API") for m, p in OPENAI_ROUTES]
    seen = set() if include_target else {(method.upper(), path.rstrip("/"))}
    out = []
    for route in found:
        key = (route.method.upper(), route.path.rstrip("/"))
        if key in seen or route.method.upper() == "DELETE":
            continue
        seen.add(key)
        out.append(route)
    return out


def sweep(
    client: httpx.Client,
    url: str,
    headers: Mapping[str, str],
    contract: Contract | None,
    options: AdversarialOptions,
    base: Any,
    report: Report,
    notes: list[str],
    include_target: bool = False,
) -> int:
    """Every non-public route without a key and with a wrong key; returns the requests sent."""
    secret = [k for k in headers if is_secret_header(k)]
    if not secret:
        return 0
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    routes = routes_of(
        client, url, headers, contract, contract.method if contract is not None else "POST", include_target
    )
    public = [r for r in routes if is_public(r.path, options.public_paths)]
    unsafe = [
        r for r in routes if r.method not in ("GET", "HEAD", "POST") or (r.method == "POST" and MUTATING.search(r.path))
    ]
    swept = [r for r in routes if r not in public and r not in unsafe][:MAX_ROUTES]
    if unsafe:
        notes.append(
            f"auth sweep: {len(unsafe)} routes that may change the server not sent "
            f"(e.g. {unsafe[0].method} {unsafe[0].path})"
        )
    bare, wrong = without_and_wrong_key(headers, secret)
    sent = 0
    for route in swept:
        body = _body(client, origin, headers, route, contract, options.seed)
        payload = dumps(body) if body is not None else None
        what = f"{route.method} {route.path} ({route.why})"
        case = Case("auth_route", route.method, payload, JSON if payload is not None else None, "any", what, body)
        for label, hdrs, env in (("no key", bare, {}), ("a wrong key", wrong, {k: WRONG_KEY_ENV for k in secret})):
            out = send(client, origin + route.path, hdrs, case)
            sent += 1
            if out.status is None or not 200 <= out.status < 300:
                continue
            hint = f" (replay with {WRONG_KEY_ENV} set to any wrong value)" if env else ""
            report(
                case,
                out,
                Problem(
                    "auth_missing",
                    "route_requires_key",
                    f"every route of the API must refuse a request without a valid key: {route.method} {route.path}",
                    f"{what} with {label}: answered {out.status}{hint}",
                ),
                hdrs,
                env,
                url=origin + route.path,
            )
            break  # one finding per route is enough
    if routes:
        notes.append(
            f"auth sweep: {len(swept)} routes tried without a key and with a wrong one, "
            f"{len(public)} public (health, readiness, documents, --public-path)"
        )
    return sent


def _body(
    client: httpx.Client, origin: str, headers: Mapping[str, str], route: Route, contract: Contract | None, seed: int
) -> Any:
    """A request body the route would accept with the key: a documented example, one drawn from its
    schema, or a V2 request drawn from the model's metadata."""
    if route.method in ("GET", "HEAD"):
        return None
    spec = route.body if isinstance(route.body, Mapping) else {}
    if "example" in spec:
        return spec["example"]
    from benchbox.contract.generate import valid_inputs

    if spec.get("schema") is not None:
        drawn = valid_inputs(
            Contract(
                url=origin + route.path,
                method=route.method,
                protocol="json",
                source="openapi",
                request_schema=spec["schema"],
            ),
            1,
            seed,
        )
        return drawn[0] if drawn else {}
    meta_path = kserve.metadata_path(route.path)
    if meta_path is not None:
        resp = bounded.send(client, "GET", origin + meta_path, headers=_plain(headers))
        try:
            _, inputs, _ = kserve.parse_metadata(json.loads(resp.body))
        except ValueError:  # no answer, or not JSON metadata
            return {}
        drawn = valid_inputs(
            Contract(url=origin + route.path, method="POST", protocol="kserve-v2", source="kserve-v2", inputs=inputs),
            1,
            seed,
        )
        return drawn[0] if drawn else {}
    if route.path.endswith("/chat/completions"):
        model = contract.model_name if contract is not None and contract.model_name else "benchbox"
        return {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    if route.path.endswith(("/completions", "/embeddings")):
        return {"model": "benchbox", "prompt": "hi", "input": "hi", "max_tokens": 1}
    return {}


def _plain(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != "content-type"}


def sweep_standalone(
    url: str, method: str, headers: Mapping[str, str], options: AdversarialOptions, model: str | None = None
) -> tuple[list[Any], list[str], int]:
    """The sweep for a phase that has no adversarial run of its own (the OpenAI-compatible chat
    phase): (findings, notes, requests), the target itself included."""
    from benchbox.adversarial.report import finding

    findings: list[Any] = []
    notes: list[str] = []

    def report(
        case: Case, out: Any, problem: Problem, hdrs: Mapping[str, str], env: Mapping[str, str], url: str | None = None
    ) -> None:
        findings.append(
            finding(
                case,
                out,
                problem,
                url=url or "",
                headers=hdrs,
                minimal=True,
                secret_headers={**options.secret_headers, **env},
                basis="--api-key-env (the endpoint needs a key); route from " + case.what,
            )
        )

    path = urlsplit(url).path
    target = Contract(
        url=url,
        method=method,
        protocol="json",
        source=None,
        model_name=model,
        routes=(Route(method.upper(), path, None, "the target"),),
    )
    with bounded.client(
        timeout_s=options.timeout_s,
        insecure=options.insecure,
        max_rps=options.max_rps,
        max_bytes=options.max_body_bytes,
        follow_redirects=False,
    ) as client:
        if model is None and "/v1/" in path:  # a model the server knows, so a served request would be a 200
            listing = bounded.send(client, "GET", url[: url.find("/v1/") + 3] + "/models", headers=_plain(headers))
            try:
                model = str(json.loads(listing.body)["data"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            target = Contract(
                url=url, method=method, protocol="json", source=None, model_name=model, routes=target.routes
            )
        # The target counts as one more route: this phase has no auth probe of its own.
        sent = sweep(client, url, headers, target, options, None, report, notes, include_target=True)
    return findings, notes, sent
