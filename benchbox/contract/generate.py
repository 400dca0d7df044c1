"""Inputs to send: valid ones drawn with Hypothesis, and a few plainly invalid ones.

Drawing is deterministic for a seed: the strategy runs under `@given` with `@seed(seed)`,
`database=None`, `derandomize=False` and only the generate phase, and the test body just
collects what it is given (`strategy.example()` is neither seedable nor meant for this). The
same seed and the same Hypothesis version give the same inputs, in the same order.

Invalid inputs are derived from the smallest valid one by one change each (a required field
removed, a wrong type, a number beyond its documented bound, an undeclared field), and each is
re-validated against the schema before use: a mutation that happens to stay valid must never be
sent as "invalid" (Schemathesis' most common false positive).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st

from benchbox.contract import kserve
from benchbox.contract.model import Contract
from benchbox.contract.schema import validator

_UNEXPECTED_FIELD = "benchbox_unexpected_field"


def _hypothesis_jsonschema_compat() -> None:
    """hypothesis-jsonschema 0.23.1 (the latest) drives `many` with `while elements.more()`;
    Hypothesis >= 6.15x only offers `with many(...) as e: for _ in e:`. Adapt the old call
    style inside hypothesis-jsonschema only (Hypothesis itself is untouched). A no-op when the
    installed Hypothesis still has `more()`, or once hypothesis-jsonschema is fixed."""
    import types

    import hypothesis.internal.conjecture.utils as cu
    import hypothesis_jsonschema._from_schema as hjs

    if hasattr(cu.many, "more") or getattr(hjs.cu, "_benchbox_compat", False):
        return

    class LegacyMany:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._many = cu.many(*args, **kwargs)
            self._it: Any = None

        def more(self) -> bool:
            if self._it is None:
                self._it = iter(self._many.__enter__())
            if next(self._it, StopIteration) is StopIteration:
                self._many.__exit__(None, None, None)
                return False
            return True

        def reject(self, why: str | None = None) -> None:
            self._many.reject(why)

    proxy = types.ModuleType(cu.__name__)
    vars(proxy).update(
        {k: getattr(cu, k) for k in dir(cu) if not k.startswith("__")}, many=LegacyMany, _benchbox_compat=True
    )
    hjs.cu = proxy


def draw(strategy: st.SearchStrategy[Any], n: int, seed_value: int) -> list[Any]:
    """Up to `n` values of `strategy`, the same ones for the same seed."""
    if n <= 0:
        return []
    out: list[Any] = []

    @seed(seed_value)
    @settings(
        database=None,
        max_examples=n,
        phases=[Phase.generate],
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        print_blob=False,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def strategy_for(contract: Contract) -> st.SearchStrategy[Any] | None:
    if contract.inputs:
        return kserve.request_strategy(contract.inputs)
    if contract.request_schema is None:
        return None
    _hypothesis_jsonschema_compat()
    from hypothesis_jsonschema import from_schema

    # No NUL characters: a valid input should be one a careful client would send; NULs are the
    # adversarial stage's material.
    return from_schema(dict(contract.request_schema), allow_x00=False)


def valid_inputs(contract: Contract, n: int, seed_value: int, notes: list[str] | None = None) -> list[Any]:
    """Up to `n` distinct valid request bodies (the load phase's pool uses this too)."""
    notes = notes if notes is not None else []
    strategy = strategy_for(contract)
    if strategy is None:
        return []
    try:
        drawn = draw(strategy, n, seed_value)
    except Exception as exc:  # noqa: BLE001 - a schema the generator cannot handle is a note, not a crash
        notes.append(f"cannot generate inputs from the request schema: {type(exc).__name__}: {str(exc)[:160]}")
        return []
    check = validator(contract.request_schema) if contract.request_schema is not None else None
    seen: set[str] = set()
    out, dropped = [], 0
    for body in drawn:
        key = json.dumps(body, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        if check is not None and is_valid(check, body) is False:
            dropped += 1
            continue
        out.append(body)
    if dropped:
        notes.append(f"{dropped} generated inputs did not validate against the schema and were not sent")
    return out


def invalid_inputs(contract: Contract, base: Any, limit: int) -> list[tuple[str, Any]]:
    """(what is wrong, body) pairs, each one change away from the valid `base`."""
    if limit <= 0:
        return []
    if contract.inputs:
        return kserve.invalid_requests(base)[:limit] if isinstance(base, Mapping) and base.get("inputs") else []
    schema = contract.request_schema
    if not isinstance(schema, Mapping):
        return []
    check = validator(schema)
    out: list[tuple[str, Any]] = []
    for what, body in _mutations(schema, base):
        if is_valid(check, body) is False:  # the re-check: only truly invalid bodies are sent as invalid
            out.append((what, body))
        if len(out) >= limit:
            break
    return out


def is_valid(check: Any, body: Any) -> bool | None:
    """None when the validator itself fails (a pattern Python cannot compile, say)."""
    try:
        return bool(check.is_valid(body))
    except Exception:  # noqa: BLE001
        return None


def _mutations(schema: Mapping[str, Any], base: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if isinstance(base, dict):
        required = [k for k in schema.get("required", []) if k in base]
        for key in required[:2]:
            found.append((f"required field {key!r} missing", {k: v for k, v in base.items() if k != key}))
        if required:
            key = required[0]
            wrong: Any = 12345 if isinstance(base[key], str) else "not-a-" + type(base[key]).__name__
            found.append((f"field {key!r} of the wrong type", {**base, key: wrong}))
    else:
        found.append(("a JSON string where the body should be " + type(base).__name__, "benchbox-not-valid"))
    leaf = _bounded_leaf(schema, base, ())
    if leaf is not None:
        path, value = leaf
        found.append((f"number at {_ptr(path)} beyond its documented bound", _replace(base, path, value)))
    number = _number_leaf(base, ())
    if number is not None:
        found.append((f"a string where {_ptr(number)} should be a number", _replace(base, number, "not-a-number")))
    if isinstance(base, dict) and schema.get("additionalProperties") is False:
        found.append(("an undeclared field (additionalProperties is false)", {**base, _UNEXPECTED_FIELD: 1}))
    return found


def _bounded_leaf(schema: Any, value: Any, path: tuple[Any, ...]) -> tuple[tuple[Any, ...], float] | None:
    """The first number whose schema has a bound, and a value well past that bound."""
    if not isinstance(schema, Mapping):
        return None
    for branch in schema.get("allOf", []):
        hit = _bounded_leaf(branch, value, path)
        if hit:
            return hit
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for bound, sign in (("maximum", 1), ("exclusiveMaximum", 1), ("minimum", -1), ("exclusiveMinimum", -1)):
            limit = schema.get(bound)
            if isinstance(limit, (int, float)) and not isinstance(limit, bool):
                beyond = limit + sign * max(1, abs(limit)) * 10
                return path, int(beyond) if schema.get("type") == "integer" else float(beyond)
        return None
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                hit = _bounded_leaf(sub, value[key], (*path, key))
                if hit:
                    return hit
    if isinstance(value, list) and value:
        items = schema.get("items")
        sub = items[0] if isinstance(items, list) and items else items
        return _bounded_leaf(sub, value[0], (*path, 0))
    return None


def _number_leaf(value: Any, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and path:
        return path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in children:
        hit = _number_leaf(sub, (*path, key))
        if hit:
            return hit
    return None


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _ptr(path: tuple[Any, ...]) -> str:
    return "".join(f"/{p}" for p in path) or "/"
