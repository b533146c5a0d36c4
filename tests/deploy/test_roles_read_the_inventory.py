"""The roles' view of a generated inventory, rendered by Ansible itself (no host touched).

A county (compact) and its city (standard), with a stand-in for the province's backbone
hosts, are written out by the inventory writer; a throw-away playbook then loads the shared
variables and every role's defaults, and renders — on the control node only (local
connection, action plugins only: nothing runs on a host) — the templates and values that
carry ports and addresses, plus the readiness expressions of verify.yml and restore.yml
taken verbatim from those playbooks. Every port must be flows.yaml's, every address the
inventory's. Each playbook also passes ``--syntax-check`` against the generated inventory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sunlight.control.deploy.inventory import PeerHost, write_inventory_files
from sunlight.control.deploy.secrets import PASSWORDS
from sunlight.paths import repo_root
from sunlight.topology import inventory as topo
from sunlight.topology.flows import load_flows

from .conftest import HOST_KEY, site_inventory

PLAYBOOKS = repo_root() / "playbooks"
MATRIX = load_flows()
PORT = MATRIX.port
PROVINCE = PeerHost("320000", None, "320000-standin", ("mq", "mon"), "10.200.0.4")


def _template(role: str, name: str) -> str:
    return f"lookup('ansible.builtin.template', '{PLAYBOOKS}/roles/{role}/templates/{name}')"


def _task(playbook: str, name: str) -> dict[str, Any]:
    """A task of a playbook, or of a role's task file (``roles/<role>/tasks/<file>``)."""
    loaded = yaml.safe_load((PLAYBOOKS / playbook).read_text())
    tasks = loaded if playbook.startswith("roles/") else [
        task for play in loaded for task in play.get("tasks", [])]
    for task in tasks:
        if task["name"] == name:
            found: dict[str, Any] = {k: v for k, v in task.items() if k != "no_log"}
            return found  # no_log dropped: the test reads the (fake) secrets' result
    raise KeyError(f"{playbook}: no task {name!r}")


# The tasks that put ports and addresses into settings (secrets come from fake files).
SETTINGS = (
    ("core", "settings.yml", "Work out core's settings (secrets from the deployment's secrets "
     "directory)"),
    ("gateway", "main.yml", "Work out the gateway's settings (secrets from the deployment's "
     "secrets directory)"),
    ("portal", "main.yml", "Work out the portal's settings (secrets from the deployment's "
     "secrets directory)"),
    ("mq", "topology.yml", "Work out the parent link (TLS, this child's certificate on the "
     "parent's broker)"),
    ("mon", "tls.yml", "Work out the name this Prometheus's certificate carries"),
    ("mon", "tls.yml", "Work out the name each child's certificate carries and the sites it "
     "speaks for"),
)
ROLE_DIR = {"core": "sunlight_core", "gateway": "sunlight_gateway", "portal": "sunlight_portal",
            "mq": "rabbitmq", "mon": "monitoring"}


