"""Dependencies shared by the roles' routers: one session (one transaction) per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sunlight.runtime.clock import Clock
from sunlight.runtime.db import transaction
from sunlight.runtime.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# "function" scope: the transaction commits before the response is sent, so a client that
# got 201 can read its own write at once (the default would commit after sending).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_clock(request: Request) -> Clock:
    """The role's clock (``app.state.clock``; core's may be shifted in a drill)."""
    clock = getattr(request.app.state, "clock", None)
    return clock if isinstance(clock, Clock) else Clock()


ClockDep = Annotated[Clock, Depends(get_clock)]
