"""Host flags and key injection, checked without an engine."""

from __future__ import annotations

import io
import tarfile

import pytest

from sunlight.control.hosts import (
    ADMIN_USER,
    HostError,
    HostSpec,
    NetworkAttachment,
    _key_archive,
    host_create_kwargs,
    start_host,
)
from sunlight.control.resources import Run

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample control"


def _spec(**kw: object) -> HostSpec:
    base: dict[str, object] = {
        "name": "db", "image": "sunlight/node:abc",
        "networks": [NetworkAttachment("net-a", "10.0.0.5", ("db",)), NetworkAttachment("net-b")],
        "authorized_key": KEY,
    }
    base.update(kw)
    return HostSpec(**base)  # type: ignore[arg-type]


def test_host_flags_are_exactly_the_architecture_ones() -> None:
    run = Run.ephemeral("t")
    kw = host_create_kwargs(_spec(), run)
    assert sorted(kw["cap_add"]) == ["NET_ADMIN", "SYS_ADMIN"]
    assert kw["privileged"] is False
    assert kw["security_opt"] == ["seccomp=unconfined"]
    assert kw["tmpfs"] == {"/run": "", "/run/lock": ""}
    assert kw["volumes"]["/sys/fs/cgroup"] == {"bind": "/sys/fs/cgroup", "mode": "ro"}
    assert "cap_drop" not in kw and "devices" not in kw


def test_host_is_labelled_and_named_for_its_run() -> None:
    run = Run.ephemeral("t")
    kw = host_create_kwargs(_spec(hostname="db1"), run)
    assert kw["name"] == f"sunlight-{run.run_id}-db"
    assert kw["hostname"] == "db1"
    assert kw["labels"]["io.sunlight.run-id"] == run.run_id
    assert kw["labels"]["io.sunlight.role"] == "db"
    # Only the first network is joined at create time, with its fixed address.
    assert kw["network"] == "net-a"
    assert list(kw["networking_config"]) == ["net-a"]


def test_key_archive_is_root_owned_and_readable() -> None:
    data = _key_archive(ADMIN_USER, KEY + "\n\n")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        (member,) = tar.getmembers()
        assert member.name == ADMIN_USER
        assert (member.uid, member.gid, member.mode) == (0, 0, 0o644)
        content = tar.extractfile(member)
        assert content is not None
        assert content.read().decode() == KEY + "\n"


def test_a_non_key_is_refused_before_touching_the_engine() -> None:
    with pytest.raises(HostError, match="not an OpenSSH public key"):
        start_host(None, Run.ephemeral("t"), _spec(authorized_key="hunter2"))  # type: ignore[arg-type]
