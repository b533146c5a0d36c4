"""The data model: field rules, item rules and catalogue invariants."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from sunlight.catalogue import (
    Catalogue,
    Category,
    Department,
    DiscretionBand,
    DiscretionStandard,
    Fee,
    ItemStatus,
    PowerItem,
)
from sunlight.catalogue.errors import problems
from tests.catalogue.builders import catalogue_data, item_data, penalty_data


def _errors(data: dict[str, Any], model: type[PowerItem] | type[Catalogue] = PowerItem) -> list[
    tuple[tuple[str | int, ...], str]
]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return problems(info.value)


# -- categories and small models ----------------------------------------------------------


def test_twelve_categories_with_chinese_names() -> None:
    assert [c.value for c in Category] == [
        "licence", "non_licence_approval", "penalty", "coercion", "levy", "fee", "benefit",
        "inspection", "confirmation", "reward", "adjudication", "other",
    ]
    assert Category.LICENCE.zh == "行政许可"
    assert Category.NON_LICENCE_APPROVAL.zh == "非行政许可审批"
    assert Category.ADJUDICATION.zh == "行政裁决"
    assert Category.OTHER.zh == "其他"
    assert len({c.zh for c in Category}) == 12


def test_category_accepts_its_chinese_name_but_not_nonsense() -> None:
    assert Category("行政处罚") is Category.PENALTY
    with pytest.raises(ValueError):
        Category("行政罚款")


def test_statuses() -> None:
    assert [s.value for s in ItemStatus] == ["draft", "published", "retired"]


@pytest.mark.parametrize("code", ["320703SCJGJ", "32070-SCJGJ", "320703-scjgj", "320703-"])
def test_department_code_needs_division_and_abbreviation(code: str) -> None:
    with pytest.raises(ValidationError):
        Department(code=code, name="某局")


def test_amounts_are_normalised_to_fen() -> None:
    fee = Fee.model_validate({"name": "登记费", "amount_yuan": 80})
    assert fee.amount_yuan == Decimal("80") and str(fee.amount_yuan) == "80.00"
    assert Fee(name="按标准", amount_yuan=None).amount_yuan is None


@pytest.mark.parametrize("amount", ["0.001", "-1", "NaN", "abc"])
def test_bad_amounts_are_rejected(amount: str) -> None:
    with pytest.raises(ValidationError):
        Fee.model_validate({"name": "登记费", "amount_yuan": amount})


def test_band_min_must_not_exceed_max() -> None:
    with pytest.raises(ValidationError, match=r"must be ≥ min_yuan \(500.00\)"):
        DiscretionBand.model_validate(
            {"severity": "minor", "label": "轻微", "min_yuan": "500", "max_yuan": "100"})
    band = DiscretionBand.model_validate(
        {"severity": "minor", "label": "轻微", "min_yuan": "0", "max_yuan": "0"})
    assert band.min_yuan == band.max_yuan == 0


def _standard(*bands: tuple[str, str, str]) -> dict[str, Any]:
    return {"violation": "V01", "description": "违法行为",
            "bands": [{"severity": s, "label": "x", "min_yuan": lo, "max_yuan": hi}
                      for s, lo, hi in bands]}


def test_standard_rejects_repeated_severity_at_the_repeat() -> None:
    with pytest.raises(ValidationError) as info:
        DiscretionStandard.model_validate(_standard(("minor", "0", "1"), ("minor", "1", "2")))
    assert problems(info.value)[0][0] == ("bands", 1, "severity")


def test_standard_rejects_ranges_falling_with_severity() -> None:
    data = _standard(("serious", "100", "200"), ("minor", "0", "300"))
    with pytest.raises(ValidationError) as info:
        DiscretionStandard.model_validate(data)
    loc, message = problems(info.value)[0]
    assert loc == ("bands", 0, "max_yuan")
    assert "serious max_yuan 200.00 is below minor max_yuan 300.00" in message


def test_standard_allows_bands_in_any_order_and_gaps() -> None:
    std = DiscretionStandard.model_validate(
        _standard(("serious", "5000", "30000"), ("general", "500", "5000")))
    assert [b.severity for b in std.bands] == ["serious", "general"]


def test_standard_needs_a_band() -> None:
    with pytest.raises(ValidationError):
        DiscretionStandard.model_validate({"violation": "V01", "description": "x", "bands": []})


# -- power items --------------------------------------------------------------------------


def test_minimal_item_is_valid_and_frozen() -> None:
    item = PowerItem.model_validate(item_data())
    assert item.key == ("320703-SCJGJ-XK-901", 1)
    assert item.risk_points == []
    assert item.materials[0].required is True
    with pytest.raises(ValidationError):
        item.name = "改名"


def test_unknown_field_is_rejected() -> None:
    errors = _errors(item_data(colour="red"))
    assert errors[0][0] == ("colour",)


@pytest.mark.parametrize("code", ["ab-001", "-ABC", "AB", "A" * 41, "中文编码"])
def test_item_code_pattern(code: str) -> None:
    assert _errors(item_data(code=code))[0][0] == ("code",)


def test_promised_may_not_exceed_statutory() -> None:
    errors = _errors(item_data(statutory_limit_days=20, promised_limit_days=21))
    assert errors == [(("promised_limit_days",), "must be ≤ statutory_limit_days (20)")]


def test_promised_equal_to_statutory_is_fine() -> None:
    item = PowerItem.model_validate(item_data(promised_limit_days=20))
    assert item.promised_limit_days == item.statutory_limit_days


def test_blank_legal_basis_is_rejected() -> None:
    assert _errors(item_data(legal_basis="   "))[0][0] == ("legal_basis",)


def test_flow_role_must_be_a_staff_role() -> None:
    data = item_data()
    data["flow"][1]["role"] = "boss"
    assert _errors(data)[0][0] == ("flow", 1, "role")


def test_flow_shape_error_points_at_the_step() -> None:
    data = item_data()
    data["flow"][1]["kind"] = "decide"
    loc, message = _errors(data)[0]
    assert loc == ("flow", 1, "kind")
    assert message == "step 2 must be 'review', not 'decide'"


def test_flow_without_decide_before_close() -> None:
    data = item_data()
    data["flow"][2]["kind"] = "review"
    loc, message = _errors(data)[0]
    assert loc == ("flow", 2, "kind") and "decide" in message


def test_flow_step_limits_must_fit_the_statutory_limit() -> None:
    data = item_data(statutory_limit_days=10, promised_limit_days=5)
    data["flow"][1]["limit_days"] = 8  # running total 1+8+2 = 11 at the decide step
    loc, message = _errors(data)[0]
    assert loc == ("flow", 2, "limit_days")
    assert "more than statutory_limit_days (10)" in message


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "array"}, "type 'object'"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "not a valid JSON Schema"),
        ({"type": "object", "required": "a"}, "not a valid JSON Schema"),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}, "2020-12"),
        ({"type": "object", "default": Decimal("1")}, "not plain JSON"),
    ],
)
def test_form_schema_is_checked(schema: dict[str, Any], fragment: str) -> None:
    loc, message = _errors(item_data(form_schema=schema))[0]
    assert loc[0] == "form_schema"
    assert fragment in message


def test_penalty_needs_discretion() -> None:
    errors = _errors(penalty_data(discretion=[]))
    assert errors == [(("discretion",), "a penalty item needs at least one discretion standard")]


def test_only_penalties_have_discretion() -> None:
    data = item_data(discretion=penalty_data()["discretion"])
    loc, message = _errors(data)[0]
    assert loc == ("discretion",) and "only penalty items" in message


def test_violation_codes_are_unique_within_an_item() -> None:
    data = penalty_data()
    data["discretion"].append(dict(data["discretion"][0]))
    assert _errors(data)[0][0] == ("discretion", 1, "violation")


# -- catalogues ---------------------------------------------------------------------------


def test_catalogue_rejects_repeated_department() -> None:
    data = catalogue_data(item_data())
    data["departments"].append({"code": "320703-GAFJ", "name": "重复"})
    assert _errors(data, Catalogue)[0][0] == ("departments", 2, "code")


def test_catalogue_rejects_unknown_department() -> None:
    data = catalogue_data(item_data(), item_data(code="320703-ZJJ-XK-001",
                                                 department="320703-ZJJ"))
    loc, message = _errors(data, Catalogue)[0]
    assert loc == ("items", 1, "department")
    assert "'320703-ZJJ' is not in departments" in message


def test_catalogue_rejects_repeated_code_and_version() -> None:
    data = catalogue_data(item_data(status="draft"), item_data(status="draft"))
    assert _errors(data, Catalogue)[0][0] == ("items", 1, "version")


def test_catalogue_allows_one_published_version_per_code() -> None:
    data = catalogue_data(item_data(version=1), item_data(version=2))
    loc, message = _errors(data, Catalogue)[0]
    assert loc == ("items", 1, "status")
    assert "already has published version 1" in message


def test_item_lookup_prefers_published_then_latest() -> None:
    cat = Catalogue.model_validate(catalogue_data(
        item_data(version=1, status="retired"),
        item_data(version=2, status="published"),
        item_data(version=3, status="draft"),
        item_data(code="320703-SCJGJ-XK-902", version=1, status="retired"),
        item_data(code="320703-SCJGJ-XK-902", version=2, status="draft"),
    ))
    assert cat.item("320703-SCJGJ-XK-901").version == 2
    assert cat.item("320703-SCJGJ-XK-901", 3).status is ItemStatus.DRAFT
    assert cat.item("320703-SCJGJ-XK-902").version == 2
    assert [i.key for i in cat.published()] == [("320703-SCJGJ-XK-901", 2)]
    with pytest.raises(KeyError, match="no item"):
        cat.item("320703-NOPE-001")
    with pytest.raises(KeyError, match="no version 9"):
        cat.item("320703-SCJGJ-XK-901", 9)


def test_departments_by_code() -> None:
    cat = Catalogue.model_validate(catalogue_data())
    by_code = cat.departments_by_code()
    assert list(by_code) == ["320703-SCJGJ", "320703-GAFJ"]
    assert by_code["320703-GAFJ"].name == "连云港市公安局连云分局"
