"""The last line of defence for secrets in the record (result.json, and so every report).

Every phase already redacts the headers it records and writes curl lines with environment
references; this catches what no phase thought of: a target that echoes a key back in an error
page, a redirect or a message that ends up in a problem or a note.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from benchbox.findings import REDACTED, is_secret_header
from benchbox.result import Result, from_dict, to_dict


def secrets_of(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The secret header values (and their long parts: a cookie's value, a bearer token) to hunt for."""
    secrets: set[str] = set()
    for name, value in headers:
        if is_secret_header(name):
            secrets.add(value)
            secrets.update(part for part in value.replace(";", " ").replace("=", " ").split() if len(part) >= 8)
    return {s for s in secrets if len(s) >= 8}  # short values would blank out ordinary words


def scrub_text(secrets: Iterable[str], text: str) -> str:
    """Every occurrence of a secret in `text` (a JSON document, say), JSON-escaped forms too, redacted."""
    # Longest first, so a whole value is replaced before its parts.
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, json.dumps(secret)[1:-1]}:
            text = text.replace(form, REDACTED)
    return text


def scrub_result(headers: Iterable[tuple[str, str]], result: Result) -> Result:
    """The last line of defence for secrets: every phase redacts the headers it records, but a
    target can echo a key back anywhere (an error page, a redirect, a note). Any occurrence of a
    secret header's value, anywhere in the record, becomes <redacted> before the record exists."""
    secrets = secrets_of(headers)
    if not secrets:
        return result
    return from_dict(json.loads(scrub_text(secrets, json.dumps(to_dict(result)))))
