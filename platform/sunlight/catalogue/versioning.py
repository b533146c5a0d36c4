"""Item versions: draft → published → retired, as pure functions on a catalogue.

When a law changes, the department copies the item in force into a new draft, edits it,
and publishes it; the version it replaces is retired in the same move, so a code never has
two versions in force. Every function returns a new :class:`Catalogue` and leaves its
argument untouched; an illegal move raises :class:`VersioningError` saying why.

Example::

    >>> from sunlight.catalogue import sample_catalogue
    >>> cat = sample_catalogue()
    >>> code = "320703-SCJGJ-XK-001"
    >>> [(i.version, i.status.value) for i in cat.versions(code)]
    [(1, 'published'), (2, 'draft')]
    >>> cat = publish(cat, code, 2)
    >>> [(i.version, i.status.value) for i in cat.versions(code)]
    [(1, 'retired'), (2, 'published')]
"""

from __future__ import annotations

from sunlight.catalogue.model import Catalogue, ItemStatus, PowerItem


class VersioningError(ValueError):
    """A version move that the life cycle does not allow."""


def publish(catalogue: Catalogue, code: str, version: int) -> Catalogue:
    """Put a draft in force; the version in force until now (if any) is retired."""
    target = _get(catalogue, code, version)
    if target.status is ItemStatus.PUBLISHED:
        raise VersioningError(f"{_label(target)} is already published")
    if target.status is ItemStatus.RETIRED:
        raise VersioningError(
            f"{_label(target)} is retired and cannot be published again; "
            "make a new draft from it instead"
        )
    current = _published(catalogue, code)
    if current is not None and current.version > version:
        raise VersioningError(
            f"cannot publish {_label(target)} over the newer published version "
            f"{current.version}"
        )
    changes = {target.key: ItemStatus.PUBLISHED}
    if current is not None:
        changes[current.key] = ItemStatus.RETIRED
    return _with_statuses(catalogue, changes)


def retire(catalogue: Catalogue, code: str, version: int) -> Catalogue:
    """Take a published version out of force, leaving the code with none in force."""
    target = _get(catalogue, code, version)
    if target.status is ItemStatus.RETIRED:
        raise VersioningError(f"{_label(target)} is already retired")
    if target.status is ItemStatus.DRAFT:
        raise VersioningError(
            f"{_label(target)} is a draft that was never in force; discard it instead"
        )
    return _with_statuses(catalogue, {target.key: ItemStatus.RETIRED})


def new_draft(catalogue: Catalogue, code: str) -> Catalogue:
    """Copy the latest version of ``code`` as a new draft with the next version number."""
    versions = catalogue.versions(code)
    if not versions:
        raise VersioningError(f"no item with code {code!r}")
    drafts = [i for i in versions if i.status is ItemStatus.DRAFT]
    if drafts:
        raise VersioningError(
            f"{_label(drafts[0])} is already a draft; edit or publish it first"
        )
    latest = versions[-1]
    draft = latest.model_copy(update={"version": latest.version + 1,
                                      "status": ItemStatus.DRAFT})
    return Catalogue(departments=catalogue.departments, items=[*catalogue.items, draft])


def update_draft(catalogue: Catalogue, item: PowerItem) -> Catalogue:
    """Replace the draft with the same code and version by ``item`` (edited, still a draft)."""
    current = _get(catalogue, item.code, item.version)
    if current.status is not ItemStatus.DRAFT:
        raise VersioningError(f"{_label(current)} is {current.status.value}; only drafts change")
    if item.status is not ItemStatus.DRAFT:
        raise VersioningError(
            f"the replacement for {_label(current)} must be a draft; use publish() to publish"
        )
    items = [item if i.key == item.key else i for i in catalogue.items]
    return Catalogue.model_validate({"departments": catalogue.departments, "items": items})


def discard_draft(catalogue: Catalogue, code: str, version: int) -> Catalogue:
    """Drop a draft; published and retired versions are history and are never dropped."""
    target = _get(catalogue, code, version)
    if target.status is not ItemStatus.DRAFT:
        raise VersioningError(
            f"{_label(target)} is {target.status.value}; only drafts can be discarded"
        )
    items = [i for i in catalogue.items if i.key != target.key]
    return Catalogue(departments=catalogue.departments, items=items)


def _get(catalogue: Catalogue, code: str, version: int) -> PowerItem:
    try:
        return catalogue.item(code, version)
    except KeyError as exc:
        raise VersioningError(exc.args[0]) from exc


def _published(catalogue: Catalogue, code: str) -> PowerItem | None:
    return next((i for i in catalogue.versions(code) if i.status is ItemStatus.PUBLISHED), None)


def _label(item: PowerItem) -> str:
    return f"item {item.code!r} version {item.version}"


def _with_statuses(
    catalogue: Catalogue, changes: dict[tuple[str, int], ItemStatus]
) -> Catalogue:
    items = [
        i.model_copy(update={"status": changes[i.key]}) if i.key in changes else i
        for i in catalogue.items
    ]
    # Rebuilding through the constructor re-checks the catalogue rules on the result.
    return Catalogue(departments=catalogue.departments, items=items)
