"""Excel import/export: exact round trips with YAML, and errors that name the cell."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sunlight.catalogue import (
    Catalogue,
    CatalogueImportError,
    dump_excel,
    dump_yaml,
    load_excel,
)
from sunlight.catalogue.layout import SHEETS
from tests.catalogue.builders import catalogue_data, item_data, penalty_data

Edit = Callable[[Any], None]


@pytest.fixture
def small() -> Catalogue:
    """Three items: a licence, a second licence and a penalty (rows 2, 3, 4 of 'items')."""
    return Catalogue.model_validate(catalogue_data(
        item_data(),
        item_data(code="320703-GAFJ-XK-001", department="320703-GAFJ",
                  risk_points=["受理环节：拖延受理"],
                  fees=[{"name": "工本费", "amount_yuan": "20", "basis": "按标准"}]),
        penalty_data(),
    ))


def _edited(cat: Catalogue, tmp_path: Path, edit: Edit) -> Path:
    path = tmp_path / "catalogue.xlsx"
    dump_excel(cat, path)
    workbook = load_workbook(path)
    edit(workbook)
    workbook.save(path)
    return path


def _error(cat: Catalogue, tmp_path: Path, edit: Edit) -> CatalogueImportError:
    with pytest.raises(CatalogueImportError) as info:
        load_excel(_edited(cat, tmp_path, edit))
    return info.value


def _set(sheet: str, cell: str, value: object) -> Edit:
    def edit(workbook: Any) -> None:
        workbook[sheet][cell] = value
    return edit


def test_round_trip_of_the_sample_matches_yaml(sample: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "sample.xlsx"
    dump_excel(sample, path)
    again = load_excel(path)
    assert again == sample
    assert dump_yaml(again) == dump_yaml(sample)


def test_workbook_layout(small: Catalogue, tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    dump_excel(small, path)
    workbook = load_workbook(path)
    assert workbook.sheetnames == list(SHEETS)
    for name, headers in SHEETS.items():
        assert tuple(c.value for c in workbook[name][1]) == headers
    items = workbook["items"]
    assert items["A3"].value == "320703-GAFJ-XK-001"
    assert items["L3"].value == '["受理环节：拖延受理"]'
    assert items["K2"].value.startswith('{"type": "object"')
    assert workbook["discretion"].max_row == 1 + 3  # one row per band
    assert workbook["fees"]["D2"].value == 20


def test_promised_over_statutory_names_the_cell(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "J3", 25))
    assert (err.source, err.sheet, err.row, err.column, err.column_letter) == (
        "excel", "items", 3, "promised_limit_days", "J")
    assert str(err) == ("items!J3 (promised_limit_days): must be ≤ statutory_limit_days (20) "
                        "(item 320703-GAFJ-XK-001 v1)")


def test_wrong_type_names_the_cell(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "I2", "二十"))
    assert str(err).startswith("items!I2 (statutory_limit_days): Input should be a valid integer")


def test_unknown_department_names_the_cell(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "F4", "320703-ZJJ"))
    assert (err.sheet, err.row, err.column_letter, err.column) == ("items", 4, "F", "department")
    assert "'320703-ZJJ' is not in departments" in err.message


def test_bad_flow_role_names_the_flow_cell(small: Catalogue, tmp_path: Path) -> None:
    # flow rows: 2-5 first item, 6-9 second item; column E is role.
    err = _error(small, tmp_path, _set("flow", "E7", "boss"))
    assert (err.sheet, err.row, err.column_letter, err.column) == ("flow", 7, "E", "role")
    assert str(err).startswith("flow!E7 (role): Input should be 'clerk', 'reviewer' or")


def test_flow_shape_error_names_the_step(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("flow", "C3", "close"))
    assert (err.sheet, err.row, err.column) == ("flow", 3, "kind")
    assert "step 2 must be 'review'" in err.message


def test_penalty_without_discretion_points_at_category(
    small: Catalogue, tmp_path: Path
) -> None:
    def drop_bands(workbook: Any) -> None:
        workbook["discretion"].delete_rows(2, 3)

    err = _error(small, tmp_path, drop_bands)
    assert (err.sheet, err.row, err.column_letter, err.column) == ("items", 4, "E", "category")
    assert "penalty item needs at least one discretion standard" in err.message


def test_invalid_form_schema_names_the_cell(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "K2", '{"type": "object", "required": 3}'))
    assert (err.sheet, err.row, err.column_letter, err.column) == ("items", 2, "K", "form_schema")
    assert "not a valid JSON Schema" in err.message


def test_broken_json_names_the_cell(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "L3", "[受理环节"))
    assert (err.sheet, err.row, err.column) == ("items", 3, "risk_points")
    assert err.message.startswith("not valid JSON")


def test_band_error_names_the_band_row(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("discretion", "H3", 10))  # general max below min
    assert (err.sheet, err.row, err.column) == ("discretion", 3, "max_yuan")


def test_missing_column(small: Catalogue, tmp_path: Path) -> None:
    def drop(workbook: Any) -> None:
        workbook["fees"].delete_cols(4)

    err = _error(small, tmp_path, drop)
    assert (err.sheet, err.row, err.column, err.column_letter) == ("fees", 1, "amount_yuan", None)
    assert str(err) == "fees!row 1 (amount_yuan): missing column"


def test_unknown_column(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("materials", "F1", "colour"))
    assert (err.sheet, err.row, err.column_letter) == ("materials", 1, "F")


def test_missing_sheet(small: Catalogue, tmp_path: Path) -> None:
    def drop(workbook: Any) -> None:
        del workbook["flow"]

    err = _error(small, tmp_path, drop)
    assert err.sheet == "flow" and "missing sheet" in str(err)


def test_child_row_for_unknown_item(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("materials", "B3", 7))
    assert (err.sheet, err.row, err.column) == ("materials", 3, "item_code")
    assert "no item '320703-GAFJ-XK-001' version 7" in err.message


def test_repeated_item_row(small: Catalogue, tmp_path: Path) -> None:
    err = _error(small, tmp_path, _set("items", "A3", "320703-SCJGJ-XK-901"))
    assert (err.sheet, err.row, err.column) == ("items", 3, "version")
    assert "appears twice (also row 2)" in err.message


def test_all_problems_listed(small: Catalogue, tmp_path: Path) -> None:
    def two(workbook: Any) -> None:
        workbook["items"]["J3"] = 25
        workbook["flow"]["E7"] = "boss"

    err = _error(small, tmp_path, two)
    assert {p.where for p in err.all_problems} == {
        "items!J3 (promised_limit_days)", "flow!E7 (role)"}


def test_hand_edited_cells_are_accepted(small: Catalogue, tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        workbook["items"]["E2"] = "行政许可"      # Chinese category name
        workbook["materials"]["D2"] = "是"        # 是/否 for required
        workbook["items"]["B3"] = "1"             # version typed as text
        workbook["fees"]["B2"] = "1"
        workbook["items"].insert_rows(3)          # a blank row between items

    cat = load_excel(_edited(small, tmp_path, edit))
    assert cat == small


def test_text_that_looks_like_a_formula_survives(tmp_path: Path) -> None:
    cat = Catalogue.model_validate(catalogue_data(
        item_data(materials=[{"name": "=申请书", "note": "=SUM(A1)"}])))
    path = tmp_path / "c.xlsx"
    dump_excel(cat, path)
    assert load_excel(path) == cat


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_text("not a zip")
    with pytest.raises(CatalogueImportError, match="not an Excel"):
        load_excel(path)
