"""The pages' Jinja2 environment: autoescaped HTML, hostile text made inert, dates in Chinese.

Every ``{{ value }}`` passes :func:`inert` before it is escaped: control characters and
the bidirectional-formatting characters (which could reorder what a reader sees, e.g.
U+202E) are shown as visible code points (``⟨U+202E⟩``) instead of acting. Markup in
values is escaped by the autoescaping; template syntax in values is never evaluated
(values are data, not templates).

Example::

    >>> env = environment("sunlight.runtime.pages")
    >>> env.from_string("{{ x }}").render(x="<b>\\u202e</b>")
    '&lt;b&gt;⟨U+202E⟩&lt;/b&gt;'
    >>> zh_datetime(datetime(2026, 12, 1, 6, 5, tzinfo=UTC))
    '2026年12月1日 14:05'
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from sunlight.runtime.clock import CHINA

#: C0/C1 controls except tab, newline and carriage return, DEL, and the Unicode
#: bidirectional formatting characters (LRM, RLM, ALM, LRE…RLO, LRI…PDI).
_HOSTILE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                      "\u202a-\u202e\u2066-\u2069]")


def inert(value: Any) -> Any:
    """``value`` with each control or bidirectional-formatting character replaced by a
    visible ``⟨U+XXXX⟩`` (Jinja's ``finalize``: applied to every printed value; markup
    the templates themselves built is left alone)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _HOSTILE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", value)
    return value


def _china(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CHINA)


def zh_datetime(value: datetime | None) -> str:
    """A moment as read in China: ``2026年12月1日 14:05`` (Asia/Shanghai; a naive value
    is taken as UTC, as the database stores it); empty for None."""
    if value is None:
        return ""
    local = _china(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def zh_date(value: date | datetime | None) -> str:
    """A day: ``2026年12月1日`` (a moment is first taken to Asia/Shanghai)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _china(value)
    return f"{value.year}年{value.month}月{value.day}日"


def zh_size(size: int | None) -> str:
    """A file size for people: ``980 字节``, ``12.3 KB``, ``4.5 MB``."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def environment(*packages: str) -> Environment:
    """An environment loading ``templates/`` of each package in ``packages`` (a role's
    first, so it may add pages), then the framework's own (``pages/base.html``,
    ``pages/forms.html``, ``pages/error.html``). Autoescaping is on for every HTML
    template and for templates made from strings; an undefined variable is an error."""
    loaders = [PackageLoader(name, "templates") for name in packages
               if name != __package__]
    loaders.append(PackageLoader(__package__ or "sunlight.runtime.pages", "templates"))
    env = Environment(loader=ChoiceLoader(loaders),
                      autoescape=select_autoescape(("html", "htm", "xml", "svg"),
                                                   default_for_string=True, default=True),
                      undefined=StrictUndefined, finalize=inert, trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    env.filters.update(zh_datetime=zh_datetime, zh_date=zh_date, zh_size=zh_size)
    return env
