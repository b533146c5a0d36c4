"""Issue 15 point 5, the last two clauses, without a database: the role rules held at the
token (a request acts with what both the token and the account allow now), and supervisors
(监察室) scoped to the departments they cover — the coverage kept on the account, carried
in the token, and applied by the board, the lights, 督办, random inspection, the
legal-supervision view and case look-ups.

The same on real PostgreSQL: integration/test_platform_8_accounts.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from sqlalchemy.dialects import postgresql

from sunlight.enforcement import oversight
from sunlight.runtime.core import (
    accounts,
    api_inspection,
    api_legal_supervision,
    api_lights,
    api_supervision,
    cases,
    enforcement,
    inspection,
    legal_supervision,
    supervision,
)
from sunlight.runtime.core.auth import (
    ALGORITHM,
    Staff,
    current_staff,
    issue_token,
    require_watch,
    staff_of,
)
from sunlight.runtime.core.models import Account
from sunlight.runtime.errors import ApiError
from sunlight.runtime.settings import Settings

SETTINGS = Settings(role="core", site_code="320703",
                    database_url="postgresql+psycopg://core:pw@127.0.0.1:1/core",
                    token_secret="t" * 32, exchange_token="e" * 32)
SCJGJ, RSJ, WJW = "320703-SCJGJ", "320703-RSJ", "320703-WJW"
SCOPED = Staff("qian", ("supervisor",), None, frozenset({RSJ}))
SITE_WIDE = Staff("zhao", ("supervisor",), None, None)
CLOCK = SimpleNamespace(now=lambda: datetime(2026, 12, 1, 2, tzinfo=UTC),
                        today=lambda: date(2026, 12, 1))


def _account(**kw: Any) -> Account:
    values: dict[str, Any] = {"username": "li", "display_name": "李", "password_hash": "x",
                              "roles": ["clerk"], "department": SCJGJ, "active": True,
                              "token_version": 0, "totp_secret": None, "covers": None}
    return Account(**{**values, **kw})


class _Session:
    """Accounts by username; departments that exist (``get`` of anything else)."""

    def __init__(self, *rows: Account, departments: tuple[str, ...] = (SCJGJ, RSJ, WJW)):
        self.rows = {row.username: row for row in rows}
        self.departments = departments

    def get(self, model: Any, key: Any, **_kw: Any) -> Any:
        if model is Account:
            return self.rows.get(key)
        return SimpleNamespace(code=key) if key in self.departments else None

    def scalars(self, _stmt: Any) -> Any:
        return SimpleNamespace(first=lambda: next(iter(self.rows.values())))


def _request() -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=SETTINGS)))


def _staff(token: str, account: Account) -> Staff:
    return current_staff(_request(), _Session(account), f"Bearer {token}")  # type: ignore[arg-type]


def _refused(call: Any, *args: Any, **kw: Any) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call(*args, **kw)
    return refused.value


# The role rules at the token.

def test_a_role_added_behind_the_api_is_not_granted_to_an_older_token() -> None:
    """Before: the roles acted with were the account's, so a row given ``approver`` by
    direct SQL (no version bump) let a clerk's token decide."""
    token = issue_token(SETTINGS, Staff("li", ("clerk",), SCJGJ), 0)
    staff = _staff(token, _account(roles=["clerk", "approver"]))
    assert staff.roles == ("clerk",)


def test_a_token_whose_roles_the_account_no_longer_holds_is_refused() -> None:
    token = issue_token(SETTINGS, Staff("li", ("admin", "approver"), SCJGJ), 0)
    refused = _refused(_staff, token, _account(roles=["clerk"]))
    assert refused.status == 403 and "sign in again" in refused.detail
    assert "admin, approver" in refused.detail and "(clerk)" in refused.detail


def test_a_token_issued_for_another_department_is_refused() -> None:
    token = issue_token(SETTINGS, Staff("li", ("clerk",), RSJ), 0)
    refused = _refused(_staff, token, _account())
    assert refused.status == 403 and RSJ in refused.detail and SCJGJ in refused.detail


