"""Where every latency of a load phase lands.

The hot path (`response`, `failure`) does one HDR record (`hdr.record_us`) and a few counter updates; all
bucketing, merging, encoding and percentile reading happens once a second in `flush`, called by the
generator's ticker. Latencies go into the current second's histogram only; `flush` adds it into
the phase histogram exactly (HdrHistogram `add`) so no percentile is ever averaged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from benchbox import hdr
from benchbox.latency import LatencySummary, TimePoint
from benchbox.phase_record import GeneratorHealth, LoadPhase, NameStats, ResponseSample

MAX_ERROR_SAMPLES = 5
MAX_SAMPLES = 20
# A generator at or above this share of one core is the bottleneck, not the target.
CPU_LIMIT_PERCENT = 90.0
# Open loop: falling this far behind the schedule means the generator could not keep it.
LAG_LIMIT_MS = 10.0
# Open loop: this share of requests waiting for a free connection means the offered load was not offered.
WAITED_LIMIT = 0.01


@dataclass
class GeneratorMeter:
    """The generator's own CPU use, sampled at each tick (gevent runs on one core)."""

    last_wall: float = field(default_factory=time.perf_counter)
    last_cpu: float = field(default_factory=time.process_time)
    first_cpu: float = field(default_factory=time.process_time)
    samples: list[float] = field(default_factory=list)

    def sample(self) -> float:
        wall, cpu = time.perf_counter(), time.process_time()
        percent = 100.0 * (cpu - self.last_cpu) / max(wall - self.last_wall, 1e-9)
        self.last_wall, self.last_cpu = wall, cpu
        self.samples.append(percent)
        return percent

    @property
    def cpu_seconds(self) -> float:
        return time.process_time() - self.first_cpu


