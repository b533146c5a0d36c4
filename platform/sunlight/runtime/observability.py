"""What every role exposes: JSON logs, ``/healthz``, ``/readyz``, Prometheus ``/metrics``.

Example::

    >>> from fastapi import FastAPI
    >>> from sunlight.runtime.observability import instrument
    >>> app = FastAPI()
    >>> instrument(app, role="portal", ready=lambda: True)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pythonjsonlogger.json import JsonFormatter

ReadyCheck = Callable[[], Awaitable[bool]]


def configure_logging(level: str = "INFO", role: str = "sunlight") -> None:
    """JSON lines on stderr (journald keeps them), one field per fact."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"role": role},
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def instrument(app: FastAPI, role: str, ready: ReadyCheck,
               registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Add health, readiness and metrics endpoints and per-route request metrics."""
    registry = registry or CollectorRegistry()
    requests = Counter("sunlight_http_requests_total", "HTTP requests",
                       ["role", "method", "route", "status"], registry=registry)
    latency = Histogram("sunlight_http_request_seconds", "HTTP request latency",
                        ["role", "method", "route"], registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5))

    @app.middleware("http")
    async def _metrics(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        latency.labels(role, request.method, path).observe(time.perf_counter() - started)
        requests.labels(role, request.method, path, str(response.status_code)).inc()
        return response

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "role": role}

    @app.get("/readyz", tags=["ops"], summary="Readiness: dependencies answer",
             responses={503: {"description": "not ready"}})
    async def readyz() -> JSONResponse:
        ok = False
        try:
            ok = await ready()
        except Exception:  # readiness reports failure, never raises
            logging.getLogger(__name__).exception("readiness check failed")
        return JSONResponse({"status": "ready" if ok else "not ready", "role": role},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.state.metrics_registry = registry
    return registry
