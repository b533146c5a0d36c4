"""A lower tier's rules against the baseline published above: they may only tighten it.

The province publishes a baseline rule set; a city or county adopts it and may make it
stricter, never looser. :func:`check_tighten` lists every way ``local`` fails that, each
as a :class:`Violation` naming the baseline rule, the field and the reason; an empty list
means ``local`` tightens (or equals) the baseline. The rules:

- every baseline rule is still there, under the same id and condition kind;
- its light is the same or red instead of yellow; ``auto_order`` is not switched off;
- its scope covers at least the baseline's items and categories (none = every case;
  items are compared as codes — a local category that happens to hold a baseline item does
  not count, because the baseline may be published to sites with other catalogues);
- thresholds are only stricter: ``time_used`` warns at least as early (an ``overdue`` rule
  may become a warning window, never the other way round), ``too_fast`` watches the same
  span with at least as many minutes, ``repeated_correction`` allows at most as many
  requests, ``long_suspension`` at most as many days, ``same_person_accepts_and_decides``
  keeps ``refuse`` if the baseline refuses.

Rules of its own, texts and the version number are the lower tier's business.

Example::

    >>> from sunlight.supervision.rules import default_rules
    >>> baseline = default_rules()
    >>> check_tighten(baseline, default_rules("320703"))
    []
    >>> looser = baseline.model_copy(update={"rules": baseline.rules[1:]})
    >>> check_tighten(baseline, looser)
    [Violation(rule_id='TIME-WARN', field='id', reason='removed: a baseline rule must stay')]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sunlight.supervision.conditions import (
    Condition,
    LongSuspension,
    RepeatedCorrection,
    SamePersonAcceptsAndDecides,
    TimeUsed,
    TooFast,
)
from sunlight.supervision.rules import Rule, RuleSet, Scope

__all__ = ["Violation", "check_tighten"]


@dataclass(frozen=True)
class Violation:
    """A way the local rules relax the baseline: which rule, which field, why."""

    rule_id: str
    field: str
    reason: str


def check_tighten(baseline: RuleSet, local: RuleSet) -> list[Violation]:
    """Every way ``local`` removes or relaxes a rule of ``baseline``, in baseline order."""
    mine = {rule.id: rule for rule in local.rules}
    found: list[Violation] = []
    for base in baseline.rules:
        rule = mine.get(base.id)
        if rule is None:
            found.append(Violation(base.id, "id", "removed: a baseline rule must stay"))
            continue
        found.extend(Violation(base.id, field, reason)
                     for field, reason in _relaxations(base, rule))
    return found


def _relaxations(base: Rule, rule: Rule) -> Iterator[tuple[str, str]]:
    if base.light == "red" and rule.light == "yellow":
        yield "light", "relaxed from red to yellow"
    if base.auto_order and not rule.auto_order:
        yield "auto_order", "switched off: the baseline issues a 督办 order on this red light"
    yield from _scope(base.scope, rule.scope)
    if base.condition.kind != rule.condition.kind:
        yield ("condition.kind",
               f"changed from {base.condition.kind} to {rule.condition.kind}: a baseline rule "
               "keeps its condition (add a rule of your own instead)")
        return
    yield from (("condition." + field, reason)
                for field, reason in _condition(base.condition, rule.condition))


def _scope(base: Scope | None, scope: Scope | None) -> Iterator[tuple[str, str]]:
    if scope is None:
        return
    if base is None:
        yield "scope", "narrowed: the baseline watches every case"
        return
    lost_items = sorted(set(base.items) - set(scope.items))
    if lost_items:
        yield "scope.items", f"narrowed: no longer watches {', '.join(lost_items)}"
    lost = sorted(c.value for c in set(base.categories) - set(scope.categories))
    if lost:
        yield "scope.categories", f"narrowed: no longer watches {', '.join(lost)}"


def _condition(base: Condition, mine: Condition) -> Iterator[tuple[str, str]]:
    """Relaxed thresholds of two conditions of the same kind."""
    if isinstance(base, TimeUsed) and isinstance(mine, TimeUsed):
        yield from _time_used(base, mine)
    elif isinstance(base, TooFast) and isinstance(mine, TooFast):
        if (mine.from_step, mine.to_step) != (base.from_step, base.to_step):
            yield ("to_step" if mine.from_step == base.from_step else "from_step",
                   f"watches {mine.from_step} → {mine.to_step}, the baseline "
                   f"{base.from_step} → {base.to_step}")
        if mine.minutes < base.minutes:
            yield "minutes", f"{mine.minutes} is below the baseline's {base.minutes}"
    elif isinstance(base, RepeatedCorrection) and isinstance(mine, RepeatedCorrection):
        if mine.max_requests > base.max_requests:
            yield ("max_requests",
                   f"{mine.max_requests} is above the baseline's {base.max_requests}")
    elif isinstance(base, LongSuspension) and isinstance(mine, LongSuspension):
        if mine.days > base.days:
            yield "days", f"{mine.days} is above the baseline's {base.days}"
    elif (isinstance(base, SamePersonAcceptsAndDecides)
          and isinstance(mine, SamePersonAcceptsAndDecides)
          and base.policy == "refuse" and mine.policy == "light"):
        yield "policy", "relaxed from refuse to light: the baseline refuses the decision"


def _time_used(base: TimeUsed, mine: TimeUsed) -> Iterator[tuple[str, str]]:
    if base.overdue:
        return  # any warning window also fires once overdue
    if mine.overdue:
        yield "overdue", "fires only once overdue; the baseline warns before"
        return
    for field in ("remaining_days", "remaining_percent"):
        wanted: int | None = getattr(base, field)
        have: int | None = getattr(mine, field)
        if wanted is None:
            continue
        if have is None:
            yield field, f"left out; the baseline warns at {wanted}"
        elif have < wanted:
            yield field, f"{have} is below the baseline's {wanted}: it would warn later"
