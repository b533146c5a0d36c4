"""Issue 15, points 1 and 2 (gateway half), on the session's one-site platform (conftest.py
`platform`: real PostgreSQL, real `sunlight serve` processes).

Materials are capped per submission (20, 50 MiB) with what was accepted kept; they cross one
per request ahead of the application; every role refuses an oversized body; a poison outbox
row is retried and parked while the applications behind it reach core, and
`sunlight gateway parked list|replay` shows and replays it; a forged feed record is parked
and the cursor moves past it.

Point 3's portal part and point 4's drafts: an upload waiting for the application's row lock
(held as a submit holds it) leaves the portal answering; a draft has an opaque draft id and
its receipt number comes with the submission; drafts never submitted are purged after the
retention, submitted ones never.

How these fail on the code before issue 15: a draft accepted all 60 materials (no cap); core
read any body (a 12 MiB record answered 422, not 413); a poison row was rejected at once or
held the batch, there was no ``parked_at`` column and no ``sunlight gateway`` command; a
forged feed record held the cursor, so no later status reached the portal. The upload ran
``SELECT … FOR UPDATE`` on the event loop: while the row was held, /healthz did not answer;
``POST /applications`` answered a receipt number (no ``draft_id``, KeyError) and nothing
purged drafts.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from platform_site import (
    ANNUAL_REPORT,
    ANNUAL_REPORT_MATERIAL,
    PDF,
    Site,
    annual_report_form,
    apply_annual_report,
    wait_for,
)
from sunlight.runtime.db import make_engine
from sunlight.runtime.portal.app import purge_once
from sunlight.workflow.identity import generate_credit_code
from sunlight.workflow.receipts import DRAFT_ID_PATTERN, RECEIPT_PATTERN, format_receipt

MIB = 2**20


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    return platform


@pytest.fixture(scope="module")
def portal(site: Site) -> httpx.Client:
    client = httpx.Client(base_url=site.portal, timeout=60)
    wait_for(lambda: client.get(f"/api/v1/catalogue/{ANNUAL_REPORT}").status_code == 200)
    return client


@pytest.fixture(scope="module")
def clerk(site: Site) -> httpx.Client:
    return httpx.Client(base_url=site.core, timeout=30,
                        headers={"Authorization": f"Bearer {site.token('clerk')}"})


def _draft(portal: httpx.Client, rng: random.Random) -> tuple[str, dict[str, str]]:
    code = generate_credit_code(rng)
    created = portal.post("/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "applicant": {"kind": "enterprise", "id_number": code,
                                                  "name": "材料上限测试企业"},
        "form": annual_report_form(code, "材料上限测试企业")})
    assert created.status_code == 201, created.text
    return created.json()["draft_id"], {"X-Tracking-Secret": created.json()["secret"]}


def _upload(portal: httpx.Client, receipt: str, headers: dict[str, str],
            data: bytes) -> httpx.Response:
    return portal.post(f"/api/v1/applications/{receipt}/materials", headers=headers,
                       data={"name": ANNUAL_REPORT_MATERIAL},
                       files={"file": ("m.pdf", data, "application/pdf")})


def _case(clerk: httpx.Client, receipt: str) -> Any:
    return wait_for(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json(), timeout=90,
                    what=f"case {receipt} at core")


def _portal_sql(site: Site, sql: str, *args: Any) -> list[Any]:
    with psycopg.connect(site.portal_db_url.replace("+psycopg", "")) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else []


def _gateway_cli(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sunlight.cli", "gateway", "parked", *args],
                          env=site.roles["gateway"].env, capture_output=True, text=True,
                          check=False, timeout=120)


def _parked_gauge(site: Site, direction: str = "in") -> float:
    text = httpx.get(f"{site.roles['gateway'].url}/metrics", timeout=10).text
    found = re.search(rf'^sunlight_gateway_parked{{direction="{direction}"}} (\S+)$', text,
                      re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_sixty_large_materials_are_capped_and_what_was_accepted_crosses(
        site: Site, portal: httpx.Client, clerk: httpx.Client) -> None:
    draft, headers = _draft(portal, random.Random(901))
    receipt = draft  # materials, tracking and submit take the draft id
    big = [PDF + bytes([i % 251]) * (3 * MIB) for i in range(60)]
    answers = [_upload(portal, receipt, headers, data) for data in big]
    accepted = [a.json()["sha256"] for a in answers if a.status_code == 201]
    assert len(accepted) == 16  # 16 × 3 MiB fit in 50 MiB, the 17th does not
    refused = [a for a in answers if a.status_code != 201]
    assert {a.status_code for a in refused} == {413}
    assert refused[0].json()["error"] == "materials_too_large"
    assert str(50 * MIB) in refused[0].json()["detail"]
    shown = portal.get(f"/api/v1/applications/{receipt}", headers=headers).json()
    assert [m["sha256"] for m in shown["materials"]] == accepted  # nothing accepted lost
    assert accepted == [hashlib.sha256(d).hexdigest() for d in big[:16]]
    # The capped draft is submitted: its 48 MiB cross one material per request.
    submitted = portal.post(f"/api/v1/applications/{receipt}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    case = _case(clerk, submitted.json()["receipt"])
    assert sorted(m["sha256"] for m in case["materials"]) == sorted(accepted)
    # ... and a normal application behind it still reaches core.
    normal, _ = apply_annual_report(site.portal, generate_credit_code(random.Random(902)))
    _case(clerk, normal)


def test_the_twenty_first_material_is_refused_naming_the_limit(portal: httpx.Client) -> None:
    receipt, headers = _draft(portal, random.Random(903))
    answers = [_upload(portal, receipt, headers, PDF + b"%" + str(i).encode())
               for i in range(25)]
    assert [a.status_code for a in answers] == [201] * 20 + [422] * 5
    assert answers[-1].json()["error"] == "too_many_materials"
    assert "at most 20 materials" in answers[-1].json()["detail"]
    shown = portal.get(f"/api/v1/applications/{receipt}", headers=headers).json()
    assert len(shown["materials"]) == 20


def test_core_refuses_a_body_above_its_limit(site: Site) -> None:
    token = site.roles["core"].env["SUNLIGHT_EXCHANGE_TOKEN"]
    body = json.dumps({"record_id": str(uuid.uuid4()), "record_type": "feedback.complaint",
                       "payload": {"receipt": "x", "text": "x" * (12 * MIB)}})
    response = httpx.post(f"{site.core}/api/v1/exchange/records", content=body, timeout=60,
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert "limit" in response.json()["detail"]


def _stage(site: Site, record_type: str, payload: dict[str, Any], attempts: int) -> uuid.UUID:
    """An outbox row as the portal would stage it, older than everything pending."""
    row = uuid.uuid4()
    _portal_sql(site, "INSERT INTO outbox (id, record_type, payload, created_at, attempts, "
                "last_error) VALUES (%s, %s, %s, %s, %s, '')", row, record_type,
                json.dumps(payload), datetime.now(UTC) - timedelta(hours=1), attempts)
    return row


def test_a_poison_row_is_parked_the_rows_behind_flow_and_replay_delivers_it(
        site: Site, portal: httpx.Client, clerk: httpx.Client) -> None:
    # A real draft with its material, staged by hand with a material id that does not exist:
    # the gateway cannot expand it. It is on its last attempt (8th, the default).
    draft, headers = _draft(portal, random.Random(904))
    material = _upload(portal, draft, headers, PDF).json()
    app = portal.get(f"/api/v1/applications/{draft}", headers=headers).json()
    # Staged by hand, so the receipt a submission would have issued is given by hand too.
    receipt = format_receipt(site.code, datetime.now(ZoneInfo("Asia/Shanghai")).date(),
                             900_000 + random.Random(904).randrange(99_999))
    [(code, form)] = _portal_sql(site, "UPDATE applications SET receipt = %s WHERE draft_id = "
                                 "%s RETURNING applicant_id, form", receipt, draft)
    payload = {"receipt": receipt, "item_code": ANNUAL_REPORT, "item_version": 1,
               "applicant": {"kind": "enterprise", "id_number": code,
                             "name": "材料上限测试企业", "phone": ""},
               "form": form, "submitted_at": datetime.now(UTC).isoformat(), "batch": 0,
               "materials": [str(uuid.uuid4())]}
    assert app["status"] == "draft"
    last_try = _stage(site, "application.submitted", payload, attempts=7)
    # One core refuses (a resubmission of a receipt core has no case for): retried, not parked.
    refused = _stage(site, "application.resubmitted", {
        "receipt": "320703-20260101-999999", "batch": 1,
        "submitted_at": datetime.now(UTC).isoformat(), "materials": []}, attempts=0)
    normal, _ = apply_annual_report(site.portal, generate_credit_code(random.Random(905)))
    _case(clerk, normal)  # the rows behind the poison ones reach core

    parked = wait_for(lambda: _portal_sql(
        site, "SELECT parked_at, attempts, last_error FROM outbox WHERE id = %s AND "
        "parked_at IS NOT NULL", last_try), what="the poison row parked")
    assert parked[0][1] == 8 and "is missing" in parked[0][2]
    retried = wait_for(lambda: _portal_sql(
        site, "SELECT attempts, next_attempt_at, parked_at, last_error FROM outbox "
        "WHERE id = %s AND attempts >= 1", refused), what="the refused row retried")
    assert retried[0][1] is not None and retried[0][2] is None
    assert "core answered 422" in retried[0][3] and "no case" in retried[0][3]

    listed = _gateway_cli(site, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = {p["id"]: p for p in json.loads(listed.stdout)["parked"]}
    assert ids[str(last_try)]["direction"] == "in"
    wait_for(lambda: _parked_gauge(site) >= 1, what="the parked gauge on the gateway")

    # The operator puts the right material in and replays it: it crosses once.
    fixed = {**payload, "materials": [material["id"]]}
    _portal_sql(site, "UPDATE outbox SET payload = %s WHERE id = %s", json.dumps(fixed),
                last_try)
    replayed = _gateway_cli(site, "replay", str(last_try))
    assert replayed.returncode == 0, replayed.stderr + replayed.stdout
    assert "queued again" in replayed.stdout
    case = _case(clerk, receipt)
    assert [m["sha256"] for m in case["materials"]] == [material["sha256"]]
    again = _gateway_cli(site, "replay", str(last_try))
    assert again.returncode == 2 and "no parked record" in again.stderr + again.stdout


def test_a_forged_feed_record_is_parked_and_the_cursor_moves_on(
        site: Site, portal: httpx.Client, clerk: httpx.Client) -> None:
    forged = uuid.uuid4()
    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        conn.execute(
            "INSERT INTO outbound (record_id, record_type, payload, created_at) "
            "VALUES (%s, 'penalty.disclosure', %s, now())", (forged, json.dumps({
                "case_id": str(uuid.uuid4()), "department": "320703-SCJGJ",
                "department_name": "市场监管局", "item_code": "320703-SCJGJ-CF-001",
                "item_name": "处罚", "party_kind": "person", "party_name": "张三",
                "party_id": "320703199001011234", "violation": "v", "facts": "f",
                "legal_basis": "b", "penalty": "罚款", "amount_yuan": "100.00",
                "decided_on": "2026-11-30", "publish_by": "2026-12-07"})))
    # A status written after it still reaches the portal: the cursor moved past it.
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(random.Random(906)))
    case = _case(clerk, receipt)
    assert clerk.post(f"/api/v1/cases/{case['id']}/actions",
                      json={"action": "accept"}).status_code == 200
    wait_for(lambda: portal.get(f"/api/v1/applications/{receipt}",
                                headers={"X-Tracking-Secret": secret}).json()["status"]
             != "submitted", what="the accepted status at the portal")
    parked = _portal_sql(site, "SELECT reason, replayed_at FROM gateway_parked "
                         "WHERE record_id = %s", forged)
    assert parked and "masked" in parked[0][0] and parked[0][1] is None
    assert portal.get("/api/v1/disclosure/penalties").json() == [] or all(
        d["party_name"] != "张三" for d in portal.get("/api/v1/disclosure/penalties").json())
    still = _gateway_cli(site, "replay", str(forged))
    assert still.returncode == 1 and "still fails" in still.stderr + still.stdout


def _waiting_on_locks(site: Site) -> int:
    [(n,)] = _portal_sql(site, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND wait_event_type = 'Lock'")
    return int(n)


def test_uploads_and_a_submit_waiting_on_the_row_leave_the_portal_answering(
        site: Site, portal: httpx.Client) -> None:
    """Point 3: no blocking database call on the event loop. The application's row is held
    (as a submit holds it) while four uploads and a submit wait for it: /healthz and the
    catalogue still answer; once released, every upload before the submit is in it and
    every one after is refused 409."""
    draft, headers = _draft(portal, random.Random(907))
    assert _upload(portal, draft, headers, PDF).status_code == 201

    def upload(i: int) -> httpx.Response:
        return httpx.post(f"{site.portal}/api/v1/applications/{draft}/materials",
                          headers=headers, data={"name": f"补充材料{i}"},
                          files={"file": (f"m{i}.pdf", PDF + str(i).encode(), "application/pdf")},
                          timeout=60)

    with ThreadPoolExecutor(6) as pool, \
            psycopg.connect(site.portal_db_url.replace("+psycopg", "")) as holder:
        holder.execute("SELECT id FROM applications WHERE draft_id = %s FOR UPDATE", (draft,))
        uploads = [pool.submit(upload, i) for i in range(4)]
        wait_for(lambda: _waiting_on_locks(site) >= 1, timeout=30,
                 what="an upload waiting for the application's row")
        for _ in range(3):  # the loop is free: answered at once, not after the lock
            started = time.monotonic()
            health = httpx.get(f"{site.portal}/healthz", timeout=3)
            assert health.status_code == 200 and time.monotonic() - started < 2
        submitting = pool.submit(lambda: httpx.post(
            f"{site.portal}/api/v1/applications/{draft}/submit", headers=headers, timeout=60))
        wait_for(lambda: _waiting_on_locks(site) >= 5, timeout=30,
                 what="four uploads and the submit waiting for the row")
        assert portal.get(f"/api/v1/catalogue/{ANNUAL_REPORT}", timeout=3).status_code == 200
    answers = [u.result(60) for u in uploads]
    submitted = submitting.result(60)
    assert submitted.status_code == 200, submitted.text
    assert {a.status_code for a in answers} <= {201, 409}, [a.text for a in answers]
    accepted = [a.json()["sha256"] for a in answers if a.status_code == 201]
    assert all(a.json()["error"] == "not_editable" for a in answers if a.status_code == 409)
    shown = portal.get(f"/api/v1/applications/{submitted.json()['receipt']}",
                       headers=headers).json()
    assert shown["status"] == "sent" and shown["submissions"] == 1
    assert sorted(m["sha256"] for m in shown["materials"]) == sorted(
        [hashlib.sha256(PDF).hexdigest(), *accepted])


def test_a_draft_has_an_opaque_id_and_the_receipt_comes_with_the_submission(
        site: Site, portal: httpx.Client, clerk: httpx.Client) -> None:
    """Point 4: a draft takes no receipt number; the submission issues it, and the case
    is tracked and reaches core under it."""
    today = "(now() AT TIME ZONE 'Asia/Shanghai')::date"
    counter = f"SELECT coalesce(max(last_seq), 0) FROM receipt_counters WHERE day = {today}"
    [(before,)] = _portal_sql(site, counter)
    draft, headers = _draft(portal, random.Random(908))
    assert re.fullmatch(DRAFT_ID_PATTERN, draft), draft
    shown = portal.get(f"/api/v1/applications/{draft}", headers=headers).json()
    assert shown["receipt"] is None and shown["status"] == "draft"
    assert _portal_sql(site, counter) == [(before,)]  # no receipt number taken
    assert _upload(portal, draft, headers, PDF).status_code == 201
    submitted = portal.post(f"/api/v1/applications/{draft}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    receipt = submitted.json()["receipt"]
    assert re.fullmatch(RECEIPT_PATTERN, receipt) and receipt != draft
    assert receipt.endswith(f"-{before + 1:06d}")
    tracked = portal.get(f"/api/v1/applications/{receipt}", headers=headers).json()
    assert tracked["receipt"] == receipt and tracked["status"] in ("sent", "submitted")
    assert _case(clerk, receipt)["receipt"] == receipt


def test_drafts_never_submitted_are_purged_after_the_retention(
        site: Site, portal: httpx.Client) -> None:
    """Point 4: a draft older than the retention goes, with its materials; a fresh draft and
    a submitted application of the same age stay."""
    old, old_headers = _draft(portal, random.Random(909))
    assert _upload(portal, old, old_headers, PDF).status_code == 201
    fresh, fresh_headers = _draft(portal, random.Random(910))
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(random.Random(911)))
    [(old_id,)] = _portal_sql(site, "SELECT id FROM applications WHERE draft_id = %s", old)
    _portal_sql(site, "UPDATE applications SET created_at = now() - interval '8 days' "
                "WHERE draft_id = %s OR receipt = %s", old, receipt)
    engine = make_engine(site.portal_db_url)
    try:
        assert purge_once(engine, timedelta(days=7)) >= 1
    finally:
        engine.dispose()
    assert portal.get(f"/api/v1/applications/{old}", headers=old_headers).status_code == 404
    assert _portal_sql(site, "SELECT count(*) FROM materials WHERE application_id = %s",
                       old_id) == [(0,)]
    assert portal.get(f"/api/v1/applications/{fresh}", headers=fresh_headers).status_code == 200
    kept = portal.get(f"/api/v1/applications/{receipt}",
                      headers={"X-Tracking-Secret": secret})
    assert kept.status_code == 200 and kept.json()["status"] != "draft"
