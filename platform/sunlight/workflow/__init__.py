"""Case-workflow logic (行政权力运行): pure functions, no database and no web.

The modules are imported one by one (``from sunlight.workflow.machine import transition``);
this package file deliberately imports none of them, because :mod:`.deadlines` and
:mod:`.identity` need the ``server`` extra (``chinesecalendar``, ``python-stdnum``) and a
control-node install must still be able to import the state machine.

- :mod:`.deadlines` — working days with China's statutory holidays (法定/承诺时限).
- :mod:`.identity`  — applicant ID numbers: resident ID (GB 11643) and USCC (GB 32100).
- :mod:`.machine`   — the case state machine driven by an item's flow.
- :mod:`.audit`     — the per-site audit hash chain (网上留痕).
- :mod:`.receipts`  — receipt numbers and tracking secrets for applicants.

Example::

    >>> from sunlight.workflow.receipts import format_receipt
    >>> format_receipt("320703", __import__("datetime").date(2026, 11, 28), 123)
    '320703-20261128-000123'
"""
