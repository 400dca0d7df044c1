"""Presets: the few series of a known server that explain why it stopped keeping up.

A preset applies when one of its `detect` metrics appears on the scraped page; it then picks its
series that are there. Names were checked against each project's documentation and exporters:
vLLM (`vllm:` gauges and counters; `kv_cache_usage_perc` in V1, `gpu_cache_usage_perc` in V0),
NVIDIA Triton (`nv_inference_*`, cumulative microsecond counters), MLServer (its queue
histograms and REST middleware), KServe's Python model server (`request_predict_seconds`),
TorchServe's Prometheus mode (`ts_*`), prometheus_client's process collector (any Python or
uvicorn process), and the DCGM exporter (`DCGM_FI_DEV_*`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeriesDef:
    """How to read one series. `metric` lists alternative names (the first present wins);
    `kind` auto: a gauge stays a gauge, a counter becomes a rate, a histogram a quantile;
    `per` makes it a per-request average: d(metric) / d(per)."""

    key: str
    metric: tuple[str, ...]
    words: str
    unit: str
    role: str = ""
    kind: str = "auto"
    scale: float = 1.0
    combine: str = "sum"  # across label sets: sum (counts), mean (utilisations), max
    quantile: float = 0.99
    per: str | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    words: str
    detect: tuple[str, ...]
    series: tuple[SeriesDef, ...]


def _s(key: str, metric: str | tuple[str, ...], words: str, unit: str, role: str = "", **kw: object) -> SeriesDef:
    names = (metric,) if isinstance(metric, str) else metric
    return SeriesDef(key, names, words, unit, role, **kw)  # type: ignore[arg-type]


PRESETS: tuple[Preset, ...] = (
    Preset(
        "vllm",
        "vLLM",
        ("vllm:num_requests_running", "vllm:num_requests_waiting"),
        (
            _s("running", "vllm:num_requests_running", "requests running on the GPU", "requests", "running"),
            _s("waiting", "vllm:num_requests_waiting", "requests waiting to be scheduled", "requests", "queue"),
            _s(
                "kv_cache",
                ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
                "KV-cache use",
                "ratio",
                "cache",
                combine="mean",
            ),
            _s("preemptions", "vllm:num_preemptions_total", "preemptions per second", "/s", "preemptions"),
            _s("gen_tokens", "vllm:generation_tokens_total", "generated tokens per second", "tokens/s", "throughput"),
        ),
    ),
    Preset(
        "triton",
        "NVIDIA Triton",
        ("nv_inference_request_success", "nv_inference_pending_request_count"),
        (
            _s("pending", "nv_inference_pending_request_count", "requests pending in Triton", "requests", "queue"),
            _s(
                "queue_ms",
                "nv_inference_queue_duration_us",
                "queue time per request",
                "ms",
                "queue_time",
                per="nv_inference_request_success",
                scale=0.001,
            ),
            _s(
                "compute_ms",
                "nv_inference_compute_infer_duration_us",
                "compute time per request",
                "ms",
                "compute",
                per="nv_inference_request_success",
                scale=0.001,
            ),
            _s("gpu_util", "nv_gpu_utilization", "GPU utilisation", "ratio", "gpu", combine="mean"),
        ),
    ),
    Preset(
        "mlserver",
        "MLServer",
        ("model_infer_request_success", "parallel_request_queue", "batch_request_queue"),
        (
            _s(
                "in_progress",
                "rest_server_requests_in_progress",
                "REST requests in progress",
                "requests",
                "running",
            ),
            _s("parallel_queue", "parallel_request_queue", "inference-worker queue size (P99)", "requests", "queue"),
            _s("batch_queue", "batch_request_queue", "adaptive-batching queue size (P99)", "requests", "queue"),
            _s(
                "rest_p99_ms",
                ("rest_server_request_duration_seconds", "rest_server_requests_duration_seconds"),  # 1.7 / docs
                "REST request time (P99)",
                "ms",
                scale=1000.0,
            ),
            _s("infer_ms", "model_infer_request_duration", "inference time per request", "ms", scale=1000.0),
            _s("infer_rate", "model_infer_request_success", "successful inferences per second", "req/s", "throughput"),
        ),
    ),
    Preset(
        "kserve",
        "KServe model server",
        ("request_predict_seconds",),
        (
            _s("predict_p99_ms", "request_predict_seconds", "predict time (P99)", "ms", "compute", scale=1000.0),
            _s("preprocess_p99_ms", "request_preprocess_seconds", "preprocess time (P99)", "ms", scale=1000.0),
        ),
    ),
    Preset(
        "torchserve",
        "TorchServe",
        ("ts_inference_requests_total",),
        (
            _s("ts_requests", "ts_inference_requests_total", "inference requests per second", "req/s", "throughput"),
            _s(
                "ts_queue_ms",
                "ts_queue_latency_microseconds",
                "queue time per request",
                "ms",
                "queue_time",
                per="ts_inference_requests_total",
                scale=0.001,
            ),
            _s(
                "ts_latency_ms",
                "ts_inference_latency_microseconds",
                "inference time per request",
                "ms",
                "compute",
                per="ts_inference_requests_total",
                scale=0.001,
            ),
        ),
    ),
    Preset(
        "demo",
        "benchbox demo",
        ("benchbox_demo_requests_running",),
        (
            _s("running", "benchbox_demo_requests_running", "requests being served", "requests", "running"),
            _s("waiting", "benchbox_demo_requests_waiting", "requests waiting for a slot", "requests", "queue"),
            _s(
                "server_p99_ms",
                "benchbox_demo_request_duration_seconds",
                "server-side request time (P99)",
                "ms",
                scale=1000.0,
            ),
        ),
    ),
    Preset(
        "process",
        "the server process",
        ("process_resident_memory_bytes", "process_cpu_seconds_total"),
        (
            _s("cpu", "process_cpu_seconds_total", "process CPU", "cores", "cpu"),
            _s("rss", "process_resident_memory_bytes", "resident memory", "bytes", "memory"),
            _s("fds", "process_open_fds", "open file descriptors", "fds", "fds"),
        ),
    ),
    Preset(
        "dcgm",
        "NVIDIA DCGM exporter",
        ("DCGM_FI_DEV_GPU_UTIL",),
        (
            _s("gpu_util", "DCGM_FI_DEV_GPU_UTIL", "GPU utilisation", "ratio", "gpu", combine="mean", scale=0.01),
            _s("gpu_memory", "DCGM_FI_DEV_FB_USED", "GPU memory used", "bytes", "gpu_memory", scale=1024.0 * 1024.0),
            _s("gpu_power", "DCGM_FI_DEV_POWER_USAGE", "GPU power", "W", "power"),
        ),
    ),
)


def base_names(name: str) -> tuple[str, ...]:
    """The family names a metric may be listed under: prometheus_client's parser drops a
    counter's `_total` from the family name."""
    return (name, name[: -len("_total")]) if name.endswith("_total") else (name, name + "_total")


