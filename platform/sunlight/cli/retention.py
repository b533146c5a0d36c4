"""``sunlight retention purge``: on the portal host, apply the external zone's retention rule.

Reads the portal's settings (``SUNLIGHT_DATABASE_URL``, ``SUNLIGHT_SITE_CODE``,
``SUNLIGHT_PORTAL_RETENTION_DAYS``, default 30) from the environment — the
``sunlight-portal-retention.service`` the ``sunlight_portal`` role installs reads them from
the portal's environment file, daily (its timer). Deletes the materials and masks the
identity numbers of applications closed inward at least that many days ago
(:mod:`sunlight.runtime.portal.retention`); open cases are never touched.

Example::

    $ sunlight retention purge
    purged 3 closed applications: 7 materials (1.2 MiB) deleted, identity numbers masked
"""

from __future__ import annotations

from datetime import timedelta

import typer

from sunlight.cli.common import PANEL_ON_HOST, ExitCode, console, fail

retention_app = typer.Typer(help="Retention in the external zone (the portal's database).",
                            no_args_is_help=True)


@retention_app.command("purge")
def retention_purge() -> None:
    """Delete materials and mask identity numbers of cases closed over the retention ago."""
    from pydantic import ValidationError

    from sunlight.runtime.db import make_engine
    from sunlight.runtime.portal.retention import purge
    from sunlight.runtime.settings import Settings, SettingsError

    try:
        settings = Settings(role="portal")  # type: ignore[call-arg]  # from SUNLIGHT_*
    except (ValidationError, SettingsError) as exc:
        raise fail(f"the portal's SUNLIGHT_* settings: {exc}".replace("\n", " "),
                   ExitCode.ENVIRONMENT) from exc
    engine = make_engine(settings.db_url(), pool_size=1)
    done = purge(engine, timedelta(days=settings.portal_retention_days))
    console.print(f"purged {done.applications} closed applications: {done.materials} "
                  f"materials ({done.bytes / 2**20:.1f} MiB) deleted, identity numbers masked "
                  f"(retention {settings.portal_retention_days:g} days after closing)")


def register(app: typer.Typer) -> None:
    """Add the retention group to ``app``, in the On host panel."""
    app.add_typer(retention_app, name="retention", rich_help_panel=PANEL_ON_HOST)
