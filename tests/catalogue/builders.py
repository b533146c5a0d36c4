"""Builders of plain test data: a minimal valid item, penalty item and catalogue."""

from __future__ import annotations

import copy
from typing import Any

DEPT = "320703-SCJGJ"

_ITEM: dict[str, Any] = {
    "code": "320703-SCJGJ-XK-901",
    "version": 1,
    "status": "published",
    "name": "测试许可",
    "category": "licence",
    "department": DEPT,
    "legal_basis": "《中华人民共和国行政许可法》第十二条",
    "implementing_body": "连云区市场监督管理局",
    "materials": [{"name": "申请书"}],
    "statutory_limit_days": 20,
    "promised_limit_days": 10,
    "fees": [],
    "flow": [
        {"kind": "accept", "name": "受理", "role": "clerk", "limit_days": 1},
        {"kind": "review", "name": "审查", "role": "reviewer", "limit_days": 5},
        {"kind": "decide", "name": "决定", "role": "approver", "limit_days": 2},
        {"kind": "close", "name": "办结", "role": "clerk", "limit_days": 1},
    ],
    "form_schema": {
        "type": "object",
        "title": "申请表",
        "properties": {"enterprise_name": {"type": "string", "title": "企业名称"}},
        "required": ["enterprise_name"],
    },
    "discretion": [],
}

_DISCRETION: list[dict[str, Any]] = [
    {
        "violation": "V01",
        "description": "不按规定明码标价",
        "bands": [
            {"severity": "minor", "label": "轻微", "min_yuan": "0", "max_yuan": "1000"},
            {"severity": "general", "label": "一般", "min_yuan": "1000", "max_yuan": "3000"},
            {"severity": "serious", "label": "严重", "min_yuan": "3000", "max_yuan": "5000"},
        ],
    }
]


def item_data(**overrides: Any) -> dict[str, Any]:
    """A valid licence item as plain data, with ``overrides`` applied."""
    data = copy.deepcopy(_ITEM)
    data.update(copy.deepcopy(overrides))
    return data


def penalty_data(**overrides: Any) -> dict[str, Any]:
    """A valid penalty item (one violation, three bands) as plain data."""
    base = {
        "code": "320703-SCJGJ-CF-901",
        "name": "对不按规定明码标价的行政处罚",
        "category": "penalty",
        "discretion": copy.deepcopy(_DISCRETION),
        "statutory_limit_days": 90,
        "promised_limit_days": 60,
    }
    return item_data(**{**base, **overrides})


def catalogue_data(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "departments": [
            {"code": DEPT, "name": "连云区市场监督管理局"},
            {"code": "320703-GAFJ", "name": "连云港市公安局连云分局"},
        ],
        "items": list(items),
    }
