"""The catalogue field ``major_decision`` (重大执法决定): default false, carried through YAML,
Excel and versioning, refused on items that are not enforcement items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sunlight.catalogue import (
    ENFORCEMENT_CATEGORIES,
    Catalogue,
    CatalogueImportError,
    Category,
    PowerItem,
    dump_excel,
    dump_yaml,
    load_excel,
    load_yaml,
    new_draft,
    publish,
    sample_catalogue,
    update_draft,
)
from sunlight.catalogue.layout import SHEETS
from sunlight.catalogue.sample import sample_yaml
from tests.catalogue.builders import catalogue_data, item_data, penalty_data
from tests.enforcement.builders import MAJOR

COLUMN = "M"  # major_decision, the 13th column of 'items'


@pytest.fixture
def small() -> Catalogue:
    """A licence (row 2), a major penalty (row 3) and an ordinary penalty (row 4)."""
    return Catalogue.model_validate(catalogue_data(
        item_data(), penalty_data(major_decision=True),
        penalty_data(code="320703-SCJGJ-CF-902")))


def test_the_default_is_false_and_is_not_written() -> None:
    item = PowerItem.model_validate(penalty_data())
    assert item.major_decision is False
    assert "major_decision" not in dump_yaml(Catalogue.model_validate(catalogue_data(
        penalty_data())))


def test_the_sample_marks_one_penalty_as_major() -> None:
    cat = sample_catalogue()
    assert [i.code for i in cat.items if i.major_decision] == [MAJOR]
    assert dump_yaml(cat) == sample_yaml()
    assert sample_yaml().count("major_decision: true") == 1


def test_yaml_round_trip(small: Catalogue) -> None:
    text = dump_yaml(small)
    assert text.count("major_decision: true") == 1
    assert load_yaml(text) == small
    assert dump_yaml(load_yaml(text)) == text


@pytest.mark.parametrize("category", sorted(c.value for c in ENFORCEMENT_CATEGORIES))
def test_every_enforcement_category_may_be_major(category: str) -> None:
    data = penalty_data(category=category, major_decision=True)
    if category != "penalty":
        data["discretion"] = []
    assert PowerItem.model_validate(data).major_decision


def test_a_licence_cannot_be_major() -> None:
    text = dump_yaml(Catalogue.model_validate(catalogue_data(item_data()))).replace(
        "  discretion: []\n", "  discretion: []\n  major_decision: true\n")
    with pytest.raises(CatalogueImportError) as caught:
        load_yaml(text)
    err = caught.value
    assert err.path == "items[0].major_decision" and err.row == text.splitlines().index(
        "  major_decision: true") + 1
    assert "only enforcement items (penalty, coercion, levy, inspection) have major " \
           "decisions (category is 'licence')" in err.message


def test_excel_round_trip(small: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    dump_excel(small, path)
    items = load_workbook(path)["items"]
    assert SHEETS["items"][12] == "major_decision" and items[f"{COLUMN}1"].value == \
        "major_decision"
    assert [items[f"{COLUMN}{row}"].value for row in (2, 3, 4)] == [False, True, False]
    assert load_excel(path) == small


def test_excel_sample_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sample.xlsx"
    dump_excel(sample_catalogue(), path)
    assert load_excel(path).item(MAJOR).major_decision


def _edited(small: Catalogue, tmp_path: Path, edit: Any) -> Path:
    path = tmp_path / "c.xlsx"
    dump_excel(small, path)
    workbook = load_workbook(path)
    edit(workbook["items"])
    workbook.save(path)
    return path


def test_an_older_workbook_without_the_column_loads_as_not_major(small: Catalogue,
                                                                 tmp_path: Path) -> None:
    path = _edited(small, tmp_path, lambda sheet: sheet.delete_cols(13))
    loaded = load_excel(path)
    assert [i.major_decision for i in loaded.items] == [False, False, False]


@pytest.mark.parametrize(("value", "major"), [("是", True), ("否", False), (None, False),
                                              ("TRUE", True)])
def test_hand_edited_cells(small: Catalogue, tmp_path: Path, value: object,
                           major: bool) -> None:
    def edit(sheet: Any) -> None:
        sheet[f"{COLUMN}4"] = value
    assert load_excel(_edited(small, tmp_path, edit)).items[2].major_decision is major


def test_a_bad_cell_is_named(small: Catalogue, tmp_path: Path) -> None:
    def edit(sheet: Any) -> None:
        sheet[f"{COLUMN}4"] = "maybe"
        sheet[f"{COLUMN}2"] = True  # the licence
    with pytest.raises(CatalogueImportError) as caught:
        load_excel(_edited(small, tmp_path, edit))
    assert {p.where for p in caught.value.all_problems} == {
        "items!M2 (major_decision)", "items!M4 (major_decision)"}


def test_versioning_carries_the_field() -> None:
    cat = sample_catalogue()
    cat = new_draft(cat, MAJOR)
    draft = cat.item(MAJOR, 2)
    assert draft.major_decision
    cat = update_draft(cat, draft.model_copy(update={"major_decision": False}))
    cat = publish(cat, MAJOR, 2)
    assert [(i.version, i.status.value, i.major_decision) for i in cat.versions(MAJOR)] == [
        (1, "retired", True), (2, "published", False)]
    assert load_yaml(dump_yaml(cat)) == cat


def test_an_edited_licence_draft_cannot_become_major() -> None:
    draft = sample_catalogue().item("320703-SCJGJ-XK-001", 2)
    assert draft.category is Category.LICENCE
    with pytest.raises(ValueError, match="only enforcement items"):
        PowerItem.model_validate({**draft.model_dump(), "major_decision": True})
