"""Turn an OpenAPI (3.0 or 3.1) or user-given schema into one self-contained draft-7 JSON Schema.

Why draft 7: hypothesis-jsonschema generates from drafts 4/6/7 only, and validating with the
same draft we generate from means a generated input is never judged by different rules than the
ones it was drawn from. Why inline every `$ref`: hypothesis-jsonschema resolves only simple
local references, and a finding must be explainable without the whole document. A recursive
reference is cut at its second visit, with a note, rather than failing (see `self_contained`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft7Validator

from benchbox.errors import UsageError

# Keywords whose values are data, not subschemas: never walk into them looking for $ref.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "example", "examples", "required"})
# OpenAPI-only keywords with no JSON Schema meaning (or one that would confuse a validator).
_OPENAPI_ONLY = frozenset({"discriminator", "xml", "externalDocs", "example", "nullable"})
_ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "example", "deprecated", "readOnly", "writeOnly", "nullable"}
)
# Formats that OpenAPI uses for numbers/binary data; as JSON Schema they only confuse generators.
_NUMERIC_FORMATS = frozenset({"int32", "int64", "float", "double", "byte", "binary", "password"})


def self_contained(schema: Any, root: Any, notes: list[str], *, generate: bool = False) -> Any:
    """`schema` with every local `$ref` (into `root`) inlined and OpenAPI dialect converted.

    A recursive reference is cut at its second visit: to "nothing" for a schema we generate
    from (optional recursive branches are simply not taken: a tree is generated without
    children), to "anything" for one we validate answers with (no false violation deeper down)."""
    cut: Any = {"not": {}} if generate else {}
    return _walk(schema, root, (), notes, cut)


def validator(schema: Mapping[str, Any]) -> Draft7Validator:
    return Draft7Validator(schema)


def usable(schema: Any, what: str, notes: list[str]) -> Any:
    """`schema` if it is a valid draft-7 schema, else None with a note: a broken document must
    cost us that check, not crash the run or blame the target's answers."""
    try:
        Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        notes.append(f"the documented {what} schema is not valid JSON Schema ({exc.message[:100]}): not used")
        return None
    return schema


def load_schema_file(path: str, flag: str) -> dict[str, Any]:
    """A user's --input-schema/--output-schema file, checked to be a JSON Schema."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"bad {flag} {path!r}: cannot read it ({exc.strerror or exc}); expected a JSON Schema file"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"bad {flag} {path!r}: not JSON ({exc.msg} at line {exc.lineno}); expected a JSON Schema file"
        ) from None
    if not isinstance(data, (dict, bool)):
        raise UsageError(f"bad {flag} {path!r}: a JSON {type(data).__name__}; expected a JSON Schema object")
    notes: list[str] = []
    converted = self_contained(data, data, notes, generate=flag == "--input-schema")
    try:
        Draft7Validator.check_schema(converted)
    except jsonschema.SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.path)
        raise UsageError(f"bad {flag} {path!r}: not a valid JSON Schema at {where} ({exc.message[:120]})") from None
    return converted


def _walk(node: Any, root: Any, stack: tuple[str, ...], notes: list[str], cut: Any) -> Any:
    if isinstance(node, list):
        return [_walk(item, root, stack, notes, cut) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and isinstance(node["$ref"], str):
        return _inline_ref(node, root, stack, notes, cut)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("$defs", "definitions"):
            continue  # their members were inlined where referenced
        if key in _DATA_KEYWORDS or key.startswith("x-"):
            out[key] = value
        elif key in ("properties", "patternProperties", "dependentSchemas"):
            out[key] = (
                {k: _walk(v, root, stack, notes, cut) for k, v in value.items()} if isinstance(value, dict) else value
            )
        else:
            out[key] = _walk(value, root, stack, notes, cut)
    return _dialect(out)


def _inline_ref(node: dict[str, Any], root: Any, stack: tuple[str, ...], notes: list[str], cut: Any) -> Any:
    ref = node["$ref"]
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    if ref in stack:
        notes.append(f"recursive $ref {ref} cut at depth {len(stack)} (JSON Schema generators cannot unroll recursion)")
        target: Any = cut
    elif not ref.startswith("#"):
        notes.append(f"external $ref {ref} not followed; treated as 'any value'")
        target = {}
    else:
        target = _walk(_lookup(root, ref, notes), root, (*stack, ref), notes, cut)
    if not siblings:
        return target
    rest = _walk(siblings, root, stack, notes, cut)
    if set(siblings) <= _ANNOTATIONS and isinstance(target, dict):
        return {**rest, **target}
    return {"allOf": [target, rest]}


def _lookup(root: Any, ref: str, notes: list[str]) -> Any:
    node = root
    for raw in ref.lstrip("#").split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            notes.append(f"unresolvable $ref {ref}; treated as 'any value'")
            return {}
    return node


def _dialect(s: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI 3.0 and JSON Schema 2020-12 spellings -> draft 7."""
    if s.get("nullable") is True:
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            s["type"] = [*types, "null"] if "null" not in types else types
            if isinstance(s.get("enum"), list) and None not in s["enum"]:
                s["enum"] = [*s["enum"], None]
        else:
            inner = {k: v for k, v in s.items() if k != "nullable"}
            s = {"anyOf": [inner, {"type": "null"}]}
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = s.get(exclusive)
        if isinstance(flag, bool):  # OpenAPI 3.0 / draft 4: a flag on the bound
            if flag and bound in s:
                s[exclusive] = s.pop(bound)
            else:
                s.pop(exclusive)
    if "prefixItems" in s:  # 2020-12 tuples
        tail = s.pop("items", None)
        s["items"] = s.pop("prefixItems")
        if tail is not None:
            s["additionalItems"] = tail
    if "dependentRequired" in s:
        s["dependencies"] = {**s.get("dependencies", {}), **s.pop("dependentRequired")}
    if "dependentSchemas" in s:
        s["dependencies"] = {**s.get("dependencies", {}), **s.pop("dependentSchemas")}
    for key in ("$schema", "$id", "unevaluatedProperties", "unevaluatedItems", *_OPENAPI_ONLY):
        s.pop(key, None)
    if s.get("format") in _NUMERIC_FORMATS:
        s.pop("format")
    return s