def _render_playbook() -> list[dict[str, Any]]:
    roles = sorted(p.name for p in (PLAYBOOKS / "roles").iterdir() if p.is_dir())
    verify = _task("verify.yml", "Every Sunlight service answers /readyz")
    restore = _task("restore.yml", "Each is ready")
    targets = _task("verify.yml", "Every scrape target is up")
    has = "sunlight_roles | intersect({}) | length > 0"
    renders = [
        ("all", "true", {
            "sshd": _template("common", "sshd.conf.j2"),
            "nftables": _template("common", "nftables.conf.j2"),
            "node_exporter": _template("monitoring", "node-exporter.default.j2")}),
        ("db", has.format(["portal_db", "core_db"]), {
            "pg_conf": _template("postgresql", "sunlight.conf.j2"),
            "pg_hba": _template("postgresql", "pg_hba.conf.j2"),
            "pg_exporter": _template("monitoring", "postgres-exporter.default.j2"),
            "pg_exporter_enabled": "postgresql_exporter_enabled"}),
        ("mq", has.format(["mq"]), {
            "rabbitmq": _template("rabbitmq", "rabbitmq.conf.j2"),
            "children": "rabbitmq_children",
            "parent": "rabbitmq_parent"}),
        ("mon", has.format(["mon"]), {
            "prometheus_default": _template("monitoring", "prometheus.default.j2"),
            "prometheus_yml": _template("monitoring", "prometheus.yml.j2"),
            "alertmanager_default": _template("monitoring", "alertmanager.default.j2")}),
        ("nginx", has.format(["nginx"]), {
            "nginx": _template("nginx", "portal.conf.j2")}),
        ("core", has.format(["core"]), {
            "core_instances": "sunlight_core_instances",
            "core_db": "sunlight_core_db", "core_mq": "sunlight_core_mq"}),
        ("gateway", has.format(["gateway"]), {
            "gateway_instances": "sunlight_gateway_instances",
            "gateway_core_url": "sunlight_gateway_core_url",
            "gateway_portal_db": "sunlight_gateway_portal_db"}),
        ("portal", has.format(["portal"]), {
            "portal_instances": "sunlight_portal_instances",
            "portal_db": "sunlight_portal_db"}),
    ]
    tasks: list[dict[str, Any]] = [
        {"name": "The common role's preflight (inventory, package list, SSH kept)",
         "ansible.builtin.include_tasks": str(PLAYBOOKS / "roles/common/tasks/preflight.yml")},
        {"name": "The broker's preflight (it listens somewhere)",
         "ansible.builtin.include_tasks": str(PLAYBOOKS / "roles/rabbitmq/tasks/preflight.yml"),
         "when": has.format(["mq"])},
        {"name": "Work out the databases (the postgresql role's own preflight)",
         "ansible.builtin.include_tasks": str(PLAYBOOKS / "roles/postgresql/tasks/preflight.yml"),
         "when": has.format(["portal_db", "core_db"])}]
    for role, file, name in SETTINGS:
        tasks.append({**_task(f"roles/{ROLE_DIR[role]}/tasks/{file}", name),
                      "when": has.format([role])})
    for name, when, values in renders:
        body = ", ".join(f"'{key}': {expr}" for key, expr in values.items())
        tasks.append({"name": f"Render {name}", "when": when,
                      "ansible.builtin.set_fact": {f"_r_{name}": f"{{{{ {{{body}}} }}}}"}})
    tasks.append({"name": "The scrape targets' URL of verify.yml", "when": has.format(["mon"]),
                  "ansible.builtin.set_fact": {
                      "_r_targets_url": targets["ansible.builtin.uri"]["url"]}})
    for name, source in (("verify", verify), ("restore", restore)):
        tasks.append({"name": f"Readiness URLs of {name}.yml", "loop": source["loop"],
                      "vars": {**source["vars"], "restore_database": "portal"},
                      "ansible.builtin.set_fact": {
                          f"_r_{name}_{{{{ item }}}}": source["ansible.builtin.uri"]["url"]}})
    return [{
        "name": "Render what the roles make of the inventory (local: nothing runs on a host)",
        "hosts": "all", "gather_facts": False,
        "vars": {"ansible_connection": "local", "ansible_managed": "managed"},
        "vars_files": [str(PLAYBOOKS / "group_vars" / "all.yml"),
                       *(str(PLAYBOOKS / "roles" / r / "defaults" / "main.yml") for r in roles)],
        "tasks": tasks}]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
            "ANSIBLE_HOME": str(tmp / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "tmp"),
            "ANSIBLE_NOCOLOR": "1"}


