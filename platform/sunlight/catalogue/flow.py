"""A power item's flow: the ordered steps a case goes through, and who acts at each.

A valid flow starts with ``accept`` (受理), has one or more ``review`` steps (审查/审核), then
``decide`` (决定), then ``close`` (办结/送达). Each step names the staff role that acts and
its own limit in working days. The workflow engine (:mod:`sunlight.workflow`) and the
catalogue both use these types.

Example::

    >>> from sunlight.catalogue.flow import FlowStep, validate_flow
    >>> flow = validate_flow([
    ...     FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
    ...     FlowStep(kind="review", name="审查", role="reviewer", limit_days=5),
    ...     FlowStep(kind="decide", name="决定", role="approver", limit_days=2),
    ...     FlowStep(kind="close", name="办结", role="clerk", limit_days=1),
    ... ])
    >>> [s.kind for s in flow]
    ['accept', 'review', 'decide', 'close']
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StepKind = Literal["accept", "review", "decide", "close"]
#: Staff roles: 窗口受理 clerk, 审查/审核 reviewer, 决定/审批 approver.
StaffRole = Literal["clerk", "reviewer", "approver"]
STAFF_ROLES: tuple[StaffRole, ...] = ("clerk", "reviewer", "approver")


class FlowStep(BaseModel):
    """One step of a flow."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: StepKind
    name: str = Field(min_length=1, max_length=40)
    role: StaffRole
    limit_days: int = Field(ge=0, le=365)


class FlowError(ValueError):
    """The flow's shape is wrong; the message names the step position."""


def validate_flow(steps: list[FlowStep]) -> list[FlowStep]:
    """Check the accept → review+ → decide → close shape; return the steps unchanged."""
    kinds = [s.kind for s in steps]
    if len(kinds) < 4:
        raise FlowError("a flow needs at least accept, one review, decide and close")
    if kinds[0] != "accept":
        raise FlowError(f"step 1 must be 'accept', not {kinds[0]!r}")
    if kinds[-2:] != ["decide", "close"]:
        raise FlowError("the last two steps must be 'decide' then 'close'")
    for position, kind in enumerate(kinds[1:-2], start=2):
        if kind != "review":
            raise FlowError(f"step {position} must be 'review', not {kind!r}")
    return steps
