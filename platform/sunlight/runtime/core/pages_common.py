"""What the staff pages share: the names people know for roles, statuses and actions,
the signed-in staff member, and the page routers (docs/pages.md lists the URLs)."""

from __future__ import annotations

from urllib.parse import quote

from sunlight.catalogue.flow import STAFF_ROLES
from sunlight.enforcement.flow import LEGAL_REVIEWER, OFFICER
from sunlight.runtime.core.auth import SUPERVISOR, Staff
from sunlight.runtime.core.staff_sessions import StaffUser
from sunlight.runtime.pages.sessions import PageRefusal
from sunlight.runtime.pages.site import PageContext, page_router
from sunlight.workflow.machine import (
    ACTION_LABELS,
    APPLICANT_ROLE,
    STATUS_LABELS,
    Action,
    CaseStatus,
)

PREFIX = "/staff"
#: Every staff page but the catalogue and account administration.
staff_pages = page_router(PREFIX)
#: The site admin's pages.
admin_pages = page_router(f"{PREFIX}/admin")

ROLE_LABELS: dict[str, str] = {
    "clerk": "受理人员", "reviewer": "审查人员", "approver": "审批人员",
    OFFICER: "执法人员", LEGAL_REVIEWER: "法制审核人员", "admin": "系统管理员",
    SUPERVISOR: "监察室人员", APPLICANT_ROLE: "申请人", "system": "系统",
    "staff": "工作人员",
}
#: The roles an admin may give, in the order the account form lists them.
ASSIGNABLE_ROLES: tuple[str, ...] = (*STAFF_ROLES, OFFICER, LEGAL_REVIEWER, "admin",
                                     SUPERVISOR)
EVENT_LABELS: dict[str, str] = {
    **{a.value: label for a, label in ACTION_LABELS.items()},
    "submit": "提交申请", "overdue": "标记超期",
}
APPLICANT_KINDS = {"person": "自然人", "enterprise": "法人或其他组织"}
ITEM_STATUS_LABELS = {"draft": "草稿", "published": "已发布", "retired": "已停用"}


def status_label(status: str | None) -> str:
    if status is None:
        return ""
    try:
        return STATUS_LABELS[CaseStatus(status)]
    except ValueError:
        return status


def action_label(action: Action | str) -> str:
    return EVENT_LABELS.get(str(action), str(action))


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def roles_text(roles: list[str] | tuple[str, ...]) -> str:
    return "、".join(role_label(r) for r in roles) or "无"


def signed_in(page: PageContext) -> StaffUser:
    """The signed-in staff member (else the visitor goes to the sign-in page)."""
    user = page.require_user()
    assert isinstance(user, StaffUser)
    return user


def admin_of(page: PageContext) -> Staff:
    """The signed-in admin; 403 page for anyone else."""
    staff = signed_in(page).staff
    if not staff.is_admin:
        raise PageRefusal(403, "无权访问", "账户和事项目录的管理仅限系统管理员。")
    return staff


def content_disposition(kind: str, filename: str) -> str:
    """``attachment`` or ``inline`` with the file's name, Chinese kept (RFC 6266/5987)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
