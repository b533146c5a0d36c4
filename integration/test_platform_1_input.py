"""Bad input at the portal and core: clear 4xx with a reason, nothing accepted is lost.

Runs against the session's one-site platform (real PostgreSQL, real `sunlight serve`
processes; conftest.py `platform`).
"""

from __future__ import annotations

import random

import httpx
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
from sunlight.catalogue import sample_catalogue
from sunlight.workflow.identity import generate_credit_code

HOSTILE = "'); DROP TABLE applications; -- <script>alert(1)</script> {{7*7}} ${jndi:x}"


@pytest.fixture(scope="module")
def site(platform: Site) -> Site:
    """The session's one-site platform (conftest.py)."""
    return platform


@pytest.fixture(scope="module")
def portal(site: Site) -> httpx.Client:
    client = httpx.Client(base_url=site.portal, timeout=30)
    wait_for(lambda: client.get(f"/api/v1/catalogue/{ANNUAL_REPORT}").status_code == 200)
    return client


def _draft(portal: httpx.Client, rng: random.Random,
           name: str = "测试企业") -> tuple[str, dict[str, str]]:
    code = generate_credit_code(rng)
    created = portal.post("/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "applicant": {"kind": "enterprise", "id_number": code,
                                                  "name": name},
        "form": annual_report_form(code, name)})
    assert created.status_code == 201, created.text
    return created.json()["draft_id"], {"X-Tracking-Secret": created.json()["secret"]}


def test_schema_violation_names_the_json_pointer(portal: httpx.Client) -> None:
    code = generate_credit_code(random.Random(1))
    form = annual_report_form(code)
    form["employees"] = -3
    response = portal.post("/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "applicant": {"kind": "enterprise", "id_number": code,
                                                  "name": "x"}, "form": form})
    assert response.status_code == 422
    assert response.json()["pointer"] == "/employees"
    assert "/employees" in response.json()["detail"]


def test_bad_check_digit_names_the_field(portal: httpx.Client) -> None:
    code = generate_credit_code(random.Random(2))
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = portal.post("/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "applicant": {"kind": "enterprise", "id_number": wrong,
                                                  "name": "x"},
        "form": annual_report_form(code)})
    assert response.status_code == 422
    assert response.json()["field"] == "applicant.id_number"
    assert "check digit" in response.json()["detail"]
    person = portal.post("/api/v1/applications", json={
        "item_code": ANNUAL_REPORT, "applicant": {"kind": "person",
                                                  "id_number": "320703199001011234",
                                                  "name": "x"},
        "form": annual_report_form(code)})
    assert person.status_code == 422 and person.json()["field"] == "applicant.id_number"


def test_oversized_upload_is_413_and_wrong_type_415(portal: httpx.Client) -> None:
    receipt, headers = _draft(portal, random.Random(3))
    url = f"/api/v1/applications/{receipt}/materials"
    big = PDF + b"0" * (10 * 2**20)
    too_big = portal.post(url, headers=headers, data={"name": ANNUAL_REPORT_MATERIAL},
                          files={"file": ("big.pdf", big, "application/pdf")})
    assert too_big.status_code == 413, too_big.text
    exe = portal.post(url, headers=headers, data={"name": ANNUAL_REPORT_MATERIAL},
                      files={"file": ("x.exe", b"MZ\x90\x00", "application/x-msdownload")})
    assert exe.status_code == 415
    liar = portal.post(url, headers=headers, data={"name": ANNUAL_REPORT_MATERIAL},
                       files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert liar.status_code == 415 and "content" in liar.json()["detail"]
    # What was accepted before is still there, intact.
    ok = portal.post(url, headers=headers, data={"name": ANNUAL_REPORT_MATERIAL},
                     files={"file": ("r.pdf", PDF, "application/pdf")})
    assert ok.status_code == 201
    shown = portal.get(f"/api/v1/applications/{receipt}", headers=headers).json()
    assert [m["size"] for m in shown["materials"]] == [len(PDF)]


def test_submit_without_required_material_names_it(portal: httpx.Client) -> None:
    receipt, headers = _draft(portal, random.Random(4))
    response = portal.post(f"/api/v1/applications/{receipt}/submit", headers=headers)
    assert response.status_code == 422
    assert ANNUAL_REPORT_MATERIAL in response.json()["detail"]


def test_tracking_needs_the_secret(portal: httpx.Client) -> None:
    receipt, _headers = _draft(portal, random.Random(5))
    assert portal.get(f"/api/v1/applications/{receipt}").status_code == 404
    wrong = portal.get(f"/api/v1/applications/{receipt}", headers={"X-Tracking-Secret": "x"})
    assert wrong.status_code == 404


def test_hostile_strings_are_stored_verbatim_and_returned_as_data(site: Site,
                                                                  portal: httpx.Client) -> None:
    rng = random.Random(6)
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(rng), name=HOSTILE)
    headers = {"X-Tracking-Secret": secret}
    complaint = portal.post(f"/api/v1/applications/{receipt}/complaints", headers=headers,
                            json={"text": HOSTILE})
    assert complaint.status_code == 201
    clerk = httpx.Client(base_url=site.core, timeout=30,
                         headers={"Authorization": f"Bearer {site.token('clerk')}"})
    case = wait_for(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json())
    assert case["applicant_name"] == HOSTILE
    assert case["form"]["enterprise_name"] == HOSTILE
    # The applications table still exists and answers.
    assert portal.get(f"/api/v1/applications/{receipt}", headers=headers).status_code == 200


