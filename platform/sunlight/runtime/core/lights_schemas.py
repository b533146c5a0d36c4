"""Request and response bodies of the e-supervision lights API (:mod:`.api_lights`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: A case's light: none (正常), yellow (预警), red (报警).
LightName = Literal["none", "yellow", "red"]


class HitOut(BaseModel):
    """One rule that fired: its id, light, the rule's Chinese text, and what it saw."""

    rule_id: str
    light: Literal["yellow", "red"]
    text: str
    detail: str = ""


class BoardCount(BaseModel):
    light: LightName
    department: str
    item_code: str
    count: int


class BoardOut(BaseModel):
    """Open cases of this site by light, department and item (a case not evaluated yet
    counts as ``none``)."""

    site: str
    as_of: datetime
    rules_revision: int | None = Field(description="the imported rules in force (null: the "
                                                   "shipped defaults)")
    totals: dict[LightName, int]
    counts: list[BoardCount]


class CaseLightOut(BaseModel):
    case_id: uuid.UUID
    receipt: str
    department: str
    item_code: str
    status: str
    due_on: date
    light: LightName
    rule_ids: list[str]
    hits: list[HitOut]
    changed_at: datetime | None


class LightChangeOut(BaseModel):
    change: int
    from_light: LightName | None
    to_light: LightName
    rule_ids: list[str]
    hits: list[HitOut]
    trigger: str = Field(description="the action that moved the case, or tick (time alone)")
    at: datetime


class CaseLightsOut(BaseModel):
    """A case's light now and every change of it, oldest first."""

    case_id: uuid.UUID
    receipt: str
    light: LightName
    rule_ids: list[str]
    hits: list[HitOut]
    history: list[LightChangeOut]


class SubordinateLightOut(BaseModel):
    site: str
    receipt: str
    department: str
    item_code: str
    status: str | None
    light: LightName
    rule_ids: list[str]
    hits: list[HitOut]
    at: datetime = Field(description="when the light changed at the subordinate site")
    received_at: datetime


class SubordinateLightCount(BaseModel):
    site: str
    department: str
    light: LightName
    count: int


class RulesImportOut(BaseModel):
    """The rules in force after an import (or what an import would do: ``check_only``)."""

    site: str
    revision: int
    version: int
    rules: int
    changed: bool = Field(description="false: the same text was in force already, or "
                                      "nothing was stored (check_only)")
    check_only: bool


class RuleRevisionOut(BaseModel):
    revision: int
    version: int
    sha256: str
    source_name: str
    imported_by: str
    imported_at: datetime
    in_force: bool


class RulesBaselineOut(BaseModel):
    kind: str
    issuer: str
    version: int
    sha256: str
    published_by: str
    published_at: datetime
    received_at: datetime | None


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    roles: list[str] = Field(min_length=1, max_length=5)
    department: str | None = Field(default=None, max_length=40)
    display_name: str = Field(default="", max_length=100)
    certificate: str | None = Field(default=None, max_length=40, description="an officer "
                                    "account's own certificate number (执法证号); it acts "
                                    "under this one only")
    covers: list[str] | None = Field(
        default=None, max_length=100, description="a supervisor's departments (codes of this "
        "site), or [\"all\"] for the whole site; by default its own department")


class AccountOut(BaseModel):
    """The new account; its generated password is shown this once and never stored."""

    username: str
    roles: list[str]
    department: str | None
    certificate: str | None = None
    covers: list[str] | None = None
    password: str