def present(names: Collection[str], metric: Iterable[str]) -> str | None:
    """The first of `metric`'s alternatives that the page has, as the page names it."""
    for candidate in metric:
        for name in base_names(candidate):
            if name in names:
                return name
    return None


def choose(names: Collection[str], extra: Sequence[str] = ()) -> tuple[list[tuple[str, SeriesDef]], list[str]]:
    """(preset name, series) for every preset whose detect metric the page has, keeping the
    series that are there; then one plain series per `extra` name. Keys stay unique: a second
    preset's `waiting` becomes `<preset>_waiting`. Returns the chosen and the extra names absent."""
    chosen: list[tuple[str, SeriesDef]] = []
    keys: set[str] = set()
    for preset in PRESETS:
        if present(names, preset.detect) is None:
            continue
        for series in preset.series:
            if present(names, series.metric) is None or (series.per and present(names, (series.per,)) is None):
                continue
            key = series.key if series.key not in keys else f"{preset.name}_{series.key}"
            keys.add(key)
            chosen.append((preset.name, SeriesDef(**{**series.__dict__, "key": key})))
    missing = []
    for name in extra:
        if name in keys or any(name in d.metric for _, d in chosen):
            continue
        if present(names, (name,)) is None:
            missing.append(name)
            continue
        keys.add(name)
        chosen.append(("--server-metric", SeriesDef(name, (name,), name, "")))
    return chosen, missing
