"""Receipt numbers are issued at submission; a draft has an opaque draft id (issue 15,
point 4), and a day whose receipt space ran out answers 503 with a reason, never 500.

How these fail on the code before: ``create_application`` took the site and issued the
receipt at once (the draft had a receipt, no draft id: ``new_draft_id``, ``next_receipt``
and ``purge_drafts`` did not exist, ImportError); a day's 1,000,000th application made
``format_receipt`` raise ValueError, which the API answered 500.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from sunlight.runtime.errors import ApiError
from sunlight.runtime.portal.models import Application, CatalogueEntry, Material, Outbox
from sunlight.runtime.portal.schemas import ApplicantIn, ApplicationIn
from sunlight.runtime.portal.service import (
    RECEIPTS_EXHAUSTED,
    create_application,
    next_receipt,
    purge_drafts,
    submit,
)
from sunlight.workflow.identity import generate_credit_code
from sunlight.workflow.receipts import (
    DRAFT_ID_PATTERN,
    RECEIPT_PATTERN,
    is_receipt,
    new_draft_id,
)

ITEM = "320703-SCJGJ-QT-001"
MATERIAL = "年度报告"


class _Result:
    def __init__(self, value: Any) -> None:
        self.value = value

    def scalar_one(self) -> Any:
        return self.value


class _Session:
    """A portal session that knows one catalogue item, holds one material of the draft,
    and whose receipt counter stands at ``seq`` for the next ``INSERT … RETURNING``."""

    def __init__(self, seq: int = 1) -> None:
        self.seq, self.added, self.executed = seq, list[Any](), list[Any]()
        self.entry = CatalogueEntry(code=ITEM, version=1, name="企业年报", category="其他",
                                    department="320703-SCJGJ", department_name="市场监管局",
                                    doc={"form_schema": {"type": "object"},
                                         "materials": [{"name": MATERIAL, "required": True}]})

    def get(self, _model: Any, key: Any) -> Any:
        return self.entry if key == ITEM else None

    def add(self, obj: Any) -> None:
        self.added.append(obj)

    def flush(self) -> None:
        pass

    def execute(self, stmt: Any) -> _Result:
        self.executed.append(stmt)
        return _Result(self.seq)

    def scalars(self, _stmt: Any) -> list[Any]:
        return [m for m in self.added if isinstance(m, Material)]


def _body() -> ApplicationIn:
    import random

    code = generate_credit_code(random.Random(1))
    return ApplicationIn(item_code=ITEM, form={},
                         applicant=ApplicantIn(kind="enterprise", id_number=code, name="甲"))


def _with_material(session: _Session, application: Application) -> None:
    application.id = uuid.uuid4()
    session.add(Material(id=uuid.uuid4(), application_id=application.id, batch=0, name=MATERIAL,
                         filename="a.pdf", content_type="application/pdf", size=8,
                         sha256="0" * 64, content=b"%PDF-1.7"))


def test_a_draft_id_is_opaque_and_never_a_receipt() -> None:
    ids = {new_draft_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(DRAFT_ID_PATTERN, i) and not is_receipt(i) for i in ids)
    assert is_receipt("320703-20261201-000001") and not is_receipt("320703-20261201-00001")


def test_a_draft_gets_a_draft_id_and_no_receipt_number() -> None:
    session = _Session()
    application, secret = create_application(session, _body())  # type: ignore[arg-type]
    assert re.fullmatch(DRAFT_ID_PATTERN, application.draft_id)
    assert application.receipt is None and application.status == "draft" and secret
    assert session.executed == []  # the day's receipt counter was not touched


def test_the_receipt_is_issued_at_submission_and_differs_from_the_draft_id() -> None:
    session = _Session(seq=42)
    application, _secret = create_application(session, _body())  # type: ignore[arg-type]
    application.submissions = 0
    _with_material(session, application)
    submit(session, application, "320703")  # type: ignore[arg-type]
    assert application.receipt is not None and re.fullmatch(RECEIPT_PATTERN, application.receipt)
    assert application.receipt.endswith("-000042") and application.receipt != application.draft_id
    [outbox] = [o for o in session.added if isinstance(o, Outbox)]
    assert outbox.payload["receipt"] == application.receipt
    assert application.status == "sent"


def test_the_last_receipt_of_the_day_is_issued() -> None:
    assert next_receipt(_Session(seq=3), "320703", max_seq=3).endswith("-000003")  # type: ignore[arg-type]


def test_a_days_receipt_space_used_up_is_503_with_a_chinese_reason() -> None:
    with pytest.raises(ApiError) as info:
        next_receipt(_Session(seq=4), "320703", max_seq=3)  # type: ignore[arg-type]
    assert info.value.status == 503 and info.value.code == RECEIPTS_EXHAUSTED
    assert "已用尽" in info.value.detail and "3" in info.value.detail


def test_submitting_when_the_space_is_used_up_leaves_a_draft() -> None:
    session = _Session(seq=4)
    application, _secret = create_application(session, _body())  # type: ignore[arg-type]
    application.submissions = 0
    _with_material(session, application)
    with pytest.raises(ApiError) as info:
        submit(session, application, "320703", max_seq=3)  # type: ignore[arg-type]
    assert info.value.status == 503
    assert application.receipt is None and application.status == "draft"
    assert not [o for o in session.added if isinstance(o, Outbox)]


class _PurgeSession:
    def __init__(self, ids: list[uuid.UUID]) -> None:
        self.ids, self.statements = ids, list[Any]()

    def scalars(self, stmt: Any) -> list[uuid.UUID]:
        self.statements.append(stmt)
        return self.ids

    def execute(self, stmt: Any) -> None:
        self.statements.append(stmt)


def _sql(stmt: Any) -> str:
    return str(stmt.compile(dialect=postgresql.dialect()))


def test_the_purge_picks_only_old_drafts_never_submitted() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    session = _PurgeSession([uuid.uuid4(), uuid.uuid4()])
    assert purge_drafts(session, now, timedelta(days=7)) == 2  # type: ignore[arg-type]
    select_sql = _sql(session.statements[0])
    for condition in ("applications.status = ", "applications.receipt IS NULL",
                      "applications.submissions = ", "applications.created_at < ",
                      "FOR UPDATE SKIP LOCKED"):
        assert condition in select_sql, select_sql
    params = session.statements[0].compile(dialect=postgresql.dialect()).params
    assert "draft" in params.values() and now - timedelta(days=7) in params.values()
    assert _sql(session.statements[1]).startswith("DELETE FROM materials")
    assert _sql(session.statements[2]).startswith("DELETE FROM applications")


def test_nothing_to_purge_deletes_nothing() -> None:
    session = _PurgeSession([])
    assert purge_drafts(session, datetime.now(UTC), timedelta(days=7)) == 0  # type: ignore[arg-type]
    assert len(session.statements) == 1
