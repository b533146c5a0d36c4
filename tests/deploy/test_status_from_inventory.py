"""``status``, ``verify``'s readiness and the access of ``scenario``/``load`` from an inventory
and its known_hosts alone: SSH is replaced at its boundary (``HostSSH``), and the engine is
made unusable, so anything that still asked Docker would fail."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import paramiko
import pytest

from sunlight.control.deploy.inventory import write_inventory_files
from sunlight.control.ssh import CommandResult, ControlKey
from sunlight.control.stack import access as access_module
from sunlight.control.stack import status
from sunlight.control.stack.access import AccessError, DeploymentAccess
from sunlight.control.stack.deployment import Deployment

from .conftest import HOST_KEY

OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINTHOAI4XTk76q7yxCS61Hdqdk0rTq80/z5e70fEeq34"


def _key(line: str) -> paramiko.PKey:
    kind, blob = line.split()[:2]
    return paramiko.PKey.from_type_string(kind, base64.b64decode(blob))


class FakeSSH:
    """Stands in for :class:`sunlight.control.ssh.HostSSH`: what each address answers."""

    answers: ClassVar[dict[str, Any]] = {}  # address -> {unit: state} or an exception
    opened: ClassVar[list[tuple[str, str, str, int]]] = []  # (address, pinned key, user, port)
    commands: ClassVar[dict[str, str]] = {}

    def __init__(self, ip: str, key: ControlKey, host_key_line: str, user: str = "admin",
                 timeout: float = 10.0, port: int = 22) -> None:
        self.ip = ip
        FakeSSH.opened.append((ip, host_key_line, user, port))

    def __enter__(self) -> FakeSSH:
        answer = self.answers.get(self.ip, {})
        if isinstance(answer, BaseException):
            raise answer
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, command: str, timeout: float = 60.0) -> CommandResult:
        FakeSSH.commands[self.ip] = command
        units = command.split()[2:]
        states = self.answers.get(self.ip, {})
        lines = [states.get(u, "active") for u in units]
        code = 0 if set(lines) == {"active"} else 3
        return CommandResult(code, "\n".join(lines), "")


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import docker

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a command after provisioning asked the Docker engine")

    monkeypatch.setattr(docker, "from_env", refuse)
    monkeypatch.setattr(docker, "DockerClient", refuse)


@pytest.fixture
def fake_ssh(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeSSH]]:
    monkeypatch.setattr(access_module, "HostSSH", FakeSSH)
    FakeSSH.answers, FakeSSH.opened, FakeSSH.commands = {}, [], {}
    yield FakeSSH


def deploy(name: str, county: dict[str, Any], city: dict[str, Any],
           missing_key: str | None = None) -> Deployment:
    """Write the deployment's inventory as any producer would (no realizer involved)."""
    dep = Deployment(name)
    keys = {hv["ansible_host"]: HOST_KEY for inv in (county, city)
            for body in inv["all"]["children"].values() if "vars" in body
            for hv in body["hosts"].values() if hv["ansible_host"] != missing_key}
    keys.update({missing_key: OTHER_KEY} if missing_key else {})
    write_inventory_files(dep.inventory_dir, [city, county], keys,
                          control_key=dep.dir / "key", deployment=name,
                          secrets_dir=dep.dir / "secrets",
                          public_urls={"320703-ext": "https://127.0.0.1:40443"})
    if missing_key:  # pinned under another name: the host has no key of its own
        known = dep.inventory_dir / "known_hosts"
        known.write_text(known.read_text().replace(f"{missing_key} ", "192.0.2.99 "))
    return dep


@pytest.mark.usefixtures("no_engine")
def test_status_asks_each_host_for_its_roles_units_over_pinned_ssh(
        fake_ssh: type[FakeSSH], county: dict[str, Any], city: dict[str, Any],
        tmp_path: Path) -> None:
    dep = deploy("st-1", county, city)
    fake_ssh.answers = {
        "10.200.12.12": {"rabbitmq-server": "failed"},  # county int: mq is down
        "10.200.9.15": TimeoutError("timed out"),  # city mq: no answer
        "10.200.9.16": paramiko.BadHostKeyException(  # city mon: not the pinned key
            "10.200.9.16", _key(OTHER_KEY), _key(HOST_KEY)),
    }
    access = DeploymentAccess(dep, ControlKey(tmp_path / "key"))
    rows = {r.host: r for r in status.host_rows(access)}
    assert len(rows) == 10 and list(rows)[:1] == ["320700-core"]
    assert rows["320703-int"].state == "inactive: rabbitmq-server=failed"
    assert rows["320700-mq"].state == "unreachable (timed out)"
    assert rows["320700-mon"].state.startswith("unreachable (Host key for server ")
    assert {r.state for h, r in rows.items()
            if h not in ("320703-int", "320700-mq", "320700-mon")} == {"active"}
    # the units of the host's roles and of every node, asked as the inventory's user
    assert fake_ssh.commands["10.200.12.12"] == (
        "systemctl is-active nftables postgresql@15-main prometheus "
        "prometheus-alertmanager prometheus-node-exporter rabbitmq-server ssh sunlight-core")
    assert fake_ssh.commands["10.200.12.10"].split()[2:] == [
        "nftables", "nginx", "postgresql@15-main", "prometheus-node-exporter", "ssh",
        "sunlight-portal", "sunlight-portal-8011"]
    pinned = " ".join(HOST_KEY.split()[:2])
    assert {(key, user, port) for _ip, key, user, port in fake_ssh.opened} == {
        (pinned, "admin", 22)}
    assert rows["320703-int"].core_url == "https://10.200.11.12:8003"
    assert rows["320703-ext"].public_url == "https://127.0.0.1:40443"
    assert rows["320703-gw"].addresses == {"mgmt": "10.200.12.11", "ext": "10.200.10.11",
                                           "int": "10.200.11.11"}


