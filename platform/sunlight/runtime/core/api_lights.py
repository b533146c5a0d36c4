"""Routes of the e-supervision lights (电子监察): the board, the lists, a case's history, the
lights of subordinate sites, and the administration of the site's rules.

Who may call what:

- the board and the lists: supervisors (监察室, role ``supervisor``) and admins — a
  supervisor sees the departments it covers only (the counts and rows of others are left
  out); the subordinates' lights: site-wide supervisors and admins (403 for one scoped to
  departments);
- a case's light history: whoever may see the case (its department's staff, supervisors,
  admins);
- the rules (export, import, check, revisions, baselines): admins.

Example::

    $ curl -H "Authorization: Bearer $T" "$CORE/api/v1/supervision/lights?light=red"
    $ curl -H "Authorization: Bearer $T" -H "Content-Type: application/yaml" \\
          --data-binary @county.yaml "$CORE/api/v1/admin/supervision/rules"
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import case as when
from sqlalchemy import func, select

from sunlight.runtime.core import baselines, cases, lights, supervision_rules
from sunlight.runtime.core.auth import (
    AdminDep,
    Staff,
    StaffDep,
    current_staff,
    require_site_wide,
)
from sunlight.runtime.core.lights_schemas import (
    BoardCount,
    BoardOut,
    CaseLightOut,
    CaseLightsOut,
    HitOut,
    LightChangeOut,
    LightName,
    RuleRevisionOut,
    RulesBaselineOut,
    RulesImportOut,
    SubordinateLightCount,
    SubordinateLightOut,
)
from sunlight.runtime.core.models import (
    Case,
    CaseLight,
    CaseLightChange,
    DataBaseline,
    SubordinateCase,
    SubordinateLight,
)
from sunlight.runtime.deps import ClockDep, SessionDep, SettingsDep
from sunlight.runtime.errors import ApiError, responses
from sunlight.runtime.exchange.signing import Keyring
from sunlight.supervision.rules import RuleFileError

router = APIRouter(prefix="/api/v1")
ERRORS = responses(401, 403, 404, 409, 422)
MAX_RULES_BYTES = 256 * 1024
Department = Annotated[str | None, Query(min_length=1, max_length=40)]
ItemCode = Annotated[str | None, Query(min_length=1, max_length=40)]
Limit = Annotated[int, Query(ge=1, le=1000)]
YAML_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/yaml": {"schema": {"type": "string"}}},
          "description": "the rule file (YAML)"}}


def require_watcher(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
    """Supervisors (监察室) and admins."""
    if not (staff.is_supervisor or staff.is_admin):
        raise ApiError(403, "forbidden", "电子监察看板需要监察室（supervisor）或管理员角色; the "
                       "supervision board needs the supervisor or admin role")
    return staff


WatcherDep = Annotated[Staff, Depends(require_watcher)]


def _hits(rows: list[dict[str, Any]]) -> list[HitOut]:
    return [HitOut.model_validate(h) for h in rows]


@router.get("/supervision/board", tags=["lights"], response_model=BoardOut, responses=ERRORS)
def board(staff: WatcherDep, session: SessionDep, settings: SettingsDep, clock: ClockDep,
          department: Department = None) -> BoardOut:
    """Open cases by light (none 正常, yellow 预警, red 报警), department and item."""
    counts = [BoardCount(light=lit, department=d, item_code=i, count=n)  # type: ignore[arg-type]
              for lit, d, i, n in lights.open_counts(session)
              if (department is None or d == department) and staff.watches(d)]
    totals: dict[LightName, int] = {"none": 0, "yellow": 0, "red": 0}
    for c in counts:
        totals[c.light] += c.count
    rules = supervision_rules.in_force(session, settings.site_code)
    return BoardOut(site=settings.site_code, as_of=clock.now(), rules_revision=rules.revision,
                    totals=totals, counts=counts)


@router.get("/supervision/lights", tags=["lights"], response_model=list[CaseLightOut],
            responses=ERRORS)
def case_lights(staff: WatcherDep, session: SessionDep,
                light: Annotated[LightName | None, Query()] = None,
                department: Department = None, item_code: ItemCode = None,
                limit: Limit = 200) -> list[CaseLightOut]:
    """Open cases with their light, the rules that fired and their texts; red first, then
    the most recent change."""
    rank = when((CaseLight.light == "red", 2), (CaseLight.light == "yellow", 1), else_=0)
    stmt = (select(Case, CaseLight).join(CaseLight, CaseLight.case_id == Case.id)
            .where(Case.status.in_(lights.OPEN_STATUSES)))
    if light is not None:
        stmt = stmt.where(CaseLight.light == light)
    if department is not None:
        stmt = stmt.where(Case.department == department)
    if not staff.site_wide:  # a supervisor scoped to departments
        stmt = stmt.where(Case.department.in_(sorted(staff.covers or ())))
    if item_code is not None:
        stmt = stmt.where(Case.item_code == item_code)
    rows = session.execute(stmt.order_by(rank.desc(), CaseLight.changed_at.desc(), Case.receipt)
                           .limit(limit))
    return [CaseLightOut(case_id=c.id, receipt=c.receipt, department=c.department,
                         item_code=c.item_code, status=c.status, due_on=c.due_on,
                         light=lit.light, rule_ids=lit.rule_ids,  # type: ignore[arg-type]
                         hits=_hits(lit.hits), changed_at=lit.changed_at)
            for c, lit in rows]


@router.get("/cases/{case_id}/lights", tags=["lights"], response_model=CaseLightsOut,
            responses=ERRORS)
def case_light_history(case_id: uuid.UUID, staff: StaffDep,
                       session: SessionDep) -> CaseLightsOut:
    """A case's light now and each change of it (from, to, the rules, when, what caused it)."""
    case = cases.get(session, staff, case_id)
    current = session.get(CaseLight, case.id)
    changes = session.scalars(select(CaseLightChange).where(CaseLightChange.case_id == case.id)
                              .order_by(CaseLightChange.change, CaseLightChange.id))
    return CaseLightsOut(
        case_id=case.id, receipt=case.receipt,
        light=current.light if current else "none",  # type: ignore[arg-type]
        rule_ids=current.rule_ids if current else [],
        hits=_hits(current.hits) if current else [],
        history=[LightChangeOut(change=c.change, from_light=c.from_light,  # type: ignore[arg-type]
                                to_light=c.to_light,  # type: ignore[arg-type]
                                rule_ids=c.rule_ids, hits=_hits(c.hits), trigger=c.trigger,
                                at=c.at) for c in changes])


