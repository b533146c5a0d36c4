"""Deployment fixtures: a county and its city, configured and planned, no engine involved."""

from __future__ import annotations

from typing import Any

import pytest

from sunlight.control.resources import Run
from sunlight.topology import inventory
from sunlight.topology.addressing import plan_deployment
from sunlight.topology.config import SiteConfig
from sunlight.topology.layout import hosts_of

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINTHOAI4XTk76q7yxCS61Hdqdk0rTq80/z5e70fEeq34 t@ctl"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJTnK9JyXm1gGp9oUkqeuofQoqaUprIfp8fYzK/CXggu root@h"
RUN = Run(run_id="dt-0001", persistent=False, owner="boot:4242:99")
PLAN = plan_deployment(["320000", "320700", "320703"], taken=[])


def config(code: str, parent: str | None, profile: str) -> SiteConfig:
    return SiteConfig(run_id=RUN.run_id, owner=RUN.owner, division_code=code,
                      parent_code=parent, profile=profile,
                      image="sunlight/node:0123456789abcdef", portal_port=8443,
                      control_public_key=KEY, backbone_network="sunlight-dt-0001-backbone",
                      address_plan=PLAN.sites[code])


def site_inventory(code: str, parent: str | None, profile: str) -> dict[str, Any]:
    cfg = config(code, parent, profile)
    containers = {h.name: inventory.container_name(cfg, h) for h in hosts_of(cfg.profile)}
    return inventory.build_inventory(cfg, containers)


@pytest.fixture
def county() -> dict[str, Any]:
    return site_inventory("320703", "320700", "compact")


@pytest.fixture
def city() -> dict[str, Any]:
    return site_inventory("320700", "320000", "standard")
