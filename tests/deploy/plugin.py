"""The playbooks' filter plugin, loaded as Ansible loads it, and inventory host variables."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from sunlight.control.deploy.inventory import PeerHost, deployment_inventory
from sunlight.paths import repo_root

PLUGIN = (repo_root() / "playbooks" / "collections" / "ansible_collections" / "sunlight"
          / "deploy" / "plugins" / "filter" / "topology.py")


def load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sunlight_deploy_topology", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def filters() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = load_plugin().FilterModule().filters()
    return found


def hostvars_of(inventory: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each host's variables as Ansible sees them: all's, its site group's, then its own."""
    out = {}
    shared = inventory["all"].get("vars", {})
    for group, body in inventory["all"]["children"].items():
        if group.startswith("site_"):
            for name, hv in body["hosts"].items():
                out[name] = {**shared, **body["vars"], **hv}
    return out


def deployed(*site_inventories: Mapping[str, Any], peers: tuple[PeerHost, ...] = (),
             control: Mapping[str, Mapping[str, list[str]]] | None = None,
             ) -> dict[str, dict[str, Any]]:
    """The host variables the inventory writer gives every host of these sites."""
    inventory = deployment_inventory(
        list(site_inventories), deployment="dt-0001", control_key=Path("/nonexistent/key"),
        known_hosts=Path("/nonexistent/known_hosts"), secrets_dir=Path("/nonexistent/secrets"),
        peers=peers, control=control)
    return hostvars_of(inventory)