@pytest.mark.usefixtures("no_engine")
def test_a_host_without_its_own_pinned_key_is_unreachable_and_never_asked(
        fake_ssh: type[FakeSSH], county: dict[str, Any], city: dict[str, Any],
        tmp_path: Path) -> None:
    dep = deploy("st-2", county, city, missing_key="10.200.12.11")
    rows = {r.host: r for r in status.host_rows(DeploymentAccess(dep, ControlKey(tmp_path)))}
    assert rows["320703-gw"].state.startswith(
        "unreachable (host 320703-gw: no pinned host key for 10.200.12.11")
    assert "10.200.12.11" not in [ip for ip, *_ in fake_ssh.opened]


@pytest.mark.usefixtures("no_engine")
def test_core_readiness_asks_each_core_of_the_inventory_with_the_deployment_ca(
        monkeypatch: pytest.MonkeyPatch, county: dict[str, Any], city: dict[str, Any],
        tmp_path: Path) -> None:
    dep = deploy("st-3", county, city)
    asked: list[tuple[str, Any]] = []
    monkeypatch.setattr(status, "answers",
                        lambda url, verify=True: asked.append((url, verify)) or "ready")
    got = status.core_readiness(DeploymentAccess(dep, ControlKey(tmp_path)))
    assert got == [("320700", "https://10.200.8.13:8003", "ready"),
                   ("320703", "https://10.200.11.12:8003", "ready")]
    assert [url for url, _ in asked] == ["https://10.200.8.13:8003/readyz",
                                         "https://10.200.11.12:8003/readyz"]
    assert {verify for _, verify in asked} == {True}  # no CA in these secrets yet


@pytest.mark.usefixtures("no_engine")
def test_scenario_and_load_reach_sites_through_the_inventory(
        fake_ssh: type[FakeSSH], county: dict[str, Any], city: dict[str, Any],
        tmp_path: Path) -> None:
    dep = deploy("st-4", county, city)
    access = DeploymentAccess(dep, ControlKey(tmp_path))
    site = access.site("320703")
    assert site.portal_url == "https://127.0.0.1:40443"
    assert site.core_url == "https://10.200.11.12:8003"
    assert site.secrets == dep.dir / "secrets"
    assert access.ancestors("320703") == ["320700"]
    with pytest.raises(AccessError, match="site 320700: its nginx host has no "
                                          "sunlight_public_url"):
        _ = access.site("320700").portal_url
    with pytest.raises(AccessError, match="has no site 320706"):
        access.site("320706")
    with site.ssh("core") as ssh:
        ssh.run("systemctl is-active sunlight-core")
    assert fake_ssh.opened == [("10.200.12.12", " ".join(HOST_KEY.split()[:2]), "admin", 22)]


def test_a_deployment_without_an_inventory_or_with_a_broken_one_is_named(
        county: dict[str, Any], city: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(AccessError, match="deployment st-none has no inventory"):
        DeploymentAccess(Deployment("st-none"), ControlKey(tmp_path))
    dep = deploy("st-5", county, city)
    (dep.inventory_dir / "known_hosts").unlink()
    with pytest.raises(AccessError, match="deployment st-5: no known_hosts beside"):
        DeploymentAccess(dep, ControlKey(tmp_path))


def test_the_control_key_is_the_one_the_inventory_names(
        county: dict[str, Any], city: dict[str, Any]) -> None:
    """Status, scenario and load log in with the key Ansible uses (the inventory's
    ansible_ssh_private_key_file), not whichever key this user happens to have."""
    dep = deploy("st-6", county, city)
    assert DeploymentAccess(dep).key.path == dep.dir / "key"
