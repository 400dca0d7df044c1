"""Run a user's own, unchanged locustfile and record every request it makes.

Locust's `request` event carries each request's name, response time, response and exception;
one listener turns it into HDR recordings, in total and per request name. Locust measures a
locustfile's response times itself (closed loop, from its own send), so those are what we record.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from locust import User
from locust.shape import LoadTestShape
from locust.util.load_locustfile import load_locustfile

from benchbox.error_kinds import classify
from benchbox.load.recorder import Recorder


class LocustfileError(Exception):
    """The locustfile cannot be used: a syntax error, no user class, an import that fails."""


def load_scenario(path: str) -> tuple[list[type[User]], LoadTestShape | None]:
    """The locustfile's user classes and its LoadTestShape, if it has one."""
    if not Path(path).is_file():
        raise LocustfileError(f"no locustfile at {path!r}")
    try:
        users, shapes = load_locustfile(path)
    except SystemExit as exc:  # Locust's loader exits on some errors instead of raising
        raise LocustfileError(f"cannot load locustfile {path!r} (Locust exited with {exc.code})") from None
    except Exception as exc:  # noqa: BLE001 - any import-time error in user code
        raise LocustfileError(f"cannot load locustfile {path!r}: {type(exc).__name__}: {exc}") from None
    if not users:
        raise LocustfileError(f"locustfile {path!r} defines no User class")
    return list(users.values()), (shapes[0] if shapes else None)  # Locust returns instances


def request_listener(recorder: Recorder) -> Any:
    """A `request` event listener that records into `recorder`, in total and per name."""

    def on_request(
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response: Any = None,
        context: Any = None,
        exception: BaseException | None = None,
        **_: Any,
    ) -> None:
        now = time.perf_counter()
        recorder.sent += 1
        latency_s = (response_time or 0.0) / 1000.0
        status = getattr(response, "status_code", None) or None
        label = f"{request_type} {name}"
        if status is not None:
            failed = None
            if exception is not None and status < 400:
                failed = f"{label}: {exception}"
            recorder.response(latency_s, int(status), now, failed=failed)
            recorder.named(label).record(latency_s, exception is not None or status >= 400)
        else:
            kind = classify(exception) if isinstance(exception, BaseException) else "client"
            recorder.failure(kind, f"{label}: {exception}", None, now)
            recorder.named(label).record(None, True)

    return on_request
