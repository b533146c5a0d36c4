"""``up --hosts``: validate → pin → precheck → configure, with SSH and Ansible replaced at
their boundaries (the key collector, the prechecks' gatherer, the playbook runner). A
refusal at any step configures nothing."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.byoh import up as byoh_up
from sunlight.control.byoh.hostkeys import HostKey, HostKeyError, read_pins
from sunlight.control.byoh.hostsfile import Target, parse_hosts_file
from sunlight.control.byoh.prechecks import Check, Report, Status
from sunlight.control.byoh.up import (
    HOSTS_FILE_COPY,
    HostsUpError,
    PrechecksFailed,
    up_hosts,
)
from sunlight.control.ssh import ControlKey
from sunlight.control.stack.ansible import PlaybookResult
from sunlight.control.stack.deployment import Deployment

from ..deploy.conftest import KEY as CONTROL_KEY_LINE
from .conftest import HOST_KEY

KEY = HostKey.from_line(HOST_KEY)
OTHER = HostKey.from_line(CONTROL_KEY_LINE)


class Ansible:
    """Stands in for ansible-playbook: records each run."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, Path, tuple[str, ...]]] = []

    def __call__(self, playbook: str, inventory: Path, log: Path, *, progress: Any,
                 extra_args: tuple[str, ...]) -> PlaybookResult:
        assert inventory.is_file()
        self.runs.append((playbook, inventory, tuple(extra_args)))
        return PlaybookResult(playbook, log, 0.1)


CONFIGURED: list[list[str]] = []  # the configured_sites each prechecks run was given


def _report(ok: bool) -> Any:
    def prechecker(inventory: dict[str, Any], pins: dict[str, str], *_: Any,
                   configured_sites: list[str]) -> Report:
        CONFIGURED.append(list(configured_sites))
        hosts = [n for g, b in inventory["all"]["children"].items() if g.startswith("site_")
                 for n in b["hosts"]]
        assert set(pins) == {hv["ansible_host"] for g, b in inventory["all"]["children"].items()
                             if g.startswith("site_") for hv in b["hosts"].values()}
        checks = [Check(h, "os", Status.OK, "Debian GNU/Linux 12 (bookworm)") for h in hosts]
        if not ok:
            checks.append(Check(hosts[0], "clock", Status.FAIL, "offset +5.000 s", "sync it"))
        return Report(checks)
    return prechecker


@pytest.fixture
def hosts_doc(doc: dict[str, Any]) -> dict[str, Any]:
    doc["deployment"] = "t" + uuid.uuid4().hex[:12]
    return doc


@pytest.fixture
def key(tmp_path: Path) -> ControlKey:
    return ControlKey.load_or_create(tmp_path / "control_ed25519")


def _up(doc: dict[str, Any], key: ControlKey, ansible: Ansible, *, ok: bool = True,
        keys: dict[str, HostKey] | None = None, confirm: bool = True) -> byoh_up.HostsUpResult:
    hf = parse_hosts_file(doc)
    return up_hosts(hf, progress=lambda _m: None, key=key,
                    confirm=(lambda _t, _k: confirm),
                    collect=lambda t: (keys or {}).get(t.address, KEY),
                    prechecker=_report(ok), runner=ansible)


def test_fit_hosts_are_pinned_checked_and_configured_with_site_yml(
        hosts_doc: dict[str, Any], key: ControlKey) -> None:
    ansible = Ansible()
    result = _up(hosts_doc, key, ansible)
    dep = Deployment(hosts_doc["deployment"])
    assert [(p, i, a) for p, i, a in ansible.runs] == [("site.yml", dep.hosts_file, ())]
    assert set(result.pins.how.values()) == {"confirmed"}
    inv = yaml.safe_load(dep.hosts_file.read_text())
    assert inv["all"]["vars"]["sunlight_deployment"] == hosts_doc["deployment"]
    known = (dep.inventory_dir / "known_hosts").read_text().splitlines()
    assert len(known) == 6 and all(line.endswith(HOST_KEY) for line in known)
    assert yaml.safe_load((dep.dir / HOSTS_FILE_COPY).read_text())["deployment"] == \
        hosts_doc["deployment"]


