"""Watching the target during every load phase and saturation probe of a run.

`watching(ctx, generator)` wraps the run's GeneratorSession: each `run_phases` (a load run, a
step, a probe) scrapes the target's metrics for its whole length, and learns when each phase's
clock started from its ticks. The generator ticks second k of a phase at `started + (k + 1) s`,
so `arrival - (k + 1) s`, lowest over the phase's ticks, is its start on this process's
perf_counter clock (within the pipe's few ms), whether the phase ran here or on workers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchbox.servermetrics.model import PhaseSeries, SeriesInfo, ServerMetricsSection
from benchbox.servermetrics.plan import ServerMetricsPlan, public
from benchbox.servermetrics.scrape import MAX_PAGE_BYTES, MAX_SCRAPE_S, Scraper, Source, default_url, families
from benchbox.servermetrics.series import p99_trend, phase_series


@dataclass
class Window:
    """One phase as the scraper saw it: its clock's start and the end of its last second."""

    phase: str
    origin: float = float("inf")
    end: float = 0.0


@dataclass
class Watch:
    """The scraper and what it learnt, for one run."""

    plan: ServerMetricsPlan
    target: str
    headers: dict[str, str]
    insecure: bool
    say: Callable[[str], None]
    gate_series: tuple[str, ...] = ()
    scraper: Scraper | None = None
    windows: list[Window] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    infos: list[SeriesInfo] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prepared: bool = False

    def prepare(self) -> None:
        """On the first load run: read each URL once, choose the series, start the thread."""
        from benchbox import bounded
        from benchbox.servermetrics.presets import choose
        from benchbox.servermetrics.scrape import kind_of

        self.prepared = True
        auto = not self.plan.urls
        urls = [default_url(self.target)] if auto else list(self.plan.urls)
        client = bounded.client(
            timeout_s=MAX_SCRAPE_S, insecure=self.insecure, max_bytes=MAX_PAGE_BYTES, trust_env=False
        )
        if auto and self.headers:
            client.headers.update(self.headers)  # the target's own origin: its key is the target's
        sources: list[Source] = []
        wanted = tuple(dict.fromkeys((*self.plan.extra, *self.gate_series)))
        absent_everywhere = set(wanted)
        for url in urls:
            answer = bounded.send(client, "GET", url)
            try:
                if answer.status != 200:
                    raise ValueError(answer.error or f"HTTP {answer.status}")
                page = families(answer.text)
            except Exception as exc:  # noqa: BLE001 - the parser's errors are not one type
                if auto:
                    self.notes.append(f"the target has no Prometheus metrics at {public(url)} ({exc}); none scraped")
                else:
                    self.notes.append(f"{public(url)} did not answer in the Prometheus text format ({exc})")
                continue
            chosen, absent = choose(page, wanted)
            taken = {i.key for i in self.infos}
            chosen = [(p, d) for p, d in chosen if d.key not in taken]
            source = Source(url, tuple(d for _, d in chosen))
            for preset, d in chosen:
                name = next(n for n in d.metric if n in page or n.removesuffix("_total") in page)
                family = page.get(name) or page[name.removesuffix("_total")]
                kind = kind_of(d, family.type, name)
                source.kinds[d.key] = kind
                words = d.words if preset != "--server-metric" else (family.documentation or d.words)
                info = SeriesInfo(d.key, name, words, d.unit or _unit(kind), kind, preset, public(url), d.role)
                self.infos.append(info)
                if preset not in self.presets and preset != "--server-metric":
                    self.presets.append(preset)
            absent_everywhere &= set(absent)
            sources.append(source)
        self.missing = [w for w in wanted if w in absent_everywhere]
        if not any(s.defs for s in sources):
            if sources:
                self.notes.append("no known or requested series on " + ", ".join(public(s.url) for s in sources))
            for note in self.notes:
                self.say(f"server metrics: {note}")
            return
        self.scraper = Scraper([s for s in sources if s.defs], self.plan.interval_s, client)
        shown = ", ".join(i.key for i in self.infos)
        scraped = ", ".join(public(s.url) for s in self.scraper.sources)
        self.say(
            f"server metrics: every {self.plan.interval_s:g}s from {scraped} "
            f"({', '.join(self.presets) or 'requested series'}): {shown}"
        )

    def wrap(self, generator: Any) -> Watched:
        return Watched(generator, self)

    def close(self) -> None:
        if self.scraper is not None:
            self.scraper.close()

    # -- the section ------------------------------------------------------------------------------
    def section(self, load_phases: Any, saturation: Any) -> ServerMetricsSection | None:
        """Every chosen series per phase, the P99 trends, the probe table and the sentence."""
        from benchbox.servermetrics.judge import probe_table, statement

        if not self.prepared or (self.scraper is None and not self.plan.urls and not self.missing):
            return None  # nothing asked for, and the target serves no metrics: nothing to record
        sources = tuple(public(s.url) for s in self.scraper.sources) if self.scraper else ()
        phases: list[PhaseSeries] = []
        if self.scraper is not None:
            for w in self.windows:
                if w.origin == float("inf"):
                    continue
                for source in self.scraper.sources:
                    for d in source.defs:
                        kind = source.kinds[d.key]
                        phases.append(
                            phase_series(w.phase, d.key, kind, d.scale, d.quantile, source.snapshots, w.origin, w.end)
                        )
        p99 = {p.name: p99_trend(p) for p in load_phases}
        probes = probe_table(phases, saturation, self.infos) if saturation is not None else ()
        return ServerMetricsSection(
            sources=sources,
            interval_s=self.plan.interval_s,
            presets=tuple(self.presets),
            series=tuple(self.infos),
            phases=tuple(phases),
            p99_trends=p99,
            probes=probes,
            statement=statement(probes, self.infos, saturation) if probes else None,
            scrapes=sum(len(s.snapshots) for s in self.scraper.sources) if self.scraper else 0,
            failed_scrapes=sum(s.failed for s in self.scraper.sources) if self.scraper else 0,
            missing=tuple(self.missing),
            notes=tuple(self.notes),
        )


