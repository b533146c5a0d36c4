"""Topology suite, part 10 (issue 17 point 4): the pages, in a real browser.

On the shared topology's county (320703), in Debian's Chromium driven by Playwright
(``integration/browser.py``), trusting the deployment's CA through its profile's NSS store:
a citizen applies for the sample item (企业年度报告公示) with a PDF through the county
portal's pages (through nginx); the county's clerk, reviewer and approver handle the case
through core's pages (the clerk downloads the PDF and finds it the citizen's); the citizen
sees the outcome when tracking. The journey runs three times: 1280 px wide with the
pointer, 375 px wide (a phone) with the pointer, and 1280 px wide with the keyboard alone
(Tab, Enter, Space, arrows; a spy in every page proves no pointer was used). Every page
visited is checked with axe-core (no violation of impact serious or critical) and saved as
``build/browser/<journey>/<NN>-<step>.png``; the run's report lists them (section
"browser") with the time each journey took.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from playwright.sync_api import Page
from pypdf import PdfWriter

from browser import AXE_VERSION, DESKTOP, PHONE, Hands, Keys, Pages, launch
from sunlight.catalogue.journey import (
    ANNUAL_REPORT,
    ANNUAL_REPORT_MATERIAL,
    ENTERPRISE,
    annual_report_form,
)
from sunlight.catalogue.sample import sample_catalogue
from sunlight.control.stack.access import SiteAccess
from sunlight.control.stack.scenario import DEPARTMENT
from sunlight.workflow.identity import generate_credit_code
from sunlight.workflow.machine import ACTION_LABELS, STATUS_LABELS, Action, CaseStatus
from topology_suite import COUNTY, STAFF, Topology, wait_until

JOURNEYS = {"desktop": (DESKTOP, Hands), "phone": (PHONE, Hands), "keyboard": (DESKTOP, Keys)}
#: Who takes which action, and the case's status after it (the sample item's flow, as
#: ``sunlight scenario`` walks it).
DECISIONS = (("clerk", Action.accept, CaseStatus.in_review),
             ("reviewer", Action.approve_step, CaseStatus.awaiting_decision),
             ("approver", Action.grant, CaseStatus.decided),
             ("clerk", Action.close, CaseStatus.closed))
REVIEW_COMMENT = "材料齐全，符合公示要求"
NOTE_FOR_APPLICANT = "您的年度报告已公示，可在国家企业信用信息公示系统查询。"
ARRIVAL_S = 90.0  # portal → gateway → core, and back
ITEM = next(i for i in sample_catalogue().items if i.code == ANNUAL_REPORT)


def _pdf() -> bytes:
    """A real one-page PDF (what a citizen scans), made with pypdf."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def county(topology: Topology) -> SiteAccess:
    return topology.site(COUNTY)


@pytest.fixture(scope="module")
def passwords(county: SiteAccess) -> dict[str, str]:
    """The county's clerk, reviewer and approver (made on core the first time)."""
    return {user: county.staff(user, [user], DEPARTMENT) for user in STAFF}


@pytest.fixture(scope="module")
def journeys(report: Callable[[str, str], None]) -> Iterator[list[tuple[str, float, Pages]]]:
    """Each finished journey (name, seconds, pages); listed in the run's report at the end."""
    done: list[tuple[str, float, Pages]] = []
    yield done
    lines = []
    for name, seconds, pages in done:
        lines.append(f"{name}: {len(pages.shots)} pages in {seconds:.0f} s "
                     f"(build/browser/{pages.directory.name}/)")
        lines += [f"  {line}" for line in pages.listing().splitlines()]
    if done:
        lines.append(f"all journeys: {sum(s for _, s, _ in done):.0f} s; every page checked "
                     f"with axe-core {AXE_VERSION}, none with a serious or critical violation")
        report("browser", "\n".join(lines))


# --- the citizen, on the county portal -------------------------------------------------------


def citizen_applies(page: Page, act: Hands, pages: Pages, portal: str, pdf: Path,
                    credit_code: str) -> tuple[str, str]:
    """Find the sample item, apply with ``pdf``; the receipt number and the tracking secret."""
    page.goto(f"{portal}/")
    pages.visit(page, "portal home")
    act.fill("搜索办事事项", "企业年度报告")
    act.press("搜索")
    page.wait_for_url("**/catalogue?*")
    pages.visit(page, "catalogue search")
    act.follow(ITEM.name)
    page.get_by_role("heading", level=1, name=ITEM.name, exact=True).wait_for()
    pages.visit(page, "item guide")
    act.follow("在线申请")
    page.wait_for_url(f"**/items/{ITEM.code}/apply")
    pages.visit(page, "apply form")
    act.choose("申请人类型", "企业或其他组织")
    act.fill("证件号码", credit_code)
    act.fill("申请人名称", ENTERPRISE)
    act.fill("联系电话", "0518-85800000")
    form = annual_report_form(credit_code)
    act.fill("企业名称", form["enterprise_name"])
    act.fill("统一社会信用代码", credit_code)
    act.fill("报告年度", str(form["report_year"]))
    act.choose("企业类别", form["enterprise_kind"])
    act.choose("经营状态", form["operating_status"])
    act.fill("电子邮箱", form["email"])
    act.fill("从业人数", str(form["employees"]))
    act.press("保存并上传材料")
    page.wait_for_url("**/materials")
    pages.visit(page, "materials before upload")
    act.choose("材料名称", ANNUAL_REPORT_MATERIAL)
    act.attach("文件", pdf)
    with page.expect_request(lambda r: r.method == "POST" and r.headers.get(
            "x-requested-with") == "XMLHttpRequest"):  # upload.js, with its progress bar
        act.press("上传")
    page.locator("#uploaded-table").get_by_text(pdf.name).wait_for()
    pages.visit(page, "materials uploaded")
    act.press("提交申请")
    page.get_by_role("heading", level=1, name="申请已提交").wait_for()
    pages.visit(page, "receipt")
    return (page.locator("#receipt-number").inner_text().strip(),
            page.locator("#tracking-secret").inner_text().strip())


