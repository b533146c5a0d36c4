"""``bundle create``'s cache: the same inputs find the archive they made and build nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.bundle.create import cache_path, create_bundle
from sunlight.control.bundle.key import bundle_key
from sunlight.control.images.mirror import DEFAULT_APT_MIRROR, MIRROR_ENV
from sunlight.paths import repo_root

runner = CliRunner()


def _no_engine() -> Any:
    pytest.fail("a cached bundle must not need the engine")


def test_the_same_inputs_reuse_the_cached_archive(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    key = bundle_key(repo_root(), DEFAULT_APT_MIRROR)
    cached = cache_path(key)  # in the session's temporary cache directory
    cached.write_bytes(b"an archive made earlier from the same inputs")
    out = tmp_path / "usb" / "bundle.tar.gz"
    messages: list[str] = []
    result = create_bundle(messages.append, out=out, connect=_no_engine)
    assert not result.built and result.key == key
    assert out.read_bytes() == cached.read_bytes()
    assert result.sha256 == hashlib.sha256(cached.read_bytes()).hexdigest()
    assert result.size_bytes == cached.stat().st_size
    assert any("not rebuilding" in m for m in messages)
    again = create_bundle(messages.append, connect=_no_engine)
    assert again.key == key and again.path == cached


def test_a_bad_mirror_setting_is_a_usage_error_naming_it() -> None:
    result = runner.invoke(app, ["bundle", "create"], env={MIRROR_ENV: "deb.debian.org/debian"})
    assert result.exit_code == 2
    assert MIRROR_ENV in result.stderr and result.stdout == ""
