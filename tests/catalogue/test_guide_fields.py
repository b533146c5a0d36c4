"""The guide's fields (issue 17): place, contact and supervision telephones, blank forms.

Each round-trips YAML → model → Excel → model; a bad value names the item and the field
(the YAML path or the workbook cell); the published JSON carries a form's file as base64.
Before issue 17 the model refused these fields as unknown (``extra="forbid"``).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from sunlight.catalogue import Catalogue, CatalogueImportError, dump_excel, load_excel
from sunlight.catalogue.io_yaml import dump_yaml, load_yaml
from sunlight.catalogue.layout import BASE64_CELL_CHARS
from sunlight.catalogue.model import ENFORCEMENT_CATEGORIES, MAX_BLANK_FORM_BYTES
from tests.catalogue.builders import catalogue_data, item_data

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: Longer than one Excel cell once in base64: it spans three rows of the blank_forms sheet.
BIG_PDF = b"%PDF-1.4\n" + bytes(range(256)) * 240


def _guide(**overrides: Any) -> dict[str, Any]:
    fields = {
        "place": "连云区政务服务中心二楼市场监管窗口，工作日 9:00—17:30",
        "contact_phone": "0518-82310315",
        "supervision_phone": "12315",
        "blank_forms": [
            {"name": "申请书", "filename": "申请书.pdf", "content_type": "application/pdf",
             "content": BIG_PDF},
            {"name": "承诺书", "filename": "承诺书.docx", "content_type": DOCX,
             "content": b"PK\x03\x04 a zip"},
        ],
    }
    return item_data(**{**fields, **overrides})


def _yaml_error(**overrides: Any) -> CatalogueImportError:
    text = yaml.safe_dump(catalogue_data(_guide(**overrides)), allow_unicode=True)
    with pytest.raises(CatalogueImportError) as caught:
        load_yaml(text)
    return caught.value


def test_guide_fields_round_trip_yaml_model_excel_model(tmp_path: Path) -> None:
    cat = Catalogue.model_validate(catalogue_data(_guide()))
    from_yaml = load_yaml(dump_yaml(cat))
    assert from_yaml == cat
    dump_excel(from_yaml, tmp_path / "c.xlsx")
    assert load_excel(tmp_path / "c.xlsx") == cat
    item = cat.items[0]
    assert (item.place, item.contact_phone, item.supervision_phone) == (
        "连云区政务服务中心二楼市场监管窗口，工作日 9:00—17:30", "0518-82310315", "12315")
    assert [f.content for f in item.blank_forms] == [BIG_PDF, b"PK\x03\x04 a zip"]


def test_a_form_longer_than_a_cell_spans_numbered_rows(tmp_path: Path) -> None:
    dump_excel(Catalogue.model_validate(catalogue_data(_guide())), tmp_path / "c.xlsx")
    rows = list(load_workbook(tmp_path / "c.xlsx")["blank_forms"].iter_rows(
        min_row=2, values_only=True))
    parts = [(r[2], r[5]) for r in rows]
    assert parts == [("申请书", 1), ("申请书", 2), ("申请书", 3), ("承诺书", 1)]
    assert all(len(r[6]) <= BASE64_CELL_CHARS for r in rows)
    assert "".join(r[6] for r in rows[:3]) == base64.b64encode(BIG_PDF).decode()


def test_a_part_out_of_order_names_the_cell(tmp_path: Path) -> None:
    dump_excel(Catalogue.model_validate(catalogue_data(_guide())), tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    book["blank_forms"]["F3"] = 3
    book.save(tmp_path / "c.xlsx")
    with pytest.raises(CatalogueImportError) as caught:
        load_excel(tmp_path / "c.xlsx")
    assert caught.value.where == "blank_forms!F3 (part)"
    assert "must be 1 or 2 for form '申请书'" in caught.value.message


def test_a_bad_telephone_names_the_item_and_field_in_yaml() -> None:
    err = _yaml_error(supervision_phone="监督电话")
    assert err.path == "items[0].supervision_phone"
    assert err.item == "320703-SCJGJ-XK-901 v1"
    assert "is not a telephone number" in err.message
    assert str(err).startswith("items[0].supervision_phone (line ")
    assert str(err).endswith("(item 320703-SCJGJ-XK-901 v1)")


def test_a_bad_telephone_names_the_item_and_cell_in_excel(tmp_path: Path) -> None:
    dump_excel(Catalogue.model_validate(catalogue_data(_guide())), tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    book["items"]["O2"] = "8231"
    book.save(tmp_path / "c.xlsx")
    with pytest.raises(CatalogueImportError) as caught:
        load_excel(tmp_path / "c.xlsx")
    text = str(caught.value)
    assert text.startswith("items!O2 (contact_phone): '8231' is not a telephone number")
    assert text.endswith("(item 320703-SCJGJ-XK-901 v1)")


@pytest.mark.parametrize(("form", "field", "reason"), [
    ({"filename": "申请书.docx"}, "filename", "must end with .pdf"),
    ({"content": b"MZ\x90\x00 an executable"}, "content", "is not a .pdf file"),
    ({"filename": "../申请书.pdf"}, "filename", "may not contain '/'"),
    ({"filename": "申请书\u202efdp.exe.pdf"}, "filename", "may not contain '\\u202e'"),
    ({"content": "not base64!"}, "content", "content must be base64"),
    ({"content": b"%PDF-" + b"x" * MAX_BLANK_FORM_BYTES}, "content", "at most 524288 bytes"),
])
def test_a_bad_blank_form_names_its_field(form: dict[str, Any], field: str,
                                          reason: str) -> None:
    base = {"name": "申请书", "filename": "申请书.pdf", "content_type": "application/pdf",
            "content": b"%PDF-1.4"}
    err = _yaml_error(blank_forms=[{**base, **form}])
    assert err.path == f"items[0].blank_forms[0].{field}"
    assert reason in err.message


def test_blank_forms_of_one_item_are_capped_in_total() -> None:
    form = {"name": "表", "content_type": "application/pdf",
            "content": b"%PDF-" + b"x" * (MAX_BLANK_FORM_BYTES - 5)}
    err = _yaml_error(blank_forms=[{**form, "filename": f"{n}.pdf"} for n in range(5)])
    assert err.path == "items[0].blank_forms"
    assert "more than 2097152 per item" in err.message


def test_a_workbook_from_before_the_guide_fields_still_loads(tmp_path: Path) -> None:
    dump_excel(Catalogue.model_validate(catalogue_data(item_data())), tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    del book["blank_forms"]
    book["items"].delete_cols(14, 3)  # place, contact_phone, supervision_phone
    book.save(tmp_path / "c.xlsx")
    item = load_excel(tmp_path / "c.xlsx").items[0]
    assert (item.place, item.contact_phone, item.blank_forms) == ("", "", [])


def test_the_published_json_carries_the_file_as_base64() -> None:
    cat = Catalogue.model_validate(catalogue_data(_guide()))
    doc = cat.items[0].model_dump(mode="json")
    assert doc["blank_forms"][1]["content"] == base64.b64encode(b"PK\x03\x04 a zip").decode()
    assert type(cat.items[0]).model_validate(doc) == cat.items[0]


def test_the_sample_guides_are_filled_in(sample: Catalogue) -> None:
    published = sample.published()
    for item in published:
        assert item.place and item.contact_phone and item.supervision_phone, item.code
        if item.category not in ENFORCEMENT_CATEGORIES:
            assert item.place.startswith("连云区政务服务中心"), item.code
    with_forms = [i for i in published if i.blank_forms]
    assert len(with_forms) >= 8
    assert {f.content_type for i in with_forms for f in i.blank_forms} == {
        "application/pdf", DOCX}
    food = sample.item("320703-SCJGJ-XK-001")
    assert [f.filename for f in food.blank_forms] == ["食品经营许可申请书.docx",
                                                       "食品安全管理制度承诺书.pdf"]
