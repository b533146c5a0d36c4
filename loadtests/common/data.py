"""Test data from the sample catalogue: valid IDs with correct check digits, real forms.

Example::

    >>> from loadtests.common.data import Applications
    >>> body = Applications(seed=1).annual_report()
    >>> body["item_code"]
    '320703-SCJGJ-QT-001'
"""

from __future__ import annotations

import random
from typing import Any

from sunlight.catalogue.sample import sample_catalogue
from sunlight.workflow.identity import generate_credit_code

ANNUAL_REPORT = "320703-SCJGJ-QT-001"  # 企业年度报告公示: the inspection-season item
ANNUAL_REPORT_MATERIAL = "企业年度报告（通过国家企业信用信息公示系统在线填报）"
PDF = b"%PDF-1.4\n% sunlight load material\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
KINDS = ("内资企业", "外商投资企业", "农民专业合作社", "个体工商户")


class Applications:
    """Generates valid annual-report applications (enterprise applicants)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.item_codes = [i.code for i in sample_catalogue().published()]

    def annual_report(self) -> dict[str, Any]:
        code = generate_credit_code(self.rng)
        name = f"连云港{self.rng.choice(['海州湾', '连岛', '云台', '墟沟'])}贸易有限公司"
        return {
            "item_code": ANNUAL_REPORT,
            "applicant": {"kind": "enterprise", "id_number": code, "name": name},
            "form": {"enterprise_name": name, "credit_code": code, "report_year": 2025,
                     "enterprise_kind": self.rng.choice(KINDS), "operating_status": "开业",
                     "employees": self.rng.randint(1, 500),
                     "revenue_wan_yuan": round(self.rng.uniform(10, 50000), 2)},
        }

    def item_code(self) -> str:
        return self.rng.choice(self.item_codes)
