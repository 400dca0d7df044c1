"""Checks of the service around the model: its documented health/readiness paths answer (and
match their schema), and the endpoint names its version (path, answer or header)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from benchbox.contract.discovery import origin_of
from benchbox.contract.generate import is_valid
from benchbox.contract.model import Contract, HealthSpec
from benchbox.contract.problem import Problem
from benchbox.contract.schema import validator
from benchbox.contract.session import Exchange, Session

_VERSION_HEADERS = ("x-model-version", "model-version", "x-api-version", "api-version", "x-version")
_VERSION_KEYS = ("model_version", "modelVersion", "version", "api_version", "apiVersion")


def health(contract: Contract, session: Session) -> list[tuple[list[Problem], Exchange]]:
    """Each documented health path that answered, with its problems (none when it is healthy)."""
    origin = origin_of(contract.url)
    judged = []
    for spec in contract.health:
        ex = session.get(origin + spec.path)
        if ex.answered:
            judged.append((_health_problems(spec, ex), ex))
    return judged


def _health_problems(spec: HealthSpec, ex: Exchange) -> list[Problem]:
    if not 200 <= (ex.status or 0) < 300:
        return _unhealthy(
            "a documented health/readiness path must answer 2xx once ready", f"GET {spec.path} answered {ex.status}"
        )
    if spec.schema is None:
        return []
    try:
        doc = json.loads(ex.content)
        ok = is_valid(validator(spec.schema), doc) is not False
    except ValueError:
        ok = False
    if ok:
        return []
    return _unhealthy(
        "a health/readiness answer must match its documented schema", f"GET {spec.path}: {ex.content[:120]!r}"
    )


def _unhealthy(rule: str, detail: str) -> list[Problem]:
    return [Problem("contract_violation", "medium", "health", rule, "", detail)]


def path_versioned(contract: Contract) -> bool:
    path = urlsplit(contract.url).path
    if "/versions/" in path:
        return True
    # In a V2 path, /v2/ names the protocol, not the model or API version.
    return contract.protocol != "kserve-v2" and re.search(r"/v\d+(\.\d+)*(/|$)", path) is not None


def answer_versioned(doc: Any, headers: Mapping[str, str]) -> bool:
    if any(h in {k.lower() for k in headers} for h in _VERSION_HEADERS):
        return True
    return isinstance(doc, Mapping) and any(
        isinstance(doc.get(k), (str, int)) and str(doc.get(k)) for k in _VERSION_KEYS
    )


def version_problems(versioned: bool) -> list[Problem]:
    if versioned:
        return []
    return [
        Problem(
            "unversioned",
            "low",
            "versioned",
            "the endpoint should name its version: in the path (/v1/), the answer (model_version) or a header "
            "(X-Model-Version)",
            "",
            "no version found",
        )
    ]
