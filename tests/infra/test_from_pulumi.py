"""`sunlight inventory from-pulumi`: the program's own outputs in, the realizer's inventory out.

Each site's stack runs through infra/__main__.py under Pulumi mocks with the stack config a
`pulumi up` would hand it; its exported outputs are written as `pulumi stack output --json
--show-secrets` prints them; the command turns those files into hosts.yml and known_hosts,
which must equal what `sunlight up` writes (control.deploy.inventory.write_inventory over
the realizer's sites) for the same topology. Host keys are pinned as for machines Sunlight
did not create (control.byoh.hostkeys): collected from real SSH servers (paramiko, on
loopback addresses) and pinned only once the operator confirmed their fingerprints, or
checked against a known_hosts file (there the handshake is replaced: the hosts are made up).
Each nginx host's public URL comes from the engine's answer in the `published` output.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest
import yaml
from typer.testing import CliRunner

from sunlight.cli import byoh as byoh_cli
from sunlight.cli import inventory as inventory_cli
from sunlight.cli.main import app
from sunlight.control.byoh import hostkeys
from sunlight.control.byoh.hostkeys import HostKey
from sunlight.control.deploy.inventory import write_inventory
from sunlight.control.realizer.apply import Realized, RealizedHost
from sunlight.control.realizer.capture import capture_site
from sunlight.control.resources import Run
from sunlight.control.ssh import ControlKey, control_key
from sunlight.control.stack.deployment import Deployment
from sunlight.control.stack.topology import SiteSpec, TopologySpec
from sunlight.control.stack.up import site_configs
from sunlight.topology.addressing import SiteAddressPlan, plan_deployment
from sunlight.topology.config import SiteConfig, parse_site_config
from sunlight.topology.layout import Profile

from .stacks import run_stack, stack_keys, stack_output_json

IMAGE = "sunlight/node:0123456789abcdef"
SPEC = TopologySpec(name="pulumi-t1", profile=Profile.COMPACT, sites=[
    SiteSpec(code="320000"), SiteSpec(code="320700", parent="320000", profile=Profile.STANDARD),
    SiteSpec(code="320703", parent="320700")])
runner = CliRunner()


def _key(path: Path) -> ControlKey:
    """An Ed25519 key pair at ``path`` (its name has no dots: ``.pub`` replaces a suffix)."""
    return ControlKey.load_or_create(path.with_name(path.name.replace(".", "-")))


def _host_key(tmp: Path, address: str) -> str:
    return _key(tmp / "hostkeys" / address).public.rsplit(" ", 1)[0]


def _configs(spec: TopologySpec) -> list[SiteConfig]:
    """The sites' configs made the way `sunlight up` makes them (control.stack.up)."""
    run = Run.named(spec.name)
    plan = plan_deployment([s.code for s in spec.sites], taken=[])
    return site_configs(spec, run, IMAGE, control_key().public, plan, run.name("backbone"))


def _portal_port(config: SiteConfig) -> int:
    """The loopback port the engine chose for the site's front door (a made-up answer)."""
    return 18443 + int(config.division_code[2:4])


def _realized(config: SiteConfig, keys: dict[str, str]) -> Realized:
    """What the realizer hands `up` for a site: the captured outputs, hosts with pinned keys,
    its front door published where the engine said."""
    capture = capture_site(config)
    group = capture.outputs["inventory"]["all"]["children"][f"site_{config.division_code}"]
    hosts = {hv["sunlight_host"]: RealizedHost(hv["sunlight_host"], tuple(hv["sunlight_roles"]),
                                               None, dict(hv["sunlight_addresses"]),
                                               keys[hv["ansible_host"]])
             for hv in group["hosts"].values()}
    return Realized(config, hosts, dict(capture.outputs["networks"]), [], capture.outputs,
                    _portal_port(config))


def _outputs_after_up(config: SiteConfig) -> str:
    """The site's saved outputs; after a real `pulumi up` ``published`` holds the engine's
    answer, the port it chose (the mocks leave it unset)."""
    outputs = run_stack(stack_keys(config))
    outputs["published"] = {host: [{**p, "host_port": _portal_port(config)} for p in ports]
                            for host, ports in outputs["published"].items()}
    return stack_output_json(outputs)


