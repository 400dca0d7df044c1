"""otlp=URL: OpenTelemetry metrics over HTTP (OTLP/HTTP, binary protobuf, gzip).

The messages are the OpenTelemetry project's own (the `opentelemetry-proto` package:
ExportMetricsServiceRequest); the POST is ours, on the output's background thread, so the one
bounded queue of benchbox.outputs.sink governs it like every other output. (The SDK's
OTLPMetricExporter would bring its own retry loop and log each failed batch, where benchbox says
a lost receiver once; and it takes the SDK's data model for figures already computed here.)

Every value is a Gauge: each is a figure measured over its second (or its phase), not a running
counter, and gauges are what every OTLP receiver stores as sent (Prometheus's own receiver, for
one, refuses delta sums). Names follow OpenTelemetry's style: `benchbox.requests`,
`benchbox.latency` (unit s, attribute `quantile`), `benchbox.phase.*`, `benchbox.run.passed`.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from typing import Any

from benchbox.outputs.points import Record
from benchbox.outputs.sink import Rejected, SendFailed, Sink
from benchbox.version import __version__

TIMEOUT_S = 2.0
_PREFIX = {"second": "benchbox.", "phase": "benchbox.phase.", "run": "benchbox.run."}
_UNITS = {"requests": "{request}", "errors": "{request}", "in_flight": "{request}", "throughput_rps": "{request}/s"}


def metric(kind: str, name: str) -> tuple[str, str, dict[str, str]]:
    """A record's value name -> the OTLP metric name, its unit, and its extra attributes."""
    prefix = _PREFIX[kind]
    if name.startswith("p") and name.endswith("_ms") and name[1:-3].replace(".", "").isdigit():
        return prefix + "latency", "s", {"quantile": str(float(name[1:-3]) / 100)}
    if name.startswith("errors:"):
        return prefix + "errors_by_type", "{request}", {"error.type": name.split(":", 1)[1]}
    if name == "lag_max_ms":
        return prefix + "generator.lag_max", "s", {}
    if name == "cpu_percent":
        return prefix + "generator.cpu", "%", {}
    unit = "s" if name.endswith("_s") else _UNITS.get(name, "1")
    return prefix + name.removesuffix("_s"), unit, {}


def _value(name: str, value: float) -> float:
    return value / 1000.0 if name.endswith("_ms") else value


def encode(batch: Sequence[Record]) -> Any:
    """The batch as one ExportMetricsServiceRequest: one resource (service.name=benchbox), one
    scope, a Gauge per metric name holding every point of the batch."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    request = ExportMetricsServiceRequest()
    resource = request.resource_metrics.add()
    for key, text in (("service.name", "benchbox"), ("service.version", __version__)):
        resource.resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=text)))
    scope = resource.scope_metrics.add()
    scope.scope.name, scope.scope.version = "benchbox", __version__
    gauges: dict[str, Any] = {}
    for r in batch:
        for name, value in r.values.items():
            if value is None or name == "t":
                continue
            metric_name, unit, extra = metric(r.kind, name)
            if metric_name not in gauges:
                m = scope.metrics.add(name=metric_name, unit=unit)
                gauges[metric_name] = m.gauge
            point = gauges[metric_name].data_points.add(
                time_unix_nano=r.ts_ms * 1_000_000, as_double=_value(name, value)
            )
            for key, text in {**r.tags, **extra}.items():
                point.attributes.append(KeyValue(key=key, value=AnyValue(string_value=text)))
    return request


class OtlpSink(Sink):
    kind = "otlp"

    def __init__(self, url: str, shown: str) -> None:
        import httpx

        self.url, self.where = url, shown
        self.client = httpx.Client(timeout=TIMEOUT_S)

    def send(self, batch: Sequence[Record]) -> Rejected | None:
        answer = self.client.post(
            self.url,
            content=gzip.compress(encode(batch).SerializeToString(), compresslevel=1),
            headers={
                "Content-Type": "application/x-protobuf",
                "Content-Encoding": "gzip",
                "User-Agent": f"benchbox/{__version__}",
            },
        )
        if answer.status_code >= 300:
            raise SendFailed(f"answered HTTP {answer.status_code} ({answer.text.strip()[:120]})")
        return _partial(answer)

    def finish(self) -> None:
        self.client.close()


def _partial(answer: Any) -> Rejected | None:
    """OTLP's partial success: a 200 whose body says how many points the receiver refused, and why."""
    if "protobuf" not in answer.headers.get("content-type", "") or not answer.content:
        return None
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

    response = ExportMetricsServiceResponse()
    try:
        response.ParseFromString(answer.content)
    except DecodeError:
        return None
    refused = int(response.partial_success.rejected_data_points)
    if refused <= 0:
        return None
    why = response.partial_success.error_message.strip()[:120] or "no reason given"
    return Rejected(refused, f"refused points ({why})")
