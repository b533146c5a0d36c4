"""``--json`` of the commands that print tables: one JSON document on stdout, nothing else.

The underlying functions are replaced, so no engine, deployment or database is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from sunlight.cli import deployment
from sunlight.cli import main as cli_main
from sunlight.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_doctor_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control import doctor
    from sunlight.control.doctor import Check, Status

    monkeypatch.setattr(doctor, "run_checks", lambda: [
        Check("engine", Status.OK, "Docker 27.5", "never shown"),
        Check("disk", Status.FAIL, "2.0 GiB free", "free 5 GiB"),
        Check("image", Status.SKIP, "needs an engine"),
    ])
    result = invoke("doctor", "--json")
    assert result.exit_code == 1  # a check failed
    doc = json.loads(result.stdout)
    assert doc == {"healthy": False, "checks": [
        {"name": "engine", "status": "ok", "detail": "Docker 27.5", "remedy": ""},
        {"name": "disk", "status": "fail", "detail": "2.0 GiB free", "remedy": "free 5 GiB"},
        {"name": "image", "status": "not checked", "detail": "needs an engine", "remedy": ""},
    ]}
    assert "doctor found problems" in result.stderr
    table = invoke("doctor")
    assert table.exit_code == 1 and "free 5 GiB" in table.stdout
    assert "never shown" not in table.stdout


def _container(name: str, labels: dict[str, str], tags: list[str]) -> SimpleNamespace:
    return SimpleNamespace(name=name, labels=labels, status="running",
                           image=SimpleNamespace(tags=tags))


def test_hosts_list_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.resources import LABEL_LIFETIME, LABEL_RUN_ID

    listed = [_container("sl-demo-node1", {LABEL_RUN_ID: "demo", LABEL_LIFETIME: "persistent"},
                         ["sunlight-node:abc", "sunlight-node:latest"]),
              _container("sl-odd", {}, [])]
    client = SimpleNamespace(containers=SimpleNamespace(list=lambda **_: listed))
    monkeypatch.setattr(cli_main, "docker_client", lambda: client)
    result = invoke("hosts", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"hosts": [
        {"name": "sl-demo-node1", "run": "demo", "lifetime": "persistent",
         "status": "running", "image": "sunlight-node:abc"},
        {"name": "sl-odd", "run": None, "lifetime": None, "status": "running", "image": None},
    ]}
    table = invoke("hosts", "list")
    assert "sl-demo-node1" in table.stdout and "sunlight-node:abc" in table.stdout


def test_hosts_boot_json_keeps_progress_off_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control import standalone
    from sunlight.control.hostcheck import HostReport

    def boot(run_id: str, name: str, progress: Any, client: Any) -> Any:
        progress(f"booting {name} in run {run_id}")
        report = HostReport(name, "10.1.2.3", "ssh-ed25519 AAAA",
                            [("systemd", True, "running"), ("sshd", True, "banner")])
        return SimpleNamespace(report=report, ssh_command="ssh admin@10.1.2.3")

    monkeypatch.setattr(standalone, "boot_standalone", boot)
    monkeypatch.setattr(cli_main, "docker_client", lambda: None)
    result = invoke("hosts", "boot", "node2", "--run", "try1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "host": "node2", "ip": "10.1.2.3", "healthy": True,
        "findings": [{"check": "systemd", "ok": True, "found": "running"},
                     {"check": "sshd", "ok": True, "found": "banner"}],
        "ssh": "ssh admin@10.1.2.3", "remove": "sunlight hosts remove --run try1"}
    assert "booting node2 in run try1" in result.stderr


def _inventory_deployment(monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    """A deployment known only by its inventory files; SSH answers through FakeSSH and the
    engine refuses every use."""
    from sunlight.control.stack import access

    from ..deploy.conftest import site_inventory
    from ..deploy.test_status_from_inventory import FakeSSH, deploy

    def no_engine() -> None:
        raise AssertionError("status/verify asked the Docker engine")

    monkeypatch.setattr(deployment, "docker_client", no_engine)
    monkeypatch.setattr(access, "HostSSH", FakeSSH)
    FakeSSH.answers, FakeSSH.opened, FakeSSH.commands = {}, [], {}
    FakeSSH.answers["10.200.12.11"] = TimeoutError("timed out")  # the county's gateway
    return deploy(name, site_inventory("320703", "320700", "compact"),
                  site_inventory("320700", "320000", "standard"))


def test_status_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.stack import status

    _inventory_deployment(monkeypatch, "demo")
    asked: list[str] = []
    monkeypatch.setattr(status, "answers",
                        lambda url, verify=True: asked.append(url) or "ready")
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    hosts = {h["host"]: h for h in json.loads(result.stdout)["hosts"]}
    assert list(hosts)[:2] == ["320700-core", "320700-db"] and len(hosts) == 10
    assert hosts["320703-int"] == {
        "site": "320703", "host": "320703-int", "roles": ["core", "core_db", "mq", "mon"],
        "state": "active",
        "addresses": {"mgmt": "10.200.12.12", "int": "10.200.11.12", "backbone": "10.200.0.12"},
        "core": {"url": "https://10.200.11.12:8003", "readiness": "ready"}, "portal": None}
    assert hosts["320703-ext"]["portal"] == "https://127.0.0.1:40443/"
    assert hosts["320703-gw"]["state"] == "unreachable (timed out)"
    assert asked == ["https://10.200.8.13:8003/readyz", "https://10.200.11.12:8003/readyz"]
    table = invoke("status")
    assert "core ready" in table.stdout and "portal https://127.0.0.1:40443/" in table.stdout
    assert "unreachable (timed out)" in table.stdout


def test_status_of_a_missing_deployment_is_an_environment_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deployment, "docker_client", lambda: None)
    result = invoke("status", "--name", "gone", "--json")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "deployment gone has no inventory: run `sunlight up`" in result.stderr


def test_verify_runs_on_the_inventory_and_names_a_core_that_is_not_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.stack import configure, status

    dep = _inventory_deployment(monkeypatch, "vf-1")
    ran: list[tuple[str, Path]] = []

    def playbook(name: str, inventory: Path, log: Path, **_: Any) -> Any:
        ran.append((name, inventory))
        return SimpleNamespace(total_changed=0, seconds=3.0, log=log)

    monkeypatch.setattr(configure, "run_playbook", playbook)
    ready = {"https://10.200.8.13:8003/readyz": "ready",
             "https://10.200.11.12:8003/readyz": "no answer (ConnectError)"}
    monkeypatch.setattr(status, "answers", lambda url, verify=True: ready[url])
    failed = invoke("verify", "--name", "vf-1")
    assert failed.exit_code == 1
    assert "core not ready: 320703: no answer (ConnectError)" in failed.stderr
    assert ran == [("verify.yml", dep.hosts_file)]
    ready["https://10.200.11.12:8003/readyz"] = "ready"
    passed = invoke("verify", "--name", "vf-1")
    assert passed.exit_code == 0, passed.output
    assert "verified 2 sites" in passed.stdout


def test_up_json_keeps_progress_off_stdout(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    from sunlight.control.stack import up

    def fake_up(spec: Any, progress: Any, **kwargs: Any) -> Any:
        progress("site 320703: realizing (compact)")
        config = SimpleNamespace(division_code="320703", tier=SimpleNamespace(value="county"),
                                 profile=SimpleNamespace(value="compact"))
        dep = SimpleNamespace(name="demo", secrets_dir=tmp_path / "secrets",
                              hosts_file=tmp_path / "hosts.yml")
        return SimpleNamespace(
            deployment=dep, stages={"realize": 12.5, "configure": 80.0},
            playbook=SimpleNamespace(log=tmp_path / "site.log"),
            sites=[SimpleNamespace(config=config, portal_port=40443, hosts={"edge": 1, "app": 2})])

    monkeypatch.setattr(up, "up", fake_up)
    monkeypatch.setattr(deployment, "docker_client", lambda: None)
    result = invoke("up", "--json", "--no-configure")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "deployment": "demo",
        "sites": [{"site": "320703", "tier": "county", "profile": "compact",
                   "portal": "https://127.0.0.1:40443/", "hosts": ["app", "edge"]}],
        "stages": {"realize": 12.5, "configure": 80.0},
        "playbook_log": str(tmp_path / "site.log"),
        "secrets": str(tmp_path / "secrets"),
        "ca": str(tmp_path / "secrets" / "ca" / "ca.crt"),
        "inventory": str(tmp_path / "hosts.yml")}
    assert "site 320703: realizing" in result.stderr

