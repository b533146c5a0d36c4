"""The sample journey: an enterprise files its annual report (企业年度报告公示).

One item of the sample catalogue drives the demo scenario, the integration tests and the
load tests alike: its code, its required material, a small PDF and the form. The apply
steps are create the draft → upload the material → submit; each caller makes the
HTTP calls with its own client, the request bodies come from here::

    POST /api/v1/applications                       json=annual_report_application(...)
                                                    -> {"draft_id", "secret", ...}
    POST /api/v1/applications/{draft_id}/materials  **annual_report_material()
    POST /api/v1/applications/{draft_id}/submit     -> {"receipt", ...}

The receipt number (受理回执号) is issued at submission; the case is tracked with it.

Pure data: no web client, no database (a unit test checks it against the sample catalogue).

Example::

    >>> body = annual_report_application("91320703MA1W2X3Y4K", employees=30)
    >>> body["item_code"], body["applicant"]["kind"], body["form"]["employees"]
    ('320703-SCJGJ-QT-001', 'enterprise', 30)
    >>> annual_report_material()["data"] == {"name": ANNUAL_REPORT_MATERIAL}
    True
"""

from __future__ import annotations

from typing import Any

ANNUAL_REPORT = "320703-SCJGJ-QT-001"  # 企业年度报告公示: the annual-inspection peak item
ANNUAL_REPORT_MATERIAL = "企业年度报告（通过国家企业信用信息公示系统在线填报）"  # required
PDF = b"%PDF-1.4\n% sunlight sample material\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
ENTERPRISE = "连云港海州湾贸易有限公司"


def annual_report_form(credit_code: str, name: str = ENTERPRISE,
                       **fields: Any) -> dict[str, Any]:
    """The annual-report form of enterprise ``name``; ``fields`` add or replace answers."""
    return {"enterprise_name": name, "credit_code": credit_code, "report_year": 2025,
            "enterprise_kind": "内资企业", "operating_status": "开业", "employees": 12,
            "email": "office@example.com", "has_website": False, **fields}


def annual_report_application(credit_code: str, name: str = ENTERPRISE,
                              **fields: Any) -> dict[str, Any]:
    """The body that creates the application (the enterprise applies for itself)."""
    return {"item_code": ANNUAL_REPORT,
            "applicant": {"kind": "enterprise", "id_number": credit_code, "name": name},
            "form": annual_report_form(credit_code, name, **fields)}


def annual_report_material(filename: str = "report.pdf",
                           content: bytes = PDF) -> dict[str, Any]:
    """Keyword arguments of the upload (``client.post(url, **annual_report_material())``):
    the required material's name and the file, for httpx and requests (Locust) alike."""
    return {"data": {"name": ANNUAL_REPORT_MATERIAL},
            "files": {"file": (filename, content, "application/pdf")}}


__all__ = ["ANNUAL_REPORT", "ANNUAL_REPORT_MATERIAL", "ENTERPRISE", "PDF",
           "annual_report_application", "annual_report_form", "annual_report_material"]
