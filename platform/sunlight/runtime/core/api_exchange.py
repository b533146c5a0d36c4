"""The exchange API: the gateway delivers materials (one per request), then inward records
that name them, and reads the outbound feed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query

from sunlight.runtime.core import outbound
from sunlight.runtime.core.auth import require_exchange
from sunlight.runtime.core.exchange import apply_inward, receive_material
from sunlight.runtime.core.schemas import OutboundPage, OutboundRecord, RecordIn, RecordOutcome
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.records import RecordRejected

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"],
                   dependencies=[Depends(require_exchange)])
ERRORS = responses(401, 422)
MATERIAL_ERRORS = responses(401, 413, 422)


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


@router.put("/materials/{material_id}", response_model=RecordOutcome,
            responses=MATERIAL_ERRORS)
def deliver_material(
        material_id: Annotated[uuid.UUID, Path()], session: SessionDep, settings: SettingsDep,
        sha256: Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")],
        content: Annotated[bytes, Body(media_type="application/octet-stream")]
) -> RecordOutcome:
    """Keep one material's bytes (the request body) until the application naming it is
    delivered; checked against ``sha256``; a repeat is acknowledged as duplicate."""
    if len(content) > settings.material_max_bytes:
        raise ApiError(413, "too_large", f"material is larger than the limit of "
                       f"{settings.material_max_bytes} bytes")
    try:
        outcome = receive_material(session, material_id, sha256, content)
    except RecordRejected as exc:
        raise ApiError(422, "material_rejected", str(exc)) from exc
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