def _subordinate_status() -> Any:
    return func.coalesce(SubordinateCase.status, SubordinateLight.status)


def _subordinates() -> Any:
    return (select(SubordinateLight, _subordinate_status())
            .outerjoin(SubordinateCase, (SubordinateCase.source == SubordinateLight.source)
                       & (SubordinateCase.receipt == SubordinateLight.receipt))
            .where(_subordinate_status().not_in(["refused", "closed"])))


@router.get("/subordinates/lights", tags=["lights"], response_model=list[SubordinateLightOut],
            responses=ERRORS)
def subordinate_lights(staff: WatcherDep, session: SessionDep,
                       light: Annotated[LightName | None, Query()] = None,
                       site: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
                       department: Department = None,
                       limit: Limit = 200) -> list[SubordinateLightOut]:
    """The lights of open cases at subordinate sites (every tier below), newest change first:
    ``?light=red`` lists every red with its site and department."""
    require_site_wide(staff, "the lights of subordinate sites")
    stmt = _subordinates()
    if light is not None:
        stmt = stmt.where(SubordinateLight.light == light)
    if site is not None:
        stmt = stmt.where(SubordinateLight.source == site)
    if department is not None:
        stmt = stmt.where(SubordinateLight.department == department)
    rows = session.execute(stmt.order_by(SubordinateLight.at.desc(), SubordinateLight.receipt)
                           .limit(limit))
    return [SubordinateLightOut(site=r.source, receipt=r.receipt, department=r.department,
                                item_code=r.item_code, status=status,
                                light=r.light, rule_ids=r.rule_ids,
                                hits=_hits(r.hits), at=r.at, received_at=r.received_at)
            for r, status in rows]


@router.get("/subordinates/lights/counts", tags=["lights"],
            response_model=list[SubordinateLightCount], responses=ERRORS)
def subordinate_light_counts(staff: WatcherDep, session: SessionDep,
                             site: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
                             ) -> list[SubordinateLightCount]:
    """Open cases at subordinate sites by site, department and light."""
    require_site_wide(staff, "the lights of subordinate sites")
    inner = _subordinates()
    if site is not None:
        inner = inner.where(SubordinateLight.source == site)
    sub = inner.subquery()
    stmt = (select(sub.c.source, sub.c.department, sub.c.light, func.count())
            .group_by(sub.c.source, sub.c.department, sub.c.light)
            .order_by(sub.c.source, sub.c.department, sub.c.light))
    return [SubordinateLightCount(site=s, department=d, light=lit, count=n)
            for s, d, lit, n in session.execute(stmt)]


