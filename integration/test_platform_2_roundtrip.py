"""One site on real PostgreSQL: migrations, and the full round trip across the zones.

portal submit → gateway → core accept, review, grant, close → gateway → portal shows the
result — with the gateway killed and restarted mid-way and nothing lost or duplicated — and
the decision document core issued at the grant (准予行政许可决定书; a denial's 不予行政许可
决定书 too) reaches the portal and downloads, for the holder of the secret only, with the
SHA-256 core recorded.
"""

from __future__ import annotations

import hashlib
import io
import random

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory
from pypdf import PdfReader

from platform_site import Site, apply_annual_report, wait_for
from sunlight.runtime.migrations import alembic_config, current
from sunlight.workflow.identity import generate_credit_code


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    """The session's one-site platform (conftest.py)."""
    return platform


def _portal_status(site: Site, receipt: str, secret: str) -> dict[str, object]:
    response = httpx.get(f"{site.portal}/api/v1/applications/{receipt}",
                         headers={"X-Tracking-Secret": secret})
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def _staff(site: Site, username: str) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token(username)}"})


def _act(client: httpx.Client, case_id: str, action: str, comment: str = "") -> dict[str, object]:
    response = client.post(f"/api/v1/cases/{case_id}/actions",
                           json={"action": action, "comment": comment})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_migrations_reach_head_from_empty_and_rerun_is_a_no_op(site: Site) -> None:
    for db, url in (("portal", site.portal_db_url), ("core", site.core_db_url)):
        head = ScriptDirectory.from_config(alembic_config(db, url)).get_current_head()
        assert head and head.startswith(f"{db}_")
        assert current(db, url) == head
        again = site.cli("migrate", db, "--database-url", url)
        assert again.returncode == 0, again.stderr
        assert f"at revision {head}" in again.stdout


def test_catalogue_reaches_the_portal_through_the_gateway(site: Site) -> None:
    items = wait_for(lambda: httpx.get(f"{site.portal}/api/v1/catalogue",
                                       params={"limit": 200}).json())
    codes = {i["code"] for i in items}
    assert "320703-SCJGJ-QT-001" in codes
    assert len(codes) >= 40
    assert "320703-WJW-XK-003" not in codes  # a draft never leaves core


def test_round_trip_with_gateway_restart(site: Site) -> None:
    rng = random.Random(703)
    clerk, reviewer, approver = (_staff(site, u) for u in ("clerk", "reviewer", "approver"))
    first = [apply_annual_report(site.portal, generate_credit_code(rng)) for _ in range(5)]
    # The gateway dies (SIGKILL) while applications keep arriving on the external side.
    site.roles["gateway"].kill()
    during = [apply_annual_report(site.portal, generate_credit_code(rng)) for _ in range(5)]
    site.roles["gateway"].start()
    receipts = [r for r, _ in first + during]

    def all_in_core() -> list[dict[str, object]]:
        found = [clerk.get("/api/v1/cases", params={"receipt": r}) for r in receipts]
        return [f.json() for f in found] if all(f.status_code == 200 for f in found) else []

    cases = wait_for(all_in_core)
    assert sorted(c["receipt"] for c in cases) == sorted(receipts)  # each exactly once
    for case in cases:
        assert case["status"] == "submitted"
        assert case["materials"][0]["sha256"]  # material bytes crossed, hash recorded
    # Staff handle the first case through its whole flow on the internal side.
    receipt, secret = first[0]
    case_id = str(next(c["id"] for c in cases if c["receipt"] == receipt))
    assert "accept" in next(c for c in cases if c["receipt"] == receipt)["actions"]
    _act(clerk, case_id, "accept")
    site.roles["gateway"].kill()  # and again mid-way through the flow
    _act(reviewer, case_id, "approve_step")
    site.roles["gateway"].start()
    _act(approver, case_id, "grant")
    final = _act(clerk, case_id, "close")
    assert [e["action"] for e in final["history"]] == [
        "submit", "accept", "approve_step", "grant", "close"]
    shown = wait_for(lambda: (s := _portal_status(site, receipt, secret))["status"] == "closed"
                     and s)
    assert shown["decision"] == "granted"
    # Nothing applied twice: one case per receipt, one submit event per case.
    for r in receipts:
        detail = clerk.get("/api/v1/cases", params={"receipt": r}).json()
        assert [e["action"] for e in detail["history"]].count("submit") == 1
    # The decision document core issued at the grant crossed with the status.
    _assert_document(site, receipt, secret, "准予行政许可决定书", first[1][1])
    # A denial's document crosses too, with its reason for the applicant.
    denied, denied_secret = first[1]
    denied_id = str(next(c["id"] for c in cases if c["receipt"] == denied))
    _act(clerk, denied_id, "accept")
    _act(reviewer, denied_id, "approve_step")
    response = approver.post(f"/api/v1/cases/{denied_id}/actions", json={
        "action": "deny", "comment": "内部：年报数据与税务数据不一致",
        "applicant_note": "年度报告所填从业人数与社保缴费人数不一致"})
    assert response.status_code == 200, response.text
    pdf = _assert_document(site, denied, denied_secret, "不予行政许可决定书", secret)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "")
    assert "年度报告所填从业人数与社保缴费人数不一致" in text.replace("\n", "")
    assert "年报数据与税务数据不一致" not in text.replace("\n", "")
    assert "六十日内依法申请行政复议" in text.replace("\n", "")


