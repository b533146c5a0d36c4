"""The playbooks' filter plugin, loaded as Ansible loads it, and inventory host variables."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from types import ModuleType
from typing import Any

from sunlight.control.paths import repo_root

PLUGIN = (repo_root() / "playbooks" / "collections" / "ansible_collections" / "sunlight"
          / "deploy" / "plugins" / "filter" / "topology.py")
FLOWS = str(repo_root() / "infra" / "flows.yaml")


def load_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sunlight_deploy_topology", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def filters() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = load_plugin().FilterModule().filters()
    return found


def hostvars_of(inventory: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each host's variables as Ansible sees them: its site group's vars, then its own."""
    out = {}
    for group, body in inventory["all"]["children"].items():
        if group.startswith("site_"):
            for name, hv in body["hosts"].items():
                out[name] = {**body["vars"], **hv}
    return out
