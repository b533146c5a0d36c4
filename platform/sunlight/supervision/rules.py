"""A site's supervision rules (电子监察规则) as a versioned YAML file: models, import, export.

The file names the site (GB/T 2260 code) and the version, then lists the rules. Each rule
has an ``id``, a ``light`` (``yellow`` = 预警, ``red`` = 报警), a ``condition`` (one of
:mod:`sunlight.supervision.conditions`, chosen by ``kind``), a ``text`` in Chinese for
staff and supervisors, an optional ``scope`` (item codes and/or categories; none = every
case) and ``auto_order`` (a red rule that issues a 督办 order by itself)::

    site: '320000'
    version: 3
    rules:
    - id: TIME-OVERDUE
      light: red
      condition: {kind: time_used, overdue: true}
      text: 已超过承诺办结时限仍未办结。
      auto_order: true

:func:`load_rules` refuses a file *as a whole* on any problem — an unknown condition kind,
a threshold out of range, an unknown item code or category, a duplicate id — with a
:class:`RuleFileError` naming the rule id, the field, the YAML path and the line (every
problem found is in ``all_problems``). :func:`dump_rules` writes the stable form:
``dump_rules(load_rules(text)) == text`` for any text it wrote; a condition's thresholds are
written even at their default, so the file says what is in force. The shipped default rule
set is :func:`default_rules`.

Example::

    >>> rules = load_rules(default_rules_text(), "default_rules.yaml")
    >>> rules.site, rules.rule("TIME-OVERDUE").light
    ('320000', 'red')
    >>> dump_rules(rules) == default_rules_text()
    True
    >>> try:
    ...     load_rules("site: '320703'\\nversion: 1\\nrules:\\n- id: FAST\\n  light: red\\n"
    ...                "  condition: {kind: too_fast, minutes: 0}\\n  text: 过快\\n", "site.yaml")
    ... except RuleFileError as exc:
    ...     print(exc.where)
    ...     print(exc.message)
    site.yaml: rules[0].condition.minutes (line 6), rule FAST, field minutes
    Input should be greater than or equal to 1
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from importlib.resources import files
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sunlight.catalogue.errors import Loc, located, problems
from sunlight.catalogue.io_yaml import format_path
from sunlight.catalogue.model import ITEM_CODE_PATTERN, Category
from sunlight.supervision.conditions import CONDITION_KINDS, Condition
from sunlight.topology.division import check_code

__all__ = [
    "DEFAULT_RESOURCE",
    "HEADER",
    "RULE_ID_PATTERN",
    "Rule",
    "RuleFileError",
    "RuleLight",
    "RuleSet",
    "Scope",
    "default_rules",
    "default_rules_text",
    "dump_rules",
    "load_rules",
    "refusal",
]

HEADER = (
    "# Sunlight e-supervision rules (电子监察规则).\n"
    "# light: yellow = 预警, red = 报警. The schema is sunlight.supervision.rules; a file\n"
    "# is imported as a whole or refused as a whole.\n"
)
#: The default rule set shipped with the package (``sunlight/supervision/…``).
DEFAULT_RESOURCE = "default_rules.yaml"
RULE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,47}$"
#: The light a rule turns a case: yellow = 预警 (warning), red = 报警 (alarm).
RuleLight = Literal["yellow", "red"]
#: Widest one-line collection, in editor columns; longer ones are written in block style.
FLOW_WIDTH = 100

_FROZEN = ConfigDict(extra="forbid", frozen=True)
ItemCode = Annotated[str, Field(pattern=ITEM_CODE_PATTERN)]


def _site_text(value: object) -> object:
    if isinstance(value, int):
        raise ValueError(f"a site code is text: quote it in YAML ('{value}')")
    return value


SiteCode = Annotated[str, BeforeValidator(_site_text), AfterValidator(check_code)]


class Scope(BaseModel):
    """The cases a rule watches: those of the listed items, or of the listed categories."""

    model_config = _FROZEN

    items: tuple[ItemCode, ...] = ()
    categories: tuple[Category, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not self.items and not self.categories:
            raise located("a scope lists items, categories or both; leave it out to watch "
                          "every case", ())
        return self

    def covers(self, item_code: str, category: Category) -> bool:
        """Whether a case of this item and category is in scope."""
        return item_code in self.items or category in self.categories


class Rule(BaseModel):
    """One supervision rule."""

    model_config = _FROZEN

    id: str = Field(pattern=RULE_ID_PATTERN)
    light: RuleLight
    condition: Condition
    text: str = Field(min_length=1, max_length=200, pattern=r"\S")
    scope: Scope | None = None
    auto_order: bool = False

    @model_validator(mode="after")
    def _auto_order_on_red(self) -> Rule:
        if self.auto_order and self.light != "red":
            raise located("auto_order issues a 督办 on a red light; this rule is yellow",
                          ("auto_order",))
        return self

    def applies_to(self, item_code: str, category: Category) -> bool:
        """Whether the rule watches a case of this item and category."""
        return self.scope is None or self.scope.covers(item_code, category)


class RuleSet(BaseModel):
    """A site's rules in force, one version of its rule file."""

    model_config = _FROZEN

    site: SiteCode
    version: int = Field(ge=1)
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in seen:
                raise located(f"rule id {rule.id!r} appears twice (also rules[{seen[rule.id]}])",
                              ("rules", index, "id"))
            seen[rule.id] = index
        return self

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; :class:`KeyError` if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no rule with id {rule_id!r}")


