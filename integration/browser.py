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
* :class:`Hands` operate a page by the accessible names of its controls, with the pointer;
  :class:`Keys` with the keyboard alone (:func:`tab_to` moves the focus with Tab only), and a
  spy in every page counts real pointer presses (:func:`pointer_presses`) to prove it.

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

POINTER_SPY = """addEventListener("pointerdown", (e) => { if (e.isTrusted) {
  const n = Number(sessionStorage.getItem("sunlight-pointerdowns") || 0);
  sessionStorage.setItem("sunlight-pointerdowns", String(n + 1)); } }, true);"""
"""Counts real pointer presses per tab and origin (:func:`pointer_presses`), injected by the
browser before each document's own scripts (Content-Security-Policy does not apply to it)."""

_AXE = Axe()
_AXE_HEADER = re.search(r"axe v([\d.]+)", _AXE.axe_script[:200])
AXE_VERSION = _AXE_HEADER.group(1) if _AXE_HEADER else "unknown"
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
        context.add_init_script(POINTER_SPY)
        try:
            yield context
        finally:
            context.close()


def pointer_presses(page: Page) -> int:
    """Real pointer presses (mouse or touch) on this tab's current origin so far."""
    return int(page.evaluate("Number(sessionStorage.getItem('sunlight-pointerdowns') || 0)"))


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
    keyboard_only: bool = False  # then every visit also checks that nothing was clicked
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
        if self.keyboard_only:
            assert pointer_presses(page) == 0, f"{self.journey}, {step}: a pointer was used"
        found = serious_violations(page)
        assert not found, (f"{self.journey}, {step} ({page.url}): axe found "
                           f"{len(found)} serious or critical violation(s):\n{describe(found)}")
        return shot

    def listing(self) -> str:
        return "\n".join(f"{s.path.relative_to(self.root)}  {s.step}: {s.title}"
                         for s in self.shots)


_ROLE_AND_NAME = re.compile(r'^- (?P<role>[\w-]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')


def focused(page: Page) -> tuple[str, str]:
    """The focused element's accessible role and name, as Playwright's ARIA snapshot gives
    them (``("textbox", "申请人姓名")``); ``("", "")`` when nothing has the focus."""
    element = page.locator("*:focus")
    if element.count() == 0:
        return "", ""
    found = _ROLE_AND_NAME.match(element.first.aria_snapshot())
    return (found["role"], found["name"] or "") if found else ("", "")


def tab_to(page: Page, name: str | re.Pattern[str], role: str | None = None, *,
           exact: bool = False, inside: str | None = None,
           max_tabs: int = 80) -> tuple[str, str]:
    """Press Tab until the focused element's accessible name starts with ``name`` (is it, with
    ``exact``; matches it, for a pattern), its role is ``role`` and it lies within the element
    the CSS selector ``inside`` names, when given; fail naming what the focus passed through
    when it is not reachable within ``max_tabs`` presses."""
    seen: list[str] = []
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        now_role, now_name = focused(page)
        if isinstance(name, re.Pattern):
            matches = bool(name.search(now_name))
        else:
            matches = now_name == name if exact else now_name.startswith(name)
        if matches and role in (None, now_role) and (inside is None or page.evaluate(
                "(sel) => !!document.activeElement.closest(sel)", inside)):
            return now_role, now_name
        seen.append(f"{now_role} {now_name!r}")
    raise AssertionError(f"{role or 'element'} {name!r} not reached with {max_tabs} Tab presses "
                         f"on {page.url}; the focus went through: {seen[:40]}")


def _label(label: str) -> re.Pattern[str]:
    return re.compile(r"^\s*" + re.escape(label))


class Hands:
    """How the journey operates a page: with the pointer (Playwright's clicks and fills),
    or, in :class:`Keys`, with the keyboard alone. Controls are found by their accessible
    names, as a screen reader user finds them: a field by the start of its label (which
    may go on with "（必填）"), a button or a link by its whole name."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def fill(self, label: str, text: str, inside: str | None = None) -> None:
        """Type into the field labelled ``label`` (in the element ``inside`` selects)."""
        scope = self.page.locator(inside) if inside else self.page
        scope.get_by_label(_label(label)).fill(text)

    def choose(self, label: str, option: str) -> None:
        self.page.get_by_label(_label(label)).select_option(label=option)

    def tick(self, label: str) -> None:
        self.page.get_by_label(_label(label)).check()

    def attach(self, label: str, path: Path) -> None:
        self.page.get_by_label(_label(label)).set_input_files(str(path))

    def press(self, button: str) -> None:
        self.page.get_by_role("button", name=button, exact=True).click()

    def follow(self, link: str) -> None:
        self.page.get_by_role("link", name=link, exact=True).first.click()

    def download(self, link: str) -> bytes:
        """Follow the link ``link`` to a file; its bytes."""
        with self.page.expect_download() as download:
            self.follow(link)
        return Path(download.value.path()).read_bytes()


class Keys(Hands):
    """The keyboard only: Tab to reach, type to fill, ArrowDown in a list, Space to tick or
    open the file dialog, Enter to press or follow. No click, no fill, no focus() call."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        # Playwright turns the page's file-dialog interception on, without waiting, when the
        # first listener comes; on the Space that opens the dialog that raced the key press
        # (a native dialog, no event). A listener from the start turns it on well before.
        page.on("filechooser", lambda _chooser: None)

    def fill(self, label: str, text: str, inside: str | None = None) -> None:
        tab_to(self.page, label, inside=inside)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def choose(self, label: str, option: str) -> None:
        tab_to(self.page, label, "combobox")
        listed = self.page.locator("*:focus")
        for _ in range(listed.locator("option").count()):
            if listed.evaluate("el => el.selectedOptions[0] && el.selectedOptions[0].text") \
                    == option:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"{label}: option {option!r} not reached with ArrowDown")

    def tick(self, label: str) -> None:
        tab_to(self.page, label, "checkbox")
        self.page.keyboard.press("Space")

    def attach(self, label: str, path: Path) -> None:
        tab_to(self.page, label, "button")
        with self.page.expect_file_chooser() as chooser:
            self.page.keyboard.press("Space")
        chooser.value.set_files(str(path))

    def press(self, button: str) -> None:
        tab_to(self.page, button, "button", exact=True)
        self.page.keyboard.press("Enter")

    def follow(self, link: str) -> None:
        tab_to(self.page, link, "link", exact=True)
        self.page.keyboard.press("Enter")