def test_a_token_whose_own_roles_conflict_is_refused() -> None:
    """A token claiming supervisor and clerk (never issued: only a forged or old secret
    makes one) is refused even if the row holds just one of them."""
    token = jwt.encode({"sub": "li", "roles": ["supervisor", "clerk"], "dept": SCJGJ,
                        "exp": 4_000_000_000, "site": "320703", "ver": 0},
                       "t" * 32, algorithm=ALGORITHM)
    refused = _refused(_staff, token, _account())
    assert refused.status == 403 and "岗位分离" in refused.detail


# Coverage: on the account, in the token.

def test_a_supervisors_token_carries_its_coverage() -> None:
    account = _account(username="qian", roles=["supervisor"], department=None,
                       covers=[RSJ, WJW])
    token = issue_token(SETTINGS, staff_of(account), 0)
    claims = jwt.decode(token, "t" * 32, algorithms=[ALGORITHM])
    assert claims["covers"] == [RSJ, WJW]
    assert _staff(token, account).covers == frozenset({RSJ, WJW})
    everything = _account(username="qian", roles=["supervisor"], department=None,
                          covers=["all"])
    token = issue_token(SETTINGS, staff_of(everything), 0)
    assert jwt.decode(token, "t" * 32, algorithms=[ALGORITHM])["covers"] == ["all"]
    assert _staff(token, everything).site_wide
    assert "covers" not in jwt.decode(issue_token(SETTINGS, staff_of(_account()), 0),
                                      "t" * 32, algorithms=[ALGORITHM])


def test_coverage_widened_behind_the_api_does_not_widen_a_token() -> None:
    token = issue_token(SETTINGS, Staff("qian", ("supervisor",), None, frozenset({RSJ})), 0)
    wider = _account(username="qian", roles=["supervisor"], department=None,
                     covers=[RSJ, SCJGJ])
    assert _staff(token, wider).covers == frozenset({RSJ})
    everything = _account(username="qian", roles=["supervisor"], department=None,
                          covers=["all"])
    assert _staff(token, everything).covers == frozenset({RSJ})
    elsewhere = _account(username="qian", roles=["supervisor"], department=None,
                         covers=[SCJGJ])
    refused = _refused(_staff, token, elsewhere)
    assert refused.status == 403 and "covers no department" in refused.detail
    # A token without coverage (from before it existed) covers nothing.
    bare = jwt.encode({"sub": "qian", "roles": ["supervisor"], "dept": None,
                       "exp": 4_000_000_000, "site": "320703", "ver": 0},
                      "t" * 32, algorithm=ALGORITHM)
    assert _refused(_staff, bare, everything).status == 403


def test_who_watches_what() -> None:
    assert SCOPED.watches(RSJ) and not SCOPED.watches(SCJGJ) and not SCOPED.site_wide
    assert SITE_WIDE.watches(SCJGJ) and SITE_WIDE.site_wide
    admin = Staff("a", ("admin",), None)
    assert admin.watches(SCJGJ) and admin.site_wide
    clerk = Staff("c", ("clerk",), SCJGJ)
    assert not clerk.watches(SCJGJ) and not clerk.site_wide
    refused = _refused(require_watch, SCOPED, SCJGJ, "督办")
    assert refused.status == 403 and refused.code == "out_of_scope"
    assert SCJGJ in refused.detail and RSJ in refused.detail


def test_a_supervisors_coverage_is_checked_when_the_account_is_made() -> None:
    session = _Session()
    check = accounts.check_covers
    assert check(session, ["supervisor"], SCJGJ, None) == [SCJGJ]  # by default its own
    assert check(session, ["supervisor"], None, [WJW, RSJ, RSJ]) == [RSJ, WJW]
    assert check(session, ["supervisor", "admin"], None, ["all"]) == ["all"]
    assert check(session, ["clerk"], SCJGJ, None) is None
    for roles, department, covers, words in (
            (["supervisor"], None, None, "--covers all"),
            (["supervisor"], None, ["all", RSJ], "alone"),
            (["supervisor"], None, ["320703-NOPE"], "unknown department 320703-NOPE"),
            (["clerk"], SCJGJ, [RSJ], "only supervisor accounts")):
        with pytest.raises(accounts.AccountError, match="--covers") as refused:
            check(session, roles, department, covers)
        assert words in str(refused.value)


