"""``sunlight gateway parked list|replay ID``: the records the gateway parked, on the gateway
host (``SUNLIGHT_PORTAL_DATABASE_URL``, the portal database the gateway works on).

An inward outbox row the gateway could not deliver after its last attempt, or an outward
record of core's feed that failed the whitelist, is parked with the reason
(:mod:`sunlight.runtime.gateway.service`). ``list`` shows them oldest first; ``replay ID``
queues an inward row again (attempts reset) or validates and applies an outward record once
(exit 1 naming the reason when it still fails; exit 2 when no parked record has that id).

Example::

    $ sunlight gateway parked list --json
    $ sunlight gateway parked replay 0b6f0c8e-6d0e-4c1e-9d59-1f2a3b4c5d6e
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict
from typing import Any

import typer

from sunlight.cli.common import JSON_OPTION, PANEL_ON_HOST, ExitCode, console, fail, print_json

gateway_app = typer.Typer(help="The zone gateway (前置机): its parked records.",
                          no_args_is_help=True)
parked_app = typer.Typer(help="Records the gateway parked: list, replay.", no_args_is_help=True)
gateway_app.add_typer(parked_app, name="parked")


def portal_engine() -> Any:
    """An engine on the portal database, or exit 3 saying it is unset."""
    from sunlight.runtime.db import make_engine

    url = (os.environ.get("SUNLIGHT_PORTAL_DATABASE_URL")
           or os.environ.get("SUNLIGHT_DATABASE_URL"))
    if not url:
        raise fail("SUNLIGHT_PORTAL_DATABASE_URL (the portal database) is required",
                   ExitCode.ENVIRONMENT)
    return make_engine(url, pool_size=1)


@parked_app.command("list")
def parked_list(as_json: bool = JSON_OPTION) -> None:
    """Parked records not yet replayed, oldest first.

    --json: {"parked": [{"direction", "id", "record_type", "attempts", "parked_at",
    "reason"}]}.
    """
    from sunlight.runtime.gateway.service import parked

    records = parked(portal_engine())
    if as_json:
        print_json({"parked": [asdict(p) for p in records]})
        return
    for p in records:
        console.print(f"{p.id}  {p.direction}  {p.record_type}  attempts {p.attempts}  "
                      f"parked {p.parked_at:%Y-%m-%d %H:%M:%S}  {p.reason}",
                      markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(records)} parked record(s)")


@parked_app.command("replay")
def parked_replay(record_id: str = typer.Argument(..., help="The id `parked list` shows.")
                  ) -> None:
    """Replay one parked record: inward queued again, outward validated and applied."""
    from sunlight.runtime.gateway.service import NotParked, replay
    from sunlight.runtime.records import RecordRejected

    try:
        key = uuid.UUID(record_id)
    except ValueError as exc:
        raise fail(f"{record_id!r} is not a record id (a UUID)", ExitCode.USAGE) from exc
    try:
        done = replay(portal_engine(), key)
    except NotParked as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    except RecordRejected as exc:
        raise fail(f"{record_id} still fails: {exc}; it stays parked") from exc
    console.print(done, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the gateway group to ``app``, in the On host panel."""
    app.add_typer(gateway_app, name="gateway", rich_help_panel=PANEL_ON_HOST)
