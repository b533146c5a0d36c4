"""Topology suite, last part (the playbooks as an operator runs them again): idempotence,
check mode, verify, services and listeners, the TLS front door, backup and restore, and a
rolling upgrade — on the county 320703 of the session's topology.

The topology's first converge (``sunlight up`` in conftest.py) is the first run of
``site.yml``; here it runs again, limited to the county as an operator limits a run to one
site: it changes nothing, ``--check`` reports no change, ``verify.yml`` passes; over SSH
every service of each host's roles is enabled and active and listens only where flows.yaml
allows (the firewall matrix of every host of the topology is proved in part 1); the portal
answers through nginx's TLS front door with the material size limit; a database is backed
up, damaged, restored, and compared; last — because it changes the county's build —
``upgrade.yml`` rolls a build with one more migration out while citizens keep submitting,
and not one submission fails. This module runs last: it leaves the county on that build.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from ansible_runner import PLAYBOOKS, PlaybookRun, run_playbook
from platform_site import apply_annual_report, poll, wait_for
from sunlight.control.deploy.firewall import listen_addresses
from sunlight.control.load.data import client_address
from sunlight.control.realizer.apply import Realized
from sunlight.control.ssh import ControlKey, HostSSH
from sunlight.paths import repo_root
from sunlight.runtime.settings import Settings
from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import NODE
from sunlight.workflow.identity import generate_credit_code
from topology_suite import COUNTY, Topology

LOOPBACK = re.compile(r"^(127\.|\[::1\]$)")
WILDCARD = frozenset({"*", "0.0.0.0", "[::]"})
# Prometheus takes one listen address; it serves int and the backbone, so it binds all and
# the firewall admits flows.yaml's sources only (proved by the matrix of part 1).
WILDCARD_PORTS = frozenset({9090})


@dataclass
class Deployed:
    """The county of the topology, and how an operator runs the playbooks on it."""

    site: Realized
    matrix: FlowMatrix
    inventory: Path
    secrets: Path
    work: Path
    control_key: ControlKey
    runs: dict[str, PlaybookRun] = field(default_factory=dict)

    @property
    def ca(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.secrets / "ca" / "ca.crt")

    @property
    def portal(self) -> str:
        return f"https://127.0.0.1:{self.site.portal_port}"

    def playbook(self, playbook: str, *args: str) -> PlaybookRun:
        return run_playbook(playbook, self.inventory, self.work / "cp",
                            ("--limit", f"site_{COUNTY}", *args))

    def ssh(self, host: str, command: str) -> str:
        realized = self.site.hosts[host]
        with HostSSH(realized.mgmt_ip, self.control_key, realized.host_key) as ssh:
            result = ssh.run(command, timeout=120)
        assert result.exit_code == 0, f"{host}: {command}: {result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def deployed(topology: Topology, tmp_path_factory: pytest.TempPathFactory,
             report: Callable[[str, str], None]) -> Iterator[Deployed]:
    site = next(s for s in topology.up.sites if s.config.division_code == COUNTY)
    dep = topology.up.deployment
    deployed = Deployed(site, load_flows(), dep.hosts_file, dep.secrets_dir,
                        tmp_path_factory.mktemp("playbooks"), topology.access.key)
    yield deployed
    report(f"playbooks on the topology's county {COUNTY} (--limit site_{COUNTY}): wall times",
           "\n".join(f"{name:>7}: {r.playbook} {r.seconds:6.1f} s, changed={r.total('changed')}"
                     for name, r in deployed.runs.items()))


def test_first_converge_configured_every_host(topology: Topology) -> None:
    first = topology.up.playbook
    assert first is not None and first.returncode == 0
    hosts = {f"{s.config.division_code}-{h}" for s in topology.up.sites for h in s.hosts}
    assert set(first.recap) == hosts
    assert first.total("failed") == first.total("unreachable") == 0
    assert all(host["changed"] > 5 for host in first.recap.values()), first.recap
    print(f"\nfirst converge of site.yml ({len(hosts)} hosts): {first.seconds:.1f} s, "
          f"changed={first.total('changed')}")


def test_second_converge_changes_nothing(deployed: Deployed) -> None:
    second = deployed.playbook("site.yml")
    deployed.runs["second"] = second
    print(f"\nsecond (idempotent) converge: {second.seconds:.1f} s")
    assert second.returncode == 0, second.tail
    assert second.total("changed") == 0, second.changed_tasks()


def test_check_mode_reports_no_change(deployed: Deployed) -> None:
    check = deployed.playbook("site.yml", "--check")
    deployed.runs["check"] = check
    print(f"\nsite.yml --check: {check.seconds:.1f} s")
    assert check.returncode == 0, check.tail
    assert check.total("changed") == 0, check.changed_tasks()


def test_verify_playbook_passes_and_changes_nothing(deployed: Deployed) -> None:
    verify = deployed.playbook("verify.yml")
    deployed.runs["verify"] = verify
    assert verify.returncode == 0, verify.tail
    assert verify.total("changed") == 0


def _role_services() -> dict[str, list[str]]:
    variables = yaml.safe_load((PLAYBOOKS / "group_vars" / "all.yml").read_text())
    services: dict[str, list[str]] = variables["sunlight_role_services"]
    return services


def test_every_service_is_enabled_and_active(deployed: Deployed) -> None:
    services = _role_services()
    for name, host in deployed.site.hosts.items():
        units = sorted({u for role in (NODE, *host.roles) for u in services[role]})
        active = deployed.ssh(name, f"systemctl is-active {' '.join(units)}").split()
        enabled = deployed.ssh(name, f"systemctl is-enabled {' '.join(units)}").split()
        assert active == ["active"] * len(units), dict(zip(units, active, strict=True))
        assert set(enabled) <= {"enabled", "indirect"}, dict(zip(units, enabled, strict=True))


def _listening(deployed: Deployed, host: str) -> set[tuple[str, int]]:
    sockets = set()
    for line in deployed.ssh(host, "ss -ltnH").splitlines():
        address, port = line.split()[3].rsplit(":", 1)
        sockets.add((address, int(port)))
    return sockets


def test_services_listen_only_where_flows_yaml_allows(deployed: Deployed) -> None:
    matrix = deployed.matrix
    for name, host in deployed.site.hosts.items():
        roles = (*host.roles, NODE)
        sockets = _listening(deployed, name)
        wrong = []
        for address, port in sorted(sockets):
            if LOOPBACK.match(address):
                continue  # the host itself only (epmd, Erlang distribution, Docker's DNS)
            allowed = listen_addresses(matrix, roles, port, host.addresses)
            if address in WILDCARD:
                ok = port in WILDCARD_PORTS and len(allowed) > 1
            else:
                ok = address in allowed
            if not ok:
                wrong.append(f"{address}:{port} (flows.yaml allows {allowed or 'nowhere'})")
        assert not wrong, f"{name} listens where flows.yaml allows nobody: {wrong}"
        missing = [f"{a}:{p}" for p in matrix.ports_of(roles)
                   for a in listen_addresses(matrix, roles, p, host.addresses)
                   if (a, p) not in sockets and not any((w, p) in sockets for w in WILDCARD)]
        assert not missing, f"{name} does not serve {missing}"


def test_the_front_door_serves_tls_with_the_material_limit(deployed: Deployed) -> None:
    limit = Settings.model_fields["material_max_bytes"].default
    with httpx.Client(base_url=deployed.portal, verify=deployed.ca, timeout=60) as http:
        health = http.get("/healthz")
        assert health.status_code == 200 and health.json()["role"] == "portal"
        assert health.headers["strict-transport-security"].startswith("max-age=")
        assert health.headers["x-content-type-options"] == "nosniff"
        assert health.headers["server"] == "nginx"  # no version: server_tokens off
        too_big = http.post("/api/v1/applications", content=b"x" * (limit + 1),
                            headers={"content-type": "application/octet-stream"})
        assert too_big.status_code == 413
        at_limit = http.post("/api/v1/applications", content=b"x" * limit,
                             headers={"content-type": "application/octet-stream"})
        assert at_limit.status_code != 413  # the portal itself answers (and refuses it)


SNAPSHOT_SQL = """
SELECT string_agg(format(
  'SELECT %L, count(*), coalesce(md5(string_agg(t::text, %L ORDER BY t::text)), %L) FROM %I.%I t',
  table_name, '|', 'empty', table_schema, table_name), ' UNION ALL ' ORDER BY table_name)
FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
"""


def _snapshot(deployed: Deployed, database: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows (order-independent)."""
    def psql(sql: str) -> str:
        encoded = base64.b64encode(sql.encode()).decode()
        return deployed.ssh("ext", f"echo {encoded} | base64 -d | sudo -u postgres "
                                   f"psql -d {database} -AtX -F ' '")
    query = psql(SNAPSHOT_SQL)
    rows = [line.split(" ") for line in psql(query).splitlines() if line.strip()]
    return {name: (int(count), digest) for name, count, digest in rows}


def _settled(deployed: Deployed, database: str) -> dict[str, tuple[int, str]]:
    """A snapshot that no longer changes (the gateway has carried everything across)."""
    previous = _snapshot(deployed, database)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(3)
        current = _snapshot(deployed, database)
        if current == previous:
            return current
        previous = current
    raise AssertionError(f"the {database} database never settled")


def test_backup_then_restore_a_database(deployed: Deployed) -> None:
    applied = _snapshot(deployed, "portal")["applications"][0]
    with httpx.Client(verify=deployed.ca, timeout=30) as http:  # something worth restoring
        apply_annual_report(deployed.portal, generate_credit_code(random.Random(5)), client=http)
    before = _settled(deployed, "portal")
    assert before["applications"][0] == applied + 1 and before["crossings"][0] > 0

    backups = deployed.work / "backups"
    backup = deployed.playbook("backup.yml", "-e", "backup_label=before",
                               "-e", f"sunlight_backup_dir={backups}")
    deployed.runs["backup"] = backup
    assert backup.returncode == 0, backup.tail
    dump = backups / COUNTY / "portal-before.dump"
    recorded = (dump.parent / (dump.name + ".sha256")).read_text().split()[0]
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == recorded
    assert (backups / COUNTY / "core-before.dump").stat().st_size > 0

    # The loss: every application and what hangs off it, gone.
    deployed.ssh("ext", "sudo -u postgres psql -d portal -qc 'TRUNCATE applications CASCADE'")
    lost = _snapshot(deployed, "portal")
    assert lost["applications"][0] == 0 and lost != before

    restore = deployed.playbook("restore.yml", "-e", f"restore_site={COUNTY}",
                                "-e", "restore_database=portal", "-e", f"restore_file={dump}")
    deployed.runs["restore"] = restore
    assert restore.returncode == 0, restore.tail
    assert _settled(deployed, "portal") == before  # row counts and checksums, table by table
    verify = deployed.playbook("verify.yml")
    assert verify.returncode == 0, verify.tail


