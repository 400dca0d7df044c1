"""Scraping the target's Prometheus endpoints from the parent process, beside the load.

One daemon thread, active only while a load phase or a saturation probe runs, GETs each URL every
`interval_s` through benchbox's bounded request layer (a short deadline, a body cap): the load
generator is another process, so a slow or dead metrics page costs a missed scrape, never a
request of the load. The page is parsed with prometheus_client's text parser; each scrape keeps
only the raw values of the chosen series (a counter's total, a histogram's buckets), stamped with
`time.perf_counter()`, the clock the phase origins are measured on (benchbox.servermetrics.session).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchbox.servermetrics.presets import SeriesDef, present

# A scrape that takes longer than this is dropped (and counted): the next one is due anyway.
MAX_SCRAPE_S = 2.0
# A metrics page larger than this is not read (vLLM's is ~50 KB; a page of MBs is a misconfiguration).
MAX_PAGE_BYTES = 8 * 1024 * 1024

Raw = float | tuple[float, float] | tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Snapshot:
    """One scrape of one URL: when (perf_counter, mid-request), and each chosen series' raw value."""

    at: float
    values: Mapping[str, Raw]


def default_url(target: str) -> str:
    """The target's own /metrics: same scheme, host and port."""
    parts = urlsplit(target)
    return urlunsplit((parts.scheme, parts.netloc, "/metrics", "", ""))


def families(text: str) -> dict[str, Any]:
    """Family name -> prometheus_client Metric; ValueError for a page that is not Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    if not parsed:
        raise ValueError("no metric on the page")
    return parsed


def extract(found: Mapping[str, Any], defs: Iterable[SeriesDef]) -> dict[str, Raw]:
    """Each series' raw value on one page (absent series are left out)."""
    values: dict[str, Raw] = {}
    for d in defs:
        name = present(found, d.metric)
        if name is None:
            continue
        family = found[name]
        kind = kind_of(d, family.type, name)
        if kind == "per_request":
            per = present(found, (d.per,)) if d.per else None
            if per is None:
                continue
            values[d.key] = (_total(found[name]), _total(found[per]))
        elif kind == "mean":  # a summary: mean over the interval = d(sum) / d(count)
            values[d.key] = (_suffix(family, "_sum"), _suffix(family, "_count"))
        elif kind == "quantile":
            values[d.key] = _buckets(family)
        elif kind == "rate":
            values[d.key] = _total(family)
        else:
            gauge = _combine([s.value for s in family.samples if s.name == family.name], d.combine)
            if gauge is not None:
                values[d.key] = gauge
    return values


def kind_of(d: SeriesDef, family_type: str, name: str) -> str:
    """gauge, rate, quantile, per_request or mean (a summary) for this series."""
    if d.per:
        return "per_request"
    if d.kind != "auto":
        return d.kind
    if family_type == "counter" or (family_type == "unknown" and name.endswith("_total")):
        return "rate"
    if family_type in ("histogram", "gaugehistogram"):
        return "quantile"
    if family_type == "summary":
        return "mean"
    return "gauge"


def _total(family: Any) -> float:
    names = {family.name, family.name + "_total"}
    return float(sum(s.value for s in family.samples if s.name in names))


def _suffix(family: Any, suffix: str) -> float:
    return float(sum(s.value for s in family.samples if s.name == family.name + suffix))


def _buckets(family: Any) -> tuple[tuple[float, float], ...]:
    """Cumulative counts by upper bound, summed over label sets."""
    by_le: dict[float, float] = {}
    for s in family.samples:
        if s.name == family.name + "_bucket" and "le" in s.labels:
            le = float(s.labels["le"])
            by_le[le] = by_le.get(le, 0.0) + float(s.value)
    return tuple(sorted(by_le.items()))


def _combine(values: Sequence[float], how: str) -> float | None:
    if not values:
        return None
    if how == "mean":
        return float(sum(values) / len(values))
    if how == "max":
        return float(max(values))
    return float(sum(values))


@dataclass
class Source:
    """One URL and the series read from it (chosen from its first page)."""

    url: str
    defs: tuple[SeriesDef, ...] = ()
    kinds: dict[str, str] = field(default_factory=dict)
    snapshots: list[Snapshot] = field(default_factory=list)
    failed: int = 0
    last_error: str | None = None


class Scraper:
    """The scraping thread. `active()` wraps each load run; between runs it sleeps."""

    def __init__(self, sources: Sequence[Source], interval_s: float, client: Any) -> None:
        self.sources = list(sources)
        self.interval_s = interval_s
        self.client = client  # a benchbox.bounded client
        self._active = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def active(self) -> Any:
        """Scrape while the block runs: once at once (the baseline a counter's rate needs), then
        every interval, then once more at the end."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="benchbox-server-metrics", daemon=True)
            self._thread.start()
        self._active.set()
        try:
            yield
        finally:
            self._active.clear()
            self.scrape_all()

    def close(self) -> None:
        self._stop.set()
        self._active.set()  # wake it so it sees the stop
        if self._thread is not None:
            self._thread.join(timeout=MAX_SCRAPE_S + 1.0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._active.wait()
            if self._stop.is_set():
                return
            started = time.perf_counter()
            k = 0
            while self._active.is_set() and not self._stop.is_set():
                self.scrape_all()
                k += 1
                delay = started + k * self.interval_s - time.perf_counter()
                if delay < 0:  # a slow page: skip the scrapes it overran rather than bunch them
                    k += int(-delay // self.interval_s) + 1
                    delay = started + k * self.interval_s - time.perf_counter()
                self._stop.wait(max(0.0, delay))

    def scrape_all(self) -> None:
        for source in self.sources:
            self.scrape(source)

    def scrape(self, source: Source) -> None:
        from benchbox import bounded
        from benchbox.errors import Interrupted

        started = time.perf_counter()
        try:
            answer = bounded.send(self.client, "GET", source.url, timeout_s=min(MAX_SCRAPE_S, self.interval_s * 2))
        except Interrupted:  # an interrupt is the main thread's to handle; this thread just stops scraping
            self._stop.set()
            return
        at = (started + time.perf_counter()) / 2.0
        if answer.status != 200:
            source.failed += 1
            source.last_error = answer.error or f"HTTP {answer.status}"
            return
        try:
            page = families(answer.text)
        except ValueError as exc:
            source.failed += 1
            source.last_error = f"not Prometheus text: {exc}"
            return
        source.snapshots.append(Snapshot(at, extract(page, source.defs)))
