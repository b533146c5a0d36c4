"""Prechecks judged from recorded host outputs (no host, no SSH), the commands they send
(through a recorded runner standing in for the SSH session), and the probe itself run as
shipped — ``python3 -c SOURCE ARGS`` — against real local sockets."""

from __future__ import annotations

import base64
import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sunlight.control.byoh import prechecks as pc
from sunlight.control.byoh.hostsfile import inventory_of, parse_hosts_file
from sunlight.control.byoh.prechecks import (
    HostFacts,
    HostPlan,
    Limits,
    Status,
    clock_offset,
    control_rows,
    evaluate,
    gather_with,
    plan_hosts,
    probe_command,
    run_prechecks,
)
from sunlight.control.ssh import CommandResult, ControlKey
from sunlight.topology.flows import load_flows

DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n' \
            'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n'
UBUNTU = 'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nID=ubuntu\nVERSION_ID="22.04"\n'
GIB = 2**30


@pytest.fixture
def inventory(doc: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    hf = parse_hosts_file(doc)
    return inventory_of(hf, control_key=tmp_path / "k", known_hosts=tmp_path / "kh",
                        secrets_dir=tmp_path / "s")


@pytest.fixture
def plans(inventory: dict[str, Any]) -> dict[str, HostPlan]:
    return {p.name: p for p in plan_hosts(inventory)}


def _probe(plan: HostPlan, *, python: str = "3.11.2", free_gib: float = 20.0,
           listening: list[dict[str, Any]] | None = None,
           results: dict[tuple[str, int], str] | None = None) -> dict[str, Any]:
    results = results or {}
    return {
        "python": python,
        "disk": [{"path": "/", "device": 1, "free": free_gib * GIB, "total": 40 * GIB}],
        "listening": listening if listening is not None else [
            {"port": 22, "address": "0.0.0.0", "pid": 301, "program": "sshd",
             "unit": "ssh.service"}],
        "reach": [{"address": r.address, "port": r.port, "errno": None, "detail": "",
                   "result": results.get((r.address, r.port), "closed")} for r in plan.reach],
    }


def _good(plan: HostPlan, **probe: Any) -> HostFacts:
    return HostFacts(os_release=DEBIAN_12, sudo=True,
                     clock=[(1000.0, 1000.02, 1000.04), (1001.0, 1001.1, 1001.3)],
                     probe=_probe(plan, **probe))


def _by_name(checks: list[pc.Check]) -> dict[str, pc.Check]:
    return {c.name: c for c in checks}


def test_plans_come_from_the_inventory(plans: dict[str, HostPlan]) -> None:
    flows = load_flows()
    int_host = plans["320700-int"]
    assert (int_host.address, int_host.user, int_host.port) == ("10.32.13.12", "sunlight-ops", 22)
    assert ("postgresql", flows.port("postgresql")) in int_host.listen
    assert all(service != "ssh" for service, _ in int_host.listen)
    # the child's broker reaches the parent's over the backbone, on amqps
    amqps = [r for r in int_host.reach if r.service == "amqps"]
    assert [(r.destination, r.address, r.network) for r in amqps] == \
        [("320000-int", "10.32.0.4", "backbone")]
    # nothing on the host itself (roles sharing a host talk over loopback)
    assert all(r.destination != "320700-int" for r in int_host.reach)
    gw = plans["320700-gw"]
    assert {(r.service, r.destination) for r in gw.reach} == \
        {("postgresql", "320700-ext"), ("core_api", "320700-int")}


def test_control_rows_come_from_the_firewalls(inventory: dict[str, Any]) -> None:
    rows = {(r.service, r.destination, r.address) for r in control_rows(inventory)}
    assert ("core_api", "320700-int", "10.32.12.12") in rows
    assert ("https", "320700-ext", "10.32.11.10") in rows
    assert all(service != "ssh" for service, _, _ in rows)


def test_a_fit_host_passes_every_check(plans: dict[str, HostPlan]) -> None:
    plan = plans["320700-int"]
    checks = evaluate(plan, _good(plan))
    assert [c for c in checks if c.status is not Status.OK] == []
    names = [c.name for c in checks]
    assert names[:7] == ["ssh", "os", "sudo", "clock", "python", "disk", "ports"]
    assert len(names) == 7 + len(plan.reach)
    assert _by_name(checks)["clock"].detail.startswith("offset +0.000 s (±0.020 s)")


def test_another_os_fails_naming_host_check_and_remedy(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-gw"]
    facts = _good(plan)
    facts.os_release = UBUNTU
    os_check = _by_name(evaluate(plan, facts))["os"]
    assert (os_check.host, os_check.status, os_check.detail) == \
        ("320000-gw", Status.FAIL, "Ubuntu 22.04.4 LTS")
    assert "Debian 12" in os_check.remedy


def test_an_old_python_fails(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-gw"]
    check = _by_name(evaluate(plan, _good(plan, python="3.9.2")))["python"]
    assert check.status is Status.FAIL and check.detail == "Python 3.9.2, below 3.11"


def test_no_python_fails_and_leaves_the_probe_checks_unchecked(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-gw"]
    facts = _good(plan)
    facts.probe = None
    facts.errors["python"] = "python3 not found on PATH"
    checks = _by_name(evaluate(plan, facts))
    assert checks["python"].status is Status.FAIL
    assert "apt-get install python3" in checks["python"].remedy
    assert {checks[n].status for n in ("disk", "ports")} == {Status.SKIP}
    assert checks["os"].status is Status.OK


def test_low_disk_fails(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-int"]
    check = _by_name(evaluate(plan, _good(plan, free_gib=1.5)))["disk"]
    assert check.status is Status.FAIL
    assert check.detail == "/ 1.5 GiB free"
    assert "at least 4 GiB on /" in check.remedy


@pytest.mark.parametrize(("samples", "status"), [
    ([(100.0, 105.2, 100.2)], Status.FAIL),  # 5 s ahead
    ([(100.0, 98.0, 100.1)], Status.FAIL),  # 2 s behind
    ([(100.0, 100.9, 100.1)], Status.OK),  # 0.85 s: within 1 s
    # a slow sample (± 2 s) cannot tell; the quick one decides
    ([(100.0, 104.0, 104.0), (200.0, 200.01, 200.02)], Status.OK),
    ([(100.0, 102.0, 100.01), (200.0, 203.0, 204.0)], Status.FAIL),
])
def test_the_clock_offset_is_judged_from_the_best_sample(
        plans: dict[str, HostPlan], samples: list[tuple[float, float, float]],
        status: Status) -> None:
    plan = plans["320000-ext"]
    facts = _good(plan)
    facts.clock = samples
    check = _by_name(evaluate(plan, facts, Limits(max_clock_offset_s=1.0)))["clock"]
    assert check.status is status, check.detail
    if status is Status.FAIL:
        assert "chrony" in check.remedy


def test_clock_offset_is_host_minus_the_midpoint() -> None:
    assert clock_offset([(10.0, 13.0, 12.0)]) == (2.0, 1.0)


def test_a_port_held_by_another_program_fails(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-int"]
    pg = load_flows().port("postgresql")
    held = [{"port": pg, "address": "0.0.0.0", "pid": 77, "program": "mysqld",
             "unit": "mariadb.service"}]
    check = _by_name(evaluate(plan, _good(plan, listening=held)))["ports"]
    assert check.status is Status.FAIL
    assert check.detail == f"{pg} (postgresql) is held by mysqld (pid 77, mariadb.service) " \
                           "on 0.0.0.0"
    assert "systemctl disable --now" in check.remedy


def test_a_port_held_by_the_roles_own_service_passes(plans: dict[str, HostPlan]) -> None:
    """A converging re-run: the ports are held by what the playbooks started."""
    plan = plans["320000-int"]
    flows = load_flows()
    held = [{"port": flows.port("postgresql"), "address": "10.32.2.12", "pid": 5,
             "program": "postgres", "unit": "postgresql@15-main.service"},
            {"port": flows.port("core_api"), "address": "10.32.2.12", "pid": 6,
             "program": "sunlight", "unit": "sunlight-core.service"},
            {"port": flows.port("amqps"), "address": "10.32.0.4", "pid": 7,
             "program": "beam.smp", "unit": "rabbitmq-server.service"}]
    assert _by_name(evaluate(plan, _good(plan, listening=held)))["ports"].status is Status.OK


def test_a_port_with_an_unknown_owner_fails_and_says_why(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-ext"]
    https = load_flows().port("https")
    facts = _good(plan, listening=[{"port": https, "address": "::", "pid": None,
                                    "program": None, "unit": None}])
    facts.sudo = False
    facts.errors["sudo"] = "sudo: a password is required"
    checks = _by_name(evaluate(plan, facts))
    assert checks["ports"].status is Status.FAIL
    assert "an unknown process" in checks["ports"].detail
    assert "passwordless sudo" in checks["ports"].detail
    assert checks["sudo"].status is Status.FAIL
    assert "NOPASSWD" in checks["sudo"].remedy


@pytest.mark.parametrize(("result", "status"), [
    ("open", Status.OK), ("closed", Status.OK), ("filtered", Status.FAIL),
    ("unreachable", Status.FAIL), ("blocked", Status.FAIL), ("error", Status.FAIL)])
def test_a_row_is_reachable_when_open_or_refused(plans: dict[str, HostPlan], result: str,
                                                 status: Status) -> None:
    plan = plans["320700-int"]
    row = next(r for r in plan.reach if r.service == "amqps")
    checks = _by_name(evaluate(plan, _good(plan, results={(row.address, row.port): result})))
    check = checks["reach amqps 320000-int"]
    assert check.status is status
    assert check.detail.startswith(f"10.32.0.4:{row.port} on backbone: ")
    if status is Status.FAIL:
        assert check.host == "320700-int"
        assert check.remedy


def test_a_new_sites_row_to_a_configured_sites_host_waits_for_this_run(
        inventory: dict[str, Any]) -> None:
    """320700 joins a deployment that has 320000: 320000's broker firewall names its
    sources, so 320700-int's row to it is left for add-node.yml to open (not failed)."""
    plans = {p.name: p for p in plan_hosts(inventory, configured_sites={"320000"})}
    plan = plans["320700-int"]
    row = next(r for r in plan.reach if r.service == "amqps")
    assert row.admitted_by_this_run and not plan.configured
    checks = _by_name(evaluate(plan, _good(plan, results={(row.address, row.port): "filtered"})))
    check = checks["reach amqps 320000-int"]
    assert check.status is Status.SKIP
    assert "admits 320700-int once this run has configured it" in check.detail
    assert plans["320000-int"].configured
    assert not any(r.admitted_by_this_run for r in plans["320000-int"].reach)


def test_a_configured_hosts_port_of_unreadable_owner_is_its_own_service(
        inventory: dict[str, Any]) -> None:
    """In a container root cannot read other users' /proc/<pid>/fd: on a host an earlier
    run configured, such a holder is the role's service; on a new host it stays a conflict."""
    https = load_flows().port("https")
    unknown = [{"port": https, "address": "0.0.0.0", "pid": None, "program": None,
                "unit": None}]
    configured = {p.name: p for p in plan_hosts(inventory, configured_sites={"320000"})}
    plan = configured["320000-ext"]
    assert _by_name(evaluate(plan, _good(plan, listening=unknown)))["ports"].status is Status.OK
    fresh = {p.name: p for p in plan_hosts(inventory)}["320000-ext"]
    assert _by_name(evaluate(fresh, _good(fresh, listening=unknown)))["ports"].status \
        is Status.FAIL


def test_no_ssh_session_fails_ssh_and_checks_nothing_else(plans: dict[str, HostPlan]) -> None:
    plan = plans["320000-gw"]
    checks = evaluate(plan, HostFacts(errors={"ssh": "login as admin refused (Authentication "
                                                     "failed.)"}), key_file="/k.pub")
    assert checks[0].status is Status.FAIL
    assert checks[0].remedy == "add /k.pub to ~admin/.ssh/authorized_keys on the host"
    assert {c.status for c in checks[1:]} == {Status.SKIP}


def test_gather_sends_the_commands_and_records_the_answers(plans: dict[str, HostPlan]) -> None:
    """The SSH session replaced at the boundary by recorded answers."""
    plan = plans["320700-gw"]
    sent: list[str] = []
    answers = {"cat /etc/os-release": CommandResult(0, DEBIAN_12, ""),
               "date +%s.%N": CommandResult(0, "1700000000.250000000", ""),
               "sudo -n true": CommandResult(0, "", ""),
               "command -v python3": CommandResult(0, "/usr/bin/python3", "")}
    recorded = _probe(plan)

    def run(command: str, _timeout: float) -> CommandResult:
        sent.append(command)
        if command in answers:
            return answers[command]
        return CommandResult(0, json.dumps(recorded), "")

    ticks = iter([1700000000.0, 1700000000.5] * 3)
    facts = gather_with(run, plan, clock=lambda: next(ticks))
    assert sent[:5] == ["cat /etc/os-release"] + ["date +%s.%N"] * 3 + ["sudo -n true"]
    assert sent[6].startswith("sudo -n python3 -c ")
    assert facts.probe == recorded
    assert clock_offset(facts.clock) == (0.0, 0.25)
    assert [c.status for c in evaluate(plan, facts)] == [Status.OK] * (7 + len(plan.reach))


def _run_probe(args: dict[str, Any]) -> dict[str, Any]:
    plan = HostPlan("x", "320000", "127.0.0.1", "admin", 22, (), ())
    words = shlex.split(probe_command(plan, sudo=False))  # python3 -c SOURCE ARGS
    assert words[:2] == ["python3", "-c"]
    encoded = base64.b64encode(json.dumps(args).encode()).decode()
    done = subprocess.run([sys.executable, "-c", words[2], encoded], capture_output=True,
                          text=True, timeout=60, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_probe_as_shipped_classifies_open_and_closed_ports() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_server(("127.0.0.1", 0)) as gone:
        open_port = listener.getsockname()[1]
        closed_port = gone.getsockname()[1]
        gone.close()
        found = _run_probe({"paths": ["/", "/nonexistent"], "timeout": 2,
                            "targets": [["127.0.0.1", open_port], ["127.0.0.1", closed_port]]})
        assert [r["result"] for r in found["reach"]] == ["open", "closed"]
        assert any(s["port"] == open_port and s["address"] == "127.0.0.1"
                   for s in found["listening"])
    assert found["python"].startswith("3.")
    assert [d["path"] for d in found["disk"]] == ["/"]
    assert found["disk"][0]["free"] > 0


def test_run_prechecks_judges_every_host_and_the_control_rows(
        inventory: dict[str, Any], plans: dict[str, HostPlan], tmp_path: Path) -> None:
    key = ControlKey.load_or_create(tmp_path / "control_ed25519")
    seen: list[tuple[str, int]] = []

    def reacher(address: str, port: int, _timeout: float) -> dict[str, Any]:
        seen.append((address, port))
        result = "filtered" if address == "10.32.12.12" else "closed"
        return {"address": address, "port": port, "result": result, "errno": None,
                "detail": ""}

    report = run_prechecks(inventory, {}, key, gatherer=lambda p: _good(p), reacher=reacher)
    assert {c.host for c in report.checks} == {*plans, "control"}
    assert not report.ok
    expected = {("control", r.label) for r in control_rows(inventory)
                if r.address == "10.32.12.12"}
    assert ("control", "reach core_api 320700-int") in expected
    assert {(c.host, c.name) for c in report.failures} == expected
    assert report.document()["ok"] is False
    assert len(seen) == len(control_rows(inventory))
