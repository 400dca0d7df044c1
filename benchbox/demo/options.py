"""The demo server's knobs, as one validated value.

Kept free of fastapi/numpy imports so the CLI and the launcher can build and check options
without loading the server stack in the parent process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MODEL_VERSIONS: tuple[str, ...] = ("v1", "v2")
ENV_API_KEY = "BENCHBOX_DEMO_API_KEY"

# Generous ceilings: they only exist so a typo (service_ms=1e9) fails fast instead of
# producing a server that looks hung.
_MAX_SERVICE_MS = 60_000.0
_MAX_STARTUP_DELAY_S = 3_600.0


@dataclass(frozen=True)
class DemoOptions:
    """How the demo server behaves. Invalid values raise ValueError with a one-line message.

    api_key is excluded from repr so an options object can be logged or put in a report
    without leaking the key.
    """

    api_key: str | None = field(default=None, repr=False)
    rate_limit: float | None = None  # requests/s over predict+infer; burst = max(1, rate)
    service_ms: float = 0.0  # extra time per prediction, spent holding a concurrency slot
    concurrency: int | None = None  # predictions served at once; the rest queue
    model_version: str = "v1"
    startup_delay_s: float = 0.0  # before the model starts loading; /ready is 503 until loaded
    # The OpenAI-compatible chat face (benchbox.demo.chat): known delays a benchmark can be checked against.
    first_token_ms: float = 50.0
    token_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.api_key is not None:
            # The key travels in an HTTP header: it must be printable ASCII with no spaces.
            if not self.api_key or not all(33 <= ord(c) <= 126 for c in self.api_key):
                raise ValueError("api key must be non-empty printable ASCII without spaces")
        rate = self.rate_limit
        if rate is not None and not (_finite_number(rate) and rate > 0):
            raise ValueError(f"rate limit must be a finite number > 0 requests/s, got {rate!r}")
        if not (_finite_number(self.service_ms) and 0 <= self.service_ms <= _MAX_SERVICE_MS):
            raise ValueError(f"service time must be between 0 and {_MAX_SERVICE_MS:g} ms, got {self.service_ms!r}")
        n = self.concurrency
        if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            raise ValueError(f"concurrency must be an integer >= 1, got {self.concurrency!r}")
        if self.model_version not in MODEL_VERSIONS:
            raise ValueError(f"model version must be one of {', '.join(MODEL_VERSIONS)}, got {self.model_version!r}")
        delay = self.startup_delay_s
        if not (_finite_number(delay) and 0 <= delay <= _MAX_STARTUP_DELAY_S):
            raise ValueError(f"startup delay must be between 0 and {_MAX_STARTUP_DELAY_S:g} s, got {delay!r}")

        for name, value in (("first-token delay", self.first_token_ms), ("token delay", self.token_ms)):
            if not (_finite_number(value) and 0 <= value <= _MAX_SERVICE_MS):
                raise ValueError(f"{name} must be between 0 and {_MAX_SERVICE_MS:g} ms, got {value!r}")

    def to_argv(self) -> list[str]:
        """Command-line flags for `python -m benchbox.demo`, without the api key (which
        must travel through the environment: argv is visible to every local user)."""
        argv: list[str] = ["--model-version", self.model_version]
        if self.rate_limit is not None:
            argv += ["--rate-limit", repr(float(self.rate_limit))]
        if self.service_ms:
            argv += ["--service-ms", repr(float(self.service_ms))]
        if self.concurrency is not None:
            argv += ["--concurrency", str(self.concurrency)]
        if self.startup_delay_s:
            argv += ["--startup-delay", repr(float(self.startup_delay_s))]
        if self.first_token_ms != 50.0:
            argv += ["--first-token-ms", repr(float(self.first_token_ms))]
        if self.token_ms != 10.0:
            argv += ["--token-ms", repr(float(self.token_ms))]
        return argv


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
