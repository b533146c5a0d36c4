"""The site's supervision rules in the core database: import (checked as a whole), export,
the rules in force, and the baselines published above that they may only tighten.

Each import is a new revision of ``supervision_rule_sets`` holding the file verbatim, who
imported it and when; exactly one revision is in force (none: the shipped defaults,
:func:`sunlight.supervision.rules.default_rules`, re-sited here). A file is refused as a
whole — nothing changes — with every problem located by rule, field, YAML path and line
(:class:`~sunlight.supervision.rules.RuleFileError`) when it does not load, names an item
code or category this site's catalogue does not have, names another site, is older than
the version in force, or relaxes a baseline published by an ancestor
(:func:`sunlight.supervision.tighten.check_tighten` against the newest baseline of each
ancestor, kept in ``data_baselines`` by :mod:`sunlight.runtime.core.baselines`).

The rules in force are read on every transition; the parsed rule set is cached per
revision, so a transition costs one indexed query for them.

Example::

    >>> result = import_rules(session, "320703", text, "county.yaml", "admin",
    ...                       now=clock.now())  # doctest: +SKIP
    >>> result.revision, result.version  # doctest: +SKIP
    (3, 4)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sunlight.runtime.core.audit_store import record as audit
from sunlight.runtime.core.baselines import RULES_KIND, newest_from_ancestors
from sunlight.runtime.core.models import Item, SupervisionRuleSet
from sunlight.supervision.rules import (
    DEFAULT_RESOURCE,
    RuleFileError,
    RuleSet,
    default_rules,
    dump_rules,
    load_rules,
    refusal,
)
from sunlight.supervision.tighten import check_tighten

__all__ = ["ImportResult", "InForce", "RuleFileError", "check_rules", "export_rules",
           "import_rules", "in_force", "revisions"]

_RULES_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('sunlight-supervision-rules'))")


@dataclass(frozen=True)
class InForce:
    """The rules in force: the revision imported (``None``: the shipped defaults)."""

    revision: int | None
    rules: RuleSet
    source: str


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the revision in force now, and whether it is a new one."""

    revision: int
    version: int
    rules: int
    changed: bool


@lru_cache(maxsize=16)
def _defaults(site: str) -> RuleSet:
    return default_rules(site)


#: Parsed revisions by (revision, sha256): a revision's text never changes once stored.
_PARSED: dict[tuple[int, str], RuleSet] = {}


def in_force(session: Session, site: str) -> InForce:
    """The rules in force at ``site`` (one small query; parsing is cached per revision)."""
    row = session.execute(select(SupervisionRuleSet.revision, SupervisionRuleSet.sha256)
                          .where(SupervisionRuleSet.in_force.is_(True))).first()
    if row is None:
        return InForce(None, _defaults(site), DEFAULT_RESOURCE)
    key = (int(row[0]), str(row[1]))
    rules = _PARSED.get(key)
    if rules is None:
        body = session.scalar(select(SupervisionRuleSet.text)
                              .where(SupervisionRuleSet.revision == key[0]))
        assert body is not None
        # Checked against the catalogue when imported; not again here (the catalogue may
        # have changed since: a rule on a retired item simply never fires).
        rules = load_rules(body, f"revision {key[0]}")
        if len(_PARSED) > 32:
            _PARSED.clear()
        _PARSED[key] = rules
    return InForce(key[0], rules, f"revision {key[0]}")


def _catalogue(session: Session) -> tuple[set[str], set[str]]:
    """Item codes and categories of this site's catalogue (every stored version)."""
    rows = session.execute(select(Item.code, Item.category).distinct()).all()
    return {code for code, _ in rows}, {category for _, category in rows}


def check_rules(session: Session, site: str, body: str, source_name: str) -> RuleSet:
    """Load ``body`` and check it against this site: its catalogue, its code, the version in
    force and the baselines from above. Raise :class:`RuleFileError` naming every problem."""
    items, categories = _catalogue(session)
    ruleset = load_rules(body, source_name, known_items=items, known_categories=categories)
    found: list[tuple[tuple[str | int, ...], str]] = []
    if ruleset.site != site:
        found.append((("site",), f"the file is for site {ruleset.site}; this site is {site}"))
    current = in_force(session, site)
    if current.revision is not None and ruleset.version < current.rules.version:
        found.append((("version",), f"version {ruleset.version} is older than the rules in "
                                    f"force (version {current.rules.version}, "
                                    f"{current.source}); number a new file above it"))
    index = {rule.id: n for n, rule in enumerate(ruleset.rules)}
    for baseline in newest_from_ancestors(session, site, RULES_KIND):
        base = load_rules(baseline.text, f"baseline {baseline.issuer} v{baseline.version}")
        for v in check_tighten(base, ruleset):
            where: tuple[str | int, ...] = ("rules",)
            if v.rule_id in index:
                where = ("rules", index[v.rule_id], *v.field.split("."))
            found.append((where, f"relaxes rule {v.rule_id} of the baseline of "
                                 f"{baseline.issuer} (version {baseline.version}), field "
                                 f"{v.field}: {v.reason}"))
    if found:
        raise refusal(body, source_name, found)
    return ruleset


def import_rules(session: Session, site: str, body: str, source_name: str, actor: str, *,
                 now: datetime, check_only: bool = False) -> ImportResult:
    """Check ``body`` as a whole and, unless ``check_only``, put it in force (a new revision,
    audited); the same text as the one in force changes nothing. The lights follow at the
    next tick. Raise :class:`RuleFileError` (nothing stored) on any problem."""
    session.execute(_RULES_LOCK)  # imports take turns: one revision in force at a time
    ruleset = check_rules(session, site, body, source_name)
    sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
    current = session.scalars(select(SupervisionRuleSet)
                              .where(SupervisionRuleSet.in_force.is_(True))).first()
    if current is not None and current.sha256 == sha:
        return ImportResult(current.revision, current.version, len(ruleset.rules), False)
    if check_only:
        return ImportResult(current.revision + 1 if current else 1, ruleset.version,
                            len(ruleset.rules), True)
    if current is not None:
        current.in_force = False
        session.flush()  # the partial unique index admits one row in force
    row = SupervisionRuleSet(site=site, version=ruleset.version, text=body, sha256=sha,
                             source_name=source_name[:200], imported_by=actor,
                             imported_at=now, in_force=True)
    session.add(row)
    session.flush()
    audit(session, site, actor=actor, role="admin", entity="supervision_rules",
          entity_id=f"{site}@{row.revision}", action="import",
          from_state=f"revision {current.revision}" if current else "defaults",
          to_state=f"revision {row.revision}",
          comment=f"version {ruleset.version}, {len(ruleset.rules)} rules "
                  f"({', '.join(r.id for r in ruleset.rules)}), sha256 {sha}, {source_name}")
    return ImportResult(row.revision, ruleset.version, len(ruleset.rules), True)


def export_rules(session: Session, site: str) -> str:
    """The rules in force in the stable form (:func:`~sunlight.supervision.rules.dump_rules`):
    importing it and exporting again gives the same bytes."""
    return dump_rules(in_force(session, site).rules)


def revisions(session: Session) -> list[SupervisionRuleSet]:
    """Every imported revision, newest first."""
    return list(session.scalars(select(SupervisionRuleSet)
                                .order_by(SupervisionRuleSet.revision.desc())))

