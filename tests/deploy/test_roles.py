"""The playbooks' conventions (STYLE.md) and the values they share with the platform."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from sunlight.paths import repo_root
from sunlight.runtime.settings import Settings
from sunlight.topology.layout import NODE

from ..playbook_tasks import tasks_in
from .plugin import deployed, filters

PLAYBOOKS = repo_root() / "playbooks"
ROLES = sorted(p.name for p in (PLAYBOOKS / "roles").iterdir() if p.is_dir())
FQCN = re.compile(r"^\s*-?\s*(ansible\.builtin|ansible\.posix|community\.\w+|sunlight\.deploy)"
                  r"\.\w+:")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_every_role_has_its_parts() -> None:
    assert {"common", "postgresql", "rabbitmq", "sunlight_portal", "sunlight_gateway",
            "sunlight_core", "nginx", "monitoring"} <= set(ROLES)
    for role in ROLES:
        for part in ("defaults/main.yml", "tasks/main.yml", "handlers/main.yml",
                     "meta/argument_specs.yml", "meta/main.yml"):
            assert (PLAYBOOKS / "roles" / role / part).is_file(), f"{role}/{part}"


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_are_in_step_with_commented_prefixed_defaults(role: str) -> None:
    base = PLAYBOOKS / "roles" / role
    defaults = _yaml(base / "defaults" / "main.yml")
    specs = _yaml(base / "meta" / "argument_specs.yml")["argument_specs"]
    assert set(defaults) == set(specs["main"]["options"]), role
    assert all(name.startswith(f"{role}_") for name in defaults), role
    lines = (base / "defaults" / "main.yml").read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):  # a top-level default: a comment goes with it
            above = [ln for ln in lines[:number] if ln.strip()][-1]
            assert above.startswith("#") or re.match(r"^[a-z_]+:", above), (role, line)


@pytest.mark.parametrize("role", ROLES)
def test_task_files_are_short_and_use_full_module_names(role: str) -> None:
    for path in (PLAYBOOKS / "roles" / role).glob("*/*.yml"):
        if path.parent.name in ("tasks", "handlers"):
            assert len(path.read_text().splitlines()) < 100, path
            for task in tasks_in(_yaml(path)):
                modules = [k for k in task if "." in k and k not in ("loop_control",)]
                assert modules and all(FQCN.match(f"{m}:") for m in modules), (path, task)


def test_one_material_limit_for_the_portal_and_nginx() -> None:
    shared = _yaml(PLAYBOOKS / "group_vars" / "all.yml")
    assert shared["sunlight_material_max_bytes"] == \
        Settings.model_fields["material_max_bytes"].default
    nginx = (PLAYBOOKS / "roles" / "nginx" / "defaults" / "main.yml").read_text()
    assert 'nginx_client_max_body_size: "{{ sunlight_material_max_bytes }}"' in nginx
    portal = (PLAYBOOKS / "roles" / "sunlight_portal" / "tasks" / "main.yml").read_text()
    assert "'material_max_bytes': sunlight_material_max_bytes" in portal


def _render_nftables(county: dict[str, Any], host: str) -> str:
    hv = deployed(county)[host]  # the inventory's, from flows.yaml
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(
        PLAYBOOKS / "roles" / "common" / "templates"), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True)
    return env.get_template("nftables.conf.j2").render(
        common_firewall_rules=hv["sunlight_firewall"], common_firewall_egress=hv[
            "sunlight_egress"], inventory_hostname=host, ansible_managed="managed")


def _chain(text: str, name: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"chain {name} {{")
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "}")
    return [ln.strip() for ln in lines[start + 1:end] if ln.strip()
            and not ln.strip().startswith("#")]


def test_the_gateway_and_the_external_zone_may_send_only_their_rows(
        county: dict[str, Any]) -> None:
    hv = deployed(county)
    ext, internal = hv["320703-ext"]["sunlight_addresses"], hv["320703-int"]["sunlight_addresses"]
    assert _chain(_render_nftables(county, "320703-gw"), "output") == [
        "type filter hook output priority filter; policy drop;",
        'oif "lo" accept',
        "ct state established,related accept",
        "ct state invalid drop",
        "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept",
        f"ip daddr {ext['ext']} tcp dport 5432 accept",  # the portal's database
        f"ip daddr {internal['int']} tcp dport 8003 accept",  # core's API
        'counter comment "dropped by default"',
    ]
    # nginx -> portal -> portal_db share the compact external host: loopback only
    assert _chain(_render_nftables(county, "320703-ext"), "output")[-2:] == [
        "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept",
        'counter comment "dropped by default"']
    assert "chain output" not in _render_nftables(county, "320703-int")  # the internal zone


def test_nftables_rules_are_rendered_from_flows_yaml(county: dict[str, Any]) -> None:
    text = _render_nftables(county, "320703-gw")
    assert "flush ruleset" not in text  # Docker's own tables (embedded DNS) stay
    assert "policy drop;" in text and 'iif "lo" accept' in text
    assert "ct state established,related accept" in text
    accepts = [ln.strip() for ln in text.splitlines() if ln.strip().endswith(" accept")
               and ln.strip().startswith("ip saddr")]
    hv = deployed(county)
    gw, internal = hv["320703-gw"]["sunlight_addresses"], hv["320703-int"]["sunlight_addresses"]
    mgmt_gateway = hv["320703-gw"]["sunlight_networks"]["mgmt"]["gateway"]
    assert accepts == [
        f"ip saddr {{ {internal['int']} }} ip daddr {gw['int']} tcp dport 8002 accept",
        f"ip saddr {{ {internal['int']} }} ip daddr {gw['int']} tcp dport 9100 accept",
        f"ip saddr {{ {mgmt_gateway} }} ip daddr {gw['mgmt']} tcp dport 22 accept",
        f"ip saddr {{ {mgmt_gateway} }} ip daddr {gw['mgmt']} tcp dport 9100 accept",
    ]


def test_every_role_of_flows_yaml_has_services_to_verify() -> None:
    services = _yaml(PLAYBOOKS / "group_vars" / "all.yml")["sunlight_role_services"]
    from sunlight.topology.layout import ROLES as APP_ROLES
    assert set(services) == set(APP_ROLES) | {NODE}


def test_broker_permissions_are_the_exchanges_own() -> None:
    from sunlight.runtime.exchange.topology import child_permissions, core_permissions

    defaults = _yaml(PLAYBOOKS / "roles" / "rabbitmq" / "defaults" / "main.yml")
    assert defaults["rabbitmq_core_permissions"] == core_permissions()
    users = (PLAYBOOKS / "roles" / "rabbitmq" / "tasks" / "users.yml").read_text()
    child = child_permissions("320703")
    for kind in ("configure", "write", "read"):
        rendered = child[kind].replace("320703", "{{ item }}")
        assert f"{kind}_priv: '{rendered}'" in users, kind


FILTER_CALL = re.compile(r"sunlight\.deploy\.\w+\s*\(|\|\s*sunlight\.deploy\.\w+")


def test_no_role_default_or_template_computes_ports_or_addresses() -> None:
    """Roles read the inventory's host variables; no default or template calls a filter."""
    calls = [f"{path.relative_to(PLAYBOOKS)}:{n}: {line.strip()}"
             for path in sorted((PLAYBOOKS / "roles").glob("*/*/*"))
             if path.parent.name in ("defaults", "templates") and path.is_file()
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if FILTER_CALL.search(line)]
    assert not calls, "\n".join(calls)


def test_the_collection_keeps_only_filters_that_compute_no_port() -> None:
    assert set(filters()) == {"secret_specs", "kin", "packages", "server_name", "site_pattern",
                              "cert_expiry"}
    used = " ".join(p.read_text() for p in PLAYBOOKS.rglob("*.yml"))
    assert all(f"sunlight.deploy.{name}" in used for name in filters())  # none is dead
