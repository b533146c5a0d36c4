"""The workbook layout shared by the Excel reader and writer: sheets, columns, cell kinds.

Example::

    >>> SHEETS["flow"]
    ('item_code', 'item_version', 'kind', 'name', 'role', 'limit_days')
    >>> HEADER_ZH["promised_limit_days"]
    '承诺时限（工作日）'
"""

from __future__ import annotations

from typing import Literal

#: Sheet name → its columns, in order. Child sheets start with the item key.
SHEETS: dict[str, tuple[str, ...]] = {
    "departments": ("code", "name"),
    "items": (
        "code", "version", "status", "name", "category", "department", "legal_basis",
        "implementing_body", "statutory_limit_days", "promised_limit_days", "form_schema",
        "risk_points", "major_decision", "place", "contact_phone", "supervision_phone",
    ),
    "materials": ("item_code", "item_version", "name", "required", "note"),
    "fees": ("item_code", "item_version", "name", "amount_yuan", "basis"),
    "flow": ("item_code", "item_version", "kind", "name", "role", "limit_days"),
    "discretion": (
        "item_code", "item_version", "violation", "description", "severity", "label",
        "min_yuan", "max_yuan",
    ),
    # One row per blank form (格式文书); a file longer than a cell (its base64 past
    # BASE64_CELL_CHARS) continues on the next rows, part 2, 3 ..., which repeat the key
    # and the name.
    "blank_forms": (
        "item_code", "item_version", "name", "filename", "content_type", "part", "content",
    ),
}

#: Sheets a workbook may leave out (older workbooks predate them): no rows.
OPTIONAL_SHEETS: frozenset[str] = frozenset({"blank_forms"})
#: The base64 characters of a blank form one cell holds (Excel's limit is 32,767).
BASE64_CELL_CHARS = 32_000

#: Columns a workbook may leave out (older workbooks predate them): the field's default
#: applies to every row.
OPTIONAL_COLUMNS: frozenset[tuple[str, str]] = frozenset({
    ("items", "major_decision"), ("items", "place"), ("items", "contact_phone"),
    ("items", "supervision_phone"),
})

CellKind = Literal["text", "int", "decimal", "optional_decimal", "bool", "json", "json_list"]

#: How a cell's value is read; every other column is text.
KINDS: dict[str, CellKind] = {
    "version": "int",
    "item_version": "int",
    "statutory_limit_days": "int",
    "promised_limit_days": "int",
    "limit_days": "int",
    "part": "int",
    "amount_yuan": "optional_decimal",
    "min_yuan": "decimal",
    "max_yuan": "decimal",
    "required": "bool",
    "major_decision": "bool",
    "form_schema": "json",
    "risk_points": "json_list",
}

#: Chinese labels, shown as comments on the header cells.
HEADER_ZH: dict[str, str] = {
    "code": "编码",
    "name": "名称",
    "version": "版本",
    "status": "状态（draft 草稿 / published 已发布 / retired 已废止）",
    "category": "权力类别（英文代码或中文名称）",
    "department": "实施部门编码",
    "legal_basis": "法律依据",
    "implementing_body": "实施主体",
    "statutory_limit_days": "法定时限（工作日）",
    "promised_limit_days": "承诺时限（工作日）",
    "form_schema": "申请表单（JSON Schema 2020-12，JSON 文本）",
    "risk_points": "廉政风险点（JSON 数组）",
    "major_decision": "重大执法决定，须法制审核（TRUE/FALSE 或 是/否；空 = 否）",
    "item_code": "事项编码",
    "item_version": "事项版本",
    "required": "是否必需（TRUE/FALSE 或 是/否）",
    "note": "备注",
    "amount_yuan": "金额（元；空 = 按标准收取）",
    "basis": "收费依据",
    "kind": "环节（accept 受理 / review 审查 / decide 决定 / close 办结）",
    "role": "岗位（clerk 窗口 / reviewer 审核 / approver 审批）",
    "limit_days": "环节时限（工作日）",
    "violation": "违法行为编码",
    "description": "违法行为",
    "severity": "情节（minor / general / serious）",
    "label": "情节名称（轻微/一般/严重）",
    "min_yuan": "罚款下限（元）",
    "max_yuan": "罚款上限（元）",
    "place": "办理地点（含办公时间）",
    "contact_phone": "咨询电话",
    "supervision_phone": "监督电话",
    "filename": "文件名（含扩展名 .pdf .docx .xlsx .doc .xls）",
    "content_type": "文件类型（如 application/pdf）",
    "part": "分段序号（1 起；文件超过一格时续写下一行）",
    "content": "文件内容（Base64）",
}

#: Child sheet → the PowerItem list field its rows fill.
CHILD_FIELDS: dict[str, str] = {
    "materials": "materials",
    "fees": "fees",
    "flow": "flow",
    "discretion": "discretion",
    "blank_forms": "blank_forms",
}