def _stack_files(tmp: Path, configs: list[SiteConfig]) -> list[Path]:
    files = []
    for config in configs:
        path = tmp / f"{config.division_code}.json"
        path.write_text(_outputs_after_up(config), encoding="utf-8")
        files.append(path)
    return files


def _collect_from(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str]) -> None:
    """The made-up hosts "present" ``keys`` (no SSH server answers at their addresses)."""
    monkeypatch.setattr(hostkeys, "collect_host_key",
                        lambda target: HostKey.from_line(keys[target.address]))


def _addresses(files: list[Path]) -> list[str]:
    return [a for f in files for a in json.loads(f.read_text())["mgmt_addresses"].values()]


def _without_known_hosts_path(inv: dict[str, Any]) -> dict[str, Any]:
    inv = copy.deepcopy(inv)
    args = inv["all"]["vars"]["ansible_ssh_common_args"].split()
    inv["all"]["vars"]["ansible_ssh_common_args"] = " ".join(
        "UserKnownHostsFile=<dir>/known_hosts" if a.startswith("UserKnownHostsFile=") else a
        for a in args)
    return inv


def test_from_pulumi_writes_what_the_realizer_path_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configs = _configs(SPEC)
    files = _stack_files(tmp_path, configs)
    doc = json.loads(files[2].read_text())
    assert doc["division_code"] == "320703" and doc["parent_code"] == "320700"
    keys = {a: _host_key(tmp_path, a) for a in _addresses(files)}
    assert len(keys) == 3 + 7 + 3
    _collect_from(monkeypatch, keys)
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"{a} {k}\n" for a, k in keys.items()))

    result = runner.invoke(app, ["inventory", "from-pulumi", *map(str, files),
                                 "--known-hosts", str(known), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    dep = Deployment(SPEC.name)
    assert report["deployment"] == SPEC.name  # the stacks' run_id
    assert report["sites"] == ["320000", "320700", "320703"]
    assert report["inventory"] == str(dep.hosts_file)

    # The realizer's path, as control.stack.up.up writes it for the same topology.
    realized = write_inventory(tmp_path / "realizer", [_realized(c, keys) for c in configs],
                               control_key=control_key().path, deployment=SPEC.name,
                               secrets_dir=dep.secrets_dir)
    ours = yaml.safe_load(dep.hosts_file.read_text())
    theirs = yaml.safe_load(realized.hosts.read_text())
    assert _without_known_hosts_path(ours) == _without_known_hosts_path(theirs)
    assert dep.hosts_file.with_name("known_hosts").read_text() == realized.known_hosts.read_text()
    county = ours["all"]["children"]["site_320703"]
    assert county["vars"]["sunlight_parent_code"] == "320700"
    assert sorted(county["hosts"]) == ["320703-ext", "320703-gw", "320703-int"]
    assert county["hosts"]["320703-int"]["sunlight_roles"] == ["core", "core_db", "mq", "mon"]
    assert f"UserKnownHostsFile={dep.inventory_dir.resolve()}/known_hosts" in (
        ours["all"]["vars"]["ansible_ssh_common_args"])


def _county(tmp: Path, code: str = "320703", parent: str | None = "320700",
            **changes: Any) -> Path:
    config = _configs(SPEC)[2]
    raw = {**config.model_dump(mode="json"), "division_code": code, "parent_code": parent,
           **changes}
    path = tmp / f"{code}.json"
    path.write_text(_outputs_after_up(parse_site_config(raw)))
    return path


def _edit(path: Path, change: Any) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def _int_host(doc: dict[str, Any]) -> dict[str, Any]:
    host: dict[str, Any] = doc["inventory"]["all"]["children"]["site_320703"]["hosts"][
        "320703-int"]
    return host


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d.update(inventory="[secret]"), "outputs.inventory shows [secret]"),
    (lambda d: d.pop("inventory"), "no output 'inventory'"),
    (lambda d: d.update(division_code="32070"), "division_code: '32070' is not a six-digit"),
    (lambda d: _int_host(d)["sunlight_roles"].append("ftp"), "host 320703-int: unknown role"),
    (lambda d: _int_host(d).update(sunlight_zone="external"),
     "host 320703-int: zone 'external' does not match"),
    (lambda d: _int_host(d).update(ansible_host="10.9.9.9"),
     "host 320703-int: ansible_host is not its mgmt address"),
    (lambda d: d["inventory"]["all"]["children"]["site_320703"]["vars"].update(
        sunlight_parent_code="320000"), "sunlight_parent_code"),
], ids=["hidden-secret", "no-inventory", "bad-code", "unknown-role", "zone", "address",
        "parent"])