UPGRADE_VERSION = "0.1.1"
UPGRADE_MIGRATION = '''"""upgrade probe: the one more migration of the upgrade test

Revision ID: portal_9001
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

revision = "portal_9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("upgrade_probe", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("upgrade_probe")
'''


def _upgrade_build(work: Path) -> Path:
    """A wheel of this checkout as version 0.1.1 with one more portal migration."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    src = work / "upgrade-src"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "platform",
                             "pyproject.toml", "README.md"], cwd=repo_root(), check=True,
                            capture_output=True, text=True).stdout.split()
    for name in listed:
        if (repo_root() / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root() / name, src / name)
    pyproject = src / "pyproject.toml"
    pyproject.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{UPGRADE_VERSION}"',
                                pyproject.read_text()))
    migrations = src / "platform" / "sunlight" / "runtime" / "migrations" / "portal"
    config = Config()
    config.set_main_option("script_location", str(migrations))
    (head,) = ScriptDirectory.from_config(config).get_heads()
    (migrations / "versions" / "portal_9001_upgrade_probe.py").write_text(
        UPGRADE_MIGRATION.replace("{head}", head))
    wheels = work / "upgrade-wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            "--wheel-dir", str(wheels), str(src)], capture_output=True,
                           text=True, check=False, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    assert [w.name for w in wheels.glob("sunlight-*.whl")] == [
        f"sunlight-{UPGRADE_VERSION}-py3-none-any.whl"]
    return wheels


class Submissions(threading.Thread):
    """Citizens applying through the front door (create, upload, submit), nonstop."""

    def __init__(self, portal: str, ca: ssl.SSLContext) -> None:
        super().__init__(daemon=True)
        self.portal, self.ca = portal, ca
        self.stop = threading.Event()
        self.done: list[float] = []
        self.failed: list[str] = []

    def run(self) -> None:
        rng = random.Random(2026)
        with httpx.Client(verify=self.ca, timeout=60) as http:
            citizen = 0
            while not self.stop.is_set():
                # Each submission is another citizen (the control node is a trusted front
                # proxy): nginx's per-client write limit applies to each, as in production.
                citizen += 1
                http.headers["X-Forwarded-For"] = client_address(citizen)
                try:
                    apply_annual_report(self.portal, generate_credit_code(rng), client=http)
                    self.done.append(time.monotonic())
                except (AssertionError, httpx.HTTPError) as exc:
                    self.failed.append(repr(exc)[:300])
                self.stop.wait(0.1)  # a steady stream, leaving the 2 cores to the upgrade


def test_rolling_upgrade_while_submissions_run(deployed: Deployed) -> None:
    wheels = _upgrade_build(deployed.work)
    load = Submissions(deployed.portal, deployed.ca)
    load.start()
    wait_for(lambda: len(load.done) >= 3, what="three submissions before the upgrade")
    started = time.monotonic()
    upgrade = deployed.playbook("upgrade.yml", "-e", f"sunlight_app_wheelhouse={wheels}",
                                "-e", f"sunlight_app_version={UPGRADE_VERSION}")
    finished = time.monotonic()
    after = poll(lambda: len([t for t in load.done if t > finished]) >= 3, 60, 0.2)
    assert after, f"not three submissions within 60 s of the upgrade; failed: {load.failed[-3:]}"
    load.stop.set()
    load.join(90)
    deployed.runs["upgrade"] = upgrade
    during = [t for t in load.done if started <= t <= finished]
    print(f"\nupgrade.yml: {upgrade.seconds:.1f} s; {len(load.done)} submissions, "
          f"{len(during)} during the upgrade, {len(load.failed)} failed")
    assert upgrade.returncode == 0, upgrade.tail
    assert not load.failed, load.failed[:5]
    assert len(during) >= 10
    for host in deployed.site.hosts:
        version = deployed.ssh(host, "/opt/sunlight/venv/bin/sunlight --version")
        assert version == f"sunlight {UPGRADE_VERSION}", (host, version)
    revision = deployed.ssh("ext", "sudo -u postgres psql -d portal -AtXc "
                                   "'SELECT version_num FROM alembic_version_portal'")
    assert revision == "portal_9001"
