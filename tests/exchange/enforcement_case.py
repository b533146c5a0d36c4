"""A penalty case of the sample catalogue as core stores it, and a session stub (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sunlight.catalogue import sample_catalogue
from sunlight.catalogue.model import PowerItem
from sunlight.enforcement import flow
from sunlight.enforcement.officers import load_registry, sample_registry_text
from sunlight.enforcement.party import Party
from sunlight.runtime.core.enforcement import record_to_json
from sunlight.runtime.core.enforcement_models import EnforcementCaseRow
from sunlight.runtime.core.models import Department

ITEM = "320703-SCJGJ-CF-001"  # a penalty item whose decisions are major
PERSON = Party("person", "张伟", "11010519491231002x", address="连云港市海州区某路1号")
COMPANY = Party("company", "连云港某某食品有限公司", "91110000600037341L",
                legal_representative="李四")
NOW = datetime(2026, 3, 13, 2, 0, tzinfo=UTC)


def item() -> PowerItem:
    return sample_catalogue().item(ITEM)


def records(party: Party, steps: int = 5) -> list[dict[str, Any]]:
    """The first ``steps`` records (立案 … 决定) of a case against ``party``, as stored."""
    wang = flow.Actor("wang", flow.OFFICER, "32070300101")
    facts = f"{party.name}（{party.id_number.lower()}）未取得食品经营许可经营食品"
    terms = flow.Terms("《中华人民共和国食品安全法》第一百二十二条第一款", facts, "V01",
                       "general", Decimal("70000"))
    history: list[flow.Record] = [
        flow.Opening(date(2026, 3, 2), wang, party, "投诉举报", f"{party.name}无证经营"),
        flow.Investigation(date(2026, 3, 4), wang, ("32070300101", "32070300102"),
                           (flow.Evidence("record", "现场笔录", "ab" * 32),),
                           f"经查，{party.name}无证经营"),
        flow.Notice(date(2026, 3, 5), wang, terms, 5, True),
        flow.LegalReview(date(2026, 3, 6), flow.Actor("li", flow.LEGAL_REVIEWER), "同意"),
        flow.Decision(date(2026, 3, 13), flow.Actor("zhao", flow.APPROVER), terms),
        flow.Service(date(2026, 3, 14), wang, "direct", party.name),
    ][:steps]
    case = flow.replay(item(), history, load_registry(sample_registry_text()))
    return [record_to_json(r) for r in case.history]


def row(party: Party, steps: int = 5) -> EnforcementCaseRow:
    stored = records(party, steps)
    return EnforcementCaseRow(
        id=uuid.UUID("5f0c1e2a-8d3b-4c6e-9a7f-0b1c2d3e4f50"), site="320703",
        department="320703-SCJGJ", item_code=ITEM, item_version=item().version,
        stage={1: "opened", 2: "investigated", 3: "notified", 4: "reviewed", 5: "decided",
               6: "served"}[steps],
        party_kind=party.kind, party_name=party.name, party_id_number=party.id_number,
        records=stored, band=None, override=False, registry_revision=1, opened_by="wang",
        opened_on=date(2026, 3, 2), created_at=NOW, updated_at=NOW)


class Session:
    """Just enough of a session for the outbox, the outbound feed and a department's name."""

    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, row: Any) -> None:
        self.added.append(row)

    def execute(self, *_args: Any) -> Any:  # the chain lock; the inbox's claim of an id
        class Claimed:
            def first(self) -> tuple[str]:
                return ("claimed",)
        return Claimed()

    def get(self, model: type[Any], key: Any) -> Any:
        assert model is Department
        return Department(code=key, name="连云港市海州区市场监督管理局")

    def of(self, model: type[Any]) -> list[Any]:
        return [r for r in self.added if isinstance(r, model)]
