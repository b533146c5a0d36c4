"""``sunlight enforcement officers import FILE|list``: the officer registry (执法人员库) on one
site's core (``SUNLIGHT_DATABASE_URL``, ``SUNLIGHT_SITE_CODE``).

``officers import FILE`` checks a registry (YAML) against this site's departments and items
and puts it in force as a new revision, or refuses it as a whole naming every problem by
YAML path and line (exit 2). ``officers list`` prints the registry in force; with
``--expiring-within DAYS`` only the certificates valid today (core's clock,
``SUNLIGHT_CLOCK_OFFSET_FILE``) that end within that many days — the expiry alert's list.

Example::

    $ sunlight enforcement officers import officers.yaml
    $ sunlight enforcement officers list --expiring-within 30 --json
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from sunlight.cli.common import (
    JSON_OPTION,
    PANEL_ON_HOST,
    ExitCode,
    console,
    err_console,
    fail,
    print_json,
)

enforcement_app = typer.Typer(help="Enforcement (执法办案): the officer registry.",
                              no_args_is_help=True)
officers_app = typer.Typer(help="The officer registry (执法人员库): import, list.",
                           no_args_is_help=True)
enforcement_app.add_typer(officers_app, name="officers")

FILE_ARGUMENT: Any = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                    help="An officer registry (YAML).")


def _clock() -> Any:
    from sunlight.runtime.clock import Clock, ClockOffsetError

    offset = os.environ.get("SUNLIGHT_CLOCK_OFFSET_FILE")
    clock = Clock(Path(offset) if offset else None)
    try:
        clock.offset()
    except ClockOffsetError as exc:
        raise fail(str(exc), ExitCode.USAGE) from exc
    return clock


@officers_app.command("import")
def officers_import(
    path: Path = FILE_ARGUMENT,
    actor: str = typer.Option("cli", "--actor", help="Recorded with the revision and in the "
                                                     "audit chain."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Put an officer registry in force (a new revision), or refuse it as a whole.

    --json: {"ok": true, "revision", "officers", "changed"} or {"ok": false, "problems":
    [...]}.
    """
    from sunlight.cli.onhost import core_engine, site_code
    from sunlight.runtime.core.enforcement import RegistryRefused, import_registry
    from sunlight.runtime.db import transaction

    try:
        body = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text ({exc})", ExitCode.USAGE) from exc
    try:
        with transaction(core_engine()) as session:
            done = import_registry(session, site_code(), body, path.name, actor,
                                   now=_clock().now(), role="cli")
    except RegistryRefused as exc:
        if as_json:
            print_json({"ok": False, "problems": exc.problems})
        else:
            for problem in exc.problems:
                err_console.print(f"  {problem}", soft_wrap=True, markup=False,
                                  highlight=False)
        raise fail(f"{path} refused: {len(exc.problems)} problem(s); nothing was changed",
                   ExitCode.USAGE) from exc
    if as_json:
        print_json({"ok": True, "revision": done.revision, "officers": done.officers,
                    "changed": done.changed})
    elif done.changed:
        console.print(f"officer registry in force: revision {done.revision} "
                      f"({done.officers} officers)")
    else:
        console.print(f"unchanged: {path} is revision {done.revision}, already in force")


@officers_app.command("list")
def officers_list(
    within: int = typer.Option(None, "--expiring-within", min=0, max=3650,
                               help="Only certificates valid today that end within DAYS."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The officers of the registry in force (or those expiring soon).

    --json: {"revision", "as_of", "officers": [{"certificate", "name", "department",
    "items", "categories", "valid_from", "valid_to"}]}.
    """
    from sunlight.cli.onhost import core_engine
    from sunlight.enforcement.officers import expiring
    from sunlight.runtime.core.enforcement import registry_in_force
    from sunlight.runtime.db import transaction

    today = _clock().today()
    with transaction(core_engine()) as session:
        revision, registry = registry_in_force(session)
    officers = list(registry.officers) if within is None else expiring(registry, today, within)
    if as_json:
        print_json({"revision": revision, "as_of": today.isoformat(), "officers": [
            o.model_dump(mode="json") for o in officers]})
        return
    if revision == 0:
        console.print("no officer registry imported yet")
        return
    for o in officers:
        console.print(f"{o.certificate}  {o.name}  {o.department}  {o.area}  "
                      f"{o.valid_from} – {o.valid_to}", markup=False, highlight=False)
    what = f"ending within {within} days" if within is not None else "in the registry"
    console.print(f"{len(officers)} officer(s) {what} (revision {revision}, as of {today})")


def register(app: typer.Typer) -> None:
    """Add the enforcement group to ``app``, in the On host panel."""
    app.add_typer(enforcement_app, name="enforcement", rich_help_panel=PANEL_ON_HOST)
