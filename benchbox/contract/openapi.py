"""Read an OpenAPI document and pull out the contract of one operation.

The target is a URL, the document describes path templates (possibly under a `servers` base
path): we match the target's path against every template, preferring literal matches, then take
the JSON request body schema, the first 2xx JSON response schema, the documented examples, and
the documented health/readiness GET paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchbox import bounded
from benchbox.contract.model import HealthSpec, Route
from benchbox.contract.schema import self_contained, usable, validator
from benchbox.errors import UsageError

AUTO_PATHS = ("/openapi.json", "/docs/openapi.json")
_HEALTH_NAMES = frozenset({"health", "healthz", "ready", "readyz", "live", "livez", "liveness", "readiness"})


def load_explicit(source: str, client: httpx.Client) -> dict[str, Any]:
    """The user's --openapi URL or file; any failure is a usage error naming it."""
    expected = "an OpenAPI document (JSON) as a URL or a file"
    if source.startswith(("http://", "https://")):
        reply = bounded.send(client, "GET", source)
        if reply.status is None:
            raise UsageError(f"bad --openapi {source!r}: unreachable ({reply.error_kind}); expected {expected}")
        if reply.status != 200:
            raise UsageError(f"bad --openapi {source!r}: HTTP {reply.status}; expected {expected}")
        text = reply.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"bad --openapi {source!r}: cannot read it ({exc.strerror or exc}); expected {expected}"
            ) from None
    doc = _parse(text)
    if doc is None:
        raise UsageError(f"bad --openapi {source!r}: not an OpenAPI JSON document (no 'paths'); expected {expected}")
    return doc


def load_auto(origin: str, client: httpx.Client, notes: list[str]) -> tuple[dict[str, Any], str] | None:
    """Look for the document where frameworks serve it; a miss is a note, not an error."""
    for path in AUTO_PATHS:
        reply = bounded.send(client, "GET", origin + path)
        if reply.status is None:
            notes.append(f"GET {path}: {reply.error_kind}")
            continue
        doc = _parse(reply.text) if reply.status == 200 else None
        if doc is not None:
            return doc, origin + path
        notes.append(f"GET {path}: {reply.status}" + (" (not an OpenAPI document)" if reply.status == 200 else ""))
    return None


def _parse(text: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        return None
    return doc


def find_operation(doc: Mapping[str, Any], path: str, method: str) -> tuple[str, str, dict[str, Any]] | None:
    """(server base path, template, operation) for the target's path and method, or None."""
    method = method.lower()
    best: tuple[int, str, str, dict[str, Any]] | None = None
    for base in _base_paths(doc):
        if not path.startswith(base):
            continue
        rel = path[len(base) :] or "/"
        for template, item in doc["paths"].items():
            if not isinstance(item, dict) or not isinstance(item.get(method), dict):
                continue
            if re.fullmatch(_template_regex(template), rel):
                params = template.count("{")
                if best is None or params < best[0]:
                    best = (params, base, template, item[method])
    return (best[1], best[2], best[3]) if best else None


def _base_paths(doc: Mapping[str, Any]) -> list[str]:
    bases = {""}
    for server in doc.get("servers") or ():
        if isinstance(server, dict) and isinstance(server.get("url"), str) and "{" not in server["url"]:
            bases.add(urlsplit(server["url"]).path.rstrip("/"))
    return sorted(bases, key=len, reverse=True)


def _template_regex(template: str) -> str:
    return "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", template))


