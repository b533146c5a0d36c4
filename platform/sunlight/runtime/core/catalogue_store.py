"""The catalogue in the core database: import, publish, retire — each audited and fed out.

The pure rules live in :mod:`sunlight.catalogue`; this module stores their results. Every
published or retired version is sent to the portal through the outbound feed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sunlight.catalogue.model import Catalogue, PowerItem
from sunlight.catalogue.model import Department as DepartmentModel
from sunlight.runtime.core import outbound
from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.models import Department, Item
from sunlight.runtime.db import utcnow
from sunlight.runtime.errors import ApiError, not_found

FED_OUT = ("published", "retired")


def _dept_name(session: Session, code: str) -> str:
    dept = session.get(Department, code)
    return dept.name if dept else code


def import_catalogue(session: Session, site: str, catalogue: Catalogue, actor: str) -> int:
    """Upsert departments and item versions; returns how many item versions changed."""
    for dept in catalogue.departments:
        _upsert_department(session, site, dept, actor)
    session.flush()
    changed = 0
    for item in catalogue.items:
        if _upsert_item(session, site, item, actor):
            changed += 1
    return changed


def _upsert_department(session: Session, site: str, dept: DepartmentModel, actor: str) -> None:
    row = session.get(Department, dept.code)
    if row is not None and row.name == dept.name:
        return
    if row is None:
        session.add(Department(code=dept.code, name=dept.name))
    else:
        row.name = dept.name
    audit(session, site, actor=actor, role="admin", entity="department", entity_id=dept.code,
          action="import", to_state=dept.name)


def _upsert_item(session: Session, site: str, item: PowerItem, actor: str) -> bool:
    doc = item.model_dump(mode="json")
    row = session.get(Item, (item.code, item.version))
    if row is not None and row.doc == doc:
        return False
    before = row.status if row else None
    if row is None:
        row = Item(code=item.code, version=item.version)
        session.add(row)
    row.status, row.name, row.doc = item.status.value, item.name, doc
    row.category, row.department, row.updated_at = item.category.value, item.department, utcnow()
    session.flush()
    audit(session, site, actor=actor, role="admin", entity="item",
          entity_id=f"{item.code}@{item.version}", action="import", from_state=before,
          to_state=row.status)
    if row.status in FED_OUT:
        outbound.catalogue_item(session, row, _dept_name(session, row.department))
    return True


def set_status(session: Session, site: str, code: str, version: int, status: str,
               actor: str) -> Item:
    """draft → published (the published one retires) or published → retired."""
    row = session.get(Item, (code, version), with_for_update=True)
    if row is None:
        raise not_found(f"item {code} version {version}")
    legal = {"published": ("draft",), "retired": ("published",)}
    if row.status not in legal[status]:
        raise ApiError(409, "illegal_version_move",
                       f"{code} v{version} is {row.status}; only "
                       f"{' or '.join(legal[status])} versions can become {status}")
    if status == "published":
        for other in session.scalars(select(Item).where(Item.code == code,
                                                        Item.status == "published")):
            _move(session, site, other, "retired", actor)
    _move(session, site, row, status, actor)
    return row


def _move(session: Session, site: str, row: Item, status: str, actor: str) -> None:
    before = row.status
    row.status, row.updated_at = status, utcnow()
    row.doc = {**row.doc, "status": status}
    audit(session, site, actor=actor, role="admin", entity="item",
          entity_id=f"{row.code}@{row.version}", action=status, from_state=before,
          to_state=status)
    outbound.catalogue_item(session, row, _dept_name(session, row.department))


def list_items(session: Session, status: str | None) -> list[Item]:
    stmt = select(Item).order_by(Item.code, Item.version)
    if status:
        stmt = stmt.where(Item.status == status)
    return list(session.scalars(stmt))


def load(session: Session) -> Catalogue:
    """Everything stored, as a catalogue model (for export)."""
    departments = [DepartmentModel(code=d.code, name=d.name)
                   for d in session.scalars(select(Department).order_by(Department.code))]
    items = [PowerItem.model_validate(i.doc) for i in list_items(session, None)]
    return Catalogue(departments=departments, items=items)