def test_illegal_transition_is_409_with_reason_and_wrong_role_403(site: Site) -> None:
    receipt, _ = apply_annual_report(site.portal, generate_credit_code(random.Random(7)))
    clerk = httpx.Client(base_url=site.core, timeout=30,
                         headers={"Authorization": f"Bearer {site.token('clerk')}"})
    reviewer = httpx.Client(base_url=site.core, timeout=30,
                            headers={"Authorization": f"Bearer {site.token('reviewer')}"})
    case = wait_for(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json())
    url = f"/api/v1/cases/{case['id']}/actions"
    grant = clerk.post(url, json={"action": "grant"})
    assert grant.status_code == 409
    assert "cannot grant" in grant.json()["detail"] and "accept" in grant.json()["detail"]
    not_mine = reviewer.post(url, json={"action": "accept"})
    assert not_mine.status_code == 403
    refuse = clerk.post(url, json={"action": "refuse", "comment": ""})
    assert refuse.status_code == 409 and "comment" in refuse.json()["detail"]
    assert clerk.get(url.rsplit("/", 1)[0]).json()["status"] == "submitted"  # unchanged


def test_staff_api_needs_a_valid_token(site: Site) -> None:
    assert httpx.get(f"{site.core}/api/v1/queue").status_code == 401
    bad = httpx.get(f"{site.core}/api/v1/queue", headers={"Authorization": "Bearer x.y.z"})
    assert bad.status_code == 401
    wrong_pw = httpx.post(f"{site.core}/api/v1/auth/token",
                          json={"username": "clerk", "password": "not-the-password"})
    assert wrong_pw.status_code == 401
    exchange = httpx.post(f"{site.core}/api/v1/exchange/records", json={},
                          headers={"Authorization": "Bearer guessed"})
    assert exchange.status_code == 401


def test_correction_stops_the_clock_and_resubmission_crosses(site: Site,
                                                             portal: httpx.Client) -> None:
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(random.Random(8)))
    headers = {"X-Tracking-Secret": secret}
    clerk = httpx.Client(base_url=site.core, timeout=30,
                         headers={"Authorization": f"Bearer {site.token('clerk')}"})
    case = wait_for(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                    .status_code == 200 and r.json())
    moved = clerk.post(f"/api/v1/cases/{case['id']}/actions",
                       json={"action": "request_correction", "comment": "报告缺少盖章页"})
    assert moved.status_code == 200
    assert moved.json()["paused"][0][1] is None  # the clock is stopped
    wait_for(lambda: portal.get(f"/api/v1/applications/{receipt}", headers=headers)
             .json()["status"] == "correction_requested")
    upload = portal.post(f"/api/v1/applications/{receipt}/materials", headers=headers,
                         data={"name": ANNUAL_REPORT_MATERIAL},
                         files={"file": ("fixed.pdf", PDF + b"%stamp\n", "application/pdf")})
    assert upload.status_code == 201
    assert portal.post(f"/api/v1/applications/{receipt}/submit", headers=headers).status_code == 200
    again = wait_for(lambda: (r := clerk.get(f"/api/v1/cases/{case['id']}")).json()["status"]
                     == "submitted" and r.json())
    assert again["paused"][0][1] is not None  # restarted
    assert sorted(m["batch"] for m in again["materials"]) == [0, 1]


def test_overdue_job_marks_and_reports(site: Site) -> None:
    receipt, secret = apply_annual_report(site.portal, generate_credit_code(random.Random(9)))
    clerk = httpx.Client(base_url=site.core, timeout=30,
                         headers={"Authorization": f"Bearer {site.token('clerk')}"})
    wait_for(lambda: clerk.get("/api/v1/cases", params={"receipt": receipt}).status_code == 200)
    import psycopg

    with psycopg.connect(site.core_db_url.replace("+psycopg", "")) as conn:
        conn.execute("UPDATE cases SET due_on = current_date - 3 WHERE receipt = %s", (receipt,))
    # core's periodic job runs every 2 s in this site; the portal then shows the flag.
    shown = wait_for(lambda: (r := httpx.get(f"{site.portal}/api/v1/applications/{receipt}",
                                             headers={"X-Tracking-Secret": secret}).json())
                     ["overdue"] and r)
    assert shown["status"] == "submitted"
    detail = clerk.get("/api/v1/cases", params={"receipt": receipt}).json()
    assert detail["overdue"] is True and detail["remaining_working_days"] < 0
    assert detail["history"][-1]["action"] == "overdue"


def test_an_accepted_write_is_readable_at_once(portal: httpx.Client) -> None:
    """201 means committed: the transaction ends before the response is sent."""
    rng = random.Random(10)
    for _ in range(30):
        receipt, headers = _draft(portal, rng)
        assert portal.get(f"/api/v1/applications/{receipt}", headers=headers).status_code == 200


def test_the_citizens_pages_serve_the_guide_its_forms_and_search_on_postgres(
        portal: httpx.Client) -> None:
    """Issue 17: the sample's guide fields and blank forms crossed the gateway into
    PostgreSQL (portal_0007, the gateway's grants), and the pages read them back."""
    food = sample_catalogue().item("320703-SCJGJ-XK-001")
    guide = portal.get(f"/items/{food.code}")
    assert guide.status_code == 200 and '<html lang="zh-CN">' in guide.text
    assert food.place in guide.text and food.supervision_phone in guide.text
    assert portal.get(f"/api/v1/catalogue/{food.code}/forms/1").content == \
        food.blank_forms[1].content
    svg = portal.get(f"/api/v1/catalogue/{food.code}/flowchart.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and "<script" not in svg.text
    found = portal.get("/catalogue", params={"q": "食品经营", "department": "320703-SCJGJ"})
    assert "食品经营许可" in found.text
    assert "没有找到符合条件的事项" in portal.get("/catalogue", params={"q": "_%"}).text
    home = portal.get("/")
    assert "连云区人力资源和社会保障局" in home.text