def operation_contract(doc: Mapping[str, Any], op: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Request/response schema, response content type and examples of one operation."""
    out: dict[str, Any] = {
        "request_schema": None,
        "response_schema": None,
        "content_type": "application/json",
        "examples": (),
    }
    body = _resolve_node(doc, op.get("requestBody") or {})
    out["body_required"] = bool(body.get("required", False)) if body else False
    media = _json_media(body.get("content") or {})
    if media is not None:
        _, spec = media
        if "schema" in spec:
            out["request_schema"] = usable(self_contained(spec["schema"], doc, notes, generate=True), "request", notes)
        out["examples"] = _examples(doc, spec, out["request_schema"], notes)
    elif body:
        notes.append("request body is not JSON: no inputs can be generated from the document")
    for status, response in sorted((op.get("responses") or {}).items()):
        if not str(status).startswith("2"):
            continue
        response = _resolve_node(doc, response)
        media = _json_media(response.get("content") or {})
        if media is not None:
            out["content_type"] = media[0]
            if "schema" in media[1]:
                out["response_schema"] = usable(self_contained(media[1]["schema"], doc, notes), "response", notes)
        break
    # 2020-12 allows {} and booleans; an empty schema checks nothing, say so rather than pretend.
    if out["response_schema"] in ({}, True):
        out["response_schema"] = None
    return out


def _resolve_node(doc: Mapping[str, Any], node: Any) -> dict[str, Any]:
    """requestBody/response objects may themselves be $refs into components."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 10:
        node = self_contained({"$ref": node["$ref"]}, doc, [])
        seen += 1
    return node if isinstance(node, dict) else {}


def _json_media(content: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for media_type, spec in content.items():
        base = media_type.split(";")[0].strip().lower()
        if (base == "application/json" or base.endswith("+json")) and isinstance(spec, dict):
            return base, spec
    return None


def _examples(doc: Mapping[str, Any], spec: Mapping[str, Any], schema: Any, notes: list[str]) -> tuple[Any, ...]:
    """Documented examples, kept only if they validate: documents drift, and a stale example
    sent as a 'valid' input would make the server look wrong."""
    found: list[Any] = []
    if "example" in spec:
        found.append(spec["example"])
    for ex in (spec.get("examples") or {}).values():
        ex = _resolve_node(doc, ex)
        if "value" in ex:
            found.append(ex["value"])
    raw_schema = spec.get("schema")
    if isinstance(raw_schema, dict):
        resolved = _resolve_node(doc, raw_schema)
        if isinstance(resolved.get("examples"), list):
            found.extend(resolved["examples"])
        elif "example" in resolved:
            found.append(resolved["example"])
    if schema is None:
        return tuple(found)
    check = validator(schema)
    kept = []
    for ex in found:
        try:
            ok = check.is_valid(ex)
        except Exception:  # noqa: BLE001 - a schema jsonschema chokes on: the example is simply not used
            ok = False
        if ok:
            kept.append(ex)
        else:
            notes.append("a documented request example does not match its own schema: not used")
    return tuple(kept)


def health_specs(doc: Mapping[str, Any], base: str, notes: list[str]) -> tuple[HealthSpec, ...]:
    """Documented GET health/readiness paths without parameters, with their 200 schema."""
    specs = []
    for template, item in (doc.get("paths") or {}).items():
        op = item.get("get") if isinstance(item, dict) else None
        last = template.rstrip("/").rsplit("/", 1)[-1].lower()
        if not isinstance(op, dict) or "{" in template or last not in _HEALTH_NAMES:
            continue
        ok = _resolve_node(doc, (op.get("responses") or {}).get("200") or {})
        media = _json_media(ok.get("content") or {})
        schema = (
            usable(self_contained(media[1]["schema"], doc, notes), f"{template} answer", notes)
            if media and "schema" in media[1]
            else None
        )
        specs.append(HealthSpec(path=base + template, schema=schema or None))
    return tuple(specs)


_SWEPT = ("get", "head", "post", "put", "patch")  # never DELETE (nor OPTIONS/TRACE: not operations)


def routes(doc: Mapping[str, Any], base: str, target_path: str, notes: list[str]) -> tuple[Route, ...]:
    """Every documented operation but DELETE, templates filled from the target's own path (a
    {model} parameter takes the target's model name) or the parameter's example/default/enum."""
    found: list[Route] = []
    skipped = 0
    for template, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in _SWEPT:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = [*(item.get("parameters") or []), *(op.get("parameters") or [])]
            path = _fill(doc, template, params, target_path)
            if path is None:
                skipped += 1
                continue
            body = None
            if method in ("post", "put", "patch"):
                req = _resolve_node(doc, op.get("requestBody") or {})
                media = _json_media(req.get("content") or {})
                if media is not None:
                    examples = _examples(doc, media[1], None, [])
                    schema = media[1].get("schema")
                    body = (
                        {"example": examples[0]}
                        if examples
                        else {
                            "schema": usable(self_contained(schema, doc, [], generate=True), "request", [])
                            if isinstance(schema, dict)
                            else None
                        }
                    )
            found.append(Route(method.upper(), base + path, body, "OpenAPI"))
    if skipped:
        notes.append(f"{skipped} documented operations have path parameters benchbox cannot fill: not swept for auth")
    return tuple(found)


def _fill(doc: Mapping[str, Any], template: str, params: list[Any], target_path: str) -> str | None:
    names = re.findall(r"\{([^}]+)\}", template)
    if not names:
        return template
    target = target_path.strip("/").split("/")
    values: dict[str, str] = {}
    for name in names:
        spec = next(
            (p for p in (_resolve_node(doc, q) for q in params) if p.get("name") == name and p.get("in") == "path"), {}
        )
        schema = given if isinstance(given := spec.get("schema"), dict) else {}
        lowered = name.lower()
        if "model" in lowered or lowered == "name":
            value = _after(target, "models")
        elif "version" in lowered:
            value = _after(target, "versions")
        else:
            value = None
        for candidate in (
            spec.get("example"),
            schema.get("example"),
            schema.get("default"),
            (schema.get("enum") or [None])[0],
        ):
            if value is None and candidate is not None:
                value = str(candidate)
        if value is None:
            return None
        values[name] = value
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], template)


def _after(parts: list[str], key: str) -> str | None:
    return parts[parts.index(key) + 1] if key in parts and parts.index(key) + 1 < len(parts) else None
