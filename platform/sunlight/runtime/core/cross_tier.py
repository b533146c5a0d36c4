"""What cross-tier events mean at this site: core's handlers, registered with the exchange.

The exchange transport (:mod:`sunlight.runtime.exchange`) sits below core and does not
import it; :func:`register` hands it, when core's app is created, the apply function of
each event type, the gap view of held case events and the statistics a child reports up.

Example::

    >>> from sunlight.runtime.exchange.handlers import Handlers
    >>> handlers = register(Handlers())
    >>> handlers.missing(), handlers.handler("sunlight.supervision.answer").may_refuse
    ([], True)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sunlight.runtime.core import (
    audit_anchor,
    baselines,
    enforcement_exchange,
    statistics,
    subordinates,
    supervision_inbound,
)
from sunlight.runtime.exchange.handlers import Applied, Handlers
from sunlight.runtime.exchange.schemas import (
    ADOPTION,
    ANSWER,
    AUDIT_ANCHOR,
    BASELINE,
    CASE_EVENT,
    CASE_LIGHT,
    DATA_BASELINE,
    ENFORCEMENT_CHALLENGE,
    ENFORCEMENT_REFUSAL,
    ENFORCEMENT_STEP,
    ESCALATION,
    ORDER,
    REVIEW,
    STATS,
)


def _case_event(session: Session, site: str, env: dict[str, Any]) -> Applied:
    return subordinates.apply_case_event(session, env)


def _light(session: Session, site: str, env: dict[str, Any]) -> Applied:
    return subordinates.apply_light(session, env)


def _stats(session: Session, site: str, env: dict[str, Any]) -> Applied:
    return subordinates.apply_stats(session, env)


def register(handlers: Handlers) -> Handlers:
    """Register every cross-tier handler of core on ``handlers``; return it."""
    handlers.on(CASE_EVENT, _case_event)
    handlers.on(CASE_LIGHT, _light)
    handlers.on(STATS, _stats)
    handlers.on(ORDER, supervision_inbound.receive_order)
    handlers.on(ANSWER, supervision_inbound.receive_answer, may_refuse=True)
    handlers.on(REVIEW, supervision_inbound.receive_review, may_refuse=True)
    handlers.on(ESCALATION, supervision_inbound.receive_escalation)
    handlers.on(BASELINE, baselines.receive)
    handlers.on(ADOPTION, baselines.receive_adoption)
    handlers.on(DATA_BASELINE, baselines.receive_file)
    handlers.on(ENFORCEMENT_STEP, enforcement_exchange.receive_step)
    handlers.on(ENFORCEMENT_REFUSAL, enforcement_exchange.receive_refusal)
    handlers.on(ENFORCEMENT_CHALLENGE, enforcement_exchange.receive_challenge)
    handlers.on(AUDIT_ANCHOR, audit_anchor.receive)
    handlers.gaps_from(subordinates.gaps, subordinates.mark_reported)
    handlers.statistics_from(statistics.snapshot)
    return handlers
