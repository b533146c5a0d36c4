"""Retention in the external zone: which applications are purged, and how numbers are masked.

The purge itself runs against a real PostgreSQL in the integration suite; here the rule.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from sqlalchemy.orm.evaluator import _EvaluatorCompiler

from sunlight.runtime.portal.models import Application
from sunlight.runtime.portal.retention import (
    PURGED_NOTE,
    due,
    due_clause,
    mask_id,
    mask_phone,
    pending,
)
from sunlight.runtime.portal.schemas import ApplicationOut
from sunlight.runtime.settings import Settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAYS_30 = timedelta(days=30)


def test_closed_cases_are_purged_after_the_retention_and_open_ones_never() -> None:
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    rows = [SimpleNamespace(receipt=r, status=s, updated_at=t, purged_at=p) for r, s, t, p in [
        ("closed-old", "closed", old, None),
        ("refused-old", "refused", old, None),
        ("closed-recent", "closed", recent, None),
        ("closed-at-the-limit", "closed", NOW - DAYS_30, None),
        ("purged-before", "closed", old, old),
        ("in-review-old", "in_review", old, None),
        ("decided-old", "decided", old, None),
        ("correction-old", "correction_requested", old, None),
        ("draft-old", "draft", old, None),
    ]]
    assert [r.receipt for r in pending(rows, NOW, DAYS_30)] == [
        "closed-old", "refused-old", "closed-at-the-limit"]


def test_the_sql_selection_is_the_same_rule() -> None:
    evaluate = _EvaluatorCompiler(Application).process(due_clause(NOW, DAYS_30))
    statuses = ("closed", "refused", "draft", "sent", "in_review", "decided")
    ages = (timedelta(days=1), DAYS_30 - timedelta(seconds=1), DAYS_30, timedelta(days=400))
    for status, age, purged in itertools.product(statuses, ages, (None, NOW)):
        row = Application(status=status, updated_at=NOW - age, purged_at=purged)
        assert bool(evaluate(row)) == due(status, NOW - age, purged, NOW, DAYS_30), \
            (status, age, purged)


def test_identity_and_phone_numbers_are_masked() -> None:
    assert mask_id("320102199001011234") == "3201**********1234"
    assert mask_id("91320700MA1XXXXX7Q") == "9132**********XX7Q"
    assert mask_id("320102900101123") == "3201*******1123"  # 15-digit numbers of old
    assert mask_phone("13812345678") == "*******5678" and mask_phone("") == ""
    assert "20102199001" not in mask_id("320102199001011234")


def test_the_retention_is_a_setting_with_a_default_and_the_tracking_page_says_so() -> None:
    settings = Settings(role="portal", site_code="320703",
                        database_url="postgresql+psycopg://portal:pw@db/portal")
    assert settings.portal_retention_days == 30
    fields = ApplicationOut.model_fields
    assert fields["materials_purged_at"].default is None
    assert "删除" in PURGED_NOTE and "保存期限" in PURGED_NOTE


class _NoRows:
    """Just enough of a session for the tracking view: no catalogue entry, no materials."""

    def get(self, *_args: object) -> None:
        return None

    def scalars(self, *_args: object) -> list[object]:
        return []


def test_the_tracking_page_still_answers_after_the_purge_and_says_so() -> None:
    from sunlight.runtime.portal.api import _application_out

    application = Application(
        receipt="320703-20261001-000001", item_code="320703-SCJGJ-QT-001", status="closed",
        status_comment="", decision="granted", due_on=None, overdue=False, submissions=1,
        created_at=NOW - timedelta(days=60), updated_at=NOW - timedelta(days=31),
        applicant_id=mask_id("320102199001011234"), purged_at=NOW)
    shown = _application_out(_NoRows(), application)  # type: ignore[arg-type]
    assert shown.status == "closed" and shown.materials == []
    assert shown.materials_purged_at == NOW and shown.retention_note == PURGED_NOTE
    kept = _application_out(_NoRows(), Application(  # type: ignore[arg-type]
        receipt="320703-20261001-000002", item_code="x", status="in_review",
        status_comment="", decision=None, due_on=None, overdue=False, submissions=1,
        created_at=NOW, updated_at=NOW, purged_at=None))
    assert kept.materials_purged_at is None and kept.retention_note == ""