class RuleFileError(ValueError):
    """A rule file was refused; the message names the rule, field, YAML path and line.

    ``line`` is 1-based; ``path`` is the YAML path (``rules[2].condition.minutes``, indices
    0-based); ``rule_id`` and ``field`` are ``None`` where the problem is not in a rule (or
    the rule has no readable id). ``all_problems`` lists every problem found, this one first.
    """

    def __init__(self, message: str, *, source_name: str, path: str | None = None,
                 line: int | None = None, rule_id: str | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.source_name = source_name
        self.path = path
        self.line = line
        self.rule_id = rule_id
        self.field = field
        self.all_problems: tuple[RuleFileError, ...] = (self,)
        super().__init__(self._render())

    @property
    def where(self) -> str:
        """The place alone, e.g. ``site.yaml: rules[0].id (line 4), rule FAST, field id``."""
        place = f"{self.source_name}: {self.path or '(document)'}"
        if self.line is not None:
            place += f" (line {self.line})"
        if self.rule_id is not None:
            place += f", rule {self.rule_id}"
        if self.field is not None:
            place += f", field {self.field}"
        return place

    def _render(self) -> str:
        return f"{self.where}: {self.message}"


def load_rules(text: str, source_name: str, known_items: Collection[str] | None = None,
               known_categories: Collection[str] | None = None) -> RuleSet:
    """Parse and check a rule file; raise :class:`RuleFileError` on any problem.

    ``known_items`` (item codes) and ``known_categories`` (category values or Chinese names),
    when given, are what a scope may name — the site's catalogue.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError(f"not valid YAML: {problem}", source_name=source_name,
                            line=mark.line + 1 if mark is not None else None) from exc
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        found = [(_tidy(loc), message) for loc, message in problems(exc)]
    else:
        found = list(_unknown_scope(ruleset, known_items, known_categories))
    if not found:
        return ruleset
    raise refusal(text, source_name, found)


def refusal(text: str, source_name: str, found: Sequence[tuple[Loc, str]]) -> RuleFileError:
    """The error refusing ``text`` for ``found`` (``(YAML path, message)`` pairs, at least
    one), each located as :func:`load_rules` locates its own: the first problem, with every
    one in ``all_problems``. For checks made outside this module on a file that loads (the
    site it names, the version in force, a baseline from above)."""
    data = yaml.safe_load(text)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    errors = [_error(source_name, root, data, loc, message) for loc, message in found]
    first = errors[0]
    first.all_problems = tuple(errors)
    if len(errors) > 1:
        first.args = (f"{first.args[0]} (and {len(errors) - 1} more problem(s))",)
    return first


def dump_rules(ruleset: RuleSet) -> str:
    """The rule file as stable YAML: header, model field order, UTF-8 Chinese."""
    doc: dict[str, Any] = {"site": ruleset.site, "version": ruleset.version,
                           "rules": [_rule_doc(rule) for rule in ruleset.rules]}
    body = yaml.dump(doc, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     default_flow_style=None, width=1_000, indent=2)
    return HEADER + body


def default_rules_text() -> str:
    """The default rule file's text, as shipped (package data)."""
    return files("sunlight.supervision").joinpath(DEFAULT_RESOURCE).read_text(encoding="utf-8")


def default_rules(site: str | None = None) -> RuleSet:
    """The default rule set, for ``site`` if given (it ships for province 320000)."""
    ruleset = load_rules(default_rules_text(), DEFAULT_RESOURCE)
    if site is None:
        return ruleset
    return RuleSet.model_validate({**ruleset.model_dump(), "site": site})


def _rule_doc(rule: Rule) -> dict[str, Any]:
    """One rule as a plain mapping: ``kind`` first; every threshold of the condition, even at
    its default, but no unset one and no false flag; the rule's own defaults left out."""
    doc = rule.model_dump(mode="json", exclude_defaults=True, exclude={"condition"})
    condition = {key: value for key, value
                 in rule.condition.model_dump(mode="json", exclude_none=True).items()
                 if key != "kind" and value is not False}
    ordered = {"id": doc.pop("id"), "light": doc.pop("light"),
               "condition": {"kind": rule.condition.kind, **condition}}
    return {**ordered, **doc}


def _unknown_scope(ruleset: RuleSet, known_items: Collection[str] | None,
                   known_categories: Collection[str] | None) -> Iterator[tuple[Loc, str]]:
    """Scope entries the site's catalogue does not know."""
    categories = None if known_categories is None else {Category(c) for c in known_categories}
    for index, rule in enumerate(ruleset.rules):
        if rule.scope is None:
            continue
        if known_items is not None:
            for position, code in enumerate(rule.scope.items):
                if code not in known_items:
                    yield (("rules", index, "scope", "items", position),
                           f"unknown item code {code!r}: not in this site's catalogue")
        if categories is not None:
            for position, category in enumerate(rule.scope.categories):
                if category not in categories:
                    yield (("rules", index, "scope", "categories", position),
                           f"unknown category {category.value!r} ({category.zh}): no item of "
                           "this site's catalogue has it")


def _tidy(loc: Loc) -> Loc:
    """Drop the union tag pydantic puts after ``condition``; point a bad tag at ``kind``."""
    parts = list(loc)
    for index, part in enumerate(parts[:-1]):
        if part == "condition" and parts[index + 1] in CONDITION_KINDS:
            del parts[index + 1]
            break
    return tuple(parts)


def _error(source_name: str, root: yaml.Node | None, data: Any, loc: Loc,
           message: str) -> RuleFileError:
    if loc and loc[-1] == "condition" and "tag" in message:
        # An unknown or missing kind: pydantic reports it at the condition itself.
        loc = (*loc, "kind")
        tag = re.match(r"Input tag '(.*)' found", message)
        said = f"unknown condition kind {tag.group(1)!r}" if tag else "the condition has no kind"
        message = f"{said}; known kinds: {', '.join(CONDITION_KINDS)}"
    field = next((p for p in reversed(loc) if isinstance(p, str)), None)
    return RuleFileError(message, source_name=source_name, path=format_path(loc) or None,
                         line=_line_of(root, loc), rule_id=_rule_id(data, loc), field=field)


def _rule_id(data: Any, loc: Loc) -> str | None:
    """The id of the rule ``loc`` points into, read from the raw document."""
    if len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return None
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list) or not 0 <= loc[1] < len(rules):
        return None
    rule = rules[loc[1]]
    rule_id = rule.get("id") if isinstance(rule, dict) else None
    return rule_id if isinstance(rule_id, str) else None


