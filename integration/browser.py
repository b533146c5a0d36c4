"""The browser tests' harness: Debian's Chromium under Playwright, trusting one CA.

* :func:`launch` starts Debian's ``chromium`` (``sunlight browser ensure`` installs it;
  Playwright's own browser downloads are never used) in a persistent context whose profile
  trusts the given CAs through its own NSS certificate store: Chromium on Linux reads
  ``$HOME/.pki/nssdb``, so the browser process gets a temporary ``HOME`` holding a database
  made with ``certutil`` (the CA as a trusted issuer of server certificates, ``C,,``). TLS
  errors are never ignored: a page whose certificate is not from a trusted CA fails to load
  (``integration/test_browser_harness.py`` proves both ways).
* :class:`Pages` records each page a journey visits: a full-page screenshot named by the
  journey and step (``build/browser/<journey>/<NN>-<step>.png``, listed in ``index.txt``
  there and in the run's report) and an axe-core check (axe-playwright-python's bundled
  ``axe.min.js``) that fails on any violation of impact serious or critical.
* :func:`tab_to` moves the focus with the Tab key only, for the keyboard-only journey.

Example::

    with launch(tmp_path / "profile", [site.ca_file], viewport=PHONE) as context:
        page = context.new_page()
        pages = Pages("phone")
        page.goto(site.portal_url + "/")
        pages.visit(page, "catalogue")
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, sync_playwright

from sunlight.control.browser import find_certutil, find_chromium
from sunlight.paths import repo_root

SCREENSHOTS = repo_root() / "build" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}  # the phone width
BLOCKING_IMPACTS = ("serious", "critical")
TIMEOUT_MS = 30_000
NSS_DB = Path(".pki") / "nssdb"

_AXE = Axe()
AXE_VERSION = re.search(r"axe v([\d.]+)", _AXE.axe_script[:200])
"""The axe-core release the pinned axe-playwright-python bundles (its file's header)."""


def _missing(what: str) -> AssertionError:
    return AssertionError(f"{what} not found: run `sunlight browser ensure` (as root on Debian "
                          "it installs chromium, libnss3-tools and fonts-noto-cjk)")


def trust_store(home: Path, ca_files: Iterable[str | Path]) -> Path:
    """``home/.pki/nssdb``, a new NSS database trusting each CA to issue server certificates."""
    certutil = find_certutil()
    if certutil is None:
        raise _missing("certutil")
    db = home / NSS_DB
    db.mkdir(parents=True, exist_ok=True)
    subprocess.run([certutil, "-N", "--empty-password", "-d", f"sql:{db}"], check=True,
                   capture_output=True)
    for index, ca in enumerate(ca_files):
        subprocess.run([certutil, "-A", "-d", f"sql:{db}", "-t", "C,,",
                        "-n", f"sunlight-ca-{index}", "-i", str(ca)], check=True,
                       capture_output=True)
    return db


@contextmanager
def launch(profile: Path, ca_files: Iterable[str | Path], *,
           viewport: dict[str, int] | None = None) -> Iterator[BrowserContext]:
    """A headless Chromium whose profile (``profile``, also its ``HOME``) trusts ``ca_files``.

    Chinese locale and Asia/Shanghai, as the pages' users have them.
    """
    executable = find_chromium()
    if executable is None:
        raise _missing("chromium")
    if profile.exists():
        shutil.rmtree(profile)
    trust_store(profile, ca_files)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True,
            env={**os.environ, "HOME": str(profile)}, viewport=viewport or DESKTOP,
            locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of impact serious or critical."""
    results = _AXE.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and element: rule, impact, target, what to fix."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"{v['id']} ({v['impact']}) at {', '.join(map(str, node['target']))}: "
                         f"{node.get('failureSummary', v['help'])}".replace("\n", " "))
    return "\n".join(lines)


def _slug(step: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
    if not slug:
        raise ValueError(f"step {step!r}: name it with ASCII letters or digits")
    return slug


@dataclass
class Shot:
    path: Path
    step: str
    url: str
    title: str


@dataclass
class Pages:
    """The pages one journey visits, in order: each screenshotted and checked with axe."""

    journey: str
    root: Path = SCREENSHOTS
    shots: list[Shot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.directory = self.root / _slug(self.journey)
        if self.directory.exists():
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True)

    def visit(self, page: Page, step: str) -> Shot:
        """Screenshot the page as ``<NN>-<step>.png``, then fail on a serious axe violation."""
        page.wait_for_load_state("load")
        path = self.directory / f"{len(self.shots) + 1:02d}-{_slug(step)}.png"
        page.screenshot(path=str(path), full_page=True)
        shot = Shot(path, step, page.url, page.title())
        self.shots.append(shot)
        with (self.directory / "index.txt").open("a") as index:
            index.write(f"{path.name}\t{step}\t{shot.title}\t{shot.url}\n")
        found = serious_violations(page)
        assert not found, (f"{self.journey}, {step} ({page.url}): axe found "
                           f"{len(found)} serious or critical violation(s):\n{describe(found)}")
        return shot

    def listing(self) -> str:
        return "\n".join(f"{s.path.relative_to(self.root)}  {s.step}: {s.title}"
                         for s in self.shots)


def focused(page: Page) -> str:
    """What has the focus: its accessible text (label, aria-label, value or text)."""
    text = page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return "";
        const byId = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null;
        const label = (el.labels && el.labels[0]) || byId;
        return [el.getAttribute("aria-label"), label && label.innerText,
                el.tagName === "INPUT" && ["submit", "button"].includes(el.type) ? el.value : "",
                el.innerText].filter(Boolean).join(" ");
    }""")
    return " ".join(str(text).split())


def tab_to(page: Page, name: str | re.Pattern[str], *, max_tabs: int = 80) -> str:
    """Press Tab until the focused element's text contains ``name``; fail naming what the
    focus passed through when it is not reachable within ``max_tabs`` presses."""
    seen: list[str] = []
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        now = focused(page)
        if (name.search(now) if isinstance(name, re.Pattern) else name in now):
            return now
        seen.append(now)
    raise AssertionError(f"{name!r} not reached with {max_tabs} Tab presses on {page.url}; "
                         f"the focus went through: {seen[:40]}")
