"""Core's side of materials crossing one by one: kept by id and sha256 ahead of the
application, a repeat is "duplicate", and an application is applied only with every material
it names present with its size and sha256.

Before issue 15 core had no ``receive_material`` and no ``exchange_materials`` table
(ImportError), and an application carried its materials' bytes inline (``content_b64``):
core took whatever bytes the record held.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from sunlight.runtime.core.cases import _save_materials
from sunlight.runtime.core.exchange import receive_material
from sunlight.runtime.core.models import Case, CaseMaterial, ExchangeMaterial
from sunlight.runtime.records import MaterialRef, RecordRejected

PDF = b"%PDF-1.7 material"
SHA = hashlib.sha256(PDF).hexdigest()


class _Session:
    def __init__(self, *kept: Any) -> None:
        self.kept = {(type(k).__name__, k.id): k for k in kept}
        self.added: list[Any] = []
        self.deleted: list[Any] = []

    def get(self, model: type[Any], key: uuid.UUID) -> Any:
        return self.kept.get((model.__name__, key))

    def add(self, obj: Any) -> None:
        self.added.append(obj)

    def delete(self, obj: Any) -> None:
        self.deleted.append(obj)


def test_a_material_is_kept_once_and_a_repeat_is_duplicate() -> None:
    mid = uuid.uuid4()
    session = _Session()
    assert receive_material(session, mid, SHA, PDF) == "applied"  # type: ignore[arg-type]
    [kept] = session.added
    assert isinstance(kept, ExchangeMaterial) and (kept.id, kept.size) == (mid, len(PDF))
    again = _Session(kept)
    assert receive_material(again, mid, SHA, PDF) == "duplicate"  # type: ignore[arg-type]
    assert again.added == []


def test_a_material_already_moved_to_its_case_is_duplicate() -> None:
    mid = uuid.uuid4()
    moved = CaseMaterial(id=mid, sha256=SHA)
    assert receive_material(_Session(moved), mid, SHA, PDF) == "duplicate"  # type: ignore[arg-type]


def test_bytes_that_do_not_match_their_hash_are_refused() -> None:
    with pytest.raises(RecordRejected, match="do not match sha256"):
        receive_material(_Session(), uuid.uuid4(), "0" * 64, PDF)  # type: ignore[arg-type]
    mid = uuid.uuid4()
    other = ExchangeMaterial(id=mid, sha256="1" * 64, size=3, content=b"abc")
    with pytest.raises(RecordRejected, match="other bytes"):
        receive_material(_Session(other), mid, SHA, PDF)  # type: ignore[arg-type]


def _ref(mid: uuid.UUID, sha: str = SHA, size: int = len(PDF)) -> MaterialRef:
    return MaterialRef.build(id=mid, name="营业执照", filename="a.pdf",
                             content_type="application/pdf", size=size, sha256=sha)


def test_an_application_takes_its_materials_from_where_they_crossed() -> None:
    mid = uuid.uuid4()
    staged = ExchangeMaterial(id=mid, sha256=SHA, size=len(PDF), content=PDF)
    session, case = _Session(staged), Case(id=uuid.uuid4())
    _save_materials(session, case, 0, [_ref(mid)])  # type: ignore[arg-type]
    [material] = session.added
    assert isinstance(material, CaseMaterial) and material.content == PDF
    assert (material.id, material.case_id, material.sha256) == (mid, case.id, SHA)
    assert session.deleted == [staged]


def test_an_application_whose_materials_have_not_crossed_is_refused() -> None:
    mid = uuid.uuid4()
    with pytest.raises(RecordRejected, match="has not crossed"):
        _save_materials(_Session(), Case(id=uuid.uuid4()), 0, [_ref(mid)])  # type: ignore[arg-type]
    staged = ExchangeMaterial(id=mid, sha256=SHA, size=len(PDF), content=PDF)
    with pytest.raises(RecordRejected, match="do not match"):
        _save_materials(_Session(staged), Case(id=uuid.uuid4()), 0,  # type: ignore[arg-type]
                        [_ref(mid, sha="2" * 64)])
    tampered = ExchangeMaterial(id=mid, sha256=SHA, size=len(PDF), content=b"%PDF-1.7 other!!")
    with pytest.raises(RecordRejected, match="do not match"):
        _save_materials(_Session(tampered), Case(id=uuid.uuid4()), 0,  # type: ignore[arg-type]
                        [_ref(mid)])
