"""prometheus-rw=URL: Prometheus remote write (protobuf WriteRequest, snappy block compression).

The messages are the official prompb protos (github.com/prometheus/prometheus, prompb/types.proto
and remote.proto, gogoproto options stripped) compiled with grpcio-tools into benchbox/outputs/prompb;
protobuf encodes them and cramjam's snappy compresses. Every value is a gauge named
benchbox_<what>; latencies are in seconds, as Prometheus convention has it.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchbox.outputs.points import Record
from benchbox.outputs.sink import SendFailed, Sink

TIMEOUT_S = 2.0
_PREFIX = {"second": "benchbox_", "phase": "benchbox_phase_", "run": "benchbox_run_"}


def metric(kind: str, name: str) -> tuple[str, dict[str, str]]:
    """A record's value name -> the Prometheus metric name and its extra labels."""
    prefix = _PREFIX[kind]
    if name.startswith("p") and name.endswith("_ms") and name[1:-3].replace(".", "").isdigit():
        return prefix + "latency_seconds", {"quantile": str(float(name[1:-3]) / 100)}
    if name.startswith("errors:"):
        return prefix + "errors_by_kind", {"kind": name.split(":", 1)[1]}
    if name == "lag_max_ms":
        return prefix + "generator_lag_max_seconds", {}
    if name == "cpu_percent":
        return prefix + "generator_cpu_percent", {}
    return prefix + name, {}


def _value(name: str, value: float) -> float:
    return value / 1000.0 if name.endswith("_ms") else value


class RemoteWriteSink(Sink):
    kind = "prometheus-rw"

    def __init__(self, url: str, shown: str) -> None:
        import httpx

        self.url, self.where = url, shown
        self.client = httpx.Client(timeout=TIMEOUT_S)

    def encode(self, batch: Sequence[Record]) -> bytes:
        import cramjam

        from benchbox.outputs.prompb import remote_pb2

        request = remote_pb2.WriteRequest()
        for r in batch:
            for name, value in r.values.items():
                if value is None or name == "t":
                    continue
                metric_name, extra = metric(r.kind, name)
                series = request.timeseries.add()
                labels = {"__name__": metric_name, **r.tags, **extra}
                for key in sorted(labels):  # remote write wants labels sorted by name
                    series.labels.add(name=key, value=labels[key])
                series.samples.add(value=_value(name, value), timestamp=r.ts_ms)
        return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))

    def send(self, batch: Sequence[Record]) -> None:
        answer = self.client.post(
            self.url,
            content=self.encode(batch),
            headers={
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0",
                "User-Agent": "benchbox",
            },
        )
        if answer.status_code >= 300:
            raise SendFailed(f"answered HTTP {answer.status_code} ({answer.text.strip()[:120]})")

    def finish(self) -> None:
        self.client.close()