@router.get("/admin/supervision/rules", tags=["admin"], response_class=PlainTextResponse,
            responses={**YAML_CONTENT, **ERRORS})
def export_rules(admin: AdminDep, session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The rules in force as YAML, in the stable form (import it, export again: same bytes)."""
    return PlainTextResponse(supervision_rules.export_rules(session, settings.site_code),
                             media_type="application/yaml; charset=utf-8")


@router.post("/admin/supervision/rules", tags=["admin"], response_model=RulesImportOut,
             responses=ERRORS)
def import_rules(admin: AdminDep, session: SessionDep, settings: SettingsDep, clock: ClockDep,
                 document: Annotated[str, Body(media_type="application/yaml",
                                               max_length=MAX_RULES_BYTES)],
                 check_only: Annotated[bool, Query()] = False,
                 source_name: Annotated[str, Query(min_length=1, max_length=100,
                                                   pattern=r"^[\w.-]+$")] = "upload.yaml",
                 ) -> RulesImportOut:
    """Import a rule file (YAML) as a whole, or refuse it as a whole (422) naming every
    problem by rule, field, YAML path and line; the rules in force then stay unchanged.
    ``check_only``: check everything an import checks, store nothing."""
    try:
        done = supervision_rules.import_rules(session, settings.site_code, document,
                                              source_name, admin.username, now=clock.now(),
                                              check_only=check_only)
    except RuleFileError as exc:
        raise ApiError(422, "rules_invalid", "; ".join(str(p) for p in exc.all_problems),
                       field=exc.path) from exc
    return RulesImportOut(site=settings.site_code, revision=done.revision, version=done.version,
                          rules=done.rules, changed=done.changed and not check_only,
                          check_only=check_only)


@router.get("/admin/supervision/rules/revisions", tags=["admin"],
            response_model=list[RuleRevisionOut], responses=ERRORS)
def rule_revisions(admin: AdminDep, session: SessionDep) -> list[RuleRevisionOut]:
    """Every imported revision, newest first (the text of each is kept verbatim)."""
    return [RuleRevisionOut(revision=r.revision, version=r.version, sha256=r.sha256,
                            source_name=r.source_name, imported_by=r.imported_by,
                            imported_at=r.imported_at, in_force=r.in_force)
            for r in supervision_rules.revisions(session)]


def _baseline_out(b: DataBaseline) -> RulesBaselineOut:
    return RulesBaselineOut(kind=b.kind, issuer=b.issuer, version=b.version, sha256=b.sha256,
                            published_by=b.published_by, published_at=b.published_at,
                            received_at=b.received_at)


@router.get("/admin/supervision/rules/baselines", tags=["admin"],
            response_model=list[RulesBaselineOut], responses=ERRORS)
def rule_baselines(admin: AdminDep, session: SessionDep) -> list[RulesBaselineOut]:
    """Rule baselines published here or received from above, newest first."""
    rows = session.scalars(select(DataBaseline).where(DataBaseline.kind == baselines.RULES_KIND)
                           .order_by(DataBaseline.published_at.desc()))
    return [_baseline_out(b) for b in rows]


@router.post("/admin/supervision/rules/baseline", tags=["admin"], status_code=201,
             response_model=RulesBaselineOut, responses=ERRORS)
def publish_rules_baseline(admin: AdminDep, session: SessionDep, settings: SettingsDep,
                           clock: ClockDep, request: Request) -> RulesBaselineOut:
    """Publish the rules in force as a baseline every subordinate may only tighten."""
    keyring: Keyring | None = getattr(request.app.state, "keyring", None)
    if keyring is None:
        raise ApiError(409, "exchange_not_configured", "this site has no cross-tier exchange "
                       "(SUNLIGHT_AMQP_URL and keys are not set)")
    current = supervision_rules.in_force(session, settings.site_code)
    row = baselines.publish_file(session, settings.site_code, keyring.children(),
                                 admin.username, baselines.RULES_KIND, current.rules.version,
                                 supervision_rules.export_rules(session, settings.site_code),
                                 now=clock.now())
    return _baseline_out(row)
