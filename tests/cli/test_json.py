"""``--json`` of the commands that print tables: one JSON document on stdout, nothing else.

The underlying functions are replaced, so no engine, deployment or database is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Row:
    site: str
    host: str
    roles: str
    state: str
    addresses: dict[str, str] = field(default_factory=dict)
    portal_port: int | None = None


def test_status_json(monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.stack import status

    rows = [Row("320703", "app", "core,gateway", "running",
                {"demo-320703-int-net": "10.0.3.2", "demo-320703-mgmt-net": "10.0.9.2"}),
            Row("320703", "edge", "nginx,portal", "running", {}, 40443)]
    asked: list[str] = []
    monkeypatch.setattr(status, "host_rows", lambda client, name: rows)
    monkeypatch.setattr(status, "answers",
                        lambda url, verify=True: asked.append(url) or "ready")
    monkeypatch.setattr(deployment, "docker_client", lambda: None)
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"deployment": "demo", "hosts": [
        {"site": "320703", "host": "app", "roles": ["core", "gateway"], "state": "running",
         "addresses": rows[0].addresses,
         "core": {"url": "https://10.0.3.2:8003", "readiness": "ready"}, "portal": None},
        {"site": "320703", "host": "edge", "roles": ["nginx", "portal"], "state": "running",
         "addresses": {}, "core": None, "portal": "https://127.0.0.1:40443/"},
    ]}
    assert asked == ["https://10.0.3.2:8003/readyz"]  # core serves HTTPS
    table = invoke("status")
    assert "core ready" in table.stdout and "portal https://127.0.0.1:40443/" in table.stdout


def test_status_of_a_missing_deployment_is_an_environment_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.stack import status

    monkeypatch.setattr(status, "host_rows", lambda client, name: [])
    monkeypatch.setattr(deployment, "docker_client", lambda: None)
    result = invoke("status", "--name", "gone", "--json")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "deployment gone has no hosts" in result.stderr


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