def _assert_document(site: Site, receipt: str, secret: str, title: str,
                     someone_else: str) -> bytes:
    """The case's decision document as the portal serves it: listed by the track API,
    downloaded as an attachment with the SHA-256 core recorded at issue, its text naming the
    case; refused (404) with another application's secret."""
    shown = wait_for(lambda: (s := _portal_status(site, receipt, secret))[
        "has_decision_document"] and s)
    listed = shown["decision_document"]
    assert isinstance(listed, dict) and listed["title"] == title
    owner = site.db_urls["core_owner"].replace("+psycopg", "")
    with psycopg.connect(owner) as conn:
        row = conn.execute("SELECT d.number, d.sha256, d.size FROM case_documents d "
                           "JOIN cases c ON c.id = d.case_id WHERE c.receipt = %s",
                           (receipt,)).fetchone()
    assert row is not None and (listed["number"], listed["sha256"], listed["size"]) == row
    download = httpx.get(f"{site.portal}{listed['url']}",
                         headers={"X-Tracking-Secret": secret})
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert hashlib.sha256(download.content).hexdigest() == row[1]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(download.content)).pages)
    flat = text.replace(" ", "").replace("\n", "")
    assert title in flat and receipt in flat and str(row[0]) in flat
    refused = httpx.get(f"{site.portal}{listed['url']}",
                        headers={"X-Tracking-Secret": someone_else})
    assert refused.status_code == 404 and download.content not in refused.content
    return download.content


def test_audit_chain_verifies_and_pinpoints_tampering(site: Site) -> None:
    ok = site.cli("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    import psycopg

    # Core's own role may not change the chain (grants.py): the insider here holds the
    # tables' owner role.
    owner = site.db_urls["core_owner"].replace("+psycopg", "")
    with psycopg.connect(owner, autocommit=True) as conn:
        row = conn.execute("SELECT seq, comment FROM audit_log WHERE action = 'grant' "
                           "LIMIT 1").fetchone()
        assert row is not None
        seq, comment = row
        conn.execute("UPDATE audit_log SET comment = 'edited later' WHERE seq = %s", (seq,))
        broken = site.cli("audit", "verify")
        assert broken.returncode == 1
        assert f"at record {seq}" in broken.stderr and "hash mismatch" in broken.stderr
        # Put the record back as it was (the site is shared): the chain verifies again.
        conn.execute("UPDATE audit_log SET comment = %s WHERE seq = %s", (comment, seq))
    assert site.cli("audit", "verify").returncode == 0


def test_a_held_row_lock_fails_a_second_request_fast_and_the_loop_answers(site: Site) -> None:
    """Issue 15 point 3: a transaction holding a case's row (here a superuser session, as a
    stuck job would) makes staff's action on that case give up after core's lock_timeout
    (sunlight.runtime.db.ROLE_TIMEOUTS) with 503 and a reason, not hang; core answers
    /healthz meanwhile; once the lock is gone the same action succeeds. Before this issue
    the action waited for as long as the lock was held (here: past the client's 20 s)."""
    import concurrent.futures
    import time

    import psycopg

    from sunlight.runtime.db import ROLE_TIMEOUTS
    from sunlight.runtime.errors import BUSY_REASONS

    receipt, _ = apply_annual_report(site.portal, generate_credit_code(random.Random(1515)))
    clerk = _staff(site, "clerk")
    found = wait_for(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                     .status_code == 200 and r.json(), what=f"case {receipt} in core")
    case_id = str(found["id"])
    lock_s = ROLE_TIMEOUTS["core"].lock_ms / 1000
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as holder:
        holder.execute("SELECT id FROM cases WHERE receipt = %s FOR UPDATE", (receipt,))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            action = pool.submit(clerk.post, f"/api/v1/cases/{case_id}/actions",
                                 json={"action": "accept", "comment": ""}, timeout=20)
            health = []
            while not action.done():  # the event loop is free while the action waits
                t0 = time.monotonic()
                health.append((httpx.get(f"{site.core}/healthz", timeout=2).status_code,
                               time.monotonic() - t0))
                time.sleep(0.2)
            response = action.result()
            took = time.monotonic() - started
        holder.rollback()
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "busy"
    assert response.json()["detail"] == BUSY_REASONS["55P03"]
    assert response.headers["Retry-After"] == "1"
    assert lock_s * 0.8 <= took < lock_s + 5, f"gave up after {took:.1f} s"
    assert health and all(code == 200 and s < 1.0 for code, s in health), health
    # Nothing half-done: the case is still waiting, and the action now goes through.
    history = [e["action"] for e in _act(clerk, case_id, "accept")["history"]]
    assert history == ["submit", "accept"], history
