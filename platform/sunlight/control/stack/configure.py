"""Configure a deployment from its inventory: the step of ``up`` and ``node add`` after the
hosts exist, and ``verify``'s read-only run.

It needs only the inventory directory (``hosts.yml`` and the pinned ``known_hosts``), whoever
wrote it — the realizer, a hosts file, a Pulumi stack's outputs (docs/inventory.md) — and
checks both are there and readable before Ansible starts.

Example::

    >>> configure(Deployment("demo"), "site.yml", progress=print)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sunlight.control.deploy.inventory_view import DeploymentInventory, read_inventory
from sunlight.control.stack.ansible import PlaybookResult, run_playbook
from sunlight.control.stack.deployment import Deployment

Progress = Callable[[str], None]


def configure(dep: Deployment, playbook: str, progress: Progress,
              extra_args: Sequence[str] = ()) -> PlaybookResult:
    """Run ``playbook`` on the deployment's inventory; the log goes to its logs directory.

    Raises :class:`~sunlight.control.deploy.inventory_view.InventoryError` for a missing or
    incomplete inventory and :class:`~sunlight.control.stack.ansible.PlaybookFailed` when
    the playbook fails."""
    inventory: DeploymentInventory = read_inventory(dep.inventory_dir)
    return run_playbook(playbook, inventory.path, dep.log(playbook.removesuffix(".yml")),
                        progress=progress, extra_args=extra_args)