def _ansible_playbook() -> str:
    return str(Path(sys.executable).with_name("ansible-playbook"))


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("inventory")
    sites = [site_inventory("320700", "320000", "standard"),
             site_inventory("320703", "320700", "compact")]
    merged = topo.merge_inventories(*sites)
    keys = {hv["ansible_host"]: HOST_KEY for g, body in merged["all"]["children"].items()
            if g.startswith("site_") for hv in body["hosts"].values()}
    (out / "control_ed25519.pub").write_text(HOST_KEY + "\n")
    for code in ("320700", "320703"):  # what the settings tasks read (fakes: never used)
        passwords = out / "secrets" / "sites" / code / "passwords"
        passwords.mkdir(parents=True)
        for name in PASSWORDS:
            (passwords / name).write_text(f"{name}-{code}")
    files = write_inventory_files(out, sites, keys, control_key=out / "control_ed25519",
                                  deployment="dt-0001", secrets_dir=out / "secrets",
                                  peers=[PROVINCE])
    hostvars: dict[str, Any] = {}
    loaded = yaml.safe_load(files.hosts.read_text())
    for group, body in loaded["all"]["children"].items():
        if group.startswith("site_"):
            for name, hv in body["hosts"].items():
                hostvars[name] = {**body["vars"], **hv}
    return files.hosts, hostvars


