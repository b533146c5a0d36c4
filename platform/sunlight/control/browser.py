"""The browser the page tests drive: Debian's Chromium, NSS's certutil and a Chinese font.

The browser tests (``integration/browser.py``) drive Debian's ``chromium`` with Playwright
for Python (Playwright's own browser downloads are not used), trust the deployment's CA
through the browser profile's NSS database (made with ``certutil``, from ``libnss3-tools``)
and take screenshots of Chinese pages (``fonts-noto-cjk``; without a CJK font they show
boxes). :func:`ensure_browser` finds the three and, when one is missing and we are root on
Debian, installs its package the way :func:`sunlight.control.engine.ensure_engine` installs
``docker.io``: only packages listed in :data:`sunlight.control.hostchanges.HOST_PACKAGES`,
each recorded in the host-changes ledger first, so that ``scripts/reset-host`` removes them.

Example::

    >>> from sunlight.control.browser import ensure_browser
    >>> found = ensure_browser(progress=print)  # doctest: +SKIP
    Chromium 156.0.8078.114 (/usr/lib/chromium/chromium), certutil and a Chinese font are
    present; leaving them as they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sunlight.control.engine import _is_debian, apt_install

Progress = Callable[[str], None]
Installer = Callable[[tuple[str, ...], Progress], None]

CHROMIUM_PACKAGE = "chromium"
CERTUTIL_PACKAGE = "libnss3-tools"
CJK_FONT_PACKAGE = "fonts-noto-cjk"
DEBIAN_PACKAGES = (CHROMIUM_PACKAGE, CERTUTIL_PACKAGE, CJK_FONT_PACKAGE)
"""What :func:`ensure_browser` may install (all listed in ``hostchanges.HOST_PACKAGES``)."""

CHROMIUM_BINARIES = (Path("/usr/lib/chromium/chromium"),)
"""Debian's browser itself; ``/usr/bin/chromium`` is a launcher script that sources
``/etc/chromium.d`` first, which Playwright does not need."""
CHROMIUM_COMMANDS = ("chromium", "chromium-browser")


class BrowserError(RuntimeError):
    """A piece is missing and we may not install it; the message says what to do."""


@dataclass(frozen=True)
class BrowserInfo:
    """The browser found: the executable Playwright launches, its version, certutil."""

    executable: str
    version: str
    certutil: str
    installed: tuple[str, ...]  # the packages this call installed (empty when all present)


def find_chromium() -> str | None:
    """The Chromium executable: Debian's binary, else a ``chromium`` command on PATH."""
    for path in CHROMIUM_BINARIES:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    for name in CHROMIUM_COMMANDS:
        if found := shutil.which(name):
            return found
    return None


def find_certutil() -> str | None:
    return shutil.which("certutil")


def has_cjk_font() -> bool:
    """Whether fontconfig knows a font covering Simplified Chinese (``fc-list :lang=zh-cn``);
    without ``fc-list``, whether Debian's ``fonts-noto-cjk`` is installed."""
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True,
                             text=True, timeout=60, check=False)
        return out.returncode == 0 and bool(out.stdout.strip())
    if shutil.which("dpkg-query") is None:
        return False
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", CJK_FONT_PACKAGE],
                         capture_output=True, text=True, check=False)
    return "install ok installed" in out.stdout


def chromium_version(executable: str) -> str:
    """``Chromium 156.0.8078.114`` (the first line of ``--version``), or why it would not run."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BrowserError(f"{executable} --version failed: {exc}") from exc
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not lines:
        raise BrowserError(f"{executable} --version exited {out.returncode}: "
                           f"{(out.stderr or out.stdout).strip()[:300]}")
    return lines[-1].strip()


def missing_packages() -> tuple[str, ...]:
    """The Debian packages whose piece is missing, in :data:`DEBIAN_PACKAGES` order."""
    present = {CHROMIUM_PACKAGE: find_chromium() is not None,
               CERTUTIL_PACKAGE: find_certutil() is not None,
               CJK_FONT_PACKAGE: has_cjk_font()}
    return tuple(p for p in DEBIAN_PACKAGES if not present[p])


def ensure_browser(progress: Progress, *, install: Installer | None = None,
                   may_install: bool | None = None) -> BrowserInfo:
    """Return the browser, installing the missing packages when we may (root on Debian).

    Idempotent: when all three pieces are present nothing is installed. ``may_install``
    defaults to "root on Debian"; ``install`` to :func:`sunlight.control.engine.apt_install`.
    """
    missing = missing_packages()
    if missing:
        allowed = (os.geteuid() == 0 and _is_debian()) if may_install is None else may_install
        if not allowed:
            raise BrowserError(
                f"the browser tests need {', '.join(missing)} (Chromium, NSS's certutil, a "
                "Chinese font). Install them (Debian: apt-get install "
                f"{' '.join(missing)}), or run `make test` or `sunlight browser ensure` as root "
                "on Debian so Sunlight installs them itself (scripts/reset-host removes them).")
        (install or apt_install)(missing, progress)
        still = missing_packages()
        if still:
            raise BrowserError(f"{', '.join(still)} installed, but its piece is still missing "
                               "(no chromium executable, no certutil on PATH, or no font for "
                               "Chinese in `fc-list :lang=zh-cn`)")
    executable, certutil = find_chromium(), find_certutil()
    assert executable is not None and certutil is not None  # missing_packages() said so
    version = chromium_version(executable)
    if missing:
        progress(f"{version} ({executable}), certutil and a Chinese font are installed.")
    else:
        progress(f"{version} ({executable}), certutil and a Chinese font are present; "
                 "leaving them as they are.")
    return BrowserInfo(executable, version, certutil, missing)