def test_a_failed_precheck_configures_nothing(hosts_doc: dict[str, Any],
                                              key: ControlKey) -> None:
    ansible = Ansible()
    with pytest.raises(PrechecksFailed) as caught:
        _up(hosts_doc, key, ansible, ok=False)
    assert ansible.runs == []
    dep = Deployment(hosts_doc["deployment"])
    assert not dep.hosts_file.exists()  # no inventory: nothing can be configured from it
    assert "host 320000-ext, check clock: offset +5.000 s — remedy: sync it" in str(caught.value)
    assert len(read_pins(dep.inventory_dir / "known_hosts")) == 6  # the confirmations stay


def test_a_declined_fingerprint_stops_before_the_prechecks(hosts_doc: dict[str, Any],
                                                           key: ControlKey) -> None:
    ansible = Ansible()
    with pytest.raises(HostKeyError):
        up_hosts(parse_hosts_file(hosts_doc), progress=lambda _m: None, key=key,
                 confirm=lambda t, _k: t.name != "320700-gw", collect=lambda _t: KEY,
                 prechecker=pytest.fail, runner=ansible)
    assert ansible.runs == []


def test_a_changed_key_is_refused_on_the_next_run(hosts_doc: dict[str, Any],
                                                  key: ControlKey) -> None:
    ansible = Ansible()
    _up(hosts_doc, key, ansible)
    with pytest.raises(HostKeyError) as caught:
        _up(hosts_doc, key, ansible, keys={"10.32.13.12": OTHER})
    assert [name for name, _ in caught.value.refusals] == ["320700-int"]
    assert len(ansible.runs) == 1  # the first run only
    pins = read_pins(Deployment(hosts_doc["deployment"]).inventory_dir / "known_hosts")
    assert pins["10.32.13.12"] == KEY


def test_a_site_added_later_runs_add_node_for_it(hosts_doc: dict[str, Any],
                                                 key: ControlKey) -> None:
    first = copy.deepcopy(hosts_doc)
    del first["sites"][1]
    ansible = Ansible()
    _up(first, key, ansible)
    result = _up(hosts_doc, key, ansible)
    assert [(p, a) for p, _, a in ansible.runs] == [
        ("site.yml", ()), ("add-node.yml", ("-e", "new_site=320700"))]
    assert result.pins.how["320000-int"] == "pinned"
    assert result.pins.how["320700-int"] == "confirmed"
    assert CONFIGURED[-2:] == [[], ["320000"]]  # the prechecks know which site ran before
    _up(hosts_doc, key, ansible)  # nothing new: converge with site.yml
    assert ansible.runs[-1][0] == "site.yml"


def test_a_hosts_file_that_drops_a_site_is_refused(hosts_doc: dict[str, Any],
                                                   key: ControlKey) -> None:
    ansible = Ansible()
    _up(hosts_doc, key, ansible)
    smaller = copy.deepcopy(hosts_doc)
    del smaller["sites"][1]
    with pytest.raises(HostsUpError, match="site\\(s\\) 320700 that the hosts file drops"):
        _up(smaller, key, ansible)
    assert len(ansible.runs) == 1


runner = CliRunner()


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "hosts.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_cli_refuses_a_bad_hosts_file_naming_the_entry(hosts_doc: dict[str, Any],
                                                       tmp_path: Path) -> None:
    hosts_doc["sites"][1]["hosts"][0]["roles"].append("web")
    result = runner.invoke(app, ["up", "--hosts", str(_write(tmp_path, hosts_doc)), "--yes"])
    assert result.exit_code == 2
    assert "site 320700, host ext, field roles: unknown role(s) web" in result.stderr


