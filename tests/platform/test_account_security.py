"""Staff accounts (issue 15, point 5), without a database: the sign-in lock schedule, the
client address, token revocation, the unknown-user dummy verification, the account changes
that revoke, and the work queue's SQL filter against the state machine.

The same behaviour on real PostgreSQL: integration/test_platform_8_accounts.py.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from sunlight.catalogue.flow import FlowStep
from sunlight.runtime.core import accounts, auth, cases
from sunlight.runtime.core.auth import (
    Staff,
    Throttle,
    ThrottlePolicy,
    after_failure,
    client_address,
    current_staff,
    issue_token,
    lock_seconds,
    token_refusal,
)
from sunlight.runtime.core.models import Account
from sunlight.runtime.errors import ApiError
from sunlight.runtime.settings import Settings, SettingsError
from sunlight.workflow.machine import APPLICANT_ROLE, CaseState, CaseStatus, allowed_actions

SECRETS = {"token_secret": "t" * 32, "exchange_token": "e" * 32}
SETTINGS = Settings(role="core", site_code="320703",
                    database_url="postgresql+psycopg://core:pw@127.0.0.1:1/core", **SECRETS)
POLICY = ThrottlePolicy(max_failures=5, base_s=30, max_s=900, window_s=3600)
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


# The lock schedule.

def test_the_lock_starts_at_the_threshold_and_doubles_to_the_cap() -> None:
    assert [lock_seconds(n, POLICY) for n in range(1, 12)] == [
        0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert lock_seconds(10_000, POLICY) == 900  # no overflow for a long attack


def test_five_failures_in_a_row_lock_and_the_sixth_doubles() -> None:
    state = Throttle()
    for n in range(4):
        state = after_failure(state, T0 + timedelta(seconds=n), POLICY)
        assert state.locked_until is None and state.retry_after(T0) == 0
    state = after_failure(state, T0 + timedelta(seconds=4), POLICY)
    assert state.failures == 5
    assert state.locked_until == T0 + timedelta(seconds=34)
    assert state.retry_after(T0 + timedelta(seconds=10)) == 24
    state = after_failure(state, T0 + timedelta(seconds=40), POLICY)
    assert state.locked_until == T0 + timedelta(seconds=100)  # 60 s


def test_failures_are_forgotten_after_a_quiet_window() -> None:
    state = Throttle(failures=9, last_failure_at=T0, locked_until=T0 + timedelta(seconds=480))
    later = after_failure(state, T0 + timedelta(seconds=3601), POLICY)
    assert later.failures == 1 and later.locked_until is None


def test_the_client_threshold_is_its_own_and_higher_by_default() -> None:
    assert ThrottlePolicy.account(SETTINGS).max_failures == 5
    assert ThrottlePolicy.client(SETTINGS).max_failures == 20


# The client address.

def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_address("10.1.2.3", "1.1.1.1", ()) == "10.1.2.3"
    assert client_address("10.1.2.3", "1.1.1.1", ("10.9.0.0/16",)) == "10.1.2.3"
    assert client_address(None, "1.1.1.1", ()) == "unknown"


def test_a_trusted_proxy_names_the_right_most_untrusted_hop() -> None:
    trusted = ("10.0.0.0/8", "192.168.1.1")
    assert client_address("10.0.0.1", "1.1.1.1", trusted) == "1.1.1.1"
    # a client cannot choose its address by sending its own X-Forwarded-For
    assert client_address("10.0.0.1", "6.6.6.6, 2.2.2.2, 192.168.1.1", trusted) == "2.2.2.2"
    assert client_address("10.0.0.1", "6.6.6.6, not-an-ip", trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", "10.0.0.2", trusted) == "10.0.0.2"
    assert client_address("10.0.0.1", None, trusted) == "10.0.0.1"


def test_trusted_proxies_are_checked_and_none_by_default() -> None:
    assert SETTINGS.trusted_proxies == ()
    with pytest.raises((SettingsError, ValueError), match="SUNLIGHT_TRUSTED_PROXIES"):
        Settings(role="core", site_code="320703", database_url="postgresql://x/y",
                 trusted_proxies=("not-a-network",), **SECRETS)


# Tokens: checked against the account on every request.

def _account(**kw: Any) -> Account:
    values: dict[str, Any] = {"username": "li", "display_name": "李", "password_hash": "x",
                              "roles": ["clerk"], "department": "320703-SCJGJ",
                              "active": True, "token_version": 0, "totp_secret": None}
    return Account(**{**values, **kw})


class _Session:
    def __init__(self, *rows: Account) -> None:
        self.rows = {row.username: row for row in rows}

    def get(self, _model: Any, key: str) -> Account | None:
        return self.rows.get(key)


def _request() -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(settings=SETTINGS)))


def _staff(token: str, *rows: Account) -> Staff:
    return current_staff(_request(), _Session(*rows), f"Bearer {token}")  # type: ignore[arg-type]


def test_token_refusal_names_disabled_and_revoked_tokens() -> None:
    assert token_refusal(0, _account()) is None
    assert "disabled" in (token_refusal(0, _account(active=False)) or "")
    assert "disabled" in (token_refusal(0, None) or "")
    assert "revoked" in (token_refusal(0, _account(token_version=1)) or "")
    assert "revoked" in (token_refusal(None, _account()) or "")  # a token from before versions
    assert "revoked" in (token_refusal(True, _account(token_version=1)) or "")


def test_a_disabled_accounts_token_is_refused() -> None:
    token = issue_token(SETTINGS, Staff("li", ("clerk",), "320703-SCJGJ"), 0)
    assert _staff(token, _account()).username == "li"
    with pytest.raises(ApiError) as refused:
        _staff(token, _account(active=False, token_version=1))
    assert refused.value.status == 401 and "disabled" in refused.value.detail


def test_a_token_from_before_a_role_change_is_refused() -> None:
    token = issue_token(SETTINGS, Staff("li", ("clerk",), "320703-SCJGJ"), 3)
    with pytest.raises(ApiError) as refused:
        _staff(token, _account(roles=["reviewer"], token_version=4))
    assert refused.value.status == 401 and "revoked" in refused.value.detail


def test_the_roles_acted_with_are_held_by_the_account_now() -> None:
    """Roles the account lost (behind the API's back: no version bump) are not acted with;
    none left is a 403 (tests/platform/test_supervisor_scope.py has the rest)."""
    token = issue_token(SETTINGS, Staff("li", ("clerk", "reviewer"), "320703-SCJGJ"), 0)
    staff = _staff(token, _account(roles=["clerk"]))
    assert staff.roles == ("clerk",) and staff.department == "320703-SCJGJ"
    token = issue_token(SETTINGS, Staff("li", ("admin", "approver"), "320703-SCJGJ"), 0)
    with pytest.raises(ApiError) as refused:
        _staff(token, _account(roles=["clerk"]))
    assert refused.value.status == 403


def test_an_account_whose_roles_conflict_cannot_act() -> None:
    """岗位分离 at the token: a supervisor row that also holds a handling role (written
    around the checks) is refused, whatever the token says."""
    token = issue_token(SETTINGS, Staff("li", ("supervisor",), None), 0)
    with pytest.raises(ApiError) as refused:
        _staff(token, _account(roles=["supervisor", "approver"], department=None))
    assert refused.value.status == 403 and "岗位分离" in refused.value.detail


# Sign-in: one argon2 verification for every user, known or not.

def test_an_unknown_user_is_verified_against_the_dummy_hash(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda h, p: calls.append(h) or False)
    session = _Session(_account(password_hash="real-hash"))
    assert accounts._check(session, "nobody", "pw", None).reason == "unknown_user"  # type: ignore[arg-type]
    assert calls == [auth.dummy_hash()]
    assert accounts._check(session, "li", "pw", None).reason == "wrong_password"  # type: ignore[arg-type]
    assert calls[-1] == "real-hash" and len(calls) == 2
    disabled = _Session(_account(active=False, password_hash="real-hash"))
    assert accounts._check(disabled, "li", "pw", None).reason == "disabled"  # type: ignore[arg-type]
    assert len(calls) == 3  # a disabled account is verified too: the same time


def test_the_dummy_hash_has_the_parameters_of_real_ones() -> None:
    real = auth.hash_password("a long generated password")
    assert auth.dummy_hash().rsplit("$", 2)[0] == real.rsplit("$", 2)[0]
    assert auth.verify_or_dummy(None, "a long generated password") is False


def test_an_admin_enrolled_in_totp_needs_the_current_code(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pyotp

    secret = pyotp.random_base32()
    monkeypatch.setattr(auth, "verify_password", lambda h, p: True)
    admin = _Session(_account(roles=["admin"], department=None, totp_secret=secret))
    assert accounts._check(admin, "li", "pw", None).reason == "totp_required"  # type: ignore[arg-type]
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000:06d}"
    assert accounts._check(admin, "li", "pw", wrong).reason == "wrong_totp"  # type: ignore[arg-type]
    assert accounts._check(admin, "li", "pw", pyotp.TOTP(secret).now()).ok  # type: ignore[arg-type]
    plain = _Session(_account(roles=["admin"], department=None))
    assert accounts._check(plain, "li", "pw", None).ok  # type: ignore[arg-type]


# Account changes revoke.

class _ChangeSession:
    def __init__(self, account: Account) -> None:
        self.account = account

    def scalars(self, _stmt: Any) -> Any:
        return SimpleNamespace(first=lambda: self.account)


@pytest.fixture
def no_audit(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    monkeypatch.setattr(accounts, "audit", lambda _s, _site, **kw: records.append(kw))
    return records


def test_disabling_and_changing_roles_move_the_token_version(
        no_audit: list[dict[str, Any]]) -> None:
    account = _account(token_version=2)
    accounts.set_active(_ChangeSession(account), "320703", "li", False)  # type: ignore[arg-type]
    assert (account.active, account.token_version) == (False, 3)
    accounts.set_active(_ChangeSession(account), "320703", "li", True)  # type: ignore[arg-type]
    assert (account.active, account.token_version) == (True, 4)
    accounts.set_roles(_ChangeSession(account), "320703", "li", ["reviewer"])  # type: ignore[arg-type]
    assert (account.roles, account.token_version) == (["reviewer"], 5)
    assert [r["action"] for r in no_audit] == ["disable", "enable", "set_roles"]


def test_role_changes_are_checked_as_at_creation(no_audit: list[dict[str, Any]]) -> None:
    account = _account()
    with pytest.raises(accounts.AccountError, match="岗位分离"):
        accounts.set_roles(_ChangeSession(account), "320703", "li",  # type: ignore[arg-type]
                           ["supervisor", "clerk"])
    site_wide = _account(department=None, roles=["admin"])
    with pytest.raises(accounts.AccountError, match="scoped"):
        accounts.set_roles(_ChangeSession(site_wide), "320703", "li", ["clerk"])  # type: ignore[arg-type]
    assert account.token_version == 0 and not no_audit


# The work queue: the filter in SQL says what the state machine says.

def _step(kind: str, role: str) -> FlowStep:
    return FlowStep(kind=kind, name=kind, role=role, limit_days=2)  # type: ignore[arg-type]


FLOW = [_step("accept", "clerk"), _step("review", "reviewer"), _step("review", "clerk"),
        _step("decide", "approver"), _step("close", "clerk")]


def _states() -> list[CaseState]:
    found = []
    resumes = [(None, None)] + [(s, i) for s in (CaseStatus.in_review,
                                                 CaseStatus.awaiting_decision)
                                for i in range(len(FLOW))]
    for status, step, decision, (resume, resume_step) in itertools.product(
            CaseStatus, range(len(FLOW)), (None, "granted"), resumes):
        state = CaseState(status, step, decision, resume, resume_step)  # type: ignore[arg-type]
        try:
            allowed_actions(state, FLOW)
        except ValueError:
            continue
        found.append(state)
    return found


def test_the_sql_filter_mirrors_who_a_case_waits_for() -> None:
    states = _states()
    assert {s.status for s in states} == set(CaseStatus)
    for state in states:
        machine = {role for _a, role in allowed_actions(state, FLOW) if role != APPLICANT_ROLE}
        sql = set()
        if state.status in cases.STEP_ROLE_STATUSES:
            sql.add(FLOW[state.step_index].role)
        if state.status in cases.DECIDER_ROLE_STATUSES:
            sql.add(FLOW[-2].role)
        assert sql == machine, state


def test_the_queue_filters_in_sql_without_a_scan_cap() -> None:
    compiled = str(cases.waiting_for(("reviewer",)).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert "-> CAST(cases.step_index AS INTEGER)) ->> 'role'" in compiled
    assert "-> -2) ->> 'role'" in compiled and "'reviewer'" in compiled


def test_the_queue_statement_has_the_callers_limit_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    class Session:
        def scalars(self, stmt: Any) -> list[Any]:
            seen.append(stmt)
            return []

    staff = Staff("r", ("reviewer",), "320703-SCJGJ")
    assert cases.queue(Session(), staff, 7) == []  # type: ignore[arg-type]
    sql = str(seen[0].compile(dialect=postgresql.dialect(),
                              compile_kwargs={"literal_binds": True}))
    assert "JOIN items" in sql and "LIMIT 7" in sql and "'reviewer'" in sql
