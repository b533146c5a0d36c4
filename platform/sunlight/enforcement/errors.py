"""The refusals of enforcement: each carries a reason a person can act on and its HTTP status.

They mirror :class:`sunlight.workflow.machine.IllegalTransition` and ``WrongRole`` (a
``reason``; the step tried and the case's status, when there is a case), and add what the
runtime needs to answer without a table of its own: ``http_status`` (409 not now / not in
this order, 403 not you, 422 bad input), a stable ``code`` and, for bad input, the
``field``. Nothing is stored when one is raised: every function of this package returns a
new value or raises.

============================ ====== =====================================================
class                        status when
============================ ====== =====================================================
:class:`IllegalStep`         409    wrong order, a skipped mandatory step (法制审核), a date
                                    before 立案 or the previous step, a decision inside the
                                    waiting period, heavier than notified
:class:`OutOfBand`           409    the amount lies outside the discretion band and no
                                    legal-review override covers it
:class:`WrongStepRole`       403    the step is for another role, or separation of duties
:class:`UnqualifiedOfficer`  403    an officer unknown to the registry, out of area,
                                    expired or not yet valid
:class:`InvalidRecord`       422    a bad amount, identifier, blank text, one officer
============================ ====== =====================================================

Example::

    >>> err = InvalidRecord("at least two officers must be named", field="officers")
    >>> err.http_status, err.code, str(err)
    (422, 'invalid_input', 'officers: at least two officers must be named')
    >>> issubclass(OutOfBand, IllegalStep), OutOfBand.http_status
    (True, 409)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "EnforcementError",
    "IllegalStep",
    "InvalidRecord",
    "OutOfBand",
    "UnqualifiedOfficer",
    "WrongStepRole",
]


class EnforcementError(ValueError):
    """A refused enforcement step (base class; catch it to map every refusal at once).

    ``step`` and ``status`` are the step tried and the case's status, as plain strings
    (``None`` where no case is involved, e.g. a party checked on its own); ``field`` names
    the input at fault, dotted (``decision.amount_yuan``, ``officers[1]``), when one is.
    """

    http_status: ClassVar[int] = 409
    code: ClassVar[str] = "illegal_transition"

    def __init__(self, reason: str, *, field: str | None = None, step: str | None = None,
                 status: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field
        self.step = step
        self.status = status


class IllegalStep(EnforcementError):
    """Not allowed now or in this order (HTTP 409)."""


class OutOfBand(IllegalStep):
    """The amount is outside the discretion band and no override covers it (HTTP 409).

    ``band`` names it as :func:`sunlight.catalogue.discretion.describe_band` does.
    """

    code: ClassVar[str] = "out_of_band"

    def __init__(self, reason: str, *, band: str, field: str | None = None,
                 step: str | None = None, status: str | None = None) -> None:
        super().__init__(reason, field=field, step=step, status=status)
        self.band = band


class WrongStepRole(EnforcementError):
    """The step is allowed now, but not for this role or this person (HTTP 403)."""

    http_status: ClassVar[int] = 403
    code: ClassVar[str] = "wrong_role"


class UnqualifiedOfficer(EnforcementError):
    """An officer may not act here (执法资格): unknown, out of area, expired (HTTP 403).

    ``certificate`` is the certificate number (执法证号) at fault; ``why`` is
    ``"missing"``, ``"unknown"``, ``"out_of_area"``, ``"not_yet_valid"`` or ``"expired"``.
    """

    http_status: ClassVar[int] = 403
    code: ClassVar[str] = "unqualified_officer"

    def __init__(self, reason: str, *, certificate: str, why: str, field: str | None = None,
                 step: str | None = None, status: str | None = None) -> None:
        super().__init__(reason, field=field, step=step, status=status)
        self.certificate = certificate
        self.why = why


class InvalidRecord(EnforcementError):
    """The input itself is wrong: the ``field`` and why (HTTP 422)."""

    http_status: ClassVar[int] = 422
    code: ClassVar[str] = "invalid_input"
