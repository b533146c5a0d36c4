"""``create_app`` for the core role, with its periodic tick (:mod:`.periodic`: overdue
marks, e-supervision lights, 督办 escalation, the open-case gauge) on core's clock, and, with
the exchange, the audit chain's signed anchors (:mod:`.audit_anchor`).

Example::

    >>> from sunlight.runtime.core.app import create_app
    >>> app = create_app(settings)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

import sunlight
from sunlight.runtime.bodylimit import BodyLimit
from sunlight.runtime.clock import Clock
from sunlight.runtime.core import audit_anchor, cross_tier, pages_site, periodic
from sunlight.runtime.core.api_admin import router as admin_router
from sunlight.runtime.core.api_enforcement import router as enforcement_router
from sunlight.runtime.core.api_exchange import router as exchange_router
from sunlight.runtime.core.api_legal_supervision import router as legal_supervision_router
from sunlight.runtime.core.api_lights import router as lights_router
from sunlight.runtime.core.api_staff import router as staff_router
from sunlight.runtime.core.api_supervision import router as supervision_router
from sunlight.runtime.db import database_ready, db_timeouts, make_engine
from sunlight.runtime.errors import install_error_handlers
from sunlight.runtime.exchange.handlers import Handlers
from sunlight.runtime.exchange.service import ExchangeService
from sunlight.runtime.observability import instrument
from sunlight.runtime.settings import Settings

log = logging.getLogger(__name__)


async def _tick_loop(engine: Engine, settings: Settings, clock: Clock,
                     metrics: periodic.TickMetrics) -> None:
    while True:
        try:
            report = await run_in_threadpool(periodic.run_tick, engine, settings.site_code,
                                             clock, metrics)
            if report.marked or report.lights.changed or report.escalated:
                log.info("tick", extra={"marked_overdue": report.marked,
                                        "evaluated": report.lights.evaluated,
                                        "light_changes": report.lights.changed,
                                        "escalated": report.escalated})
        except Exception:  # the job must outlive a database restart
            log.exception("periodic tick failed; retrying next interval")
        await asyncio.sleep(settings.overdue_interval_s)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url(), timeouts=db_timeouts(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_tick_loop(engine, settings, app.state.clock,
                                                app.state.tick_metrics))]
        if app.state.exchange is not None:
            app.state.exchange.start()
            # The audit chain's head, signed with the exchange key, kept and sent up.
            tasks.append(asyncio.create_task(audit_anchor.anchor_loop(
                engine, settings.site_code, app.state.exchange.key)))
        yield
        if app.state.exchange is not None:
            await app.state.exchange.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        engine.dispose()

    app = FastAPI(title=f"Sunlight core {settings.site_code}", version=sunlight.__version__,
                  summary="行政权力运行平台: cases, catalogue administration, audit, exchange",
                  lifespan=lifespan)
    app.state.settings, app.state.engine = settings, engine
    app.state.clock = Clock(settings.clock_offset_file)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.body_limit())

    async def ready() -> bool:
        return await run_in_threadpool(database_ready, engine)

    registry = instrument(app, "core", ready)
    app.state.tick_metrics = periodic.TickMetrics.create(registry, app.state.clock)
    # The cross-tier exchange runs only with a broker configured; keys (and core's handlers
    # for every event type) are checked now, so a misconfigured site fails at start rather
    # than at its first event.
    app.state.exchange = (ExchangeService(settings, engine, registry,
                                          cross_tier.register(Handlers()))
                          if settings.exchange_enabled else None)
    app.state.keyring = app.state.exchange.keyring if app.state.exchange else None
    app.include_router(staff_router)
    app.include_router(admin_router)
    app.include_router(exchange_router)
    app.include_router(supervision_router)
    app.include_router(lights_router)
    app.include_router(enforcement_router)
    app.include_router(legal_supervision_router)
    pages_site.install(app)  # the staff pages, /staff/ (docs/pages.md)
    return app
