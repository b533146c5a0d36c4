"""The shipped sample catalogue (连云区, 320703) is big, varied and realistic enough."""

from __future__ import annotations

from collections import Counter

from sunlight.catalogue import Catalogue, Category, ItemStatus
from sunlight.catalogue.sample import sample_yaml


def test_counts(sample: Catalogue) -> None:
    codes = {i.code for i in sample.items}
    assert len(codes) >= 40
    assert len({i.category for i in sample.items}) >= 8
    assert len(sample.departments) >= 3
    assert all(d.code.startswith("320703-") for d in sample.departments)
    assert all(i.code.startswith(i.department + "-") for i in sample.items)


def test_penalty_items_have_refined_discretion(sample: Catalogue) -> None:
    penalties = [i for i in sample.published() if i.category is Category.PENALTY]
    assert len(penalties) >= 8
    for item in penalties:
        assert 1 <= len(item.discretion) <= 3, item.code
        for standard in item.discretion:
            severities = {b.severity for b in standard.bands}
            assert severities <= {"minor", "general", "serious"}
            assert "serious" in severities, (item.code, standard.violation)
    full = [s for i in penalties for s in i.discretion if len(s.bands) == 3]
    assert len(full) >= 8
    assert {b.label for s in full for b in s.bands} == {"轻微", "一般", "严重"}


def test_annual_report_item_is_published(sample: Catalogue) -> None:
    annual = [i for i in sample.published() if "年度报告" in i.name or "年检" in i.name]
    assert annual, "the seasonal peak item (企业年度报告公示/年检) is missing"
    fields = annual[0].form_schema["properties"]
    assert {"credit_code", "report_year", "enterprise_kind"} <= set(fields)
    assert "外商投资企业" in fields["enterprise_kind"]["enum"]


def test_versions_exercise_the_life_cycle(sample: Catalogue) -> None:
    statuses = Counter(i.status for i in sample.items)
    assert statuses[ItemStatus.DRAFT] >= 2
    assert statuses[ItemStatus.PUBLISHED] >= 40
    pairs = [i.code for i in sample.items if i.status is ItemStatus.RETIRED]
    assert pairs
    for code in pairs:
        assert {v.status for v in sample.versions(code)} >= {ItemStatus.RETIRED,
                                                             ItemStatus.PUBLISHED}


def test_limits_and_flows_are_sensible(sample: Catalogue) -> None:
    for item in sample.items:
        assert item.promised_limit_days <= item.statutory_limit_days
        assert sum(s.limit_days for s in item.flow) <= item.promised_limit_days, item.code
        reviews = [s for s in item.flow if s.kind == "review"]
        assert 1 <= len(reviews) <= 3, item.code
        assert item.flow[0].role == "clerk" and item.flow[-2].role == "approver"
    shorter = [i for i in sample.items if i.promised_limit_days < i.statutory_limit_days]
    assert len(shorter) > len(sample.items) // 2


def test_fees_mostly_free_some_with_amounts(sample: Catalogue) -> None:
    charged = [i for i in sample.items if i.fees]
    assert 0 < len(charged) < len(sample.items) // 4
    assert any(f.amount_yuan is not None for i in charged for f in i.fees)
    assert any(f.amount_yuan is None and f.basis for i in charged for f in i.fees)


def test_forms_capture_structured_data_with_chinese_titles(sample: Catalogue) -> None:
    for item in sample.items:
        form = item.form_schema
        assert form["type"] == "object"
        properties = form["properties"]
        assert len(properties) >= 4, item.code
        assert set(form["required"]) <= set(properties)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p["title"])
                   for p in properties.values()), item.code
        # Not only attachments: numbers, enums, dates or booleans make statistics possible.
        structured = [p for p in properties.values()
                      if p.get("type") in ("number", "integer", "boolean", "array")
                      or "enum" in p or "format" in p]
        assert structured, item.code


def test_items_name_laws_and_materials(sample: Catalogue) -> None:
    for item in sample.items:
        assert item.legal_basis.startswith("《"), item.code
        assert item.materials and any(m.required for m in item.materials), item.code
        assert item.risk_points, item.code


def test_yaml_is_readable_chinese(sample: Catalogue) -> None:
    text = sample_yaml()
    assert "食品经营许可" in text and "\\u" not in text
    assert "&id" not in text and "*id" not in text