def citizen_tracks(page: Page, act: Hands, pages: Pages, portal: str, receipt: str,
                   secret: str) -> str:
    """Look the case up with its receipt and secret, wait until it shows closed, rate it;
    the case page's text."""
    page.goto(f"{portal}/track")
    pages.visit(page, "track form")
    act.fill("受理编号", receipt)
    act.fill("查询密码", secret)
    act.press("查询")
    page.wait_for_url(f"**/applications/{receipt}")
    closed = STATUS_LABELS[CaseStatus.closed]

    def shows_closed() -> bool:  # the result crosses core → gateway → portal
        if closed in page.locator("#case-status").inner_text():
            return True
        page.reload()
        return False

    assert wait_until(shows_closed, ARRIVAL_S, interval=2.0), (
        f"{receipt}: the portal's case page did not show {closed} within {ARRIVAL_S:.0f} s")
    pages.visit(page, "tracking closed")
    text = page.locator("main").inner_text()
    act.choose("满意度", "5 分：非常满意")
    act.fill("评价意见", "办理快捷，说明清楚。")
    act.press("提交评价")
    page.get_by_text("感谢您的评价").wait_for()
    pages.visit(page, "rated")
    return text


# --- the staff, on county core ------------------------------------------------------------


def staff_signs_in(page: Page, act: Hands, pages: Pages, core: str, user: str,
                   password: str) -> None:
    page.goto(f"{core}/staff/sign-in")
    pages.visit(page, f"{user} sign in")
    act.fill("用户名", user)
    act.fill("密码", password)
    act.press("登录")
    page.wait_for_url(f"{core}/staff/")
    pages.visit(page, f"{user} work queue")


def staff_decides(page: Page, act: Hands, pages: Pages, user: str, receipt: str,
                  action: Action, after: CaseStatus, pdf: bytes) -> None:
    """Find the case by its receipt, check the material (clerk), take ``action``."""
    act.fill("按受理编号查找案件", receipt)
    act.press("查找")
    page.get_by_role("heading", level=1, name=f"案件 {receipt}").wait_for()
    pages.visit(page, f"{user} case before {action.value}")
    if action is Action.accept:
        assert act.download("下载") == pdf, "the material on core is not the citizen's PDF"
    form = f"#form-{action.value}"
    if action is Action.approve_step:
        act.fill("内部意见", REVIEW_COMMENT, inside=form)
    if action is Action.grant:
        act.fill("告知申请人", NOTE_FOR_APPLICANT, inside=form)
    act.press(ACTION_LABELS[action])
    page.locator("#case-status").filter(has_text=STATUS_LABELS[after]).wait_for()
    pages.visit(page, f"{user} case after {action.value}")


def staff_signs_out(page: Page, act: Hands, pages: Pages, core: str) -> None:
    act.press("退出登录")
    page.wait_for_url(f"{core}/staff/sign-in")


# --- the journey ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(JOURNEYS))
def test_a_citizen_applies_the_county_decides_and_the_citizen_sees_it(
        name: str, topology: Topology, county: SiteAccess, passwords: dict[str, str],
        journeys: list[tuple[str, float, Pages]], tmp_path: Path) -> None:
    viewport, hands = JOURNEYS[name]
    started = time.monotonic()
    pages = Pages(name, keyboard_only=hands is Keys)
    pdf = tmp_path / "企业年度报告.pdf"
    pdf.write_bytes(_pdf())
    with (closing(topology.staff(COUNTY, "clerk")) as clerk_api,  # opened by its sign-in
          launch(tmp_path / "profile", [county.ca_file], viewport=viewport) as context):
        citizen = context.new_page()
        receipt, secret = citizen_applies(citizen, hands(citizen), pages, county.portal_url, pdf,
                                        generate_credit_code(random.Random(f"{name}-browser")))
        arrived = wait_until(lambda: clerk_api.get("/api/v1/cases",
                                                   params={"receipt": receipt}).json(),
                             ARRIVAL_S)
        assert arrived, f"{receipt} did not reach county core within {ARRIVAL_S:.0f} s"
        for user, action, after in DECISIONS:
            desk = context.new_page()
            act = hands(desk)
            staff_signs_in(desk, act, pages, county.core_url, user, passwords[user])
            staff_decides(desk, act, pages, user, receipt, action, after,
                          pdf.read_bytes())
            staff_signs_out(desk, act, pages, county.core_url)
            desk.close()
        shown = citizen_tracks(citizen, hands(citizen), pages, county.portal_url, receipt,
                               secret)
        assert ACTION_LABELS[Action.grant] in shown  # 办理结果: the decision
        assert NOTE_FOR_APPLICANT in shown  # what the approver wrote for the applicant
    journeys.append((name, time.monotonic() - started, pages))
