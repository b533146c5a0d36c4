"""``create_app`` for the portal role.

Example::

    >>> from sunlight.runtime.portal.app import create_app
    >>> app = create_app(settings)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import sunlight
from sunlight.runtime.bodylimit import BodyLimit
from sunlight.runtime.db import database_ready, make_engine
from sunlight.runtime.errors import install_error_handlers
from sunlight.runtime.observability import instrument
from sunlight.runtime.portal.api import router
from sunlight.runtime.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.db_url())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title=f"Sunlight portal {settings.site_code}", version=sunlight.__version__,
                  summary="网上政务大厅: catalogue, guides, applications, tracking",
                  lifespan=lifespan)
    app.state.settings, app.state.engine = settings, engine
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limit=settings.body_limit())

    async def ready() -> bool:
        return await run_in_threadpool(database_ready, engine)

    instrument(app, "portal", ready)
    app.include_router(router)
    return app