def test_cli_up_hosts_needs_yes_without_a_terminal(hosts_doc: dict[str, Any],
                                                   tmp_path: Path) -> None:
    result = runner.invoke(app, ["up", "--hosts", str(_write(tmp_path, hosts_doc))])
    assert result.exit_code == 2
    assert "give --yes" in result.stderr


def test_cli_prechecks_needs_one_source() -> None:
    result = runner.invoke(app, ["prechecks"])
    assert result.exit_code == 2
    assert "exactly one of --deployment NAME and --hosts FILE" in result.stderr


def test_cli_up_hosts_json_reports_failed_prechecks(hosts_doc: dict[str, Any], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ansible = Ansible()
    real = byoh_up.up_hosts

    def with_boundaries(hf: Any, **kwargs: Any) -> Any:
        assert kwargs["confirm"] is None  # no terminal: only --known-hosts can pin
        return real(hf, **{**kwargs, "collect": lambda _t: KEY,
                           "prechecker": _report(False), "runner": ansible})

    monkeypatch.setattr(byoh_up, "up_hosts", with_boundaries)
    known = tmp_path / "centre_known_hosts"
    hf = parse_hosts_file(hosts_doc)
    known.write_text("".join(f"{t.address} {HOST_KEY}\n" for t in hf.hosts()))
    result = runner.invoke(app, ["up", "--hosts", str(_write(tmp_path, hosts_doc)),
                                 "--known-hosts", str(known), "--yes", "--json"])
    assert result.exit_code == 1, result.output
    import json

    doc = json.loads(result.stdout)
    assert doc["configured"] is False
    assert doc["prechecks"]["ok"] is False
    assert [c["name"] for c in doc["prechecks"]["checks"] if c["status"] == "fail"] == ["clock"]
    assert "precheck(s) failed, nothing was configured" in result.stderr
    assert ansible.runs == []


def test_targets_carry_the_ssh_user_and_port(hosts_doc: dict[str, Any]) -> None:
    hf = parse_hosts_file(hosts_doc)
    assert Target("320700", "int", "320700-int", "10.32.13.12", "sunlight-ops", 22) in \
        list(hf.hosts())


def test_cli_prechecks_prints_the_table_and_fails_naming_host_check_and_remedy(
        hosts_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control.byoh import hostkeys, prechecks, probe
    from sunlight.control.byoh.prechecks import HostFacts

    monkeypatch.setattr(hostkeys, "collect_host_key", lambda _t: KEY)
    def gathered(plan: Any, _key: Any, host_key: str | None) -> HostFacts:
        assert host_key == HOST_KEY  # pinned from --known-hosts
        facts = HostFacts(os_release='ID=debian\nVERSION_ID="12"\n', sudo=True,
                          clock=[(1.0, 1.0, 1.0)],
                          probe={"python": "3.11.2", "listening": [], "reach": [],
                                 "disk": [{"path": "/", "device": 1, "free": 9 * 2**30,
                                           "total": 9 * 2**30}]})
        if plan.name == "320700-gw":
            facts.os_release = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\n'
        return facts

    monkeypatch.setattr(prechecks, "gather", gathered)
    monkeypatch.setattr(probe, "reach", lambda a, p, _t: {"address": a, "port": p,
                                                          "result": "closed", "errno": None,
                                                          "detail": ""})
    known = tmp_path / "centre_known_hosts"
    hf = parse_hosts_file(hosts_doc)
    known.write_text("".join(f"{t.address} {HOST_KEY}\n" for t in hf.hosts()))
    result = runner.invoke(app, ["prechecks", "--hosts", str(_write(tmp_path, hosts_doc)),
                                 "--known-hosts", str(known)], env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.output
    row = next(line for line in result.stdout.splitlines() if "Ubuntu" in line)
    assert "320700-gw" in row and "os" in row and "fail" in row and "Debian 12" in row
    assert "1 precheck(s) failed" in result.stderr
