"""What to send: input classes as Hypothesis strategies of `Case`s, each one change away from a
known-good body (the contract's or the user's example), or a malformed body at the byte level.

Why one change from a good body: the finding then says exactly what broke the target, and
Hypothesis shrinks the change itself (which leaf, which value, how deep, how long) toward the
simplest one that still fails. Bodies are serialized with ASCII escapes, so curl lines stay plain
ASCII, and with NaN/Infinity as raw tokens where a class puts them there on purpose.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

Expect = Literal["valid", "invalid", "any"]
Classify = Callable[[Any], Expect]

BOUNDARY = (0, -0.0, 1, -1, 1e308, -1e308, 5e-324, 2**53 + 1, 10**400, -(10**400), math.nan, math.inf, -math.inf)
PIECES = (
    "a",
    "😀",
    "\x00",
    "\u202e",
    "\u200f",
    "\ufeff",
    "𝕋",
    "\x1b",
    "\n",
    "'",
    '"',
    "\\",
    "<",
    "%s",
    "\u0301",
    "🏳️‍🌈",
    "\ud7ff",
    "\uffff",
)
GARBAGE = (
    b"",
    b"{",
    b"}",
    b"not json",
    b"{'a': 1}",
    b"[1,2,]",
    b'{"a":1}}',
    b'{"a": tru}',
    b"\x00",
    b"\xff\xfe{",
    b"[" * 3,
    b'{"a":"\\uZZZZ"}',
    b"1 2",
)
CONTENT_TYPES = (
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "*/*",
)
METHODS = ("PUT", "PATCH", "DELETE", "GET", "OPTIONS", "TRACE", "PROPFIND")
EXTRA_KEYS = ("__proto__", "constructor", "$where", "admin", "id", "", "a" * 300)
JSON = "application/json"
HUGE_MIN = 1_100_000

# How many cases each class gets, relative to the others (1 when not named).
CLASS_WEIGHTS = {
    "wrong_type": 1.5,
    "missing_field": 1,
    "extra_field": 1,
    "boundary_number": 2,
    "unusual_string": 2,
    "long_string": 0.5,
    "batch_size": 1.5,
    "malformed_json": 1.5,
    "duplicate_key": 0.5,
    "content_type": 0.7,
    "odd_method": 0.7,
    "huge_body": 0.2,
    "deep_nesting": 0.8,
}
CORPUS_SHARE = 0.3  # at most this share of the cases are corpus strings


def share_cases(max_cases: int, classes: Sequence[str], corpus_size: int) -> tuple[int, dict[str, int]]:
    """How many of `max_cases` go to corpus strings, and how many to each class (at least one)."""
    n_corpus = min(corpus_size, int(max_cases * CORPUS_SHARE))
    rest = max_cases - n_corpus
    total_w = sum(CLASS_WEIGHTS.get(k, 1) for k in classes)
    return n_corpus, {k: max(1, round(rest * CLASS_WEIGHTS.get(k, 1) / total_w)) for k in classes}


@dataclass(frozen=True)
class Case:
    """One request to send, and what a well-behaved target must answer (a 4xx for `invalid`)."""

    cls: str
    method: str
    body: bytes | None
    content_type: str | None
    expect: Expect
    what: str
    doc: Any = None  # the parsed body, when `expect` is "valid" (the contract check needs it)

    def text(self) -> str | None:
        return None if self.body is None else self.body.decode("utf-8", "replace")


def dumps(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True).encode()


def finite(doc: Any) -> bool:
    if isinstance(doc, float):
        return math.isfinite(doc)
    if isinstance(doc, int) and not isinstance(doc, bool):
        return abs(doc) < 10**308
    if isinstance(doc, list):
        return all(finite(v) for v in doc)
    if isinstance(doc, dict):
        return all(finite(v) for v in doc.values())
    return True


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every node's path, parents first (shrinking moves toward the root)."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:8]):
            out += paths(v, prefix + (i,))
    return out


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    get(out, path[:-1])[path[-1]] = value
    return out


def describe(path: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(p) for p in path)


class Builder:
    """The strategies for one base body. `classify` says what a parsed body must get."""

    def __init__(
        self, base: Any, method: str, classify: Classify, *, body_required: bool = True, json_required: bool = True
    ) -> None:
        """`body_required`/`json_required`: what the contract says of the body. An empty body is
        "invalid" only when a body is required, a cut or non-JSON one only when JSON is: an echo
        endpoint whose document asks for no body may accept anything (no false alarm)."""
        self.base, self.method, self.classify = base, method, classify
        self.body_required, self.json_required = body_required, json_required
        self.nodes = paths(base)
        self.leaves = [p for p in self.nodes if not isinstance(get(base, p), (dict, list))] or self.nodes
        numeric = [p for p in self.leaves if isinstance(get(base, p), (int, float))]
        strings = [p for p in self.leaves if isinstance(get(base, p), str)]
        self.numeric = numeric or self.leaves
        self.strings = strings + [p for p in self.leaves if p not in strings]
        self.objects = [p for p in self.nodes if isinstance(get(base, p), dict) and get(base, p)]
        self.arrays = [p for p in self.nodes if isinstance(get(base, p), list) and get(base, p)]

    def case(
        self,
        cls: str,
        doc: Any,
        what: str,
        *,
        expect: Expect | None = None,
        content_type: str | None = JSON,
        method: str | None = None,
    ) -> Case:
        # NaN/Infinity are not JSON, 1e400 is no double: refused where the contract asks for JSON.
        exp: Expect = (
            ("invalid" if self.json_required else "any") if not finite(doc) else (expect or self.classify(doc))
        )
        return Case(cls, method or self.method, dumps(doc), content_type, exp, what, doc if exp == "valid" else None)

    def raw(self, cls: str, body: bytes, what: str, expect: Expect) -> Case:
        return Case(cls, self.method, body, JSON, expect, what)

    # -- the classes ---------------------------------------------------------------------------
    def classes(self) -> dict[str, st.SearchStrategy[Case]]:
        s: dict[str, st.SearchStrategy[Case]] = {
            "wrong_type": st.builds(
                self._wrong_type,
                st.sampled_from(self.nodes),
                st.one_of(
                    st.none(),
                    st.booleans(),
                    st.integers(),
                    st.text(max_size=4),
                    st.just([]),
                    st.just({}),
                    st.lists(st.integers(), max_size=3),
                ),
            ),
            "boundary_number": st.builds(
                self._at, st.just("boundary_number"), st.sampled_from(self.numeric), st.sampled_from(BOUNDARY)
            ),
            "unusual_string": st.builds(
                self._at,
                st.just("unusual_string"),
                st.sampled_from(self.strings),
                st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
                | st.text(min_size=1, max_size=16),
            ),
            "long_string": st.builds(
                self._long,
                st.sampled_from(self.strings),
                st.integers(1_000, 50_000),
                st.sampled_from(("A", "😀", "\x00")),
            ),
            "batch_size": st.builds(self._batch, st.sampled_from(self.arrays or [()]), st.integers(0, 300)),
            "duplicate_key": st.builds(self._duplicate, st.sampled_from(self.objects or [()]), st.integers(0, 20)),
            "malformed_json": st.one_of(
                st.builds(self._truncated, st.integers(0, 10**6)), st.builds(self._garbage, st.sampled_from(GARBAGE))
            ),
            "content_type": st.builds(self._content_type, st.sampled_from(CONTENT_TYPES)),
            "odd_method": st.builds(self._method, st.sampled_from(METHODS)),
            "huge_body": st.builds(self._huge, st.integers(HUGE_MIN, HUGE_MIN + 400_000)),
            "deep_nesting": st.builds(self._nested, st.sampled_from(self.leaves), st.integers(2, 256), st.booleans()),
        }
        if self.objects:
            s["missing_field"] = st.builds(self._missing, st.sampled_from(self.objects), st.integers(0, 20))
            s["extra_field"] = st.builds(
                self._extra,
                st.sampled_from(self.objects),
                st.sampled_from(EXTRA_KEYS) | st.text(min_size=1, max_size=8),
                st.one_of(st.integers(), st.text(max_size=8), st.none()),
            )
        order = (
            "missing_field",
            "extra_field",
            "wrong_type",
            "boundary_number",
            "unusual_string",
            "long_string",
            "batch_size",
            "duplicate_key",
            "malformed_json",
            "content_type",
            "odd_method",
            "huge_body",
            "deep_nesting",
        )  # the ones most likely to kill a target go last
        return {k: s[k] for k in order if k in s}

    def _wrong_type(self, path: tuple[Any, ...], value: Any) -> Case:
        return self.case("wrong_type", put(self.base, path, value), f"{describe(path)} = {value!r:.40}")

    def _at(self, cls: str, path: tuple[Any, ...], value: Any) -> Case:
        return self.case(cls, put(self.base, path, value), f"{describe(path)} = {value!r:.60}")

    def _long(self, path: tuple[Any, ...], n: int, char: str) -> Case:
        return self.case("long_string", put(self.base, path, char * n), f"{describe(path)} = {char!r} * {n}")

    def _batch(self, path: tuple[Any, ...], n: int) -> Case:
        items = get(self.base, path) if path else [self.base]
        items = items if isinstance(items, list) and items else [self.base]
        batch = [copy.deepcopy(items[i % len(items)]) for i in range(n)]
        return self.case("batch_size", put(self.base, path, batch), f"{describe(path)} has {n} items")

    def _missing(self, path: tuple[Any, ...], k: int) -> Case:
        obj = dict(get(self.base, path))
        key = list(obj)[k % len(obj)]
        del obj[key]
        return self.case("missing_field", put(self.base, path, obj), f"{describe(path + (key,))} removed")

    def _extra(self, path: tuple[Any, ...], key: str, value: Any) -> Case:
        obj = dict(get(self.base, path))
        if key in obj:
            key = key + "_x"
        obj[key] = value
        return self.case("extra_field", put(self.base, path, obj), f"{describe(path + (key,))} added")

    def _duplicate(self, path: tuple[Any, ...], k: int) -> Case:
        obj = get(self.base, path) if path or isinstance(self.base, dict) else {}
        if not isinstance(obj, dict) or not obj:
            return self.raw("duplicate_key", b'{"a":1,"a":2}', "duplicate key a", "any")
        key = list(obj)[k % len(obj)]
        sentinel = "__benchbox_dup__"
        text = dumps(put(self.base, path, {sentinel: 0, **obj})).decode()
        dup = json.dumps(key) + ":" + json.dumps("duplicate")
        text = text.replace(json.dumps(sentinel) + ":0", dup, 1)
        # Which copy wins is the parser's choice; only a 5xx, hang or leak is wrong.
        return self.raw("duplicate_key", text.encode(), f"{describe(path + (key,))} given twice", "any")

    def _truncated(self, cut: int) -> Case:
        full = dumps(self.base)
        at = cut % max(1, len(full))
        part = full[:at]
        try:
            json.loads(part)
            expect: Expect = "any"
        except ValueError:
            expect = self._malformed(part)
        return self.raw("malformed_json", part, f"body cut after {at} of {len(full)} bytes", expect)

    def _malformed(self, body: bytes) -> Expect:
        return (
            ("invalid" if self.body_required else "any") if not body else ("invalid" if self.json_required else "any")
        )

    def _garbage(self, body: bytes) -> Case:
        try:
            doc = json.loads(body)
        except ValueError:
            return self.raw("malformed_json", body, f"body {body[:20]!r} is not JSON", self._malformed(body))
        return self.case("malformed_json", doc, f"body {body[:20]!r}")

    def _content_type(self, ctype: str | None) -> Case:
        # Lenient parsing of a JSON body sent as text/plain is not a bug: only 5xx/hang/leak are.
        return self.case(
            "content_type", self.base, f"Content-Type: {ctype or '(none)'}", expect="any", content_type=ctype
        )

    def _method(self, method: str) -> Case:
        return self.case("odd_method", self.base, f"method {method}", expect="any", method=method)

    def _huge(self, n: int) -> Case:
        doc = self.base if isinstance(self.base, dict) else {"data": self.base}
        padded = {**doc, "benchbox_padding": "A" * n}
        return self.case("huge_body", padded, f"body padded to {n} bytes")

    def _nested(self, path: tuple[Any, ...], depth: int, objects: bool) -> Case:
        sentinel = "__benchbox_nest__"
        text = dumps(put(self.base, path, sentinel)).decode()
        inner = ('{"a":' * depth + "0" + "}" * depth) if objects else ("[" * depth + "0" + "]" * depth)
        body = text.replace(json.dumps(sentinel), inner, 1).encode()
        try:
            expect: Expect = self.classify(json.loads(body))
        except (ValueError, RecursionError):
            expect = "any"
        shape = "objects" if objects else "arrays"
        return self.raw("deep_nesting", body, f"{describe(path)} nested {depth} {shape} deep", expect)


def corpus_cases(builder: Builder, strings: list[tuple[str, str]]) -> list[Case]:
    """Each corpus string in the first string-like leaf: one change from the good body."""
    path = builder.strings[0]
    out = []
    for name, value in strings:
        out.append(
            builder.case(f"corpus:{name}", put(builder.base, path, value), f"{describe(path)} = {value!r:.60} ({name})")
        )
    return out
