"""The sample journey (scenario, integration and load tests) fits the sample catalogue."""

from __future__ import annotations

import random

import pytest
from jsonschema import Draft202012Validator

from sunlight.catalogue import Catalogue, ItemStatus
from sunlight.catalogue.journey import (
    ANNUAL_REPORT,
    ANNUAL_REPORT_MATERIAL,
    PDF,
    annual_report_application,
    annual_report_form,
    annual_report_material,
)
from sunlight.workflow.identity import generate_credit_code, validate_applicant_id


def _errors(schema: dict[str, object], form: dict[str, object]) -> list[str]:
    # As the portal checks it: draft 2020-12 with formats (the email) asserted.
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [e.message for e in validator.iter_errors(form)]


def test_the_item_is_published(sample: Catalogue) -> None:
    item = sample.item(ANNUAL_REPORT)
    assert item.status is ItemStatus.PUBLISHED
    assert item in sample.published()


def test_the_material_is_the_items_required_one(sample: Catalogue) -> None:
    required = [m.name for m in sample.item(ANNUAL_REPORT).materials if m.required]
    assert ANNUAL_REPORT_MATERIAL in required
    upload = annual_report_material()
    assert upload["data"] == {"name": ANNUAL_REPORT_MATERIAL}
    name, content, mime = upload["files"]["file"]
    assert (name, content, mime) == ("report.pdf", PDF, "application/pdf")
    assert PDF.startswith(b"%PDF-") and len(PDF) < 1024


@pytest.mark.parametrize("seed", range(5))
def test_the_form_validates_against_the_items_schema(sample: Catalogue, seed: int) -> None:
    code = generate_credit_code(random.Random(seed))
    schema = sample.item(ANNUAL_REPORT).form_schema
    assert _errors(schema, annual_report_form(code)) == []
    assert _errors(schema, annual_report_form(code, "连云港连岛贸易有限公司",
                                              enterprise_kind="个体工商户",
                                              revenue_wan_yuan=12.5)) == []


def test_the_application_names_the_item_and_a_valid_applicant(sample: Catalogue) -> None:
    code = generate_credit_code(random.Random(1))
    body = annual_report_application(code, "连云港云台贸易有限公司", employees=3)
    assert body["item_code"] == ANNUAL_REPORT
    assert validate_applicant_id("enterprise", body["applicant"]["id_number"]) == code
    assert body["applicant"]["name"] == body["form"]["enterprise_name"] == "连云港云台贸易有限公司"
    assert body["form"]["employees"] == 3
    assert _errors(sample.item(ANNUAL_REPORT).form_schema, body["form"]) == []


def test_a_wrong_answer_is_caught_by_the_schema(sample: Catalogue) -> None:
    """The check above has teeth: an answer outside the schema is refused."""
    form = annual_report_form(generate_credit_code(random.Random(2)), operating_status="倒闭")
    assert _errors(sample.item(ANNUAL_REPORT).form_schema, form)