@pytest.fixture(scope="module")
def rendered(inventory: tuple[Path, dict[str, Any]],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    hosts_file, _ = inventory
    tmp = tmp_path_factory.mktemp("render")
    playbook = tmp / "render.yml"
    playbook.write_text(yaml.safe_dump(_render_playbook(), sort_keys=False, width=1000))
    done = subprocess.run(
        [_ansible_playbook(), "-i", str(hosts_file), str(playbook),
         "-e", f"sunlight_repo_root={repo_root()}"],
        env={**_env(tmp), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    facts: dict[str, dict[str, Any]] = {}
    for task in json.loads(done.stdout)["plays"][0]["tasks"]:
        for host, result in task["hosts"].items():
            for one in [result, *result.get("results", [])]:  # a loop's items, one by one
                for key, value in (one.get("ansible_facts") or {}).items():
                    if key.startswith(("_r_", "_sunlight_", "_rabbitmq_parent")):
                        facts.setdefault(host, {})[key.removeprefix("_r_")] = value
    return facts


def test_every_service_binds_flows_yaml_port_on_the_inventory_addresses(
        rendered: dict[str, dict[str, Any]], inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    for host, out in rendered.items():
        mgmt = hv[host]["sunlight_addresses"]["mgmt"]
        sshd = out["all"]["sshd"]
        assert f"Port {PORT('ssh')}\nListenAddress {mgmt}\n" in sshd, host
        assert sshd.count("ListenAddress") == 1
        accepts = [ln for ln in out["all"]["nftables"].splitlines() if ln.strip().endswith(
            " accept") and "ip saddr" in ln]
        assert len(accepts) == len(hv[host]["sunlight_firewall"]) > 0
        node = hv[host]["sunlight_listen"]["node_exporter"]["addresses"]
        assert out["all"]["node_exporter"].count(f":{PORT('node_exporter')} ") == len(node)
    county, city_mq = hv["320703-int"]["sunlight_addresses"], hv["320700-mq"]["sunlight_addresses"]
    rabbit = rendered["320703-int"]["mq"]["rabbitmq"]
    assert f"listeners.tcp.1 = {county['int']}:{PORT('amqp')}" in rabbit
    assert "listeners.tcp.2" not in rabbit  # nothing plain on the backbone: TLS only
    assert f"listeners.ssl.1 = {county['backbone']}:{PORT('amqps')}\n" in rabbit
    city_rabbit = rendered["320700-mq"]["mq"]["rabbitmq"]
    assert f"listeners.tcp.1 = {city_mq['int']}:{PORT('amqp')}\n" \
           f"listeners.ssl.1 = {city_mq['backbone']}:{PORT('amqps')}\n" in city_rabbit
    for line in ("ssl_options.verify = verify_peer", "ssl_options.fail_if_no_peer_cert = true",
                 "ssl_cert_login_from = common_name", "auth_mechanisms.2 = EXTERNAL",
                 "ssl_options.cacertfile = /etc/rabbitmq/tls/ca.crt"):
        assert f"\n{line}\n" in city_rabbit, line
    assert f"management.tcp.ip = {county['int']}\nmanagement.tcp.port = " \
           f"{PORT('rabbitmq_management')}" in rabbit
    assert f"prometheus.tcp.port = {PORT('rabbitmq_prometheus')}" in rabbit
    pg = rendered["320703-ext"]["db"]
    ext = hv["320703-ext"]["sunlight_addresses"]["ext"]
    assert f"listen_addresses = '{ext}'\nport = {PORT('postgresql')}\n" in pg["pg_conf"]
    gw_ext = hv["320703-gw"]["sunlight_addresses"]["ext"]
    assert f"hostssl    portal  gateway  {gw_ext}/32  scram-sha-256" in pg["pg_hba"]
    assert f"hostssl    portal  portal  {ext}/32  scram-sha-256" in pg["pg_hba"]
    # The owner role (migrations) logs in from the portal's host only, never the gateway's.
    assert f"hostssl    portal  portal_owner  {ext}/32  scram-sha-256" in pg["pg_hba"]
    assert f"portal_owner  {gw_ext}/32" not in pg["pg_hba"]
    assert pg["pg_exporter_enabled"] is False and "listen-address" not in pg["pg_exporter"]
    core_db = rendered["320700-db"]["db"]
    assert core_db["pg_exporter_enabled"] is True
    assert f":{PORT('postgres_exporter')} " in core_db["pg_exporter"]
    nginx = rendered["320703-ext"]["nginx"]["nginx"]
    assert f"listen {ext}:{PORT('https')} ssl http2;" in nginx
    assert f"server {ext}:{PORT('portal_api')} max_fails=0;" in nginx
    assert "server 127.0.0.1:8011 max_fails=0;" in nginx  # the portal's loopback process
    assert city_mq["backbone"] != county["backbone"]


def test_monitoring_scrapes_its_site_and_federates_its_children(
        rendered: dict[str, dict[str, Any]], inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    mon = rendered["320700-mon"]["mon"]
    prom = yaml.safe_load(mon["prometheus_yml"])
    jobs = {j["job_name"]: [t for c in j["static_configs"] for t in c["targets"]]
            for j in prom["scrape_configs"]}
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}
    assert jobs["prometheus"] == [f"127.0.0.1:{PORT('prometheus')}"]
    assert jobs["core"] == [f"{addr['320700-core']['int']}:{PORT('core_api')}"]
    assert jobs["gateway"] == [f"{addr['320700-gw']['int']}:{PORT('gateway_api')}"]
    assert jobs["postgres"] == [f"{addr['320700-db']['int']}:{PORT('postgres_exporter')}"]
    assert jobs["rabbitmq"] == [f"{addr['320700-mq']['int']}:{PORT('rabbitmq_prometheus')}"]
    assert len(jobs["node"]) == 5  # every host on int (the external zone's are not)
    assert jobs["federate-320703"] == [f"{addr['320703-int']['backbone']}:{PORT('prometheus')}"]
    federate = next(j for j in prom["scrape_configs"] if j["job_name"] == "federate-320703")
    # Over TLS, verified for the child's name; the child's labels are not honoured: `site` is
    # ours unless the child reports a site below itself.
    assert federate["scheme"] == "https" and federate["honor_labels"] is False
    assert federate["tls_config"] == {"ca_file": "/etc/prometheus/tls/ca.crt",
                                      "server_name": "prometheus.320703.sunlight"}
    assert federate["static_configs"][0]["labels"] == {"child": "320703-int", "site": "320703"}
    assert federate["relabel_configs"] == [{"target_label": "job", "replacement": "federate"}]
    assert federate["metric_relabel_configs"][0] == {
        "source_labels": ["exported_site"], "regex": "(320703)", "target_label": "site"}
    assert federate["metric_relabel_configs"][-1] == {
        "regex": "exported_(site|job|instance|child)", "action": "labeldrop"}
    assert prom["scrape_configs"][0]["tls_config"]["server_name"] == "prometheus.320700.sunlight"
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        f"{addr['320700-mon']['int']}:{PORT('alertmanager')}"]
    assert f"--web.listen-address=0.0.0.0:{PORT('prometheus')} " in mon["prometheus_default"]
    # HTTPS only; the lifecycle API (remote shutdown and reload) stays off.
    assert "--web.config.file=/etc/prometheus/web-config.yml" in mon["prometheus_default"]
    (args,) = [ln for ln in mon["prometheus_default"].splitlines() if ln.startswith("ARGS=")]
    assert "lifecycle" not in args
    assert f"--web.listen-address={addr['320700-mon']['int']}:{PORT('alertmanager')} " in \
        mon["alertmanager_default"]
    assert rendered["320700-mon"]["targets_url"] == \
        f"https://localhost:{PORT('prometheus')}/api/v1/targets?state=active"
    county = yaml.safe_load(rendered["320703-int"]["mon"]["prometheus_yml"])
    assert not [j for j in county["scrape_configs"] if j["job_name"].startswith("federate")]


def test_applications_reach_their_peers_and_listen_on_flows_yaml_ports(
        rendered: dict[str, dict[str, Any]], inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}
    core = rendered["320700-core"]["core"]
    assert [(i["address"], int(i["port"])) for i in core["core_instances"]] == [
        (addr["320700-core"]["int"], PORT("core_api"))]
    assert (core["core_db"]["address"], core["core_db"]["port"]) == (
        addr["320700-db"]["int"], PORT("postgresql"))
    assert (core["core_mq"]["address"], core["core_mq"]["port"]) == (
        addr["320700-mq"]["int"], PORT("amqp"))
    gateway = rendered["320700-gw"]["gateway"]
    assert gateway["gateway_core_url"] == \
        f"https://{addr['320700-core']['int']}:{PORT('core_api')}"
    assert [(i["address"], int(i["port"])) for i in gateway["gateway_instances"]] == [
        (addr["320700-gw"]["int"], PORT("gateway_api"))]
    assert gateway["gateway_portal_db"]["address"] == addr["320700-portal-db"]["ext"]
    portal = rendered["320700-portal"]["portal"]
    assert [(i["address"], int(i["port"])) for i in portal["portal_instances"]] == [
        (addr["320700-portal"]["ext"], PORT("portal_api")), ("127.0.0.1", 8011)]
    assert portal["portal_db"]["address"] == addr["320700-portal-db"]["ext"]
    county_portal = rendered["320703-ext"]["portal"]
    assert county_portal["portal_db"]["address"] == addr["320703-ext"]["ext"]  # same host


def test_brokers_know_their_parent_and_children(rendered: dict[str, dict[str, Any]],
                                                inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    county, city = rendered["320703-int"]["mq"], rendered["320700-mq"]["mq"]
    assert county["children"] == [] and city["children"] == ["320703"]
    assert (county["parent"]["host"], county["parent"]["address"], county["parent"]["port"]) == (
        "320700-mq", hv["320700-mq"]["sunlight_addresses"]["backbone"], PORT("amqps"))
    assert (city["parent"]["address"], city["parent"]["port"]) == (PROVINCE.address,
                                                                   PORT("amqps"))


def test_verify_and_restore_ask_each_service_on_its_own_address(
        rendered: dict[str, dict[str, Any]], inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}
    ext, int_ = addr["320703-ext"]["ext"], addr["320703-int"]["int"]
    gw = addr["320703-gw"]["int"]
    assert rendered["320703-ext"]["verify_portal"] == \
        f"http://{ext}:{PORT('portal_api')}/readyz"
    assert rendered["320703-gw"]["verify_gateway"] == \
        f"http://{gw}:{PORT('gateway_api')}/readyz"
    # core serves HTTPS (the deployment CA); the others plain HTTP in their own zone
    assert rendered["320703-int"]["verify_core"] == f"https://{int_}:{PORT('core_api')}/readyz"
    assert rendered["320703-ext"]["restore_portal"] == rendered["320703-ext"]["verify_portal"]
    assert rendered["320703-gw"]["restore_gateway"] == rendered["320703-gw"]["verify_gateway"]
    assert "restore_core" not in rendered["320703-int"]  # core does not use the portal DB


def test_every_playbook_passes_syntax_check_with_a_generated_inventory(
        inventory: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    hosts_file, _ = inventory
    playbooks = sorted(p.name for p in PLAYBOOKS.glob("*.yml"))
    assert {"site.yml", "verify.yml", "restore.yml", "add-node.yml"} <= set(playbooks)
    done = subprocess.run([_ansible_playbook(), "-i", str(hosts_file), "--syntax-check",
                           *playbooks], cwd=PLAYBOOKS, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_settings_carry_the_peers_addresses_and_flows_yaml_ports(
        rendered: dict[str, dict[str, Any]], inventory: tuple[Path, dict[str, Any]]) -> None:
    _, hv = inventory
    addr = {name: v["sunlight_addresses"] for name, v in hv.items()}
    core = rendered["320700-core"]["_sunlight_core_env"]
    assert (core["host"], int(core["port"])) == (addr["320700-core"]["int"], PORT("core_api"))
    assert f"@{addr['320700-db']['int']}:{PORT('postgresql')}/core?sslmode=verify-full" in \
        core["database_url"]
    assert core["amqp_url"] == (f"amqp://core:mq_core-320700@{addr['320700-mq']['int']}:"
                                f"{PORT('amqp')}/sunlight?heartbeat=10")
    # A supervision drill shifts core's clock by this (root-owned, absent by default) file.
    assert core["clock_offset_file"] == "/etc/sunlight/clock-offset"
    gateway = rendered["320700-gw"]["_sunlight_gateway_env"]
    assert gateway["core_url"] == f"https://{addr['320700-core']['int']}:{PORT('core_api')}"
    assert gateway["tls_ca_file"] == "/etc/sunlight/ca.crt"
    assert (core["tls_cert_file"], core["tls_key_file"], core["tls_ca_file"]) == (
        "/etc/sunlight/tls/core.crt", "/etc/sunlight/tls/core.key", "/etc/sunlight/ca.crt")
    assert f"@{addr['320700-portal-db']['ext']}:{PORT('postgresql')}/portal?" in \
        gateway["portal_database_url"]
    assert (gateway["host"], int(gateway["port"])) == (addr["320700-gw"]["int"],
                                                       PORT("gateway_api"))
    portal = rendered["320703-ext"]["_sunlight_portal_env"]
    assert f"@{addr['320703-ext']['ext']}:{PORT('postgresql')}/portal?" in portal["database_url"]
    assert (portal["host"], int(portal["port"])) == (addr["320703-ext"]["ext"],
                                                     PORT("portal_api"))
    # TLS to the parent's backbone listener, the child's certificate (no password in the URI),
    # the parent verified for its name.
    tls = ("auth_mechanism=external&cacertfile=%2Fetc%2Frabbitmq%2Ftls%2Fca.crt"
           "&certfile=%2Fetc%2Frabbitmq%2Ftls%2Fshovel.crt&keyfile=%2Fetc%2Frabbitmq%2Ftls"
           "%2Fshovel.key&verify=verify_peer&server_name_indication=rabbitmq.{}.sunlight")
    assert rendered["320703-int"]["_rabbitmq_parent_uri"] == (
        f"amqps://{addr['320700-mq']['backbone']}:{PORT('amqps')}/sunlight?"
        + tls.format("320700"))
    assert rendered["320700-mq"]["_rabbitmq_parent_uri"] == (
        f"amqps://{PROVINCE.address}:{PORT('amqps')}/sunlight?" + tls.format("320000"))
    for uri in (rendered[h]["_rabbitmq_parent_uri"] for h in ("320703-int", "320700-mq")):
        assert "mq_shovel" not in uri