def test_bad_stack_outputs_are_refused_naming_the_file_and_entry(
        tmp_path: Path, change: Any, says: str) -> None:
    path = _edit(_county(tmp_path), change)
    result = runner.invoke(app, ["inventory", "from-pulumi", str(path), "--known-hosts",
                                 str(path), "--deployment", "pulumi-bad"])
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr and says in result.stderr
    assert not Deployment("pulumi-bad").inventory_dir.exists()


def test_sites_twice_an_orphan_runs_differing_and_a_missing_known_host_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _stack_files(tmp_path, _configs(SPEC))
    twice = tmp_path / "again.json"
    twice.write_text(files[2].read_text())
    result = runner.invoke(app, ["inventory", "from-pulumi", *map(str, files), str(twice)])
    assert result.exit_code == 2 and f"site 320703 is in both {files[2]}" in result.stderr

    result = runner.invoke(app, ["inventory", "from-pulumi", str(files[2])])
    assert result.exit_code == 2
    assert "site 320703's parent 320700 is not among the files" in result.stderr

    other = tmp_path / "other"
    other.mkdir()
    plan = plan_deployment(["320000", "320700", "320703", "320706"], taken=[])
    city = _county(other, "320706", "320700", run_id="another",
                   address_plan=plan.sites["320706"].model_dump(mode="json"))
    result = runner.invoke(app, ["inventory", "from-pulumi", *map(str, files), str(city)])
    assert result.exit_code == 2, result.output
    assert "several runs (another, pulumi-t1): give --deployment" in result.stderr

    known = tmp_path / "known_hosts"
    addresses = _addresses(files)
    known.write_text("".join(f"{a} {_host_key(tmp_path, a)}\n" for a in addresses[:-1]))
    _collect_from(monkeypatch, {a: _host_key(tmp_path, a) for a in addresses})
    result = runner.invoke(app, ["inventory", "from-pulumi", *map(str, files),
                                 "--known-hosts", str(known), "--deployment", "pulumi-t2"])
    assert result.exit_code == 1
    assert "is not pinned and nobody can confirm it here" in result.stderr
    assert not Deployment("pulumi-t2").hosts_file.exists()


class _KeyOnlyServer(paramiko.ServerInterface):
    """Accepts no login: a client only completes the key exchange (all a scan needs)."""


