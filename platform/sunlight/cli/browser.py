"""``sunlight browser ensure``: the browser the page tests drive, installed like the engine.

Finds Debian's Chromium, NSS's ``certutil`` and a Chinese font; when one is missing and the
command runs as root on Debian, installs its package (``chromium``, ``libnss3-tools``,
``fonts-noto-cjk``), recorded for ``scripts/reset-host``
(:mod:`sunlight.control.browser`). ``make test`` runs it as its own stage, ``browser``.

Example::

    $ sunlight browser ensure
    • Chromium 156.0.8078.114 (/usr/lib/chromium/chromium), certutil and a Chinese font are
      present; leaving them as they are.
"""

from __future__ import annotations

import typer

from sunlight.cli.common import PANEL_OPERATIONS, ExitCode, fail, progress

browser_app = typer.Typer(help="The browser the page tests drive (Debian's Chromium).",
                          no_args_is_help=True)


@browser_app.command("ensure")
def browser_ensure() -> None:
    """Use Debian's Chromium, certutil and a Chinese font, or install the missing ones (root
    on Debian only). Every package installed is recorded for `scripts/reset-host`."""
    from sunlight.control.browser import BrowserError, ensure_browser

    try:
        ensure_browser(progress)
    except BrowserError as exc:
        raise fail(str(exc), ExitCode.ENVIRONMENT) from exc


def register(app: typer.Typer) -> None:
    """Add the browser group to ``app``, in the Operations panel."""
    app.add_typer(browser_app, name="browser", rich_help_panel=PANEL_OPERATIONS)
