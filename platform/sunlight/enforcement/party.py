"""The party of an enforcement case (当事人): a person or a company, identifiers checked.

A person is named by the resident identity number (公民身份号码, GB 11643), a company (or
other organisation, or an individual business) by the unified social credit code
(统一社会信用代码, GB 32100); both are checked with their check digits by
:mod:`sunlight.workflow.identity` and kept in their compact form. A bad one is refused with
:class:`~sunlight.enforcement.errors.InvalidRecord` naming ``party.id_number``.

For public disclosure (行政处罚结果公示) a person's name and number are masked —
:func:`mask_name` keeps the surname (``张某``), :func:`mask_id` the six-digit region code
— while a company's name and credit code are public and stay.

Example::

    >>> p = Party(kind="person", name="张伟", id_number="11010519491231002x")
    >>> p.id_number, p.masked_name, p.masked_id
    ('11010519491231002X', '张某', '110105************')
    >>> c = Party(kind="company", name="连云港某某食品有限公司", id_number="91110000600037341L")
    >>> c.masked_name, c.masked_id
    ('连云港某某食品有限公司', '91110000600037341L')
    >>> try:
    ...     Party(kind="person", name="张伟", id_number="110105194912310021")
    ... except InvalidRecord as exc:
    ...     print(exc.field, "-", exc.reason)
    party.id_number - check digit does not match
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sunlight.enforcement.errors import InvalidRecord
from sunlight.workflow.identity import ApplicantIdError, validate_applicant_id

__all__ = ["PARTY_KINDS", "Party", "PartyKind", "mask_id", "mask_name"]

PartyKind = Literal["person", "company"]
PARTY_KINDS: tuple[PartyKind, ...] = ("person", "company")
#: Characters of a resident identity number kept when masked: the region code.
_KEPT_ID_CHARS = 6


def mask_name(name: str) -> str:
    """A person's name as disclosed: the surname (first character) and 某."""
    name = name.strip()
    return name[:1] + "某" if name else ""


def mask_id(number: str) -> str:
    """A resident identity number as disclosed: the region code, then asterisks."""
    return number[:_KEPT_ID_CHARS] + "*" * max(0, len(number) - _KEPT_ID_CHARS)


@dataclass(frozen=True)
class Party:
    """当事人. ``id_number`` is normalised (full-width to ASCII, spaces dropped, upper case);
    ``legal_representative`` (法定代表人) is for a company only."""

    kind: PartyKind
    name: str
    id_number: str
    address: str = ""
    legal_representative: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PARTY_KINDS:
            raise InvalidRecord(f"must be person or company, not {self.kind!r}",
                                field="party.kind")
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name:
            raise InvalidRecord("missing", field="party.name")
        if self.kind == "person" and self.legal_representative.strip():
            raise InvalidRecord("only a company has a legal representative",
                                field="party.legal_representative")
        try:
            number = validate_applicant_id("person" if self.kind == "person" else "enterprise",
                                           self.id_number, field="party.id_number")
        except ApplicantIdError as exc:
            raise InvalidRecord(str(exc).removeprefix(f"{exc.field}: "),
                                field=exc.field) from None
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "id_number", number)
        object.__setattr__(self, "address", self.address.strip())
        object.__setattr__(self, "legal_representative", self.legal_representative.strip())

    @property
    def id_label(self) -> str:
        """What the number is called on a document."""
        return "公民身份号码" if self.kind == "person" else "统一社会信用代码"

    @property
    def masked_name(self) -> str:
        """The name as disclosed: a person's masked, a company's as it is."""
        return mask_name(self.name) if self.kind == "person" else self.name

    @property
    def masked_id(self) -> str:
        """The number as disclosed: a person's masked, a company's credit code as it is."""
        return mask_id(self.id_number) if self.kind == "person" else self.id_number