class Recorder:
    """Counts and histograms of one phase; not thread-safe (one gevent hub drives it)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.sent = 0
        self.responses = 0
        self.errors = 0
        self.failures = 0  # requests that got no HTTP answer at all
        self.unsent = 0
        self.status_counts: dict[int | str, int] = {}  # a gRPC answer counts under its code's name
        self.errors_by_kind: dict[str, int] = {}
        self.error_samples: list[str] = []
        self.last_completion = self.started
        self._second = hdr.new()
        self._second_done = 0
        self._second_errors = 0
        self.phase = hdr.new()
        self.lag = hdr.new()
        self.service = hdr.new()
        self.timeseries: list[TimePoint] = []
        self.meter = GeneratorMeter()
        self.by_name: dict[str, NameRecorder] = {}
        self.samples: list[ResponseSample] = []
        self.llm: Any = None  # a load.llm.LlmRecorder when the target is an LLM (set by users.bind)
        self.traffic: Any = None  # a load.traffic.Traffic: per-class histograms, flushed here too

    def wants_sample(self) -> bool:
        """The first answers and then every 50th, up to MAX_SAMPLES: a sample for the contract
        checks that costs nothing on the other requests."""
        n = self.sent
        return len(self.samples) < MAX_SAMPLES and (n <= 10 or n % 50 == 0)

    def keep_sample(self, body: bytes | None, status: int, content_type: str, answer: bytes) -> None:
        self.samples.append(
            ResponseSample(
                request_body=body.decode("utf-8", "replace") if body else None,
                status=status,
                content_type=content_type,
                body=answer.decode("utf-8", "replace"),
            )
        )

    def named(self, name: str) -> NameRecorder:
        """Per request name (a locustfile's `name=`), as Locust's own stats table has it."""
        rec = self.by_name.get(name)
        if rec is None:
            rec = self.by_name[name] = NameRecorder()
        return rec

    def restart_clock(self) -> None:
        """Call right before the first request: set-up time is not part of the phase."""
        now = time.perf_counter()
        self.started = self.last_completion = now
        self.meter = GeneratorMeter()

    def response(self, latency_s: float, status: int | str, now: float, failed: str | None = None) -> None:
        """An HTTP answer. It is an error when its status is >= 400, or when `failed` says why
        (a locustfile's `catch_response` can fail a 200 or pass a 404). A gRPC answer's status is
        its code's name, an error unless "OK" (counted as grpc_<CODE>)."""
        hdr.record_us(self._second, latency_s * 1e6)
        self.responses += 1
        self._second_done += 1
        self.last_completion = now
        self.status_counts[status] = self.status_counts.get(status, 0) + 1
        bad = status != "OK" if isinstance(status, str) else status >= 400
        if bad or failed:
            self.errors += 1
            self._second_errors += 1
            if isinstance(status, str):
                kind = f"grpc_{status}" if bad else "failed_check"
            else:
                kind = f"http_{status}" if bad else "failed_check"
            self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1
            if failed and len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append(f"{kind}: {failed}"[:300])

    def failure(self, kind: str, detail: str, latency_s: float | None, now: float) -> None:
        """A request that got no HTTP answer. A timeout's elapsed time is a lower bound on its
        latency, so it is recorded: dropping it would hide exactly the stalls we look for."""
        if latency_s is not None:
            hdr.record_us(self._second, latency_s * 1e6)
        self.errors += 1
        self.failures += 1
        self._second_done += 1
        self._second_errors += 1
        self.last_completion = now
        self.errors_by_kind[kind] = self.errors_by_kind.get(kind, 0) + 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail}"[:300])

    def counters(self) -> dict[str, object]:
        """Cumulative counts so far: what a worker's tick carries, so a lost worker still counts."""
        return {
            "sent": self.sent,
            "responses": self.responses,
            "errors": self.errors,
            "status_counts": {str(k): v for k, v in self.status_counts.items()},
            "errors_by_kind": dict(self.errors_by_kind),
        }

    def has_pending(self) -> bool:
        return self._second_done > 0

    def flush(self, now: float) -> TimePoint:
        """Close the current second: add it to the phase, keep it encoded, start a new one.

        Percentiles of the second are read later, in the parent process: reading them here costs
        ~1 ms of a single-threaded generator, which shows up as a stall in its own P99."""
        h = self._second
        count = h.get_total_count()
        point = TimePoint(
            t=len(self.timeseries),
            requests=self._second_done,
            errors=self._second_errors,
            max=h.get_max_value() / 1000.0 if count else None,
            hdr=hdr.encode(h) if count else None,
        )
        if count:
            self.phase.add(h)
            hdr.release(h)
            self._second = hdr.new()  # a new histogram is ~10x cheaper than reset()
        self._second_done = self._second_errors = 0
        self.timeseries.append(point)
        if self.llm is not None:
            self.llm.flush(point.t)
        if self.traffic is not None:
            self.traffic.flush(point.t)
        return point

    def build(
        self,
        spec_name: str,
        mode: Literal["open", "closed"],
        duration_s: float,
        *,
        offered_rps: float | None,
        arrival: str | None,
        users: int | None,
        connections: int | None,
        waited_for_connection: int,
        peak_in_flight: int,
        partial: bool,
    ) -> LoadPhase:
        """The phase's entry in result.json; call after the last flush."""
        elapsed = max(self.last_completion - self.started, 1e-9)
        requests = self.sent + self.unsent
        if self.unsent:
            self.errors += self.unsent
            self.errors_by_kind["unsent"] = self.errors_by_kind.get("unsent", 0) + self.unsent
        lag = hdr.summarize(self.lag) if mode == "open" else None
        generator = judge_generator(
            self.meter, lag, waited_for_connection, requests, connections, self.unsent, peak_in_flight
        )
        return LoadPhase(
            name=spec_name,
            mode=mode,
            duration_s=duration_s,
            elapsed_s=round(elapsed, 4),
            requests=requests,
            responses=self.responses,
            errors=self.errors,
            error_rate=self.errors / requests if requests else 0.0,
            throughput_rps=round(self.responses / elapsed, 3),
            status_counts={str(k): v for k, v in sorted(self.status_counts.items(), key=lambda kv: str(kv[0]))},
            errors_by_kind=dict(sorted(self.errors_by_kind.items())),
            generator=generator,
            offered_rps=offered_rps,
            arrival=arrival,
            users=users,
            connections=connections,
            latency_ms=hdr.summarize(self.phase),
            service_ms=hdr.summarize(self.service) if mode == "open" else None,
            service_hdr=hdr.encode(self.service) if mode == "open" and self.service.get_total_count() else None,
            hdr=hdr.encode(self.phase) if self.phase.get_total_count() else None,
            timeseries=tuple(self.timeseries),
            error_samples=tuple(self.error_samples),
            partial=partial,
            by_name={name: rec.build() for name, rec in sorted(self.by_name.items())},
            samples=tuple(self.samples),
            llm=self.llm.build(requests, elapsed) if self.llm is not None else None,
        )


class NameRecorder:
    """Latencies and counts of one request name, over the whole phase."""

    def __init__(self) -> None:
        self.histogram = hdr.new()
        self.requests = 0
        self.errors = 0

    def record(self, latency_s: float | None, error: bool) -> None:
        self.requests += 1
        self.errors += error
        if latency_s is not None:
            hdr.record_us(self.histogram, latency_s * 1e6)

    def build(self) -> NameStats:
        count = self.histogram.get_total_count()
        return NameStats(
            requests=self.requests,
            errors=self.errors,
            latency_ms=hdr.summarize(self.histogram),
            hdr=hdr.encode(self.histogram) if count else None,
        )


def judge_generator(
    meter: GeneratorMeter,
    lag: LatencySummary | None,
    waited: int,
    requests: int,
    connections: int | None,
    unsent: int,
    peak_in_flight: int,
) -> GeneratorHealth:
    """Say plainly when the generator, not the target, set the limit."""
    samples = meter.samples or [0.0]
    mean = sum(samples) / len(samples)
    reasons: list[str] = []
    if mean >= CPU_LIMIT_PERCENT:
        reasons.append(f"generator CPU at {mean:.0f}% of one core (spread the load with --workers N)")
    # A lone hiccup in a short run is not a generator limit: P99 of a few dozen sends is their max.
    if lag is not None and (lag.p99 if lag.count >= 200 else lag.p50) > LAG_LIMIT_MS:
        reasons.append(
            f"generator fell behind its schedule (lag p99 {lag.p99:.1f} ms; spread the load with --workers N)"
        )
    if requests and waited / requests > WAITED_LIMIT:
        reasons.append(
            f"all {connections} connections were busy for {100 * waited / requests:.1f}% of sends (raise --connections)"
        )
    if unsent:
        reasons.append(
            f"{unsent} scheduled requests were never sent before the phase ended "
            "(raise --connections, or spread the load with --workers N)"
        )
    return GeneratorHealth(
        cpu_seconds=round(meter.cpu_seconds, 4),
        cpu_percent_mean=round(mean, 1),
        cpu_percent_max=round(max(samples), 1),
        schedule_lag_ms=lag,
        waited_for_connection=waited,
        peak_in_flight=peak_in_flight,
        limited=bool(reasons),
        reasons=tuple(reasons),
    )
