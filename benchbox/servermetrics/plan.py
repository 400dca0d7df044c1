"""`--server-metrics`, `--scrape-interval`, `--server-metric`: what to scrape beside the load.

Checked when the plan is built: a bad URL or interval is a usage error before any request is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchbox.errors import UsageError, bad_value
from benchbox.units import parse_duration

# One scrape a second matches the latency series' seconds; faster than this is a load of its own.
MIN_INTERVAL_S = 0.2


@dataclass(frozen=True)
class ServerMetricsPlan:
    """No URL: the target's own /metrics when it serves Prometheus text. `off`: --server-metrics none."""

    urls: tuple[str, ...] = ()
    interval_s: float = 1.0
    extra: tuple[str, ...] = ()  # --server-metric NAME: series read beside the presets'
    off: bool = False


def server_metrics_plan(pick: Callable[..., Any]) -> ServerMetricsPlan:
    urls = _strings(pick("server_metrics", ()))
    off = any(u.lower() == "none" for u in urls)
    if off and len(urls) > 1:
        raise bad_value("--server-metrics", "none", "either 'none' or URLs, not both")
    checked = () if off else tuple(_url(u) for u in urls)
    interval = parse_duration("--scrape-interval", pick("scrape_interval", "1s"))
    if interval < MIN_INTERVAL_S:
        raise bad_value("--scrape-interval", pick("scrape_interval"), f"a duration of at least {MIN_INTERVAL_S:g}s")
    extra = _strings(pick("server_metric", ()))
    for name in extra:
        if not name.replace(":", "_").replace("_", "a").isalnum() or name[0].isdigit():
            raise bad_value("--server-metric", name, "a Prometheus metric name, like vllm:num_requests_waiting")
    return ServerMetricsPlan(urls=checked, interval_s=interval, extra=extra, off=off)


def public(url: str) -> str:
    """The URL as recorded and shown: a user:password in it never reaches result.json or a report."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="<redacted>@" + parts.netloc.rsplit("@", 1)[1]))


def _url(url: str) -> str:
    from benchbox.flags import check_url

    try:
        return check_url(url)
    except UsageError:
        raise bad_value(
            "--server-metrics", url, "an http:// or https:// URL (e.g. http://127.0.0.1:8002/metrics) or none"
        ) from None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, Iterable) else (str(value),)
