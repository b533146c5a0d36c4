"""Where a deployment keeps its state: topology, address block, inventory, logs.

``$XDG_STATE_HOME/sunlight/deployments/<name>/`` holds ``topology.yaml``, ``plan.json``
(the address block and the order sites were given slots in), ``inventory/`` (hosts.yml,
known_hosts) and ``logs/``. Secrets live apart, in the secrets directory of
:func:`sunlight.control.deploy.inventory.default_secrets_dir`.

Example::

    >>> dep = Deployment("demo")  # doctest: +SKIP
    >>> dep.inventory_dir  # doctest: +SKIP
    PosixPath('/root/.local/state/sunlight/deployments/demo/inventory')
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network
from pathlib import Path

from sunlight.control.deploy.inventory import default_secrets_dir
from sunlight.control.stack.topology import TopologySpec, dump_topology, load_topology
from sunlight.paths import state_dir


@dataclass(frozen=True)
class Deployment:
    name: str

    @property
    def dir(self) -> Path:
        path = state_dir() / "deployments" / self.name
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    @property
    def inventory_dir(self) -> Path:
        return self.dir / "inventory"

    @property
    def hosts_file(self) -> Path:
        return self.inventory_dir / "hosts.yml"

    @property
    def secrets_dir(self) -> Path:
        return default_secrets_dir(self.name)

    def log(self, what: str) -> Path:
        return self.dir / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{what}.log"

    def topology(self) -> TopologySpec | None:
        path = self.dir / "topology.yaml"
        return load_topology(path) if path.is_file() else None

    def save_topology(self, spec: TopologySpec) -> None:
        (self.dir / "topology.yaml").write_text(dump_topology(spec), encoding="utf-8")

    def block(self) -> tuple[IPv4Network, list[str]] | None:
        """The address block and slot order, once the backbone was reserved."""
        path = self.dir / "plan.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        block = ip_network(data["block"])
        assert isinstance(block, IPv4Network)
        return block, list(data["codes"])

    def save_block(self, block: IPv4Network, codes: list[str]) -> None:
        (self.dir / "plan.json").write_text(json.dumps({"block": str(block), "codes": codes}))

    def forget(self) -> None:
        """Remove the state (not the secrets: a later `up` of the same name reuses them)."""
        shutil.rmtree(self.dir, ignore_errors=True)
