"""The string corpora (prompt injections, naughty strings, script/HTML, SQL-looking strings).

The files live in `benchbox/adversarial/corpora/` (package data, so the wheel ships them); the
top-level `adversarial/` folder of the checkout is a link to it, where DESIGN.md's layout puts it.
A missing corpus is a note, never an error: the generated classes still run.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parent / "corpora"
MAX_LEN = 4096  # a corpus line is a probe, not a payload: oversized bodies are their own class


def corpus_dir() -> Path | None:
    return _PACKAGED if _PACKAGED.is_dir() and any(_PACKAGED.glob("*.txt")) else None


@lru_cache(maxsize=4)
def load(directory: str | None = None) -> tuple[tuple[str, str], ...]:
    """(corpus name, string) pairs, in file then line order (stable: shrinking depends on it)."""
    d = Path(directory) if directory else corpus_dir()
    if d is None:
        return ()
    out: list[tuple[str, str]] = []
    for path in sorted(d.iterdir()):
        if path.suffix not in (".txt", ".jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if path.suffix == ".txt":
                if not line.strip() or line.startswith("# "):
                    continue
                value = line
            else:
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(value, str):
                    continue
            out.append((path.stem, value[:MAX_LEN]))
    return tuple(out)
