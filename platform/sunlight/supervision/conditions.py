"""The conditions a supervision rule can watch for, one model per ``kind``.

A rule's ``condition`` is one of these, told apart by its ``kind`` (a discriminated union:
an unknown kind is refused when the rule file is loaded). Each model holds only the
condition's thresholds, each with its allowed range; what the condition means for a case is
:mod:`sunlight.supervision.evaluate`, how a lower tier may change it is
:mod:`sunlight.supervision.tighten`.

- ``time_used``: ``remaining_days`` (0–365) working days or ``remaining_percent`` (1–99) %
  of the promised limit remain, or fewer; with ``overdue: true`` instead, once overdue;
- ``off_flow``: a recorded move the item's flow does not allow (wrong status, wrong role, a
  skipped step);
- ``materials_missing_at_acceptance``: accepted with required materials missing;
- ``same_person_accepts_and_decides``: one person accepted and decided the case (岗位分离);
  ``policy`` ``refuse`` (the default: core refuses the decision) or ``light``;
- ``too_fast``: ``from_step`` → ``to_step`` (default accept → decide) took under
  ``minutes`` (1–10080): handled off-line, registered on-line (网下办理、网上登记);
- ``repeated_correction``: 补正 requested more than ``max_requests`` (1–10, default 1) times;
- ``long_suspension``: a suspension (中止) longer than ``days`` (1–365) working days;
- ``discretion_override``: an enforcement case whose legal review (法制审核) let the amount
  stand outside the discretion band (自由裁量基准) by a written justification — never true of
  an application case (:func:`sunlight.supervision.evaluate.evaluate_override`).

Example::

    >>> from pydantic import TypeAdapter
    >>> adapter = TypeAdapter(Condition)
    >>> adapter.validate_python({"kind": "too_fast", "minutes": 10})
    TooFast(kind='too_fast', from_step='accept', to_step='decide', minutes=10)
    >>> adapter.validate_python({"kind": "time_used", "remaining_days": 2}).overdue
    False
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sunlight.catalogue.errors import located
from sunlight.catalogue.flow import StepKind

__all__ = [
    "CONDITION_KINDS",
    "STEP_ORDER",
    "Condition",
    "DiscretionOverride",
    "LongSuspension",
    "MaterialsMissingAtAcceptance",
    "OffFlow",
    "RepeatedCorrection",
    "SamePersonAcceptsAndDecides",
    "SeparationPolicy",
    "TimeUsed",
    "TooFast",
]

_FROZEN = ConfigDict(extra="forbid", frozen=True)

#: The order of a flow's step kinds (:mod:`sunlight.catalogue.flow`).
STEP_ORDER: tuple[StepKind, ...] = ("accept", "review", "decide", "close")
#: Separation of duties: ``refuse`` — the decision is refused (and lights if it happened
#: anyway); ``light`` — the decision is allowed and the case lights.
SeparationPolicy = Literal["refuse", "light"]


class TimeUsed(BaseModel):
    """Time used against the item's promised limit, in working days, clock stopped in pauses.

    Either a warning window (``remaining_days`` and/or ``remaining_percent``: fires when that
    many working days, or that share of the promised limit, remain or fewer — so also once
    overdue) or ``overdue: true`` (fires once the due date has passed).
    """

    model_config = _FROZEN

    kind: Literal["time_used"] = "time_used"
    remaining_days: int | None = Field(default=None, ge=0, le=365)
    remaining_percent: int | None = Field(default=None, ge=1, le=99)
    overdue: bool = False

    @model_validator(mode="after")
    def _one_mode(self) -> TimeUsed:
        window = self.remaining_days is not None or self.remaining_percent is not None
        if self.overdue and window:
            field = "remaining_days" if self.remaining_days is not None else "remaining_percent"
            raise located("give either overdue: true or a remaining_* threshold, not both",
                          (field,))
        if not self.overdue and not window:
            raise located("needs remaining_days, remaining_percent or overdue: true",
                          ("overdue",))
        return self


class OffFlow(BaseModel):
    """A move outside the item's flow: not allowed in the case's status, by the wrong role,
    or a step skipped (replayed through :func:`sunlight.workflow.machine.transition`)."""

    model_config = _FROZEN

    kind: Literal["off_flow"] = "off_flow"


class MaterialsMissingAtAcceptance(BaseModel):
    """The case was accepted although required materials (申报材料) were missing."""

    model_config = _FROZEN

    kind: Literal["materials_missing_at_acceptance"] = "materials_missing_at_acceptance"


class SamePersonAcceptsAndDecides(BaseModel):
    """One person accepted and decided the same case (separation of duties, 岗位分离)."""

    model_config = _FROZEN

    kind: Literal["same_person_accepts_and_decides"] = "same_person_accepts_and_decides"
    policy: SeparationPolicy = "refuse"


class TooFast(BaseModel):
    """Implausibly fast handling: from completing ``from_step`` to completing ``to_step``
    in under ``minutes`` — handled off-line, registered on-line (网下办理、网上登记)."""

    model_config = _FROZEN

    kind: Literal["too_fast"] = "too_fast"
    from_step: StepKind = "accept"
    to_step: StepKind = "decide"
    minutes: int = Field(ge=1, le=10_080)

    @model_validator(mode="after")
    def _forward(self) -> TooFast:
        if STEP_ORDER.index(self.to_step) <= STEP_ORDER.index(self.from_step):
            raise located(f"to_step must come after from_step ({self.from_step})",
                          ("to_step",))
        return self


class RepeatedCorrection(BaseModel):
    """补正 requested more than ``max_requests`` times (the law asks for one notice of
    everything missing: 一次性告知)."""

    model_config = _FROZEN

    kind: Literal["repeated_correction"] = "repeated_correction"
    max_requests: int = Field(default=1, ge=1, le=10)


class LongSuspension(BaseModel):
    """A suspension (中止) longer than ``days`` working days, counted as the deadlines count
    a pause: the working days in ``(stopped, restarted]``."""

    model_config = _FROZEN

    kind: Literal["long_suspension"] = "long_suspension"
    days: int = Field(ge=1, le=365)


class DiscretionOverride(BaseModel):
    """Legal review approved a penalty outside its discretion band (an override with a
    written justification, 《行政处罚法》 and the item's 自由裁量基准): lawful only when
    justified, so supervision looks at every one. Enforcement cases only."""

    model_config = _FROZEN

    kind: Literal["discretion_override"] = "discretion_override"


Condition = Annotated[
    TimeUsed
    | OffFlow
    | MaterialsMissingAtAcceptance
    | SamePersonAcceptsAndDecides
    | TooFast
    | RepeatedCorrection
    | LongSuspension
    | DiscretionOverride,
    Field(discriminator="kind"),
]

#: Every condition kind, in the order the documentation lists them.
CONDITION_KINDS: tuple[str, ...] = (
    "time_used",
    "off_flow",
    "materials_missing_at_acceptance",
    "same_person_accepts_and_decides",
    "too_fast",
    "repeated_correction",
    "long_suspension",
    "discretion_override",
)