def _line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest part of ``loc`` in the document: a mapping key's line
    (where its field is written, even when the value is a block below), a list element's."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        node, line = found[1], found[0].start_mark.line + 1
    return line


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """(the node whose line names ``part``, the value under it), or None."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return key, value
    if (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
            and 0 <= part < len(node.value)):
        element: yaml.Node = node.value[part]
        return element, element
    return None


class _Dumper(yaml.SafeDumper):
    """Safe dumper: no anchors; a collection of scalars stays on one line while it is short."""

    def ignore_aliases(self, data: object) -> bool:
        return True

    def represent_sequence(self, tag: str, sequence: Iterable[Any],
                           flow_style: bool | None = None) -> yaml.SequenceNode:
        node = super().represent_sequence(tag, sequence, flow_style)
        _fit(node, node.value)
        return node

    def represent_mapping(self, tag: str, mapping: Any,
                          flow_style: bool | None = None) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        _fit(node, [part for pair in node.value for part in pair])
        return node


def _fit(node: yaml.CollectionNode, children: Sequence[yaml.Node]) -> None:
    if not node.flow_style:
        return
    # CJK characters take two columns in an editor.
    width = sum(sum(2 if ord(ch) >= 0x2E80 else 1 for ch in str(child.value)) + 2
                for child in children)
    if width > FLOW_WIDTH:
        node.flow_style = False
