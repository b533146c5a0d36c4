"""E-supervision (电子监察): rules as data and the lights they give a case. Pure: no database.

A site's supervision rules are a versioned YAML file; each rule has an id, a condition, a
light (yellow = 预警, red = 报警) and a Chinese text. The code evaluates them against a
case's facts with an injected clock. The modules are imported one by one; this package
file imports none of them (they need the ``domain`` extra: ``chinesecalendar``).

- :mod:`.conditions` — the condition kinds and their thresholds.
- :mod:`.rules`      — the rule file: models, import (checked as a whole), export, defaults.
- :mod:`.tighten`    — a lower tier's rules may only tighten the baseline from above.
- :mod:`.facts`      — what the rules look at in one case.
- :mod:`.evaluate`   — the case's light and the rules that fired.

Example::

    >>> from sunlight.supervision.rules import default_rules
    >>> [rule.id for rule in default_rules().rules if rule.light == "red"]
    ['TIME-OVERDUE', 'OFF-FLOW', 'SAME-PERSON', 'DISCRETION-OVERRIDE']
"""
