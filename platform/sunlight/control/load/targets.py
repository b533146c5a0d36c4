"""Where the load goes and as whom: one JSON file written by ``sunlight load``.

Example (targets.json)::

    {"portal": "https://127.0.0.1:32792", "ca_file": ".../ca.crt",
     "core": "https://10.200.13.3:8003", "province_core": "https://10.200.4.3:8003",
     "county": "320703", "staff": {"clerk": "...", ...}, "supervisor": ["admin", "..."]}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

ENV_TARGETS = "SUNLIGHT_LOAD_TARGETS"


@dataclass(frozen=True)
class Targets:
    portal: str  # the county's portal, through nginx (TLS)
    ca_file: str  # the deployment's CA, to verify nginx's and core's certificates
    core: str  # the county's core staff API (the control node stands for the staff LAN)
    province_core: str  # the province's core: supervision queries and propagation probes
    county: str  # the county's division code
    staff: dict[str, str]  # county staff username -> password (clerk, reviewer, approver)
    supervisor: tuple[str, str]  # a province account with the approver or admin role

    @classmethod
    def load(cls, path: str | None = None) -> Targets:
        source = path or os.environ.get(ENV_TARGETS)
        if not source:
            raise RuntimeError(f"{ENV_TARGETS} must name the targets file (sunlight load "
                               "writes it)")
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        return cls(portal=data["portal"], ca_file=data["ca_file"], core=data["core"],
                   province_core=data["province_core"], county=data["county"],
                   staff=dict(data["staff"]), supervisor=tuple(data["supervisor"]))

    def dump(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({**self.__dict__, "supervisor": list(self.supervisor)}, fh)
