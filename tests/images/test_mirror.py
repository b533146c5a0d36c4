"""The Debian mirror is configuration (SUNLIGHT_APT_MIRROR), and it reaches debootstrap."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sunlight.control.images.base import BaseSpec
from sunlight.control.images.mirror import (
    DEFAULT_APT_MIRROR,
    MIRROR_ENV,
    MirrorError,
    apt_mirror,
    sources_line,
)


def test_unset_or_empty_is_the_default_mirror() -> None:
    assert apt_mirror({}) == DEFAULT_APT_MIRROR == "http://deb.debian.org/debian"
    assert apt_mirror({MIRROR_ENV: "  "}) == DEFAULT_APT_MIRROR


@pytest.mark.parametrize("value", ["http://10.0.0.5/debian/", "https://mirror.example/debian",
                                   "file:/srv/mirror"])
def test_a_configured_mirror_is_used_without_its_trailing_slash(value: str) -> None:
    assert apt_mirror({MIRROR_ENV: value}) == value.rstrip("/")


@pytest.mark.parametrize("value", ["deb.debian.org/debian", "ftp://x/debian", "http:///debian"])
def test_a_bad_mirror_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(MirrorError, match=MIRROR_ENV):
        apt_mirror({MIRROR_ENV: value})


def test_the_mirror_flows_into_debootstraps_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MIRROR_ENV, "http://10.0.0.5/debian")
    spec = BaseSpec()
    cmd = spec.debootstrap_command(Path("/tmp/root"))
    assert cmd[0] == "debootstrap" and cmd[-3:] == ["bookworm", "/tmp/root",
                                                    "http://10.0.0.5/debian"]
    monkeypatch.delenv(MIRROR_ENV)
    assert BaseSpec().debootstrap_command(Path("/r"))[-1] == DEFAULT_APT_MIRROR
    assert BaseSpec().key() != spec.key()  # another mirror: another base root and image


def test_the_default_mirror_keeps_the_cached_base_root_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Making the mirror a setting does not invalidate base roots already cached."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    spec = BaseSpec()
    text = "|".join(("bookworm", "minbase", DEFAULT_APT_MIRROR,
                     "systemd,systemd-sysv,dbus,openssh-server,python3"))
    assert spec.key() == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_sources_line_is_what_debootstrap_writes() -> None:
    assert sources_line(DEFAULT_APT_MIRROR) == "deb http://deb.debian.org/debian bookworm main"