@pytest.fixture
def ssh_servers(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Real SSH servers (paramiko) on 127.0.0.10-12, one port, each with its own host key."""
    addresses = ["127.0.0.10", "127.0.0.11", "127.0.0.12"]
    listeners, keys, stop = [], {}, threading.Event()
    first = socket.create_server((addresses[0], 0))
    port = first.getsockname()[1]
    listeners.append(first)
    listeners += [socket.create_server((a, port)) for a in addresses[1:]]
    transports: list[paramiko.Transport] = []

    def serve(listener: socket.socket, key: paramiko.PKey) -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            transport = paramiko.Transport(conn)
            transports.append(transport)
            transport.add_server_key(key)
            with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
                # The scanner hangs up once it has the key, mid-handshake at times.
                transport.start_server(server=_KeyOnlyServer())

    threads = []
    for address, listener in zip(addresses, listeners, strict=True):
        key = _key(tmp_path / "servers" / address)
        keys[address] = key.public.rsplit(" ", 1)[0]
        threads.append(threading.Thread(target=serve, args=(listener, key.pkey()), daemon=True))
        threads[-1].start()
    try:
        yield port, keys
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for transport in transports:
            transport.close()
        for listener in listeners:
            listener.close()


def _loopback_site(tmp: Path, name: str) -> Path:
    """A compact province whose mgmt network is 127.0.0.0/24: hosts at 127.0.0.10-12."""
    config = _configs(TopologySpec(name=name, sites=[SiteSpec(code="320000")]))[0]
    plan = SiteAddressPlan.model_validate({
        "ext_subnet": "10.250.0.0/24", "int_subnet": "10.250.1.0/24",
        "mgmt_subnet": "127.0.0.0/24", "backbone_subnet": "10.250.4.0/22", "backbone_slot": 0})
    raw = {**config.model_dump(mode="json"), "address_plan": plan.model_dump(mode="json")}
    path = tmp / f"{name}.json"
    path.write_text(_outputs_after_up(parse_site_config(raw)))
    return path


def test_collected_keys_are_pinned_only_after_the_fingerprints_are_confirmed(
        ssh_servers: tuple[int, dict[str, str]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    port, keys = ssh_servers
    monkeypatch.setattr(inventory_cli, "ssh_port", lambda: port)  # flows.yaml's 22 otherwise
    fingerprints = [HostKey.from_line(k).fingerprint for k in keys.values()]

    # No terminal to ask on: a new key is refused, never trusted.
    unasked = _loopback_site(tmp_path, "pulumi-tty")
    result = runner.invoke(app, ["inventory", "from-pulumi", str(unasked)])
    assert result.exit_code == 1
    assert "is not pinned and nobody can confirm it here" in result.stderr
    assert not Deployment("pulumi-tty").inventory_dir.exists()

    monkeypatch.setattr(byoh_cli, "interactive", lambda: True)
    declined = _loopback_site(tmp_path, "pulumi-no")
    result = runner.invoke(app, ["inventory", "from-pulumi", str(declined)], input="n\n" * 3)
    assert result.exit_code == 1
    assert "host 320000-gw: " + fingerprints[1] + " was not confirmed" in result.stderr
    assert not Deployment("pulumi-no").inventory_dir.exists()

    confirmed = _loopback_site(tmp_path, "pulumi-yes")
    result = runner.invoke(app, ["inventory", "from-pulumi", str(confirmed)], input="y\n" * 3)
    assert result.exit_code == 0, result.output
    for shown in fingerprints:
        assert shown in result.stdout
    dep = Deployment("pulumi-yes")
    known = dep.inventory_dir / "known_hosts"
    assert known.read_text().splitlines() == [f"{a} {k}" for a, k in sorted(keys.items())]
    assert "sunlight up --configure-only --name pulumi-yes" in result.stdout
    hosts = yaml.safe_load(dep.hosts_file.read_text())["all"]["children"]["site_320000"]
    assert hosts["hosts"]["320000-ext"]["sunlight_public_url"] == "https://127.0.0.1:18443"

    # A re-run finds every key pinned already: nothing to confirm.
    result = runner.invoke(app, ["inventory", "from-pulumi", str(confirmed)], input="")
    assert result.exit_code == 0, result.output
    assert "Pin it?" not in result.output

    # A key that is not the pinned one is refused, whatever the operator would answer.
    other = _host_key(tmp_path, "elsewhere")
    tampered = known.read_text().replace(keys["127.0.0.11"], other)
    known.write_text(tampered)
    result = runner.invoke(app, ["inventory", "from-pulumi", str(confirmed)], input="y\n" * 3)
    assert result.exit_code == 1
    assert "host 320000-gw: its host key CHANGED since it was pinned" in result.stderr
    assert known.read_text() == tampered


def test_an_unreachable_host_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    monkeypatch.setattr(inventory_cli, "ssh_port", lambda: closed)
    result = runner.invoke(app, ["inventory", "from-pulumi",
                                 str(_loopback_site(tmp_path, "pulumi-gone"))])
    assert result.exit_code == 1
    assert f"host 320000-ext: no SSH answer at 127.0.0.10:{closed}" in result.stderr


def test_a_front_door_without_the_engines_port_is_refused(tmp_path: Path) -> None:
    path = _edit(_county(tmp_path, "320000", None),
                 lambda d: d["published"]["ext"][0].pop("host_port"))
    result = runner.invoke(app, ["inventory", "from-pulumi", str(path), "--deployment",
                                 "pulumi-np"])
    assert result.exit_code == 2
    assert f"{path}: published.ext: no host_port for port 443" in result.stderr


def test_configure_only_needs_the_deployments_inventory_and_realizes_nothing() -> None:
    result = runner.invoke(app, ["up", "--configure-only", "--name", "pulumi-none"])
    assert result.exit_code == 3  # no engine, image build or realizer was reached first
    assert "deployment pulumi-none has no inventory" in result.stderr
    assert "`sunlight inventory from-pulumi` first" in result.stderr
    result = runner.invoke(app, ["up", "--configure-only", "--name", "Bad Name"])
    assert result.exit_code == 2
