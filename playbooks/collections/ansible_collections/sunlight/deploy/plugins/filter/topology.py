"""Filters that ask Sunlight's topology code what flows.yaml means for one host.

They run on the control node, in the virtual environment that has ``sunlight`` installed
(Ansible runs from it), so the firewall, listen addresses, pg_hba, scrape targets and the
secrets to generate are computed by the same code the segregation proof uses
(:mod:`sunlight.control.deploy`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sunlight.control.deploy import firewall
from sunlight.control.deploy import inventory as deploy_inventory
from sunlight.control.deploy import secrets as deploy_secrets
from sunlight.control.images.packages import parse_package_list
from sunlight.topology.flows import FlowMatrix, load_flows


@functools.cache
def _matrix(flows_file: str) -> FlowMatrix:
    return load_flows(Path(flows_file))


def _views(hostvars: Mapping[str, Any], hosts: Sequence[str],
           sites: Mapping[str, Any]) -> list[firewall.HostView]:
    views = []
    for name in hosts:
        hv = hostvars[name]
        views.append(firewall.HostView(
            name, str(hv["sunlight_division_code"]), hv["sunlight_parent_code"] or None,
            tuple(hv["sunlight_roles"]), dict(hv["sunlight_addresses"])))
    return views + firewall.peer_views(sites)


def _control(hostvars: Mapping[str, Any], hosts: Sequence[str]) -> dict[str, Any]:
    control: dict[str, Any] = {}
    for name in hosts:
        hv = hostvars[name]
        site = str(hv["sunlight_division_code"])
        if site not in control:
            override = hv.get("sunlight_control_sources") or {}
            control[site] = override or firewall.default_control_sources(hv["sunlight_networks"])
    return control


def _source(s: firewall.Source) -> dict[str, Any]:
    return {"name": s.name, "roles": list(s.roles), "address": s.address}


def _firewall_filter(hostvars: Mapping[str, Any], hosts: Sequence[str], host: str,
                      sites: Mapping[str, Any], flows_file: str) -> list[dict[str, Any]]:
    """The host's accept rules: network, daddr, port, saddrs, sources, why."""
    rules = firewall.accepts(_matrix(flows_file), _views(hostvars, hosts, sites), host,
                             _control(hostvars, hosts))
    return [{"network": r.network, "daddr": r.daddr, "port": r.port,
             "saddrs": list(r.saddrs), "why": list(r.why),
             "sources": [_source(s) for s in r.sources]} for r in rules]


def _clients_filter(hostvars: Mapping[str, Any], hosts: Sequence[str], host: str,
                     sites: Mapping[str, Any], port: int,
                     flows_file: str) -> list[dict[str, Any]]:
    """Who may connect to ``port`` of ``host`` (other hosts and roles on the host itself)."""
    found = firewall.clients(_matrix(flows_file), _views(hostvars, hosts, sites), host,
                             _control(hostvars, hosts), int(port))
    return [_source(s) for s in found]


def _reachable_filter(hostvars: Mapping[str, Any], hosts: Sequence[str], host: str,
                       sites: Mapping[str, Any], flows_file: str) -> list[dict[str, Any]]:
    """Where ``host`` may connect: name, roles, network, address, port."""
    found = firewall.reachable(_matrix(flows_file), _views(hostvars, hosts, sites), host)
    return [{**asdict(t), "roles": list(t.roles)} for t in found]


def _listen_filter(addresses: Mapping[str, str], roles: Sequence[str], port: int,
                    flows_file: str) -> list[str]:
    """The addresses a service on ``port`` of a host carrying ``roles`` binds."""
    return firewall.listen_addresses(_matrix(flows_file), roles, int(port), addresses)


def _secret_specs_filter(hostvars: Mapping[str, Any], hosts: Sequence[str],
                          sites: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``sites`` argument of the ``sunlight_secrets`` module, for every known site."""
    specs = deploy_secrets.site_specs(list(sites), _views(hostvars, hosts, sites))
    return [{"code": s.code, "certs": [{"name": c.name, "dns": list(c.dns), "ips": list(c.ips)}
                                       for c in s.certs]} for s in specs]


def _kin_filter(sites: Mapping[str, Any], code: str) -> list[str]:
    """Ancestors and descendants of a site (whose signing keys it holds)."""
    return deploy_inventory.kin(sites, str(code))


def _children_filter(sites: Mapping[str, Any], code: str) -> list[str]:
    """The sites whose parent is ``code``."""
    return deploy_inventory.children(sites, str(code))


def _packages_filter(text: str) -> list[str]:
    """Package names of the one package list (``platform/node-image/packages.txt``)."""
    return parse_package_list(text)


class FilterModule:
    """Sunlight's filters, used as ``sunlight.deploy.<name>``."""

    def filters(self) -> dict[str, Any]:
        return {"firewall": _firewall_filter, "clients": _clients_filter,
                "reachable": _reachable_filter, "listen": _listen_filter,
                "secret_specs": _secret_specs_filter, "kin": _kin_filter,
                "children": _children_filter, "packages": _packages_filter}
