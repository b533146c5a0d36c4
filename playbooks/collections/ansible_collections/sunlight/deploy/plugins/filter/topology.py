"""Filters that ask Sunlight's code about the deployment (never about ports or addresses).

They run on the control node, in the virtual environment that has ``sunlight`` installed
(Ansible runs from it). What ``infra/flows.yaml`` means for each host — listen addresses,
firewall rules, database clients, peers — is not computed here: the inventory writer
(:mod:`sunlight.control.deploy.inventory`) states it once as host variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sunlight.control.deploy import firewall
from sunlight.control.deploy import inventory as deploy_inventory
from sunlight.control.deploy import secrets as deploy_secrets
from sunlight.control.images.packages import parse_package_list


def _views(hostvars: Mapping[str, Any], hosts: Sequence[str],
           sites: Mapping[str, Any]) -> list[firewall.HostView]:
    views = []
    for name in hosts:
        hv = hostvars[name]
        views.append(firewall.HostView(
            name, str(hv["sunlight_division_code"]), hv["sunlight_parent_code"] or None,
            tuple(hv["sunlight_roles"]), dict(hv["sunlight_addresses"])))
    return views + firewall.peer_views(sites)


def _secret_specs_filter(hostvars: Mapping[str, Any], hosts: Sequence[str],
                          sites: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``sites`` argument of the ``sunlight_secrets`` module, for every known site."""
    specs = deploy_secrets.site_specs(list(sites), _views(hostvars, hosts, sites))
    return [{"code": s.code, "certs": [{"name": c.name, "dns": list(c.dns), "ips": list(c.ips)}
                                       for c in s.certs]} for s in specs]


def _kin_filter(sites: Mapping[str, Any], code: str) -> list[str]:
    """Ancestors and descendants of a site (whose signing keys it holds)."""
    return deploy_inventory.kin(sites, str(code))


def _packages_filter(text: str) -> list[str]:
    """Package names of the one package list (``platform/node-image/packages.txt``)."""
    return parse_package_list(text)


class FilterModule:
    """Sunlight's filters, used as ``sunlight.deploy.<name>``."""

    def filters(self) -> dict[str, Any]:
        return {"secret_specs": _secret_specs_filter, "kin": _kin_filter,
                "packages": _packages_filter}
