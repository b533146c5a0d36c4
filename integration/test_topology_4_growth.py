"""Topology suite, part 4 (growth): a county of machines Sunlight did not create, with no
route out, joins the running topology from the air-gap bundle, and its events reach the
province.

The county 320706 (海州区, under 连云港市) stands for an IT centre's own Debian 12 VMs: three
bare minbase hosts (``bare_hosts.py``: systemd, sshd, python3, sudo and an admin login — no
role package, no venv), started outside the realizer on site networks that are all internal and
the local engine's backbone, which is routed but never masqueraded (the deployment spans
two engines), so that nothing beyond the engines' bridges answers them (proved: the Debian
mirror the control node reaches is unreachable from them). The control node installs the
bundle that ``bundle create`` made in the background while the topology stood up — its
node image loaded with ``docker load`` into the second engine (where the county 320703
runs; the image is already there, and the loaded one must be the build), its control
wheels installed with ``pip --no-index`` into a fresh venv whose ``sunlight`` runs —
points the roles at it as its
``sunlight.env`` does (``SUNLIGHT_APT_BUNDLE``, ``SUNLIGHT_NODE_WHEELHOUSE``; the playbooks
are this checkout's, the tree the bundle's key hashes), and runs ``sunlight up --hosts``: the
hosts file names every site (the running ones described from their inventories), the new
hosts' keys come from a known_hosts file, the prechecks run, and ``add-node.yml`` installs
every package from the bundle's repository copied over SSH and the application from its
wheels. Then a citizen applies at 320706's portal and the application reaches the province.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bare_hosts import bare_image, hosts_document, start_bare_site
from sunlight.control import hostguard
from sunlight.control.bundle.install import install_bundle, role_settings
from sunlight.control.byoh.hostsfile import load_hosts_file
from sunlight.control.byoh.up import up_hosts
from sunlight.control.deploy.inventory import PUBLIC_URL
from sunlight.control.images.mirror import apt_mirror
from sunlight.control.realizer.engines import Engines, connect
from sunlight.control.stack.access import DeploymentAccess
from sunlight.control.stack.scenario import apply_at_portal, seen_upstream
from sunlight.control.stack.up import site_configs
from sunlight.topology import inventory as topo_inventory
from sunlight.topology.addressing import plan_in_block
from topology_suite import CITY, COUNTY, PROVINCE, Topology, growth_bundle, wait_until

NEW_COUNTY = "320706"  # 海州区, under 连云港市
PROBE = ("import socket, sys\n"
         "try:\n"
         "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 5); print('connected')\n"
         "except OSError as e:\n"
         "    print('refused: %s' % e)\n")


def _mirror_address() -> tuple[str, int]:
    url = urlsplit(apt_mirror())
    port = url.port or (443 if url.scheme == "https" else 80)
    return socket.gethostbyname(url.hostname or ""), port


def _keep_public_urls(site_inventories: dict[str, Any], written: dict[str, Any]) -> None:
    """The running sites' nginx hosts keep the public URLs the realizer's inventory gave
    them (their published loopback ports, which their certificates name)."""
    urls = {name: hv[PUBLIC_URL] for body in written["all"]["children"].values()
            for name, hv in (body.get("hosts") or {}).items() if hv and PUBLIC_URL in hv}
    for group, body in site_inventories["all"]["children"].items():
        if group.startswith("site_"):
            for name, hv in body["hosts"].items():
                if name in urls:
                    hv[PUBLIC_URL] = urls[name]


def test_a_county_of_bare_hosts_with_no_route_out_joins_from_the_bundle(
        topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    say = print
    started = time.monotonic()
    bundle = growth_bundle()
    topology.figures["growth bundle"] = (
        f"{bundle.size_bytes / 2**20:.0f} MiB, {'built' if bundle.built else 'cached'} in "
        f"{bundle.seconds:.0f} s (in the background during the stand-up)")
    # The control node's half of the air gap: `docker load` of the bundle's node image into
    # the second engine (another machine's), `pip --no-index` into a fresh venv.
    t = time.monotonic()
    engine = topology.client_for(COUNTY)
    installed = install_bundle(bundle.path, tmp_path / "control", say, client=engine)
    topology.record("growth: bundle install (docker load, pip --no-index venv)",
                    time.monotonic() - t)
    built = topology.up.sites[0].config.image
    assert installed.image == built, (installed.image, built)
    assert engine.images.get(built).id == topology.client.images.get(built).id  # the build
    assert installed.venv is not None
    version = subprocess.run([str(installed.venv / "bin" / "sunlight"), "--version"],
                             capture_output=True, text=True, check=False)
    assert version.returncode == 0, version.stderr
    for name, value in role_settings(installed.dest).items():  # as its sunlight.env does
        monkeypatch.setenv(name, value)

    # The county's bare hosts, at the addresses the deployment's plan gives its next slot.
    t = time.monotonic()
    client, run, dep = topology.client, topology.run, topology.up.deployment
    saved = dep.block()
    assert saved is not None
    block, order = saved
    dep.save_block(block, [*order, NEW_COUNTY])
    spec = dep.topology()
    assert spec is not None
    grown = spec.with_site(NEW_COUNTY, CITY)  # on the local engine, beside its city
    engines = Engines(grown, connect, local=client)
    image = bare_image(client, say)
    config = site_configs(grown, run, image, topology.access.key.public,
                          plan_in_block(block, [*order, NEW_COUNTY], engines.site_engines()),
                          run.name("backbone"), engines)[-1]
    site = start_bare_site(client, run, config, image, say, no_route_out=True)
    hostguard.install(client, run)  # the control node guarded from the new bridges too
    topology.record("growth: bare hosts booted", time.monotonic() - t)

    mirror = _mirror_address()
    with socket.create_connection(mirror, 10):
        pass  # the control node reaches the mirror ...
    for name, container in site.containers.items():  # ... the county's hosts do not
        out = container.exec_run(["python3", "-c", PROBE, *map(str, mirror)]).output.decode()
        assert out.startswith("refused"), f"{NEW_COUNTY}-{name} reaches the mirror: {out}"
        has = container.exec_run(["test", "-e", "/opt/sunlight/venv"]).exit_code
        assert has != 0, f"{NEW_COUNTY}-{name} is not bare: it has the application"

    # sunlight up --hosts: every site of the deployment, the new one from its bare hosts.
    others = topo_inventory.merge_inventories(*[s.inventory for s in topology.up.sites])
    _keep_public_urls(others, yaml.safe_load(dep.hosts_file.read_text()))
    (tmp_path / "hosts.yaml").write_text(yaml.safe_dump(hosts_document([site], others),
                                                        sort_keys=False))
    (tmp_path / "known_hosts").write_text(site.known_hosts())
    t = time.monotonic()
    result = up_hosts(load_hosts_file(tmp_path / "hosts.yaml"), progress=say, confirm=None,
                      known_hosts=tmp_path / "known_hosts", key=topology.access.key)
    topology.record("growth: up --hosts (pin, prechecks, add-node.yml)", time.monotonic() - t)
    topology.figures["growth: up --hosts stages"] = ", ".join(
        f"{k} {v:.0f} s" for k, v in result.stages.items())
    assert result.report.ok and [p.playbook for p in result.playbooks] == ["add-node.yml"]
    assert all(p.returncode == 0 for p in result.playbooks)
    for name, container in site.containers.items():
        version = container.exec_run(["/opt/sunlight/venv/bin/sunlight", "--version"])
        assert version.exit_code == 0, f"{NEW_COUNTY}-{name}: {version.output!r}"
    topology.record(f"node add {NEW_COUNTY} from bare hosts", time.monotonic() - started)

    access = DeploymentAccess(dep, topology.access.key)
    receipt, _ = apply_at_portal(access.site(NEW_COUNTY), topology.rng)
    sent = time.monotonic()
    seen = wait_until(lambda: seen_upstream(access.site(PROVINCE), NEW_COUNTY, receipt), 90)
    assert seen and seen[0] == "submit", f"{receipt} from {NEW_COUNTY} never reached {PROVINCE}"
    topology.record(f"submit→{PROVINCE} from {NEW_COUNTY}", time.monotonic() - sent)
    topology.scenarios.append((f"growth: {NEW_COUNTY} of bare hosts, no route out, from the "
                               f"bundle, added under {CITY}", "pass"))


def test_the_grown_deployment_is_verified_and_the_bare_county_carries_a_smoke_load(
        topology: Topology, tmp_path: Path) -> None:
    """From the inventory alone (issue 16, point 1), now that it names 320706: `sunlight
    status` finds every host active, `sunlight verify` passes on all four sites (verify.yml
    on every host, then each core's readiness), and the smoke profile run against the bare
    county's portal and core passes the CI gates."""
    from typer.testing import CliRunner

    from sunlight.cli.main import app
    from sunlight.control.load import LoadRequest, run_load

    name = topology.run.run_id
    shown = CliRunner().invoke(app, ["status", "--name", name, "--json"])
    assert shown.exit_code == 0, shown.output
    hosts = json.loads(shown.stdout)["hosts"]
    assert {h["host"]: h["state"] for h in hosts if h["site"] == NEW_COUNTY} == {
        f"{NEW_COUNTY}-{h}": "active" for h in ("ext", "gw", "int")}
    started = time.monotonic()
    verified = CliRunner().invoke(app, ["verify", "--name", name])
    assert verified.exit_code == 0, verified.output
    assert "verified 4 sites" in verified.stdout
    topology.record("sunlight verify (verify.yml, every core; 4 sites)",
                    time.monotonic() - started)
    access = DeploymentAccess(topology.up.deployment, topology.access.key)
    outcome = run_load(LoadRequest(deployment=name, profile="smoke", duration_s=20.0,
                                   county=NEW_COUNTY, reports=tmp_path), print, access=access)
    print("\n".join(outcome.lines))
    assert outcome.passed, outcome.lines
    with (tmp_path / "stats_stats.csv").open() as fh:
        counts = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(fh)}
    assert counts.get("submit/send", 0) > 0, counts
    topology.scenarios.append((f"growth: verify on 4 sites, smoke load on {NEW_COUNTY}", "pass"))
