"""The exchange API: the gateway delivers inward records and reads the outbound feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from sunlight.runtime.core import outbound
from sunlight.runtime.core.auth import require_exchange
from sunlight.runtime.core.exchange import apply_inward
from sunlight.runtime.core.schemas import OutboundPage, OutboundRecord, RecordIn, RecordOutcome
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.records import RecordRejected

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"],
                   dependencies=[Depends(require_exchange)])
ERRORS = responses(401, 422)


@router.post("/records", response_model=RecordOutcome, responses=ERRORS)
def deliver(body: RecordIn, session: SessionDep, settings: SettingsDep,
            clock: ClockDep) -> RecordOutcome:
    """Apply one whitelisted record; a redelivered record id is acknowledged as duplicate."""
    try:
        outcome = apply_inward(session, settings.site_code, body.record_id, body.record_type,
                               body.payload, clock.now())
    except RecordRejected as exc:
        raise ApiError(422, "record_rejected", str(exc)) from exc
    return RecordOutcome(outcome=outcome)


@router.get("/outbound", response_model=OutboundPage, responses=ERRORS)
def feed(session: SessionDep, after: Annotated[int, Query(ge=0)] = 0,
         limit: Annotated[int, Query(ge=1, le=500)] = 100) -> OutboundPage:
    """Records for the portal after ``after`` (status, results, catalogue), in order."""
    rows = outbound.after(session, after, limit)
    return OutboundPage(
        records=[OutboundRecord(seq=r.seq, record_id=r.record_id, record_type=r.record_type,
                                payload=r.payload) for r in rows],
        next_cursor=rows[-1].seq if rows else after)
