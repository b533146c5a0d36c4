"""``bundle install``'s checks (no engine, no pip): a packed bundle unpacks and verifies; a
tampered one is refused naming the file, and nothing is left in place."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.bundle.create import APT_FILE, SOURCE_DIR, TOP, pack_bundle
from sunlight.control.bundle.install import env_lines, install_bundle, pip_env, pip_install_command
from sunlight.control.bundle.manifest import BundleError, BundleTampered

from .conftest import stage_tree

runner = CliRunner()


def _quiet(_message: str) -> None:
    pass


def _retar(archive: Path, out: Path, change: dict[str, bytes]) -> Path:
    """A copy of ``archive`` with some members' bytes replaced (the manifest kept)."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(out, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            rel = member.name.removeprefix(f"{TOP}/")
            if rel in change:
                data = change[rel]
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return out


def test_a_packed_bundle_installs_and_points_the_roles_at_its_repository(
        archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "control"
    result = install_bundle(archive, dest, _quiet, load_image=False, make_venv=False)
    assert (dest / SOURCE_DIR / "playbooks" / "site.yml").is_file()
    assert result.manifest.key == "ab" * 32 and result.image is None
    env = result.env_file.read_text()
    assert f"export SUNLIGHT_APT_BUNDLE={dest / APT_FILE}" in env
    assert f"export SUNLIGHT_ROOT={dest / SOURCE_DIR}" in env
    assert f"export SUNLIGHT_NODE_WHEELHOUSE={dest / 'wheels' / 'node'}" in env
    assert env.splitlines() == env_lines(dest)
    assert not (tmp_path / ".control.incoming").exists()


def test_a_tampered_bundle_is_refused_naming_the_file_and_nothing_is_installed(
        archive: Path, tmp_path: Path) -> None:
    wheel = "wheels/control/sunlight-0.1.0-py3-none-any.whl"
    bad = _retar(archive, tmp_path / "bad.tar.gz", {wheel: b"wheel bytez"})
    dest = tmp_path / "control"
    with pytest.raises(BundleTampered, match=r"wheels/control/sunlight-0\.1\.0-py3-none-any\.whl"):
        install_bundle(bad, dest, _quiet, load_image=False, make_venv=False)
    assert not dest.exists()
    assert not (tmp_path / ".control.incoming").exists()


def test_the_cli_refuses_a_tampered_bundle_with_exit_2_naming_the_file(
        archive: Path, tmp_path: Path) -> None:
    bad = _retar(archive, tmp_path / "bad.tar.gz", {APT_FILE: b"another repo, same size"[:18]})
    result = runner.invoke(app, ["bundle", "install", str(bad), "--dest", str(tmp_path / "d"),
                                 "--no-image", "--no-venv"])
    assert result.exit_code == 2
    assert "refused: apt/sunlight-apt.tar: SHA-256" in " ".join(result.stderr.split())


def test_a_member_outside_the_bundle_directory_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "escape.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        info = tarfile.TarInfo(f"{TOP}/../../escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(BundleTampered, match="outside the bundle"):
        install_bundle(bad, tmp_path / "d", _quiet, load_image=False, make_venv=False)
    assert not (tmp_path / "escaped").exists()


def test_a_bundle_without_the_image_installs_with_no_image_only(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    stage.mkdir()
    stage_tree(stage, image=False)
    archive = tmp_path / "no-image.tar.gz"
    pack_bundle(stage, archive, _quiet)
    with pytest.raises(BundleError, match=r"no node image.*--no-image"):
        install_bundle(archive, tmp_path / "a", _quiet, load_image=True, make_venv=False,
                       client=object())
    result = install_bundle(archive, tmp_path / "b", _quiet, load_image=False, make_venv=False)
    assert result.image is None and (tmp_path / "b" / APT_FILE).is_file()


def test_a_non_empty_destination_is_refused(archive: Path, tmp_path: Path) -> None:
    dest = tmp_path / "used"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="is not empty"):
        install_bundle(archive, dest, _quiet, load_image=False, make_venv=False)
    assert (dest / "keep.txt").read_text() == "mine"


def test_pip_sees_only_the_wheelhouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.example/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    env = pip_env()
    assert not {"PIP_INDEX_URL", "PIP_FIND_LINKS"} & set(env)
    assert env["PIP_CONFIG_FILE"] == "/dev/null"
    cmd = pip_install_command(tmp_path / "venv", tmp_path / "b")
    assert "--no-index" in cmd
    assert cmd[cmd.index("--find-links") + 1] == str(tmp_path / "b" / "wheels" / "control")
    assert cmd[cmd.index("--constraint") + 1].endswith("source/requirements/control.lock")