@pytest.fixture
def no_audit(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    monkeypatch.setattr(accounts, "audit", lambda _s, _site, **kw: records.append(kw))
    return records


def test_changing_the_coverage_revokes_and_is_audited(no_audit: list[dict[str, Any]]) -> None:
    account = _account(username="qian", roles=["supervisor"], department=None,
                       covers=[RSJ], token_version=4)
    accounts.set_covers(_Session(account), "320703", "qian", [RSJ, WJW])  # type: ignore[arg-type]
    assert (account.covers, account.token_version) == ([RSJ, WJW], 5)
    assert no_audit[-1]["action"] == "set_covers" and WJW in no_audit[-1]["comment"]
    # A role change keeps the coverage it has; dropping the role drops it.
    accounts.set_roles(_Session(account), "320703", "qian", ["supervisor", "admin"])  # type: ignore[arg-type]
    assert account.covers == [RSJ, WJW]
    clerk = _account()
    with pytest.raises(accounts.AccountError, match="not a supervisor"):
        accounts.set_covers(_Session(clerk), "320703", "li", [RSJ])  # type: ignore[arg-type]


# The views: lists filtered, a case outside the coverage refused with 403.

def _sql(stmt: Any) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def test_the_board_counts_only_the_covered_departments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_lights.lights, "open_counts", lambda _s: [
        ("red", SCJGJ, "A", 2), ("none", RSJ, "B", 3), ("yellow", RSJ, "B", 1)])
    monkeypatch.setattr(api_lights.supervision_rules, "in_force",
                        lambda _s, _site: SimpleNamespace(revision=1))
    scoped = api_lights.board(SCOPED, None, SETTINGS, CLOCK)  # type: ignore[arg-type]
    assert {c.department for c in scoped.counts} == {RSJ}
    assert scoped.totals == {"none": 3, "yellow": 1, "red": 0}
    assert api_lights.board(SITE_WIDE, None, SETTINGS, CLOCK).totals["red"] == 2  # type: ignore[arg-type]


def test_the_lights_list_is_filtered_in_sql() -> None:
    seen: list[Any] = []
    session = SimpleNamespace(execute=lambda stmt: seen.append(stmt) or [])
    assert api_lights.case_lights(SCOPED, session) == []  # type: ignore[arg-type]
    assert f"cases.department IN ('{RSJ}')" in _sql(seen[0])
    api_lights.case_lights(SITE_WIDE, session)  # type: ignore[arg-type]
    assert "cases.department IN" not in _sql(seen[1])


def test_subordinate_views_are_for_site_wide_supervisors() -> None:
    for call in (lambda: api_lights.subordinate_lights(SCOPED, None),  # type: ignore[arg-type]
                 lambda: api_lights.subordinate_light_counts(SCOPED, None),  # type: ignore[arg-type]
                 lambda: api_supervision.subordinates(SCOPED, None),  # type: ignore[arg-type]
                 lambda: api_supervision.subordinate_cases("320703", SCOPED, None)):  # type: ignore[arg-type]
        refused = _refused(call)
        assert refused.status == 403 and "site-wide" in refused.detail


def test_orders_are_scoped_to_the_covered_departments_here() -> None:
    scoped = _sql(supervision._visible("320600", SCOPED))
    assert f"supervision_orders.department IN ('{RSJ}')" in scoped
    assert "supervision_orders.target = '320600'" in scoped
    assert "escalated_from IS NULL" in scoped
    wide = _sql(supervision._visible("320600", SITE_WIDE))
    assert "department" not in wide and "escalated_from IS NOT NULL" in wide


def _order(**kw: Any) -> Any:
    return SimpleNamespace(**{"id": uuid.uuid4(), "issuer": "320600", "target": "320600",
                              "department": RSJ, "escalated_from": None, **kw})


def test_an_order_outside_the_coverage_is_refused() -> None:
    supervision.require_order_scope(SCOPED, "320600", _order(), "受理")
    for order in (_order(department=SCJGJ), _order(target="320703"),
                  _order(escalated_from="320703")):
        refused = _refused(supervision.require_order_scope, SCOPED, "320600", order, "accept")
        assert refused.status == 403 and refused.code == "out_of_scope"
        supervision.require_order_scope(SITE_WIDE, "320600", order, "accept")


