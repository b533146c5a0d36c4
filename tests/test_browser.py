"""``sunlight browser ensure``: what it finds, what it may install, and the error it gives.

Nothing here installs anything or runs apt: the installer is replaced by one that records
the call (and puts the missing piece in place on temporary paths), and PATH points at
temporary directories holding stand-in executables.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control import browser, engine, hostchanges


def _executable(directory: Path, name: str, script: str = "exit 0") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with none of the three pieces: an empty PATH, no Debian binary, no dpkg; and
    the real installer (which would run apt and write the host's ledger) out of reach."""

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("a unit test reached the real apt_install")

    monkeypatch.setattr(browser, "apt_install", forbidden)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(browser, "CHROMIUM_BINARIES", (tmp_path / "lib" / "chromium",))
    return bin_dir


def _chromium(bin_dir: Path) -> Path:
    return _executable(bin_dir, "chromium", 'echo "Chromium 156.0.8078.114 built on Debian"')


def _font(bin_dir: Path, families: str = "Noto Sans CJK SC") -> Path:
    return _executable(bin_dir, "fc-list", f'[ "$1" = ":lang=zh-cn" ] && echo "{families}"')


def test_the_browser_s_packages_are_ones_the_reset_removes() -> None:
    assert browser.DEBIAN_PACKAGES == ("chromium", "libnss3-tools", "fonts-noto-cjk")
    assert set(browser.DEBIAN_PACKAGES) <= set(hostchanges.HOST_PACKAGES)
    assert {"docker.io", "debootstrap"} <= set(hostchanges.HOST_PACKAGES)  # still there


def test_apt_install_accepts_the_browser_s_packages_and_records_them_first(
        tmp_path: Path, bare: Path) -> None:
    # apt-get is a stand-in on PATH that only logs its arguments: nothing is installed.
    log = tmp_path / "apt.log"
    _executable(bare, "apt-get", f'echo "$@" >> {log}')
    ledger = hostchanges.Ledger(tmp_path / "ledger.json")
    engine.apt_install(browser.DEBIAN_PACKAGES, lambda _m: None, ledger=ledger)
    assert hostchanges.Ledger.load(ledger.path).packages == list(browser.DEBIAN_PACKAGES)
    assert log.read_text().split()[-3:] == list(browser.DEBIAN_PACKAGES)


def test_all_present_installs_nothing_and_says_so(bare: Path) -> None:
    chromium = _chromium(bare)
    _executable(bare, "certutil")
    _font(bare)

    def forbidden(*_a: object) -> None:
        raise AssertionError("must not install anything")

    messages: list[str] = []
    found = browser.ensure_browser(messages.append, install=forbidden, may_install=True)
    assert found == browser.BrowserInfo(str(chromium), "Chromium 156.0.8078.114 built on Debian",
                                        str(bare / "certutil"), ())
    assert messages == [f"Chromium 156.0.8078.114 built on Debian ({chromium}), certutil and a "
                        "Chinese font are present; leaving them as they are."]


def test_only_the_missing_packages_are_installed_then_found(bare: Path) -> None:
    _chromium(bare)
    _font(bare, families="")  # fontconfig knows no font for Chinese
    calls: list[tuple[str, ...]] = []

    def install(packages: tuple[str, ...], _progress: object) -> None:
        calls.append(packages)
        _executable(bare, "certutil")
        _font(bare)

    found = browser.ensure_browser(lambda _m: None, install=install, may_install=True)
    assert calls == [("libnss3-tools", "fonts-noto-cjk")]
    assert found.installed == ("libnss3-tools", "fonts-noto-cjk")
    again: list[tuple[str, ...]] = []
    browser.ensure_browser(lambda _m: None, install=lambda p, _r: again.append(p),
                           may_install=True)
    assert again == []  # idempotent: the second run finds everything


def test_not_allowed_to_install_names_the_packages_and_the_fix(bare: Path) -> None:
    with pytest.raises(browser.BrowserError, match=r"need chromium, libnss3-tools, "
                       r"fonts-noto-cjk .*apt-get install chromium libnss3-tools fonts-noto-cjk"
                       r".*as root on Debian"):
        browser.ensure_browser(lambda _m: None, may_install=False)


def test_not_root_may_not_install(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)

    def forbidden(*_a: object) -> None:
        raise AssertionError("must not install as a user")

    with pytest.raises(browser.BrowserError, match="as root on Debian"):
        browser.ensure_browser(lambda _m: None, install=forbidden)


def test_an_install_that_leaves_a_piece_missing_is_an_error(bare: Path) -> None:
    with pytest.raises(browser.BrowserError, match=r"chromium, libnss3-tools, fonts-noto-cjk "
                                                   r"installed, but its piece is still missing"):
        browser.ensure_browser(lambda _m: None, install=lambda _p, _r: None, may_install=True)


def test_a_browser_that_does_not_run_is_an_error(bare: Path) -> None:
    _executable(bare, "chromium", 'echo "cannot open display" >&2; exit 1')
    _executable(bare, "certutil")
    _font(bare)
    with pytest.raises(browser.BrowserError, match=r"chromium --version exited 1: cannot open"):
        browser.ensure_browser(lambda _m: None, may_install=False)


def test_debian_s_binary_is_preferred_to_its_launcher_script(tmp_path: Path, bare: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    _chromium(bare)
    real = _executable(tmp_path / "lib", "chromium")
    assert browser.find_chromium() == str(real)


def test_the_cli_exits_3_with_the_message(bare: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)  # a user may not install
    result = CliRunner().invoke(app, ["browser", "ensure"], env={"COLUMNS": "200"})
    assert result.exit_code == 3, result.output
    assert "error:" in result.output and "libnss3-tools" in result.output
