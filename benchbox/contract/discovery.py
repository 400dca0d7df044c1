"""Learn an endpoint's contract from what the user gave, or from the endpoint itself.

Order: the user's schema files (`--input-schema`, `--output-schema`); then, for a KServe V2 infer
path (or `--protocol kserve-v2`), the model metadata; then the OpenAPI document (`--openapi`,
else `<origin>/openapi.json`, `<origin>/docs/openapi.json`) matched on path and method.

For a V2 path the metadata comes before the OpenAPI document, unlike a plain JSON path: a
server's OpenAPI description of `/infer` is the protocol's generic tensor schema (shape and data
unrelated), and inputs drawn from it are mostly ones the model must reject. The metadata names
the real shapes. The OpenAPI document is the fallback when the metadata cannot be read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from benchbox import bounded
from benchbox.contract import kserve, openapi
from benchbox.contract.model import Contract, ContractOptions, HealthSpec
from benchbox.contract.schema import load_schema_file
from benchbox.errors import UsageError

Notify = Callable[[str], None]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def resolve_protocol(url: str, options: ContractOptions) -> str:
    path = urlsplit(url).path
    if options.protocol == "kserve-v2" and kserve.metadata_path(path) is None:
        raise UsageError(
            f"bad --protocol 'kserve-v2' for target path {path!r}: expected a target like "
            "http://host/v2/models/<name>/infer"
        )
    if options.protocol in ("json", "kserve-v2"):
        return options.protocol
    return "kserve-v2" if kserve.metadata_path(path) else "json"


def discover(
    url: str,
    method: str,
    headers: Mapping[str, str],
    options: ContractOptions,
    client: httpx.Client | None = None,
    notify: Notify | None = None,
) -> Contract:
    """The contract of `method url`. Bad user input raises UsageError; a target that does not
    describe itself gives a Contract with source None and notes saying what was tried."""
    own = client is None
    client = client or make_client(url, headers, options.timeout_s, options)
    try:
        return _discover(url, method.upper(), options, client, notify)
    finally:
        if own:
            client.close()


def make_client(
    url: str, headers: Mapping[str, str], timeout_s: float, options: ContractOptions | None = None
) -> httpx.Client:
    # A proxy from the environment must never see loopback traffic; elsewhere honour it.
    host = urlsplit(url).hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    # No Content-Type at client level: GETs (documents, metadata, health) carry no body.
    plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return bounded.client(
        headers=plain,
        timeout_s=timeout_s,
        trust_env=not loopback,
        follow_redirects=False,
        insecure=options.insecure if options else False,
        max_rps=options.max_rps if options else None,
        max_bytes=options.max_body_bytes if options else bounded.MAX_BODY_BYTES,
    )


def _discover(url: str, method: str, options: ContractOptions, client: httpx.Client, notify: Notify | None) -> Contract:
    notes: list[str] = []
    protocol = resolve_protocol(url, options)
    path = urlsplit(url).path or "/"
    origin = origin_of(url)
    fields: dict[str, Any] = {}
    user = False
    described: list[str] = []
    if options.input_schema:
        fields["request_schema"] = load_schema_file(options.input_schema, "--input-schema")
        fields["body_required"] = True
        described.append(f"--input-schema {options.input_schema}")
        user = True
    if options.output_schema:
        fields["response_schema"] = load_schema_file(options.output_schema, "--output-schema")
        described.append(f"--output-schema {options.output_schema}")
        user = True
    # An explicit --openapi must be loadable even if the user's schemas make it unnecessary:
    # a typo in a flag should fail loudly, not be silently ignored.
    explicit_doc = openapi.load_explicit(options.openapi, client) if options.openapi else None
    source: str | None = "user" if user else None

    if protocol == "kserve-v2":
        meta = _kserve(origin, path, client, notes)
        if meta is not None:
            name, inputs, outputs = meta
            fields.update(model_name=name, inputs=inputs, outputs=outputs)
            fields.setdefault("response_schema", kserve.RESPONSE_SCHEMA)
            fields["health"] = tuple(HealthSpec(p) for p in kserve.health_paths(path))
            fields["body_required"] = True
            described.append(f"KServe V2 model metadata (GET {kserve.metadata_path(path)})")
            source = source or "kserve-v2"
            if kserve.too_large(inputs):
                notes.append("model inputs have more than 65536 values: generated requests will be large")
    if protocol == "json" or "inputs" not in fields:
        need = "request_schema" not in fields or "response_schema" not in fields
        if need or explicit_doc is not None:
            found = _from_openapi(explicit_doc, options, origin, path, method, client, notes)
            if found is not None:
                for key, value in found.items():
                    if key in ("request_schema", "response_schema", "body_required") and key in fields:
                        continue
                    if key == "described_by":
                        described.append(value)
                        continue
                    fields[key] = value
                source = source or "openapi"
    if protocol == "kserve-v2" and "inputs" not in fields:
        fields.setdefault("response_schema", kserve.RESPONSE_SCHEMA)
    if protocol == "kserve-v2" and "inputs" in fields:
        # The metadata is the contract; the API document, if any, still lists the other routes
        # (the auth sweep tries them all), e.g. a JSON face of the same model.
        loaded = (explicit_doc, options.openapi) if explicit_doc is not None else openapi.load_auto(origin, client, [])
        if loaded is not None:
            fields["routes"] = openapi.routes(loaded[0], "", path, notes)
    if source is None:
        notes.append("no contract found: only generic checks on the given examples")
    if notify:
        notify(f"contract: source {source or 'none'}, protocol {protocol}")
    fields["routes"] = tuple(fields.get("routes", ())) + kserve.routes(path, fields.get("model_name"))
    return Contract(
        url=url,
        method=method,
        protocol=protocol,  # type: ignore[arg-type]
        source=source,  # type: ignore[arg-type]
        notes=tuple(notes),
        described_by="; ".join(described),
        **fields,
    )


def _kserve(origin: str, path: str, client: httpx.Client, notes: list[str]) -> Any:
    meta_path = kserve.metadata_path(path)
    assert meta_path is not None
    reply = bounded.send(client, "GET", origin + meta_path)
    if reply.status is None:
        notes.append(f"GET {meta_path}: {reply.error_kind}")
        return None
    if reply.status != 200:
        notes.append(f"GET {meta_path}: {reply.status}")
        return None
    try:
        return kserve.parse_metadata(json.loads(reply.body))
    except ValueError as exc:  # also JSONDecodeError
        notes.append(f"GET {meta_path}: unusable model metadata ({str(exc)[:120]})")
        return None


def _from_openapi(
    doc: dict[str, Any] | None,
    options: ContractOptions,
    origin: str,
    path: str,
    method: str,
    client: httpx.Client,
    notes: list[str],
) -> dict[str, Any] | None:
    where = options.openapi
    if doc is None:
        loaded = openapi.load_auto(origin, client, notes)
        if loaded is None:
            return None
        doc, where = loaded
    match = openapi.find_operation(doc, path, method)
    if match is None:
        notes.append(f"{where} documents no {method} operation matching {path}")
        return None
    base, template, op = match
    notes.append(f"contract from {where}: {method} {base}{template}")
    fields = openapi.operation_contract(doc, op, notes)
    fields["health"] = openapi.health_specs(doc, base, notes)
    fields["routes"] = openapi.routes(doc, base, path, notes)
    fields["described_by"] = f"OpenAPI {where} ({method} {base}{template})"
    return fields
