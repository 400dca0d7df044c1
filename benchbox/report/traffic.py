"""The markdown summary's per-class table for a replayed trace or a mix (benchbox.traffic)."""

from __future__ import annotations

from collections.abc import Callable

from benchbox.report import fmt
from benchbox.result import LoadPhase


def markdown_lines(
    phases: tuple[LoadPhase, ...], text: Callable[[object], str], row: Callable[[list[str]], str]
) -> list[str]:
    """Each class (and batch size) side by side: share, asked share, requests, P50/P95/P99, errors."""
    out: list[str] = []
    for p in phases:
        t = p.traffic
        if t is None:
            continue
        for title, stats in (("class", t.classes), ("batch size", t.sizes)):
            if not stats:
                continue
            out += [
                row([f"{title} ({text(p.name)})", "share", "asked", "requests", "P50", "P95", "P99", "errors"]),
                row(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
            ]
            for name, s in stats.items():
                lat = s.latency_ms
                percentiles = [fmt.in_unit(getattr(lat, q), "ms") if lat else "n/a" for q in ("p50", "p95", "p99")]
                asked = text(fmt.percent(s.weight)) if s.weight is not None else ""
                out.append(
                    row(
                        [
                            text(name),
                            text(fmt.percent(s.share)),
                            asked,
                            fmt.count(s.requests),
                            *percentiles,
                            text(fmt.percent(s.error_rate)),
                        ]
                    )
                )
            out.append("")
    return out