def _unit(kind: str) -> str:
    return "/s" if kind == "rate" else ""


class Watched:
    """The run's GeneratorSession, scraped around each of its runs (same methods, same answers)."""

    def __init__(self, inner: Any, watch: Watch) -> None:
        self.inner, self.watch = inner, watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, spec: Any, on_tick: Any = None) -> Any:
        from benchbox.load.spec import RunSpec

        return self.run_phases(RunSpec(phases=(spec,)), on_tick)[0]

    def run_phases(self, run: Any, on_tick: Any = None, on_phase: Any = None, on_note: Any = None) -> Any:
        watch = self.watch
        if not watch.prepared:
            watch.prepare()
        if watch.scraper is None:
            return self.inner.run_phases(run, on_tick, on_phase, on_note)
        windows = {spec.name: Window(spec.name) for spec in run.phases}
        tick_s = {spec.name: spec.tick_s for spec in run.phases}
        watch.windows.extend(windows.values())

        def ticked(message: dict[str, Any]) -> None:
            arrived = time.perf_counter()
            window = windows.get(str(message.get("phase")))
            if window is not None and "t" in message:
                step = tick_s[window.phase]
                window.origin = min(window.origin, arrived - (int(message["t"]) + 1) * step)
                window.end = max(window.end, arrived)
            if on_tick is not None:
                on_tick(message)

        with watch.scraper.active():
            return self.inner.run_phases(run, ticked, on_phase, on_note)


_GATE_SERIES = re.compile(r"^\s*server\.([A-Za-z0-9_:]+)\.")


@contextmanager
def watching(ctx: Any, generator: Any) -> Iterator[None]:
    """For the run's length: ctx.generator scraped around each load run (unless --server-metrics none)."""
    plan: ServerMetricsPlan = ctx.plan.server_metrics
    if plan.off:
        yield
        return
    gate_series = tuple(m[1] for g in ctx.plan.gates if (m := _GATE_SERIES.match(g.metric)))
    headers = {n: v for n, v in ctx.plan.request.headers if n.lower() == "authorization"}
    watch = Watch(plan, ctx.plan.target, headers, ctx.plan.insecure, ctx.say, gate_series)
    ctx.server_metrics = watch
    ctx.generator = watch.wrap(generator)
    try:
        yield
    finally:
        watch.close()
