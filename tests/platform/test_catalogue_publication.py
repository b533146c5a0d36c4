"""A published item reaches the portal with its guide (issue 17): core's document crosses
as a ``catalogue.item`` record whose guide fields pass the catalogue's own rules at the
gateway's whitelist, and the portal keeps the blank forms' bytes apart from the document.

Before issue 17 the record's document was any JSON object: a form named ``../x.pdf`` or an
executable called a PDF would have reached the public unchecked.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pytest

from sunlight.catalogue import sample_catalogue
from sunlight.runtime.gateway.service import Moved, _publish, take_records
from sunlight.runtime.portal.models import CatalogueEntry, CatalogueFile, GatewayCursor
from sunlight.runtime.records import CatalogueItem, RecordRejected, parse_record

FOOD = "320703-SCJGJ-XK-001"


class _Session:
    """What the gateway does to the portal's tables, recorded."""

    def __init__(self, **by_type: dict[Any, Any]) -> None:
        self.by_type, self.added, self.executed = by_type, list[Any](), list[Any]()
        self.deleted = list[Any]()

    def get(self, model: type[Any], key: Any, **_: Any) -> Any:
        return self.by_type.get(model.__name__, {}).get(key)

    def add(self, obj: Any) -> None:
        self.added.append(obj)

    def delete(self, obj: Any) -> None:
        self.deleted.append(obj)

    def execute(self, statement: Any) -> None:
        self.executed.append(statement)


def _doc(**changes: Any) -> dict[str, Any]:
    return {**sample_catalogue().item(FOOD).model_dump(mode="json"), **changes}


def _record(doc: dict[str, Any], status: str = "published") -> CatalogueItem:
    return CatalogueItem.build(code=FOOD, version=1, status=status,
                               department_name="连云区市场监督管理局", doc=doc)


def test_core_s_document_crosses_and_the_forms_are_kept_apart() -> None:
    item = sample_catalogue().item(FOOD)
    session = _Session()
    _publish(session, _record(_doc()))  # type: ignore[arg-type]
    [entry] = [a for a in session.added if isinstance(a, CatalogueEntry)]
    files = [a for a in session.added if isinstance(a, CatalogueFile)]
    assert [(f.position, f.filename, f.content) for f in files] == [
        (n, f.filename, f.content) for n, f in enumerate(item.blank_forms)]
    assert entry.doc["blank_forms"] == [
        {"name": f.name, "filename": f.filename, "content_type": f.content_type,
         "size": len(f.content), "sha256": hashlib.sha256(f.content).hexdigest()}
        for f in item.blank_forms]
    assert entry.doc["place"] == item.place
    assert entry.doc["supervision_phone"] == item.supervision_phone
    assert "DELETE FROM catalogue_files" in str(session.executed[0])


def test_retiring_the_version_shown_takes_its_forms_away() -> None:
    shown = CatalogueEntry(code=FOOD, version=1)
    session = _Session(CatalogueEntry={FOOD: shown})
    _publish(session, _record(_doc(), status="retired"))  # type: ignore[arg-type]
    assert session.deleted == [shown]
    assert "DELETE FROM catalogue_files" in str(session.executed[0])


@pytest.mark.parametrize(("form", "why"), [
    ({"filename": "../申请书.docx"}, "may not contain '/'"),
    ({"content": base64.b64encode(b"MZ\x90\x00").decode()}, "is not a .docx file"),
    ({"content": "!!"}, "content must be base64"),
    ({"content_type": "text/html", "filename": "a.html"}, "content_type"),
])
def test_a_forged_blank_form_is_refused_by_the_whitelist(form: dict[str, Any],
                                                         why: str) -> None:
    doc = _doc()
    doc["blank_forms"] = [{**doc["blank_forms"][0], **form}]
    with pytest.raises(RecordRejected, match="blank_forms") as caught:
        parse_record("outward", "catalogue.item", {
            "code": FOOD, "version": 1, "status": "published",
            "department_name": "市场监管局", "doc": doc})
    assert why in str(caught.value)


def test_a_bad_telephone_is_parked_and_the_feed_moves_on() -> None:
    rows = [{"seq": 7, "record_id": str(uuid.uuid4()), "record_type": "catalogue.item",
             "payload": _record(_doc()).payload() | {"doc": _doc(contact_phone="<a>")}}]
    session, cursor, moved = _Session(), GatewayCursor(name="core-outbound", value=6), Moved()
    take_records(session, cursor, rows, moved)  # type: ignore[arg-type]
    assert cursor.value == 7
    assert moved.counts == {("out", "catalogue.item", "parked"): 1}
    assert "contact_phone" in session.added[0].reason
