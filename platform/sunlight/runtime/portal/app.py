"""``create_app`` for the portal role.

Besides the API and the citizens' pages (:mod:`.pages`), each portal process purges drafts
never submitted once they are older than ``Settings.draft_retention_days`` (every
``draft_purge_interval_s``; several processes may purge at once: rows another holds are
skipped), and counts submissions refused because the day's receipt numbers ran out
(``sunlight_portal_receipts_exhausted_total``).

Example::

    >>> from sunlight.runtime.portal.app import create_app
    >>> app = create_app(settings)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import Counter
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

import sunlight
from sunlight.runtime.bodylimit import BodyLimit
from sunlight.runtime.db import database_ready, db_timeouts, make_engine, transaction, utcnow
from sunlight.runtime.errors import install_error_handlers
from sunlight.runtime.observability import instrument
from sunlight.runtime.portal import pages
from sunlight.runtime.portal.api import router
from sunlight.runtime.portal.service import purge_drafts
from sunlight.runtime.settings import Settings
from sunlight.workflow.receipts import MAX_DAILY_SEQ

log = logging.getLogger(__name__)


def purge_once(engine: Engine, retention: timedelta) -> int:
    """Delete the drafts past ``retention`` in one transaction; returns how many."""
    with transaction(engine) as session:
        purged = purge_drafts(session, utcnow(), retention)
    if purged:
        log.info("purged drafts never submitted", extra={"drafts": purged})
    return purged


async def _purge_loop(engine: Engine, settings: Settings, purged: Counter) -> None:
    retention = timedelta(days=settings.draft_retention_days)
    while True:
        try:
            purged.inc(await run_in_threadpool(purge_once, engine, retention))
        except Exception:  # the database away for a while: try again next time
            log.exception("draft purge failed")
        await asyncio.sleep(settings.draft_purge_interval_s)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url(), timeouts=db_timeouts(settings))
    purged: Counter | None = None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        assert purged is not None
        task = asyncio.create_task(_purge_loop(engine, settings, purged))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        engine.dispose()

    app = FastAPI(title=f"Sunlight portal {settings.site_code}", version=sunlight.__version__,
                  summary="网上政务大厅: catalogue, guides, applications, tracking",
                  lifespan=lifespan)
    app.state.settings, app.state.engine = settings, engine
    # The day's receipt space (workflow.receipts: six digits); smaller only in tests.
    app.state.receipt_max_seq = MAX_DAILY_SEQ
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.body_limit())

    async def ready() -> bool:
        return await run_in_threadpool(database_ready, engine)

    registry = instrument(app, "portal", ready)
    app.state.receipts_exhausted = Counter(
        "sunlight_portal_receipts_exhausted_total",
        "Submissions refused (503) because the day's receipt numbers were used up",
        registry=registry)
    purged = Counter("sunlight_portal_drafts_purged_total",
                     "Drafts never submitted, purged after the retention", registry=registry)
    app.include_router(router)
    # The citizens' pages (网上办事大厅), on the same service layer as the API, at the
    # root: an unknown URL or a method a URL does not take answers a browser with the
    # Chinese 404/405 page, and the API (under /api) with JSON naming the path.
    pages.create_site(settings.site_code).install(app, pages.router, api_prefixes=("/api",))
    return app
