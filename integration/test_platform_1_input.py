"""Bad input at the portal and core: clear 4xx with a reason, nothing accepted is lost.

Runs against the session's one-site platform (real PostgreSQL, real `sunlight serve`
processes; conftest.py `platform`). The last test puts the nginx role's front door before a
portal process of the node image (one container, as on an external-zone host) and checks
its answers in Chinese: an upload past ``client_max_body_size``, an unknown page, no portal.
"""

from __future__ import annotations

import io
import random
import ssl
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
import yaml
from testcontainers.core.container import DockerContainer

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
from sunlight.control.deploy.secrets import (
    CertSpec,
    SiteSecretsSpec,
    ca_paths,
    ensure_secrets,
    tls_paths,
)
from sunlight.control.resources import Run
from sunlight.paths import repo_root
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


# --- the front door (issue 17): nginx's own answers in Chinese, the portal's 404 page ---

PLAYBOOKS = repo_root() / "playbooks"
VENV = "/opt/sunlight/venv"  # group_vars' sunlight_venv, where the node image installs it
PORTAL_PORT = 8001


def _front_door_conf(address: str) -> str:
    """The nginx role's portal.conf.j2 with its defaults and group_vars, listening on
    ``address``:443 before the one portal process on the same host."""
    defaults = yaml.safe_load((PLAYBOOKS / "roles/nginx/defaults/main.yml").read_text())
    group = yaml.safe_load((PLAYBOOKS / "group_vars/all.yml").read_text())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PLAYBOOKS / "roles/nginx/templates"),
                             undefined=jinja2.StrictUndefined, trim_blocks=True)
    return env.get_template("portal.conf.j2").render(
        ansible_managed="integration", sunlight_division_code="320703",
        nginx_listen={"addresses": [address], "port": 443},
        nginx_portal_upstreams=[f"127.0.0.1:{PORTAL_PORT}"], nginx_server_names=["localhost"],
        nginx_tls_dir=defaults["nginx_tls_dir"],
        nginx_client_max_body_size=group["sunlight_material_max_bytes"],
        nginx_security_headers=defaults["nginx_security_headers"],
        nginx_rate_limits=group["sunlight_rate_limits"], nginx_trusted_proxies=[],
        nginx_unavailable_retry_after_s=defaults["nginx_unavailable_retry_after_s"])


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name.lstrip("/"))
            info.size, info.mode = len(data), 0o600 if name.endswith(".key") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(scope="module")
def front_door(site: Site, node_image: str, run: Run,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Any]]:
    """(a client trusting the deployment CA, the container): nginx as the role configures
    it, before a portal process of the node image on the site's portal database."""
    container = (DockerContainer(node_image).with_command(["sleep", "infinity"])
                 .with_kwargs(labels=run.labels(role="nginx")))
    container.start()
    try:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        address = wrapped.attrs["NetworkSettings"]["IPAddress"]
        root = Path(tmp_path_factory.mktemp("front-door"))
        ensure_secrets(root, [SiteSecretsSpec("320703", (CertSpec("portal", ips=(address,)),))],
                       deployment=root.name)
        key, cert = tls_paths(root, "320703", "portal")
        assert wrapped.put_archive("/", _tar({
            "/etc/nginx/conf.d/sunlight-portal.conf": _front_door_conf(address).encode(),
            "/etc/nginx/tls/portal.crt": cert.read_bytes(),
            "/etc/nginx/tls/portal.key": key.read_bytes()}))
        portal_env = {"SUNLIGHT_SITE_CODE": site.code,
                      "SUNLIGHT_DATABASE_URL": site.roles["portal"].env["SUNLIGHT_DATABASE_URL"]}
        started = wrapped.exec_run(["bash", "-c", (
            f"{VENV}/bin/sunlight serve portal --host 127.0.0.1 --port {PORTAL_PORT} "
            "> /tmp/portal.log 2>&1 & echo $! > /tmp/portal.pid")], environment=portal_env)
        assert started.exit_code == 0, started.output.decode()
        nginx = wrapped.exec_run(["bash", "-c", "rm -f /etc/nginx/sites-enabled/default && "
                                  "nginx -t && nginx"])
        assert nginx.exit_code == 0, nginx.output.decode()
        client = httpx.Client(base_url=f"https://{address}", timeout=30,
                              verify=ssl.create_default_context(cafile=ca_paths(root)[1]))
        try:
            wait_for(lambda: _answers(client), what="the portal through nginx: "
                     + wrapped.exec_run(["tail", "-5", "/tmp/portal.log"]).output.decode())
            yield client, wrapped
        finally:
            client.close()
    finally:
        container.stop()


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get(f"/api/v1/catalogue/{ANNUAL_REPORT}").status_code == 200
    except httpx.HTTPError:
        return False


def test_the_front_door_answers_in_chinese(front_door: tuple[httpx.Client, Any],
                                           portal: httpx.Client) -> None:
    client, container = front_door
    limit_mb = yaml.safe_load((PLAYBOOKS / "group_vars/all.yml").read_text())[
        "sunlight_material_max_bytes"] // 2**20
    too_large = f"上传的文件超过大小限制（最大 {limit_mb} MB），请压缩或拆分后重新上传。"
    draft, headers = _draft(portal, random.Random(11))
    big = {"file": ("big.pdf", PDF + b"0" * (limit_mb * 2**20), "application/pdf")}
    # An upload past client_max_body_size, from the citizens' page: nginx's Chinese page.
    page = client.post(f"/applications/{draft}/materials", data={"name": "x"}, files=big,
                       headers={"Accept": "text/html"})
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert too_large in page.text and '<html lang="zh-CN">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    # ... and from the API: JSON with the same reason.
    api = client.post(f"/api/v1/applications/{draft}/materials", headers=headers,
                      data={"name": ANNUAL_REPORT_MATERIAL}, files=big)
    assert api.status_code == 413 and api.json()["error"] == "too_large"
    assert too_large in api.json()["detail"] and api.json()["request_id"]
    # An unknown page: the portal's own 404 page (the page framework's), through nginx.
    unknown = client.get("/no-such-page")
    assert unknown.status_code == 404 and '<h1 id="error-title">页面不存在</h1>' in unknown.text
    assert "网上办事大厅" in unknown.text  # the portal's layout, not nginx's page
    assert client.get("/api/v1/no-such-thing").json() == {
        "error": "not_found", "detail": "nothing at /api/v1/no-such-thing"}
    # A path nginx refuses itself: its own Chinese 404 page.
    metrics = client.get("/metrics")
    assert metrics.status_code == 404 and '<h1 id="error-title">页面不存在</h1>' in metrics.text
    # No portal process answering: nginx's 503 page with Retry-After, JSON for the API.
    stopped = container.exec_run(["bash", "-c", "kill $(cat /tmp/portal.pid)"])
    assert stopped.exit_code == 0, stopped.output.decode()
    down = wait_for(lambda: (r := client.get("/")).status_code == 503 and r,
                    what="nginx to answer 503 with the portal stopped")
    assert "系统繁忙，请稍后再试" in down.text and down.headers["retry-after"] == "10"
    api_down = client.get("/api/v1/catalogue")
    assert api_down.status_code == 503 and api_down.json()["error"] == "unavailable"
