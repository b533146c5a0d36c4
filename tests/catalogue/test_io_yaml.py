"""YAML import/export: exact round trips, and errors that name the path and line."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sunlight.catalogue import Catalogue, CatalogueImportError, dump_yaml, load_yaml
from tests.catalogue.builders import catalogue_data, item_data, penalty_data


def _text(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _load_error(data: dict[str, Any] | str) -> CatalogueImportError:
    text = data if isinstance(data, str) else _text(data)
    with pytest.raises(CatalogueImportError) as info:
        load_yaml(text)
    return info.value


def test_round_trip_of_the_sample(sample: Catalogue) -> None:
    text = dump_yaml(sample)
    again = load_yaml(text)
    assert again == sample
    assert dump_yaml(again) == text


def test_round_trip_keeps_decimals_and_defaults() -> None:
    data = penalty_data(fees=[{"name": "工本费", "amount_yuan": "12.5", "basis": "按标准"},
                              {"name": "按标准收取", "amount_yuan": None}])
    cat = Catalogue.model_validate(catalogue_data(data))
    text = dump_yaml(cat)
    assert "amount_yuan: 12.50" in text and "amount_yuan: null" in text
    assert "min_yuan: 1000.00" in text
    again = load_yaml(text)
    fee = again.items[0].fees[0]
    assert str(fee.amount_yuan) == "12.50"
    assert again == cat


def test_chinese_is_written_as_is() -> None:
    cat = Catalogue.model_validate(catalogue_data(item_data()))
    text = dump_yaml(cat)
    assert "name: 测试许可" in text
    assert "连云区市场监督管理局" in text and "\\u" not in text


def test_hand_written_yaml_loads() -> None:
    text = _text(catalogue_data(item_data(category="行政许可")))
    assert load_yaml(text).items[0].category.zh == "行政许可"


def test_syntax_error_names_the_line() -> None:
    err = _load_error("departments: []\nitems:\n  - code: [unclosed\n")
    assert err.source == "yaml" and err.row == 4
    assert str(err).startswith("(document) (line 4): not valid YAML")


def test_bad_flow_role_names_path_and_line() -> None:
    data = catalogue_data(item_data(), item_data(code="320703-SCJGJ-XK-902"))
    data["items"][1]["flow"][1]["role"] = "boss"
    text = _text(data)
    err = _load_error(text)
    assert err.path == "items[1].flow[1].role"
    assert err.column == "role" and err.sheet is None
    assert err.row is not None and "role: boss" in text.splitlines()[err.row - 1]
    assert str(err).startswith(f"items[1].flow[1].role (line {err.row}): Input should be")


def test_promised_over_statutory() -> None:
    err = _load_error(catalogue_data(item_data(promised_limit_days=30)))
    assert err.path == "items[0].promised_limit_days"
    assert err.message == "must be ≤ statutory_limit_days (20)"


def test_wrong_type() -> None:
    err = _load_error(catalogue_data(item_data(statutory_limit_days="二十")))
    assert err.path == "items[0].statutory_limit_days"
    assert "valid integer" in err.message


def test_unknown_department_points_at_the_item_field() -> None:
    text = _text(catalogue_data(item_data(department="320703-ZJJ")))
    err = _load_error(text)
    assert err.path == "items[0].department"
    assert err.row is not None and "department: 320703-ZJJ" in text.splitlines()[err.row - 1]


def test_penalty_without_discretion() -> None:
    err = _load_error(catalogue_data(penalty_data(discretion=[])))
    assert err.path == "items[0].discretion"
    assert "penalty item needs at least one discretion standard" in err.message


def test_invalid_form_schema() -> None:
    err = _load_error(catalogue_data(item_data(form_schema={"type": "object",
                                                            "properties": []})))
    assert err.path == "items[0].form_schema"
    assert "not a valid JSON Schema at /properties" in err.message


def test_band_error_reaches_into_the_band() -> None:
    data = penalty_data()
    data["discretion"][0]["bands"][2]["max_yuan"] = "10"
    err = _load_error(catalogue_data(data))
    assert err.path == "items[0].discretion[0].bands[2].max_yuan"


def test_all_problems_are_reported() -> None:
    data = catalogue_data(item_data(promised_limit_days=30),
                          item_data(code="bad code", version=0))
    err = _load_error(data)
    paths = [p.path for p in err.all_problems]
    assert paths == ["items[0].promised_limit_days", "items[1].code", "items[1].version"]
    assert "(and 2 more problem(s))" in str(err)


def test_not_a_mapping() -> None:
    err = _load_error("- just\n- a list\n")
    assert err.path == "" and err.row == 1
    assert "(document)" in str(err)


def test_extra_key_is_rejected() -> None:
    data = catalogue_data(item_data(colour="red"))
    err = _load_error(data)
    assert err.path == "items[0].colour"
    assert "Extra inputs are not permitted" in err.message
