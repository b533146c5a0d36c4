"""The one package list: parsing, and the packages the foundation requires."""

from __future__ import annotations

import pytest

from sunlight.control.images.packages import parse_package_list, read_package_list
from sunlight.paths import node_image_dir

REQUIRED = {
    "systemd", "openssh-server", "sudo", "acl", "python3", "nftables", "postgresql-15",
    "rabbitmq-server", "nginx", "prometheus", "prometheus-alertmanager",
    "prometheus-node-exporter", "prometheus-postgres-exporter",
}


def test_parse_skips_comments_and_blanks() -> None:
    assert parse_package_list("# head\n\nsudo  # why\n  acl\n") == ["sudo", "acl"]


def test_parse_names_the_bad_line() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_package_list("sudo\nacl nginx\n")


def test_shipped_list_has_every_required_package_once() -> None:
    names = read_package_list()
    assert set(names) >= REQUIRED
    assert len(names) == len(set(names))


def test_dockerfile_installs_from_the_list_and_strips_identity() -> None:
    dockerfile = (node_image_dir() / "Dockerfile").read_text()
    assert "packages.txt" in dockerfile
    for identity in ("/etc/ssh/ssh_host_", ".erlang.cookie", "/etc/machine-id"):
        assert identity in dockerfile
    assert "--no-index" in dockerfile  # the venv never reaches PyPI
    assert "sunlight[server]" in dockerfile  # only the server extra
