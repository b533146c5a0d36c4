"""Enforcement cases and legal supervision (执法办案 + 法制监督). Pure: no database, no web.

Items of the penalty, coercion, levy and inspection categories are not applied for: staff
open the case themselves (立案) and run it through a fixed procedure, with qualified
officers, inside the discretion band, under legal review where the item marks its
decisions as major. The modules are imported one by one; this package file imports none of
them (they need the ``domain`` extra: ``chinesecalendar``, ``python-stdnum``, ``openpyxl``).

- :mod:`.errors`     — the refusals and the HTTP status each maps to (409, 403, 422).
- :mod:`.party`      — the party (当事人): a person or a company, identifiers check-digited.
- :mod:`.discretion` — the band check with the legal-review override (自由裁量).
- :mod:`.officers`   — the officer registry (执法人员库): YAML and Excel, qualification.
- :mod:`.flow`       — the case: 立案 → 调查取证 → 告知 → 法制审核 → 决定 → 送达 → 执行 → 结案.
- :mod:`.decision`   — the penalty decision (行政处罚决定书): number, appeal deadlines, and
  the de-identified summary for public disclosure (行政处罚结果公示).

Example::

    >>> from sunlight.enforcement.flow import STEP_ROLES, Step
    >>> STEP_ROLES[Step.legal_review], STEP_ROLES[Step.decide]
    ('legal_reviewer', 'approver')
"""
