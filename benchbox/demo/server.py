"""The demo model server: a FastAPI app with a plain JSON face and a KServe V2 face.

Handlers are lean on purpose (this server is load-tested at thousands of req/s): no
per-request logging, responses serialised once with json.dumps rather than re-validated
against the response model (the models still document the contract in /openapi.json).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from benchbox.demo import schemas as s
from benchbox.demo.gate import PUBLIC_PATHS, PUBLIC_PREFIXES, Gate, TokenBucket
from benchbox.demo.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from benchbox.demo.metrics import DemoMetrics
from benchbox.demo.model import SoftmaxModel, fit_model
from benchbox.demo.options import DemoOptions
from benchbox.version import __version__

__all__ = ["DemoOptions", "create_app", "PREDICT_PATH", "INFER_PATH", "MAX_BODY_BYTES"]

PREDICT_PATH = f"/v1/models/{s.MODEL_NAME}/predict"
INFER_PATH = f"/v2/models/{s.MODEL_NAME}/infer"
MAX_BODY_BYTES = 1 << 20  # the largest valid request is a few KB; refuse anything absurd early
_MAX_REPORTED_ERRORS = 20  # bound the size of a 422 body for a batch full of bad values

log = logging.getLogger("benchbox.demo")


class DemoError(Exception):
    """An expected failure with a status and a message safe to show the client."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class _Runtime:
    """Per-app mutable state: the model once loaded, and the concurrency slots."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.model: SoftmaxModel | None = None
        self.slot: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(options.concurrency) if options.concurrency else contextlib.nullcontext()
        )
        self.service_s = options.service_ms / 1000.0
        self.metrics = DemoMetrics()

    async def load(self) -> None:
        await asyncio.sleep(self.options.startup_delay_s)
        try:
            # In a thread so /health keeps answering while the model fits.
            self.model = await asyncio.to_thread(fit_model, self.options.model_version)
        except Exception:  # /ready stays 503; say why once, on stderr
            log.exception("model %s failed to load", self.options.model_version)

    def ready_model(self) -> SoftmaxModel:
        if self.model is None:
            raise DemoError(503, "model not ready", {"Retry-After": "1"})
        return self.model

    async def run(self, model: SoftmaxModel, batch: np.ndarray) -> np.ndarray:
        # The service time is spent holding the slot, so capacity = concurrency / service time.
        async with self.metrics.served(self.slot):
            if self.service_s:
                await asyncio.sleep(self.service_s)
            return model.predict_proba(batch)


def create_app(options: DemoOptions) -> FastAPI:
    """Build the app. The model fits in the background after options.startup_delay_s;
    until then /ready and /v2/health/ready answer 503 and predictions 503."""
    rt = _Runtime(options)
    version = options.model_version
    version_header = {"X-Model-Version": version}
    # Each V2 model route also answers under /versions/<served version>, as the protocol allows.
    v2_bases = (f"/v2/models/{s.MODEL_NAME}", f"/v2/models/{s.MODEL_NAME}/versions/{version}")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(rt.load())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="benchbox demo model server",
        version=__version__,
        description="A softmax classifier over 4 iris-like features, served for benchbox demos and tests.",
        lifespan=lifespan,
        # Swagger UI pulls assets from a CDN and would need the api key; /openapi.json is enough.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        Gate,
        api_key=options.api_key,
        limiter=TokenBucket(options.rate_limit) if options.rate_limit is not None else None,
        limited_paths=(PREDICT_PATH, *(f"{base}/infer" for base in v2_bases)),
        max_body=MAX_BODY_BYTES,
    )
    _install_error_handlers(app)
    if options.api_key is not None:
        _document_bearer_auth(app)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(rt.metrics.page(), media_type=METRICS_CONTENT_TYPE)

    @app.get("/ready", tags=["health"], responses={503: {"description": "model still loading"}})
    async def ready() -> JSONResponse:
        if rt.model is None:
            return JSONResponse({"status": "loading", "model_version": version}, 503)
        return JSONResponse({"status": "ready", "model_version": version})

    @app.post(
        PREDICT_PATH,
        tags=["predict"],
        response_model=s.PredictResponse,
        responses={503: {"model": s.ErrorResponse}, 429: {"model": s.ErrorResponse}},
    )
    async def predict(body: s.PredictRequest) -> Response:
        model = rt.ready_model()
        proba = await rt.run(model, np.array(body.instances, dtype=np.float64))
        labels = model.labels
        predictions = [
            {"label": labels[c], "class_index": c, "probabilities": p}
            for c, p in zip(proba.argmax(axis=1).tolist(), proba.tolist())
        ]
        payload = {"model": s.MODEL_NAME, "model_version": version, "predictions": predictions}
        return _json(payload, headers=version_header)

    # --- KServe V2 / Open Inference Protocol ------------------------------------------

    @app.get("/v2/health/live", tags=["kserve-v2"])
    async def v2_live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready", tags=["kserve-v2"], responses={503: {"description": "model still loading"}})
    async def v2_ready() -> JSONResponse:
        return JSONResponse({"ready": rt.model is not None}, 200 if rt.model is not None else 503)

    @app.get("/v2", tags=["kserve-v2"])
    async def v2_server_metadata() -> dict[str, Any]:
        return {"name": "benchbox-demo", "version": __version__, "extensions": []}

    async def v2_model_metadata() -> dict[str, Any]:
        return s.model_metadata(version)

    async def v2_model_ready() -> JSONResponse:
        ok = rt.model is not None
        return JSONResponse({"name": s.MODEL_NAME, "ready": ok}, 200 if ok else 503)

    async def v2_infer(body: s.InferRequest) -> Response:
        model = rt.ready_model()
        batch = _infer_batch(body.inputs[0])
        proba = await rt.run(model, batch)
        n = proba.shape[0]
        payload: dict[str, Any] = {"model_name": s.MODEL_NAME, "model_version": version}
        if body.id is not None:
            payload["id"] = body.id
        payload["outputs"] = [
            {
                "name": "probabilities",
                "shape": [n, model.n_classes],
                "datatype": "FP32",
                "data": proba.astype(np.float32).ravel().tolist(),
            },
            {"name": "label", "shape": [n], "datatype": "INT64", "data": proba.argmax(axis=1).tolist()},
        ]
        return _json(payload, headers=version_header)

    from benchbox.demo.chat import chat_router
    from benchbox.demo.completions import completions_router
    from benchbox.demo.embeddings import EMBED_MODEL, embeddings_router

    app.include_router(chat_router(options.first_token_ms, options.token_ms, lambda: rt.slot, others=(EMBED_MODEL,)))
    app.include_router(completions_router(options.first_token_ms, options.token_ms, lambda: rt.slot))
    app.include_router(embeddings_router(options.service_ms, lambda: rt.slot))

    errors: dict[int | str, dict[str, Any]] = {code: {"model": s.ErrorResponse} for code in (400, 429, 503)}
    for base in v2_bases:
        v2 = APIRouter(prefix=base, tags=["kserve-v2"])
        v2.add_api_route("", v2_model_metadata, methods=["GET"], response_model=s.ModelMetadata)
        v2.add_api_route("/ready", v2_model_ready, methods=["GET"])
        v2.add_api_route("/infer", v2_infer, methods=["POST"], response_model=s.InferResponse, responses=errors)
        app.include_router(v2)

    return app


def _infer_batch(inp: s.InferInput) -> np.ndarray:
    """Check a V2 input tensor against the model's signature; return a (B, 4) float64 batch."""
    if inp.name != s.INPUT_NAME:
        raise DemoError(400, f"unknown input {inp.name!r}; this model has one input, {s.INPUT_NAME!r}")
    shape = inp.shape
    if len(shape) != 2 or shape[1] != s.N_FEATURES:
        raise DemoError(400, f"input shape must be [batch, {s.N_FEATURES}], got {shape}")
    if not 1 <= shape[0] <= s.MAX_BATCH:
        raise DemoError(400, f"batch size must be between 1 and {s.MAX_BATCH}, got {shape[0]}")
    data = inp.data
    rows = [v for v in data if isinstance(v, list)]
    if data and len(rows) == len(data):
        if len(rows) != shape[0] or any(len(row) != s.N_FEATURES for row in rows):
            raise DemoError(400, f"nested data does not match shape {shape}")
        flat = [x for row in rows for x in row]
    elif rows:
        raise DemoError(400, "data must be flat or one list per row, not a mix")
    else:
        flat = [v for v in data if not isinstance(v, list)]  # all of them
    if len(flat) != shape[0] * shape[1]:
        raise DemoError(400, f"data has {len(flat)} values but shape {shape} needs {shape[0] * shape[1]}")
    # Round through the declared precision so FP32 inputs are exactly what the client meant.
    dtype = np.float32 if inp.datatype == "FP32" else np.float64
    return np.array(flat, dtype=dtype).reshape(shape[0], shape[1]).astype(np.float64)


