"""The bundle's apt repository: apt confined to a private root, the one package list, the
index and its checksums (a real, tiny .deb built with dpkg-deb; nothing downloaded)."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
from pathlib import Path

import pytest

from sunlight.control.bundle.apt_repo import (
    KEYRING,
    apt_options,
    parse_packages,
    planned_debs,
    prepare_root,
    source_line,
    write_index,
)
from sunlight.control.bundle.manifest import BundleError


def _option(options: list[str], name: str) -> str:
    values = [o.split("=", 1)[1] for o in options if o.startswith(f"{name}=")]
    assert len(values) == 1, name
    return values[0]


def test_apt_reads_and_writes_only_its_private_root(tmp_path: Path) -> None:
    options = apt_options(tmp_path)
    assert _option(options, "Dir") == f"{tmp_path}/"
    assert _option(options, "Dir::State::status") == f"{tmp_path}/var/lib/dpkg/status"
    assert _option(options, "Dir::Etc::SourceList") == f"{tmp_path}/etc/apt/sources.list"
    assert _option(options, "Dir::Etc::SourceParts") == "-"  # not the host's sources.list.d
    assert _option(options, "APT::Architectures") == "amd64"
    assert _option(options, "APT::Install-Recommends") == "false"  # as the node image


def test_the_private_root_names_the_mirror_and_an_empty_status(tmp_path: Path) -> None:
    prepare_root(tmp_path, "http://10.0.0.5/debian")
    assert (tmp_path / "etc/apt/sources.list").read_text() == (
        f"deb [signed-by={KEYRING}] http://10.0.0.5/debian bookworm main\n")
    assert (tmp_path / "var/lib/dpkg/status").read_text() == ""  # the whole closure


def test_a_missing_keyring_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="debian-archive-keyring"):
        prepare_root(tmp_path, "http://x/debian", keyring=tmp_path / "none.gpg")
    assert source_line("file:/srv/m", tmp_path / "k.gpg").endswith("file:/srv/m bookworm main")


def test_packages_paragraphs_are_parsed() -> None:
    text = ("Package: acl\nVersion: 2.3.1-3\nDescription: access\n control lists\n\n"
            "Package: sudo\nVersion: 1.9.13p3-1+deb12u1\n")
    parsed = parse_packages(text)
    assert [p["Package"] for p in parsed] == ["acl", "sudo"]
    assert parsed[0]["Description"] == "access\ncontrol lists"


def _deb(repo: Path, name: str, version: str) -> Path:
    root = repo.parent / f"{name}-root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@x>\n"
        f"Description: test\n")
    out = repo / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)],
                   check=True, capture_output=True)
    return out


def test_the_index_lists_each_package_with_its_checksum(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    debs = [_deb(repo, "sunlight-test-a", "1.0-1"), _deb(repo, "sunlight-test-b", "2:3.4")]
    versions = write_index(repo, lambda _m: None)
    assert versions == {"sunlight-test-a": "1.0-1", "sunlight-test-b": "2:3.4"}
    packages = {p["Package"]: p for p in parse_packages((repo / "Packages").read_text())}
    for deb in debs:
        entry = packages[deb.name.split("_")[0]]
        assert entry["SHA256"] == hashlib.sha256(deb.read_bytes()).hexdigest()
        assert entry["Filename"].removeprefix("./") == deb.name  # a flat repository
    assert gzip.decompress((repo / "Packages.gz").read_bytes()) == (repo / "Packages").read_bytes()
    release = (repo / "Release").read_text()
    for name in ("Packages", "Packages.gz"):
        data = (repo / name).read_bytes()
        assert f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}\n" in release


def test_the_plan_names_the_archive_files_apt_writes() -> None:
    simulation = [
        "Reading package lists...",
        "Inst gcc-12-base (12.2.0-14+deb12u1 Debian:12.13/stable [amd64])",
        "Inst erlang-base (1:25.2.3+dfsg-1+deb12u4 Debian:12.13/stable [amd64])",
        "Inst tzdata (2026b-0+deb12u1 Debian:12.13/stable [all])",
        "Conf tzdata (2026b-0+deb12u1 Debian:12.13/stable [all])",
    ]
    assert planned_debs(simulation) == [
        "gcc-12-base_12.2.0-14+deb12u1_amd64.deb",
        "erlang-base_1%3a25.2.3+dfsg-1+deb12u4_amd64.deb",  # the epoch, as apt escapes it
        "tzdata_2026b-0+deb12u1_all.deb",
    ]
