"""``create_app`` for the gateway: health, metrics, and the loop that moves records.

Example::

    >>> from sunlight.runtime.gateway.app import create_app
    >>> app = create_app(settings)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

import sunlight
from sunlight.runtime.bodylimit import BodyLimit
from sunlight.runtime.db import database_ready, db_timeouts, make_engine, transaction
from sunlight.runtime.gateway.service import (
    Moved,
    Retry,
    parked_counts,
    pending,
    pull_outward,
    push_inward,
)
from sunlight.runtime.observability import instrument
from sunlight.runtime.portal.service import receipts_issued_today
from sunlight.runtime.settings import Settings
from sunlight.workflow.receipts import MAX_DAILY_SEQ

log = logging.getLogger(__name__)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter("sunlight_gateway_records_total", "Records carried",
                               ["direction", "type", "outcome"], registry=registry)
        self.errors = Counter("sunlight_gateway_errors_total", "Passes that failed",
                              ["direction"], registry=registry)
        self.pending = Gauge("sunlight_gateway_outbox_pending",
                             "Portal outbox records not yet delivered", registry=registry)
        # The portal's day of receipt numbers (alert PortalReceiptsRunningOut): read here, as
        # the gateway is scraped and the portal (external zone) is not.
        self.receipts = Gauge("sunlight_gateway_receipts_issued_today",
                              "Receipt numbers the portal issued today", registry=registry)
        Gauge("sunlight_gateway_receipt_space", "Receipt numbers a portal can issue a day",
              registry=registry).set(MAX_DAILY_SEQ)
        self.parked = Gauge("sunlight_gateway_parked",
                            "Records the gateway parked after failing to carry them, not yet "
                            "replayed", ["direction"], registry=registry)

    def count(self, moved: Moved) -> None:
        for (direction, record_type, outcome), n in moved.counts.items():
            self.records.labels(direction, record_type, outcome).inc(n)


def one_pass(portal: Engine, core: httpx.Client, settings: Settings,
             metrics: GatewayMetrics) -> int:
    """Carry one batch each way; a failing side does not stop the other."""
    total = 0
    retry = Retry(base_s=settings.gateway_retry_base_s, max_s=settings.gateway_retry_max_s,
                  park_after=settings.gateway_park_after)
    steps: tuple[tuple[str, Callable[[], Moved]], ...] = (
        ("in", lambda: push_inward(portal, core, settings.gateway_batch, retry)),
        ("out", lambda: pull_outward(portal, core, settings.gateway_batch,
                                     settings.material_max_bytes)))
    for direction, step in steps:
        try:
            moved = step()
        except Exception:
            metrics.errors.labels(direction).inc()
            log.exception("gateway pass failed", extra={"direction": direction})
            continue
        metrics.count(moved)
        total += moved.total
    with contextlib.suppress(Exception):
        metrics.pending.set(pending(portal))
        for direction, count in parked_counts(portal).items():
            metrics.parked.labels(direction).set(count)
    with contextlib.suppress(Exception), transaction(portal) as session:
        metrics.receipts.set(receipts_issued_today(session))
    return total


async def _loop(portal: Engine, core: httpx.Client, settings: Settings,
                metrics: GatewayMetrics) -> None:
    while True:
        moved = await run_in_threadpool(one_pass, portal, core, settings, metrics)
        if not moved:  # idle: wait; busy: go again at once to catch up
            await asyncio.sleep(settings.gateway_poll_s)


def core_client(settings: Settings) -> httpx.Client:
    assert settings.core_url and settings.exchange_token
    return httpx.Client(
        base_url=settings.core_url, timeout=httpx.Timeout(30.0, connect=5.0),
        verify=settings.core_verify(),  # https: core's certificate, from the deployment CA
        headers={"Authorization": f"Bearer {settings.exchange_token.get_secret_value()}"})


def create_app(settings: Settings) -> FastAPI:
    assert settings.portal_database_url is not None
    portal = make_engine(settings.portal_database_url.get_secret_value(), pool_size=4,
                         timeouts=db_timeouts(settings))
    core = core_client(settings)
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_loop(portal, core, settings, metrics))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        core.close()
        portal.dispose()

    app = FastAPI(title=f"Sunlight gateway {settings.site_code}", version=sunlight.__version__,
                  summary="前置机: the controlled exchange point between the zones",
                  lifespan=lifespan)

    async def ready() -> bool:
        if not await run_in_threadpool(database_ready, portal):
            return False
        response = await run_in_threadpool(core.get, "/readyz")
        return response.status_code == 200

    instrument(app, "gateway", ready, registry=registry)
    app.add_middleware(BodyLimit, limit=settings.body_limit())
    return app
