"""A site's configuration, typed and validated before anything is declared.

:class:`SiteConfig` is what the Pulumi program takes. A stack file's ``sunlight:*`` keys,
the realizer and the tests all build one; :func:`parse_site_config` turns any mapping into
one or raises :class:`SiteConfigError` naming every bad field.

Example::

    >>> from sunlight.topology.config import parse_site_config
    >>> cfg = parse_site_config({"run_id": "prod", "division_code": "320703",
    ...     "parent_code": "320700", "profile": "compact", "image": "sunlight/node:latest",
    ...     "portal_port": "8443", "control_public_key": KEY, "backbone_network": "backbone",
    ...     "address_plan": PLAN})  # doctest: +SKIP
    >>> cfg.tier.value  # doctest: +SKIP
    'county'
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from ipaddress import IPv4Address
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sunlight.topology.addressing import SiteAddressPlan
from sunlight.topology.division import DivisionError, Tier, check_code, check_parent, tier_of
from sunlight.topology.layout import Profile
from sunlight.topology.runs import Run, validate_run_id

KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521")
_IMAGE_RE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_NETWORK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")


class SiteConfigError(ValueError):
    """Bad site configuration; ``fields`` names each offending field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.fields = [name for name, _ in problems]
        lines = "\n".join(f"  {name}: {message}" for name, message in problems)
        super().__init__(f"invalid site configuration:\n{lines}")


class SiteConfig(BaseModel):
    """Everything the program needs to declare one site; nothing is read from elsewhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    # The owner process of an ephemeral run (the realizer's); None for a persistent deployment.
    owner: str | None = None
    division_code: str
    # Validated even when absent: a city or county without a parent is an error.
    parent_code: str | None = Field(default=None, validate_default=True)
    profile: Profile
    image: str
    portal_port: int = Field(ge=0, le=65535)  # on 127.0.0.1; 0 lets the engine choose
    control_public_key: str
    backbone_network: str
    address_plan: SiteAddressPlan
    # A deployment over several engines (docs/engines.md): the site's engine and the address
    # its backbone listeners are published on. None on one engine (the shared backbone).
    engine: str | None = None
    engine_address: IPv4Address | None = None

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str) -> str:
        return validate_run_id(value)

    @field_validator("division_code")
    @classmethod
    def _code(cls, value: str) -> str:
        try:
            return check_code(value)
        except DivisionError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("parent_code")
    @classmethod
    def _parent(cls, value: str | None, info: ValidationInfo) -> str | None:
        code = info.data.get("division_code")
        if code is None:  # the code itself is wrong: reported on its own field
            return value
        try:
            return check_parent(code, value or None)
        except DivisionError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _IMAGE_RE.match(value):
            raise ValueError(f"{value!r} is not an image reference like sunlight/node:<tag>")
        return value

    @field_validator("control_public_key")
    @classmethod
    def _public_key(cls, value: str) -> str:
        return check_public_key(value)

    @field_validator("backbone_network")
    @classmethod
    def _backbone(cls, value: str) -> str:
        if not _NETWORK_NAME_RE.match(value):
            raise ValueError(f"{value!r} is not a Docker network name")
        return value

    @field_validator("engine_address")
    @classmethod
    def _engine_address(cls, value: IPv4Address | None, info: ValidationInfo,
                        ) -> IPv4Address | None:
        if (value is None) != (info.data.get("engine") is None):
            raise ValueError("engine and engine_address come together (several engines)")
        return value

    @property
    def tier(self) -> Tier:
        return tier_of(self.division_code)

    def run(self) -> Run:
        """The run this site's resources belong to (labels and names come from it)."""
        if self.owner is None:
            return Run(run_id=self.run_id, persistent=True, owner="")
        return Run(run_id=self.run_id, persistent=False, owner=self.owner)


def check_public_key(value: str) -> str:
    """Return ``value`` stripped if it is one OpenSSH public key line."""
    parts = value.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES or "\n" in value.strip():
        raise ValueError(f"not an OpenSSH public key (one line starting with one of "
                         f"{', '.join(KEY_TYPES)})")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the key's base64 part does not decode") from None
    if blob[4:4 + len(parts[0])] != parts[0].encode():
        raise ValueError("the key's base64 part does not match its type")
    return value.strip()


def parse_site_config(raw: Mapping[str, Any]) -> SiteConfig:
    """Validate ``raw`` (e.g. a stack's config) into a :class:`SiteConfig`."""
    try:
        return SiteConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "(site)"
            problems.append((name, error["msg"].removeprefix("Value error, ")))
        raise SiteConfigError(problems) from None
