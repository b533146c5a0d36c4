"""Policy-test fixtures: site configs for every profile and tier, captured under mocks.

Capturing runs the real program (infra/sunlight_infra) under ``pulumi.runtime.set_mocks``
through the realizer's capture, so the tests see exactly the inputs the realizer and a
real ``pulumi up`` would; no engine is involved.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from sunlight.control.realizer.capture import Capture, capture_site
from sunlight.control.resources import Run
from sunlight.topology.addressing import plan_deployment
from sunlight.topology.config import SiteConfig

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINTHOAI4XTk76q7yxCS61Hdqdk0rTq80/z5e70fEeq34 t@ctl"
RUN = Run(run_id="pt-0001", persistent=False, owner="boot:4242:99")
# (code, parent): every tier, a province-administered county, a municipality district.
SITES = [("320000", None), ("320700", "320000"), ("320703", "320700"),
         ("420000", None), ("429004", "420000"), ("110000", None), ("110105", "110000")]
PROFILES = ["compact", "standard"]
PLAN = plan_deployment([code for code, _ in SITES], taken=[])
PORTAL_PORT = 8443


def make_config(code: str = "320703", parent: str | None = "320700",
                profile: str = "compact", **overrides: Any) -> SiteConfig:
    raw: dict[str, Any] = {
        "run_id": RUN.run_id, "owner": RUN.owner, "division_code": code,
        "parent_code": parent, "profile": profile, "image": "sunlight/node:0123456789abcdef",
        "portal_port": PORTAL_PORT, "control_public_key": KEY,
        "backbone_network": "sunlight-pt-0001-backbone", "address_plan": PLAN.sites[code],
    }
    raw.update(overrides)
    return SiteConfig.model_validate(raw)


@functools.cache
def captured(code: str, parent: str | None, profile: str) -> tuple[SiteConfig, Capture]:
    config = make_config(code, parent, profile)
    return config, capture_site(config)


@pytest.fixture(params=[(c, p, prof) for c, p in SITES for prof in PROFILES],
                ids=lambda v: f"{v[2]}-{v[0]}")
def site(request: pytest.FixtureRequest) -> tuple[SiteConfig, Capture]:
    """One captured site per profile x site (every tier and the special counties)."""
    code, parent, profile = request.param
    return captured(code, parent, profile)
