"""The officer registry: YAML and Excel import refused as a whole with every problem named by
row and field, stable export, qualification and the expiry list."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sunlight.catalogue import sample_catalogue
from sunlight.enforcement.officers import (
    COLUMNS,
    SAMPLE_RESOURCE,
    OfficerRegistry,
    RegistryImportError,
    dump_registry,
    dump_registry_excel,
    expired,
    expiring,
    load_registry,
    load_registry_excel,
    qualified,
    sample_registry_text,
)
from tests.enforcement.builders import (
    CHEN,
    LIU,
    MAJOR,
    OLD,
    ORDINARY,
    OTHER_DEPT,
    SUN,
    WANG,
    ZHAO,
    item,
    registry,
)

ROOT = Path(__file__).resolve().parents[2]

#: A valid file; each refusal below changes lines of it.
GOOD = """\
officers:
- certificate: '32070300101'
  name: 王强
  department: 320703-SCJGJ
  categories: [penalty, inspection]
  valid_from: 2024-01-01
  valid_to: 2026-12-31
- certificate: 苏A-0203
  name: 李娜
  department: 320703-GAFJ
  items: [320703-GAFJ-CF-001]
  valid_from: 2025-03-01
  valid_to: 2028-02-29
"""


def _refused(text: str, **known: Any) -> RegistryImportError:
    with pytest.raises(RegistryImportError) as caught:
        load_registry(text, **known)
    return caught.value


def _places(err: RegistryImportError) -> list[tuple[str | None, int | None, str | None]]:
    return [(p.path, p.row, p.column) for p in err.all_problems]


# -- YAML ---------------------------------------------------------------------------------


def test_a_good_file_loads_and_exports_the_same_bytes() -> None:
    reg = load_registry(GOOD)
    assert [o.certificate for o in reg.officers] == ["32070300101", "苏A-0203"]
    assert reg.officers[0].valid_to == date(2026, 12, 31)
    text = dump_registry(reg)
    assert load_registry(text) == reg
    assert dump_registry(load_registry(text)) == text
    assert "'32070300101'" in text and "王强" in text and "\\u" not in text


def test_the_shipped_sample_round_trips_and_fits_the_sample_catalogue() -> None:
    text = sample_registry_text()
    catalogue = sample_catalogue()
    reg = load_registry(text, known_departments={d.code for d in catalogue.departments},
                        known_items={i.code for i in catalogue.items})
    assert dump_registry(reg) == text
    assert len(reg.officers) >= 10
    departments = {o.department for o in reg.officers}
    assert {"320703-SCJGJ", "320703-GAFJ", "320703-STHJJ"} <= departments


def test_the_sample_ships_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["sunlight"]
    resource = "enforcement/" + "/".join(SAMPLE_RESOURCE)
    assert any(fnmatch.fnmatch(resource, pattern) for pattern in patterns)


def test_chinese_category_names_and_full_width_certificates_are_accepted() -> None:
    text = GOOD.replace("[penalty, inspection]", "[行政处罚, 行政检查]").replace(
        "'32070300101'", "'３２０７０３００１０１'").replace("苏A-0203", "苏a-0203")
    reg = load_registry(text)
    assert reg == load_registry(GOOD)


@pytest.mark.parametrize(("old", "new", "path", "line", "words"), [
    ("certificate: 苏A-0203", "certificate: '32070300101'", "officers[1].certificate", 8,
     "certificate '32070300101' appears twice (also officers[0])"),
    ("valid_to: 2028-02-29", "valid_to: 2025-02-28", "officers[1].valid_to", 13,
     "ends on 2025-02-28, before it starts (valid_from 2025-03-01)"),
    ("department: 320703-GAFJ", "department: 公安分局", "officers[1].department", 10,
     "not a department code"),
    ("department: 320703-GAFJ", "department: 320703_GAFJ", "officers[1].department", 10,
     "e.g. 320703-SCJGJ"),
    ("valid_to: 2028-02-29", "valid_to: 2027-02-29", "officers[1].valid_to", 13,
     "not a date: '2027-02-29' (day is out of range for month)"),
    ("valid_from: 2025-03-01", "valid_from: 2025/3/1", "officers[1].valid_from", 12,
     "not a date: '2025/3/1'; write YYYY-MM-DD"),
    ("valid_from: 2025-03-01", "valid_from: 2025-03-01 09:00:00", "officers[1].valid_from", 12,
     "write YYYY-MM-DD"),
    ("certificate: '32070300101'", "certificate: 32070300101", "officers[0].certificate", 2,
     "quote it in YAML ('32070300101')"),
    ("certificate: '32070300101'", "certificate: 'A1'", "officers[0].certificate", 2,
     "String should match pattern"),
    ("[penalty, inspection]", "[penalty, licence]", "officers[0].categories[1]", 5,
     "'licence' (行政许可) is not enforced by officers"),
    ("[penalty, inspection]", "[penalty, parking]", "officers[0].categories[1]", 5,
     "Input should be"),
    ("  name: 李娜\n", "  name: ' '\n", "officers[1].name", 9, "String should"),
    ("  name: 李娜\n", "  name: 李娜\n  rank: 科员\n", "officers[1].rank", 10,
     "Extra inputs are not permitted"),
    ("  items: [320703-GAFJ-CF-001]\n", "", "officers[1].categories", 8,
     "list the items or categories the officer may enforce"),
    ("[320703-GAFJ-CF-001]", "[gafj-cf-1]", "officers[1].items[0]", 11,
     "String should match pattern"),
])
def test_a_bad_row_is_named_by_path_line_and_field(old: str, new: str, path: str, line: int,
                                                   words: str) -> None:
    assert old in GOOD
    err = _refused(GOOD.replace(old, new))
    assert (err.path, err.row) == (path, line)
    assert err.column == path.rsplit(".", 1)[-1].split("[")[0]
    assert words in err.message
    assert str(err).startswith(f"{path} (line {line}): ")


def test_every_problem_is_named_and_nothing_is_kept() -> None:
    text = (GOOD.replace("valid_to: 2026-12-31", "valid_to: 2023-12-31")
            .replace("department: 320703-GAFJ", "department: GAFJ")
            .replace("苏A-0203", "'32070300101'")
            .replace("valid_from: 2025-03-01", "valid_from: 2025-13-01"))
    err = _refused(text)
    assert _places(err) == [
        ("officers[0].valid_to", 7, "valid_to"),
        ("officers[1].certificate", 8, "certificate"),
        ("officers[1].department", 10, "department"),
        ("officers[1].valid_from", 12, "valid_from"),
    ]
    assert "(and 3 more problem(s))" in str(err)


def test_unknown_departments_and_items_of_the_site() -> None:
    err = _refused(GOOD, known_departments={"320703-SCJGJ"}, known_items={"320703-X-001"})
    assert [(p.path, p.message) for p in err.all_problems] == [
        ("officers[1].department",
         "department '320703-GAFJ' is not a department of this site"),
        ("officers[1].items[0]",
         "unknown item code '320703-GAFJ-CF-001': not in this site's catalogue"),
    ]


@pytest.mark.parametrize(("text", "where"), [
    ("officers: [\n", "(document) (line 2)"),
    ("- a\n- b\n", "(document) (line 1)"),
    ("officers: 3\n", "officers (line 1)"),
    ("officers: []\nsite: '320703'\n", "site (line 2)"),
    ("officers:\n- just a name\n", "officers[0] (line 2)"),
])
def test_a_file_that_is_not_a_registry(text: str, where: str) -> None:
    assert _refused(text).where == where


def test_an_empty_registry_is_a_registry() -> None:
    assert load_registry("officers: []\n") == OfficerRegistry()
    assert dump_registry(OfficerRegistry()).endswith("officers: []\n")


# -- Excel --------------------------------------------------------------------------------

Edit = Callable[[Any], None]


def _workbook(tmp_path: Path, edit: Edit | None = None) -> Path:
    path = tmp_path / "officers.xlsx"
    dump_registry_excel(load_registry(GOOD), path)
    if edit is not None:
        workbook = load_workbook(path)
        edit(workbook)
        workbook.save(path)
    return path


def _excel_refused(tmp_path: Path, edit: Edit, **known: Any) -> RegistryImportError:
    with pytest.raises(RegistryImportError) as caught:
        load_registry_excel(_workbook(tmp_path, edit), **known)
    return caught.value


def _set(*cells: tuple[str, object]) -> Edit:
    def edit(workbook: Any) -> None:
        for cell, value in cells:
            workbook["officers"][cell] = value
    return edit


def test_excel_round_trip(tmp_path: Path) -> None:
    path = _workbook(tmp_path)
    assert load_registry_excel(path) == load_registry(GOOD)
    sheet = load_workbook(path)["officers"]
    assert tuple(c.value for c in sheet[1]) == COLUMNS
    assert sheet["A2"].value == "32070300101" and sheet["E2"].value == "行政处罚、行政检查"
    assert sheet["D3"].value == "320703-GAFJ-CF-001"
    assert sheet["F2"].value == datetime(2024, 1, 1)


def test_excel_hand_edited_cells_are_accepted(tmp_path: Path) -> None:
    path = _workbook(tmp_path, _set(("A2", 32070300101), ("E2", "penalty, 行政检查"),
                                    ("F2", "2024-01-01"), ("G3", datetime(2028, 2, 29))))
    assert load_registry_excel(path) == load_registry(GOOD)


def test_excel_blank_rows_are_skipped(tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        workbook["officers"].insert_rows(3)
    assert load_registry_excel(_workbook(tmp_path, edit)) == load_registry(GOOD)


@pytest.mark.parametrize(("cells", "where", "words"), [
    ((("A3", "32070300101"),), "officers!A3 (certificate)",
     "certificate '32070300101' appears twice (also row 2)"),
    ((("G3", datetime(2025, 1, 31)),), "officers!G3 (valid_to)",
     "ends on 2025-01-31, before it starts (valid_from 2025-03-01)"),
    ((("C2", "SCJGJ"),), "officers!C2 (department)", "not a department code"),
    ((("F2", "2024-02-30"),), "officers!F2 (valid_from)", "day is out of range for month"),
    ((("F2", "next week"),), "officers!F2 (valid_from)", "not a date: 'next week'"),
    ((("F2", "45000"),), "officers!F2 (valid_from)", "not a date: '45000'"),
    ((("F2", datetime(2024, 1, 1, 9, 30)),), "officers!F2 (valid_from)",
     "a date without a time of day"),
    ((("B2", None),), "officers!B2 (name)", "Field required"),
    ((("E2", "penalty、licence"),), "officers!E2 (categories)", "'licence' (行政许可)"),
    ((("D3", None),), "officers!E3 (categories)", "list the items or categories"),
])
def test_excel_a_bad_row_is_named_by_row_and_column(tmp_path: Path, cells: Any, where: str,
                                                    words: str) -> None:
    err = _excel_refused(tmp_path, _set(*cells))
    assert err.where == where and words in err.message


def test_excel_a_plain_number_is_not_a_date(tmp_path: Path) -> None:
    def edit(workbook: Any) -> None:
        cell = workbook["officers"]["F2"]
        cell.value, cell.number_format = 45000, "General"

    err = _excel_refused(tmp_path, edit)
    assert err.where == "officers!F2 (valid_from)" and "not a date: 45000" in err.message


def test_excel_every_problem_is_named(tmp_path: Path) -> None:
    err = _excel_refused(tmp_path, _set(("A3", "32070300101"), ("C3", "GAFJ"),
                                        ("G2", "2020-01-01"), ("F3", "soon")))
    assert [p.where for p in err.all_problems] == [
        "officers!G2 (valid_to)", "officers!A3 (certificate)", "officers!C3 (department)",
        "officers!F3 (valid_from)"]


def test_excel_unknown_department_of_the_site(tmp_path: Path) -> None:
    err = _excel_refused(tmp_path, _set(), known_departments={"320703-SCJGJ"})
    assert err.where == "officers!C3 (department)"


@pytest.mark.parametrize(("edit", "where", "words"), [
    (lambda wb: wb["officers"].delete_cols(7), "officers!row 1 (valid_to)", "missing column"),
    (lambda wb: wb["officers"].cell(row=1, column=8, value="rank"), "officers!H1 (rank)",
     "unknown column"),
    (lambda wb: wb["officers"].cell(row=1, column=8, value="name"), "officers!H1 (name)",
     "column appears twice (also column B)"),
    (lambda wb: setattr(wb["officers"], "title", "staff"), "officers", "missing sheet"),
])
def test_excel_layout_problems(tmp_path: Path, edit: Edit, where: str, words: str) -> None:
    err = _excel_refused(tmp_path, edit)
    assert err.where == where and words in err.message


def test_excel_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "officers.xlsx"
    path.write_text("certificate,name\n", encoding="utf-8")
    with pytest.raises(RegistryImportError, match=r"not an Excel \.xlsx workbook"):
        load_registry_excel(path)


# -- qualification and expiry ----------------------------------------------------------------


@pytest.mark.parametrize(("certificate", "code", "on", "why"), [
    (WANG, MAJOR, date(2026, 3, 2), "ok"),
    (" 32070300101 ", MAJOR, date(2026, 3, 2), "ok"),
    (LIU, ORDINARY, date(2026, 3, 2), "ok"),
    (WANG, MAJOR, date(2029, 12, 31), "ok"),          # the last valid day
    (WANG, MAJOR, date(2024, 1, 1), "ok"),            # the first
    (WANG, MAJOR, date(2030, 1, 1), "expired"),
    (OLD, MAJOR, date(2026, 3, 21), "expired"),
    (SUN, MAJOR, date(2026, 3, 31), "not_yet_valid"),
    (SUN, MAJOR, date(2026, 4, 1), "ok"),
    ("32070300999", MAJOR, date(2026, 3, 2), "unknown"),
    (ZHAO, MAJOR, date(2026, 3, 2), "out_of_area"),   # another department
    (WANG, OTHER_DEPT, date(2026, 3, 2), "out_of_area"),
    (LIU, MAJOR, date(2026, 3, 2), "out_of_area"),    # only CF-002 by code
    (ZHAO, OTHER_DEPT, date(2026, 3, 2), "ok"),
])
def test_qualified(certificate: str, code: str, on: date, why: str) -> None:
    answer = qualified(registry(), certificate, item(code), on)
    assert answer.why == why and bool(answer) is (why == "ok")
    assert (answer.reason == "") is (why == "ok")


def test_qualification_reasons() -> None:
    reg = registry()
    assert qualified(reg, OLD, item(MAJOR), date(2026, 4, 1)).reason == (
        "certificate 32070300109 (周建) expired on 2026-03-20; it was valid 2024-01-01 to "
        "2026-03-20")
    assert qualified(reg, "X999", item(MAJOR), date(2026, 4, 1)).reason == (
        "officer X999: not in the officer registry (执法人员库)")
    assert reg.qualified(LIU, item(MAJOR), date(2026, 4, 1)).reason == (
        "certificate 32070300103 (刘洋) may enforce items 320703-SCJGJ-CF-002; not item "
        "320703-SCJGJ-CF-001 (行政处罚)")


def test_expiring_within_thirty_days_ends_included() -> None:
    reg = registry()  # 周建 ends 2026-03-20, everyone else later
    assert [o.certificate for o in expiring(reg, date(2026, 2, 18))] == [OLD]   # 30 days
    assert expiring(reg, date(2026, 2, 17)) == []                               # 31 days
    assert [o.certificate for o in expiring(reg, date(2026, 3, 20))] == [OLD]   # last day
    assert expiring(reg, date(2026, 3, 21)) == []                               # ended
    assert [o.certificate for o in expired(reg, date(2026, 3, 21))] == [OLD]
    soon = expiring(reg, date(2029, 12, 1))
    assert [o.certificate for o in soon] == sorted([WANG, CHEN, LIU, ZHAO, SUN])
    assert expiring(reg, date(2029, 12, 1), within_days=10) == []
    with pytest.raises(ValueError, match="within_days"):
        expiring(reg, date(2026, 1, 1), within_days=-1)


def test_an_officer_not_yet_valid_is_not_expiring() -> None:
    reg = registry()
    assert SUN not in [o.certificate for o in expiring(reg, date(2026, 3, 15), 5000)]
