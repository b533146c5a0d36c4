"""Legal supervision's figures: the aggregation's arithmetic over plain inputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from sunlight.enforcement.errors import (
    IllegalStep,
    InvalidRecord,
    OutOfBand,
    UnqualifiedOfficer,
    WrongStepRole,
)
from sunlight.enforcement.flow import Record
from sunlight.enforcement.oversight import (
    CaseCopy,
    ChallengeCopy,
    Figures,
    Refusal,
    aggregate,
    check_month,
    counted,
    month_of,
)
from sunlight.enforcement.review import Challenge

from .builders import (
    MAJOR,
    ORDINARY,
    d,
    decision,
    investigation,
    notice,
    opening,
    review,
    standard_records,
)

SCJG, GAF = "320703-SCJGJ", "320703-GAFJ"
OVERRIDE = "当事人拒不改正并造成严重后果，经集体讨论依法从重处罚"


def copy(records: list[Record], case_id: str, major: bool = True, department: str = SCJG,
         site: str = "320703", item: str = MAJOR) -> CaseCopy:
    return CaseCopy(site, department, case_id, item, major, tuple(records))


def refusal(code: str, month: str = "2026-03", department: str = SCJG,
            case_id: str | None = "c1", site: str = "320703") -> Refusal:
    return Refusal(site, department, MAJOR, case_id, code, "decide", month, "li.ju")


def challenge(kind: str, filed_on: date, outcome: str | None = None,
              decided_on: date | None = None, department: str = SCJG) -> ChallengeCopy:
    return ChallengeCopy("320703", department, "c1", Challenge(
        kind, filed_on, "连云港市人民政府", "xu.fa", outcome, decided_on,
        "xu.fa" if outcome else None))


def by_key(figures: list[Figures]) -> dict[tuple[str, str, str], Figures]:
    return {(f.site, f.department, f.month): f for f in figures}


def test_a_whole_month() -> None:
    overridden = standard_records(MAJOR)
    overridden[3] = review(override=OVERRIDE)
    cases = [
        copy(standard_records(MAJOR), "c1"),                      # reviewed, decided 3-13
        copy(overridden, "c2"),                                   # override 3-09, decided
        copy(standard_records(ORDINARY), "c3", major=False, item=ORDINARY),  # no review due
        copy(standard_records(MAJOR)[:3], "c4"),                  # notified, not decided
        copy(standard_records(MAJOR), "g1", department=GAF),
    ]
    refusals = [refusal("out_of_band"), refusal("out_of_band", case_id=None),
                refusal("unqualified_officer"), refusal("unqualified_officer", department=GAF),
                refusal("illegal_transition"), refusal("wrong_role"),
                refusal("out_of_band", month="2026-04")]
    challenges = [challenge("reconsideration", d(3, 20), "upheld", d(3, 30)),
                  challenge("reconsideration", d(3, 25)),
                  challenge("litigation", d(3, 26), "revoked", d(4, 15)),
                  challenge("reconsideration", d(2, 20), "changed", d(3, 5)),
                  challenge("reconsideration", d(2, 21), "changed", d(3, 6))]
    found = by_key(aggregate(cases, refusals, challenges, month="2026-03"))
    assert set(found) == {("320703", SCJG, "2026-03"), ("320703", GAF, "2026-03")}
    scjg = found["320703", SCJG, "2026-03"]
    assert (scjg.decisions, scjg.overrides, scjg.refused_out_of_band,
            scjg.refused_unqualified, scjg.missing_legal_review) == (3, 1, 2, 1, 0)
    assert scjg.filed == {"reconsideration": 2, "litigation": 1}
    assert scjg.outcomes == {"reconsideration": {"upheld": 1, "changed": 2}}
    (entry,) = scjg.override_entries
    assert (entry.case_id, entry.on, entry.reviewer, entry.justification) == (
        "c2", d(3, 9), "xu.fa", OVERRIDE)
    gaf = found["320703", GAF, "2026-03"]
    assert (gaf.decisions, gaf.overrides, gaf.refused_out_of_band, gaf.refused_unqualified,
            gaf.filed, gaf.outcomes) == (1, 0, 0, 1, {}, {})


def test_without_a_month_every_month_is_counted_in_the_month_of_its_date() -> None:
    late = [opening(), investigation(), notice(), review(override=OVERRIDE),
            decision(on=d(4, 2))]
    figures = aggregate([copy(late, "c1")], [refusal("out_of_band", "2026-05")],
                        [challenge("litigation", d(4, 20), "changed", d(6, 1))])
    assert [(f.month, f.decisions, f.overrides, f.refused_out_of_band, f.filed, f.outcomes)
            for f in figures] == [
        ("2026-03", 0, 1, 0, {}, {}),
        ("2026-04", 1, 0, 0, {"litigation": 1}, {}),
        ("2026-05", 0, 0, 1, {}, {}),
        ("2026-06", 0, 0, 0, {}, {"litigation": {"changed": 1}}),
    ]


def test_a_decision_on_a_major_item_without_a_passing_review_since_the_notice_is_missing(
        ) -> None:
    no_review = [opening(), investigation(), notice(), decision()]
    returned = [opening(), investigation(), notice(), review(outcome="return"),
                investigation(on=d(3, 10)), notice(on=d(3, 10)), decision(on=d(3, 18))]
    stale = [opening(), investigation(), notice(), review(),
             replace(notice(), on=d(3, 10)), decision(on=d(3, 18))]
    fine = standard_records(MAJOR)
    figures = aggregate([copy(no_review, "a"), copy(returned, "b"), copy(stale, "c"),
                         copy(fine, "d"), copy(no_review, "e", major=False)], [], [])
    (march,) = figures
    assert (march.decisions, march.missing_legal_review) == (5, 3)


def test_sites_are_kept_apart_and_sorted() -> None:
    figures = aggregate([copy(standard_records(), "x", site="320703"),
                         copy(standard_records(), "y", site="320700", department="320700-SCJGJ")],
                        [refusal("out_of_band", site="320700", department="320700-SCJGJ")], [])
    assert [(f.site, f.department, f.decisions, f.refused_out_of_band) for f in figures] == [
        ("320700", "320700-SCJGJ", 1, 1), ("320703", SCJG, 1, 0)]


def test_nothing_to_count() -> None:
    assert aggregate([], [], []) == []
    assert aggregate([copy(standard_records(), "c")], [], [], month="2026-07") == []


@pytest.mark.parametrize("bad", ["2026-3", "2026-13", "2026-00", "26-03", "2026/03", "",
                                 "2026-03-01", "0000-01", "1899-12", "2100-01"])
def test_a_month_is_yyyy_mm(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        check_month(bad)
    with pytest.raises(ValueError):
        aggregate([], [], [], month=bad)


def test_month_of() -> None:
    assert month_of(date(2026, 1, 31)) == "2026-01"
    assert check_month("2026-12") == "2026-12"


def test_which_refusals_are_counted() -> None:
    assert counted(OutOfBand("outside", band="[1, 2]"))
    assert counted(UnqualifiedOfficer("expired", certificate="1", why="expired"))
    assert not counted(IllegalStep("order"))
    assert not counted(WrongStepRole("role"))
    assert not counted(InvalidRecord("bad", field="x"))