def test_a_scoped_supervisor_cannot_order_another_department(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "_own_department", lambda _s, _r, d: d)
    refused = _refused(supervision.issue, None, "320703", None, SCOPED, target=None,  # type: ignore[arg-type]
                       receipt=None, text="请说明", now=CLOCK.now(), department=SCJGJ)
    assert refused.status == 403 and SCJGJ in refused.detail
    lower = _refused(supervision.issue, None, "320700", None, SCOPED, target="320703",  # type: ignore[arg-type]
                     receipt="320703-20261201-000001", text="请说明", now=CLOCK.now())
    assert lower.status == 403 and "lower site" in lower.detail


def test_a_case_outside_the_coverage_is_refused_with_the_reason() -> None:
    case = SimpleNamespace(id=uuid.uuid4(), receipt="320703-20261201-000001",
                           department=SCJGJ)
    session = SimpleNamespace(get=lambda _m, _k: case)
    refused = _refused(cases.get, session, SCOPED, case.id)
    assert refused.status == 403 and refused.code == "out_of_scope"
    assert cases.get(session, SITE_WIDE, case.id) is case  # type: ignore[arg-type]
    other_clerk = Staff("c", ("clerk",), RSJ)
    assert _refused(cases.get, session, other_clerk, case.id).status == 404
    row = SimpleNamespace(department=SCJGJ)
    assert _refused(enforcement.get_case, SimpleNamespace(get=lambda _m, _k: row),
                    SCOPED, uuid.uuid4()).status == 403


def test_enforcement_and_inspection_lists_are_filtered() -> None:
    seen: list[Any] = []
    session = SimpleNamespace(scalars=lambda stmt: seen.append(stmt) or [])
    enforcement.list_cases(session, SCOPED)  # type: ignore[arg-type]
    assert f"enforcement_cases.department IN ('{RSJ}')" in _sql(seen[0])
    inspection.draws(session, SCOPED)  # type: ignore[arg-type]
    assert f"inspection_draws.department IN ('{RSJ}')" in _sql(seen[1])
    refused = _refused(inspection.draw_sample, session, "320703", SCOPED, department=SCJGJ,
                       month="2026-11", now=CLOCK.now(), size=1)
    assert refused.status == 403 and refused.code == "out_of_scope"


def test_the_inspection_summary_and_legal_view_show_covered_departments(
        monkeypatch: pytest.MonkeyPatch) -> None:
    figures = [inspection.MonthFigures(d, "2026-11", 1, 5, 1, 1, 0, {}) for d in (RSJ, SCJGJ)]
    monkeypatch.setattr(api_inspection.inspection, "summary", lambda *_a: figures)
    shown = api_inspection.inspection_summary(SCOPED, None, "2026-11")  # type: ignore[arg-type]
    assert [f.department for f in shown] == [RSJ]

    entry = oversight.OverrideEntry("320703", SCJGJ, str(uuid.uuid4()), "X", date(2026, 11, 3),
                                    "r", "why")
    view = legal_supervision.View("320703", "2026-11", [
        oversight.Figures("320703", RSJ, "2026-11"), oversight.Figures("320703", SCJGJ,
                                                                      "2026-11"),
        oversight.Figures("320704", RSJ, "2026-11")],
        [legal_supervision.RedEntry(entry, "red", ("R",), ("t",))])
    monkeypatch.setattr(api_legal_supervision.legal_supervision, "view", lambda *_a: view)
    scoped = api_legal_supervision.legal_supervision_view(SCOPED, None, SETTINGS, CLOCK,  # type: ignore[arg-type]
                                                          "2026-11")
    assert [(f.site, f.department) for f in scoped.figures] == [("320703", RSJ)]
    assert scoped.overrides == []
    wide = api_legal_supervision.legal_supervision_view(SITE_WIDE, None, SETTINGS, CLOCK,  # type: ignore[arg-type]
                                                        "2026-11")
    assert len(wide.figures) == 3 and len(wide.overrides) == 1