def _json(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    # allow_nan=False: never emit the non-JSON tokens NaN/Infinity, whatever happens upstream.
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _is_v2(request: Request) -> bool:
    return request.url.path.startswith("/v2")


def _install_error_handlers(app: FastAPI) -> None:
    """Errors as JSON, never a stack trace; V2 paths use the protocol's {"error": ...} body."""

    @app.exception_handler(DemoError)
    async def _demo_error(_: Request, exc: DemoError) -> Response:
        return _json({"error": exc.message}, exc.status, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's default handler echoes each bad "input"; for a NaN that makes the 422 body
        # unserialisable (a 500) and for a big batch it amplifies the request. Keep type/loc/msg.
        errors = [
            {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")}
            for e in exc.errors()[:_MAX_REPORTED_ERRORS]
        ]
        if _is_v2(request):
            first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
            where = ".".join(str(part) for part in first["loc"]) or "body"
            return _json({"error": f"invalid request at {where}: {first['msg']}"}, 400)
        return _json({"detail": errors}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = "error" if _is_v2(request) else "detail"
        return _json({key: exc.detail}, exc.status_code, exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> Response:
        return _json({"error": "internal server error"}, 500)


def _document_bearer_auth(app: FastAPI) -> None:
    """Declare the bearer scheme in /openapi.json, so contract discovery knows which
    operations need the key (enforcement itself is in Gate)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            bearer = {"type": "http", "scheme": "bearer"}
            schema.setdefault("components", {})["securitySchemes"] = {"bearerAuth": bearer}
            for path, operations in schema.get("paths", {}).items():
                if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
                    continue
                for operation in operations.values():
                    operation["security"] = [{"bearerAuth": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
