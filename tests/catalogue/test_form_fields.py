"""An item's form as fields, read back from a web form and checked in Chinese (issue 17):
every sample schema gives fields a page can draw, and the checks are the API's own."""

from __future__ import annotations

from typing import Any

import pytest

from sunlight.catalogue import Catalogue
from sunlight.catalogue.form_fields import fields_of, form_errors, read_form, validator

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "企业名称", "minLength": 2, "maxLength": 10},
        "code": {"type": "string", "title": "代码", "pattern": "^[0-9]{6}$"},
        "kind": {"type": "string", "title": "类别", "enum": ["甲", "乙"]},
        "staff": {"type": "integer", "title": "人数", "minimum": 1, "maximum": 99},
        "area": {"type": "number", "title": "面积", "exclusiveMinimum": 0},
        "web": {"type": "boolean", "title": "有网站"},
        "day": {"type": "string", "format": "date", "title": "日期"},
        "mail": {"type": "string", "format": "email", "title": "邮箱"},
        "scope": {"type": "array", "title": "项目", "minItems": 1, "uniqueItems": True,
                  "items": {"type": "string", "enum": ["一", "二"]}},
        "owners": {"type": "array", "title": "股东", "minItems": 1, "items": {
            "type": "object", "properties": {
                "who": {"type": "string", "title": "姓名"},
                "share": {"type": "number", "title": "出资", "minimum": 0}},
            "required": ["who"]}},
        "facts": {"type": "string", "title": "事实", "maxLength": 2000},
    },
    "required": ["name", "kind", "scope", "owners"],
    "additionalProperties": False,
}


def test_each_kind_of_property_becomes_a_field() -> None:
    fields = {f.name: f for f in fields_of(SCHEMA)}
    assert {n: f.kind for n, f in fields.items()} == {
        "f.name": "text", "f.code": "text", "f.kind": "select", "f.staff": "integer",
        "f.area": "number", "f.web": "boolean", "f.day": "date", "f.mail": "email",
        "f.scope": "checkboxes", "f.owners": "group", "f.facts": "textarea"}
    assert fields["f.kind"].options == (("甲", "甲"), ("乙", "乙"))
    assert fields["f.name"].required and not fields["f.code"].required
    assert fields["f.staff"].hint == "不小于 1，不大于 99"
    assert [c.label for c in fields["f.owners"].children] == ["姓名", "出资"]
    assert fields["f.owners"].rows == 3


def test_every_sample_form_gives_labelled_fields(sample: Catalogue) -> None:
    for item in sample.published():
        fields = fields_of(item.form_schema)
        assert len(fields) == len(item.form_schema["properties"]), item.code
        assert all(f.label and not f.label.isascii() for f in fields), item.code


def test_a_posted_form_reads_back_as_the_schema_json() -> None:
    form, errors = read_form(SCHEMA, {
        "f.name": " 海州湾 ", "f.kind": "甲", "f.staff": "12", "f.area": "1.5",
        "f.web": "false", "f.day": "2026-12-01", "f.scope": ["一", "二"],
        "f.owners.0.who": "王芳", "f.owners.0.share": "10", "f.owners.1.who": "",
        "f.facts": "第一行\n第二行", "f.code": ""})
    assert errors == {}
    assert form == {"name": "海州湾", "kind": "甲", "staff": 12, "area": 1.5, "web": False,
                    "day": "2026-12-01", "scope": ["一", "二"],
                    "owners": [{"who": "王芳", "share": 10}], "facts": "第一行\n第二行"}
    assert form_errors(SCHEMA, form) == {}


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"f.name": "海"}, "f.name", "至少需要 2 个字符"),
    ({"f.name": "海" * 11}, "f.name", "最多 10 个字符"),
    ({"f.code": "12ab"}, "f.code", "格式不正确"),
    ({"f.kind": "丙"}, "f.kind", "请从给出的选项中选择"),
    ({"f.staff": "0"}, "f.staff", "不能小于 1"),
    ({"f.staff": "100"}, "f.staff", "不能大于 99"),
    ({"f.staff": "1.5"}, "f.staff", "请输入整数"),
    ({"f.area": "0"}, "f.area", "必须大于 0"),
    ({"f.area": "十"}, "f.area", "请输入数字"),
    ({"f.web": "也许"}, "f.web", "请选择是或否"),
    ({"f.day": "2026-13-01"}, "f.day", "请输入有效的日期（如 2026-12-01）"),
    ({"f.mail": "not-an-address"}, "f.mail", "请输入有效的电子邮箱"),
    ({"f.scope": ["三"]}, "f.scope", "请从给出的选项中选择"),
    ({"f.scope": []}, "f.scope", "请填写此项"),
    ({"f.owners.0.who": ""}, "f.owners", "请填写此项"),
    ({"f.owners.0.who": "", "f.owners.0.share": "5"}, "f.owners.0.who", "请填写此项"),
    ({"f.owners.0.share": "-1"}, "f.owners.0.share", "不能小于 0"),
    ({"f.name": ""}, "f.name", "请填写此项"),
])
def test_each_rule_speaks_chinese_under_its_field(values: dict[str, Any], field: str,
                                                  message: str) -> None:
    good = {"f.name": "海州湾", "f.kind": "甲", "f.scope": ["一"], "f.owners.0.who": "王芳"}
    form, errors = read_form(SCHEMA, {**good, **values})
    errors = {**form_errors(SCHEMA, form), **errors}
    assert errors.get(field) == message, errors


def test_the_pages_and_the_api_check_with_one_validator() -> None:
    # The API's check (service.validate_form) uses this validator: formats are checked.
    assert not validator(SCHEMA).is_valid({"name": "海州湾", "kind": "甲", "scope": ["一"],
                                           "owners": [{"who": "王"}], "day": "2026-02-30"})
    assert form_errors(SCHEMA, {"name": "海州湾", "kind": "甲", "scope": ["一"],
                                "owners": [{"who": "王"}], "extra": 1}) == {
        "f": "表单含有不认识的栏目"}
