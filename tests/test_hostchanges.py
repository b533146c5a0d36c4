"""The host-changes ledger and the snapshot the unit stage compares (on temporary paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunlight.control import hostchanges


def test_the_etc_checksum_sees_a_changed_byte(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "sub").mkdir(parents=True)
    (etc / "sub" / "a.conf").write_text("x = 1\n")
    before = hostchanges.snapshot(etc=etc)["/etc (sha256)"]
    assert hostchanges.snapshot(etc=etc)["/etc (sha256)"] == before
    (etc / "sub" / "a.conf").write_text("x = 2\n")
    assert hostchanges.snapshot(etc=etc)["/etc (sha256)"] != before


def test_the_ledger_survives_a_reload_and_keeps_first_values(tmp_path: Path) -> None:
    ledger = hostchanges.Ledger(tmp_path / "deep" / "ledger.json")
    ledger.installed(["docker.io"])
    ledger.installed(["docker.io", "debootstrap"])
    ledger.raised("net.ipv4.ip_forward", 0)
    again = hostchanges.Ledger.load(ledger.path)
    assert again.packages == ["docker.io", "debootstrap"]
    assert again.sysctls == {"net.ipv4.ip_forward": 0}


def test_a_missing_or_broken_ledger_reads_as_empty(tmp_path: Path) -> None:
    assert hostchanges.Ledger.load(tmp_path / "none.json").packages == []
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert hostchanges.Ledger.load(broken).sysctls == {}


def test_user_dirs_follow_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "s"))
    assert hostchanges.user_dirs() == (tmp_path / "c" / "sunlight", tmp_path / "s" / "sunlight")
