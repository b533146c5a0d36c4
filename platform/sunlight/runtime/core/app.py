"""``create_app`` for the core role, with its periodic overdue job.

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
from prometheus_client import Counter
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

import sunlight
from sunlight.runtime.core import cases, cross_tier
from sunlight.runtime.core.api_admin import router as admin_router
from sunlight.runtime.core.api_exchange import router as exchange_router
from sunlight.runtime.core.api_staff import router as staff_router
from sunlight.runtime.core.api_supervision import router as supervision_router
from sunlight.runtime.db import database_ready, make_engine, transaction
from sunlight.runtime.errors import install_error_handlers
from sunlight.runtime.exchange.handlers import Handlers
from sunlight.runtime.exchange.service import ExchangeService
from sunlight.runtime.observability import instrument
from sunlight.runtime.settings import Settings

log = logging.getLogger(__name__)


def mark_overdue_once(engine: Engine, site: str) -> int:
    with transaction(engine) as session:
        return cases.mark_overdue(session, site)


async def _overdue_loop(engine: Engine, settings: Settings, marked: Counter) -> None:
    while True:
        try:
            count = await run_in_threadpool(mark_overdue_once, engine, settings.site_code)
            if count:
                marked.inc(count)
                log.info("marked cases overdue", extra={"count": count})
        except Exception:  # the job must outlive a database restart
            log.exception("overdue job failed; retrying next interval")
        await asyncio.sleep(settings.overdue_interval_s)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_overdue_loop(engine, settings, app.state.overdue_marked))
        if app.state.exchange is not None:
            app.state.exchange.start()
        yield
        if app.state.exchange is not None:
            await app.state.exchange.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        engine.dispose()

    app = FastAPI(title=f"Sunlight core {settings.site_code}", version=sunlight.__version__,
                  summary="行政权力运行平台: cases, catalogue administration, audit, exchange",
                  lifespan=lifespan)
    app.state.settings, app.state.engine = settings, engine
    install_error_handlers(app)

    async def ready() -> bool:
        return await run_in_threadpool(database_ready, engine)

    registry = instrument(app, "core", ready)
    app.state.overdue_marked = Counter("sunlight_cases_marked_overdue_total",
                                       "Cases the overdue job flagged", registry=registry)
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
    return app
