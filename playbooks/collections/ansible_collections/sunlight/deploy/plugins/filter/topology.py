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
from sunlight.topology import division


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
    return [{"code": s.code, "certs": [{"name": c.name, "dns": list(c.dns), "ips": list(c.ips),
                                        "client": c.client, "common_name": c.common_name}
                                       for c in s.certs]} for s in specs]


def _server_name_filter(service: str, code: str) -> str:
    """The DNS name a site's ``service`` certificate carries, which its clients verify."""
    return deploy_secrets.server_name(str(service), str(code))


def _cert_expiry_filter(hostvars: Mapping[str, Any], host: str,
                        site_secrets: str) -> list[dict[str, Any]]:
    """The certificates ``host`` serves or uses, each with its expiry (Unix seconds), read
    from the site's secrets on the control node (for the expiry gauge)."""
    from pathlib import Path

    from cryptography import x509

    hv = hostvars[host]
    view = firewall.HostView(host, str(hv["sunlight_division_code"]),
                             hv["sunlight_parent_code"] or None, tuple(hv["sunlight_roles"]),
                             dict(hv["sunlight_addresses"]))
    found = []
    for spec in deploy_secrets.site_specs([view.site], [view]):
        for cert in spec.certs:
            _, path = deploy_secrets.tls_paths(Path(site_secrets).parents[1], spec.code,
                                               cert.name)
            if path.exists():
                loaded = x509.load_pem_x509_certificate(path.read_bytes())
                found.append({"name": cert.name,
                              "not_after": int(loaded.not_valid_after_utc.timestamp())})
    return found


def _site_pattern_filter(code: str) -> str:
    """A regular expression of ``code`` and every site below it (GB/T 2260 prefixes): what
    a child's Prometheus may speak for when its parent federates it.

    >>> _site_pattern_filter("320700"), _site_pattern_filter("320703")
    ('3207[0-9]{2}', '320703')
    """
    tier = division.tier_of(str(code))
    if tier is division.Tier.PROVINCE:
        return f"{code[:2]}[0-9]{{4}}"
    if tier is division.Tier.CITY:
        return f"{code[:4]}[0-9]{{2}}"
    return str(code)


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
                "packages": _packages_filter, "server_name": _server_name_filter,
                "cert_expiry": _cert_expiry_filter, "site_pattern": _site_pattern_filter}
