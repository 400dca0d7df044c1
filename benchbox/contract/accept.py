"""Accepted findings: known issues that must not fail CI while they are being fixed.

`benchbox run --write-accept FILE` writes every current finding; `--accept FILE` reads it back and
the matching findings no longer fail the verdict (they are still reported, as accepted). A
finding is matched by its `id` (kind, rule, JSON pointer pattern, method, path: never the input
values), so the same known issue matches across seeds, hosts and runs. The file also carries
readable fields and an empty `reason` for a human to fill in; only `id` is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from benchbox.atomic import write_atomic
from benchbox.errors import UsageError
from benchbox.findings import Finding, pointer_pattern

SCHEMA = "benchbox.accept/v1"
_EXPECTED = f'a JSON file written by --write-accept ({{"schema": "{SCHEMA}", "accepted": [{{"id": ...}}]}})'


def write_accept(findings: Iterable[Finding], path: str | Path) -> Path:
    """Write (atomically) an accept file listing `findings`, one entry per id."""
    entries: dict[str, dict[str, str]] = {}
    for f in findings:
        entries.setdefault(
            f.id,
            {
                "id": f.id,
                "kind": f.kind,
                "rule": f.rule,
                "method": f.request.method,
                "path": f.request.path,
                "pointer": pointer_pattern(f.pointer),
                "message": f.message,
                "reason": "",
            },
        )
    text = json.dumps({"schema": SCHEMA, "accepted": list(entries.values())}, indent=2) + "\n"
    return write_atomic(path, text)


def read_accept(path: str | Path) -> frozenset[str]:
    """The accepted finding ids; a missing or malformed file is a usage error naming it."""
    shown = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"bad --accept {shown!r}: cannot read it ({exc.strerror or exc}); expected {_EXPECTED}"
        ) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"bad --accept {shown!r}: not JSON ({exc.msg} at line {exc.lineno}); expected {_EXPECTED}"
        ) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("accepted"), list):
        raise UsageError(f"bad --accept {shown!r}: expected {_EXPECTED}")
    ids = []
    for entry in data["accepted"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise UsageError(f"bad --accept {shown!r}: an entry without a string 'id'; expected {_EXPECTED}")
        ids.append(entry["id"])
    return frozenset(ids)


def split_accepted(
    findings: Iterable[Finding], accepted: frozenset[str]
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(still open, accepted): the gate fails only on the first."""
    items = tuple(findings)
    return (tuple(f for f in items if f.id not in accepted), tuple(f for f in items if f.id in accepted))
