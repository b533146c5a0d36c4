"""The staff pages' site on core (docs/pages.md): the framework's
:class:`~sunlight.runtime.pages.site.PageSite` with staff sessions, the navigation by role,
and the page routers (:mod:`.pages_staff`, :mod:`.pages_admin`). Core serves them over TLS
in the internal zone only; nothing of them is reachable from the external zone."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from sunlight.runtime.core import pages_admin, pages_staff  # noqa: F401  (registers routes)
from sunlight.runtime.core.pages_common import PREFIX, admin_pages, staff_pages
from sunlight.runtime.core.staff_sessions import StaffSessions, StaffUser
from sunlight.runtime.pages.site import NavLink, PageContext, PageSite


def navigation(page: PageContext) -> list[NavLink]:
    user = page.user
    if not isinstance(user, StaffUser):
        return []
    links = [NavLink("待办案件", f"{PREFIX}/")]
    if user.staff.is_admin:
        links += [NavLink("账户管理", f"{PREFIX}/admin/accounts"),
                  NavLink("事项目录", f"{PREFIX}/admin/items"),
                  NavLink("导入目录", f"{PREFIX}/admin/catalogue/import")]
    return links


def install(app: FastAPI) -> None:
    """The staff pages under ``/staff/`` (``/`` leads there)."""
    site = PageSite(name=f"行政权力运行平台 · 工作台（{app.state.settings.site_code}）",
                    packages=("sunlight.runtime.core",), backend=StaffSessions(),
                    home_url=f"{PREFIX}/", nav=navigation,
                    sign_out_url=f"{PREFIX}/sign-out")
    site.install(app, staff_pages, admin_pages, not_found_under=PREFIX)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=303)
