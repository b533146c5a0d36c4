"""Versioning: legal moves produce new catalogues; illegal ones say why."""

from __future__ import annotations

import pytest

from sunlight.catalogue import (
    Catalogue,
    ItemStatus,
    VersioningError,
    discard_draft,
    new_draft,
    publish,
    retire,
    update_draft,
)
from tests.catalogue.builders import catalogue_data, item_data

CODE = "320703-SCJGJ-XK-901"


@pytest.fixture
def cat() -> Catalogue:
    """v1 retired, v2 published, v3 draft."""
    return Catalogue.model_validate(catalogue_data(
        item_data(version=1, status="retired"),
        item_data(version=2, status="published"),
        item_data(version=3, status="draft", name="测试许可（修订）"),
    ))


def _statuses(cat: Catalogue, code: str = CODE) -> list[tuple[int, str]]:
    return [(i.version, i.status.value) for i in cat.versions(code)]


def test_publish_retires_the_version_in_force(cat: Catalogue) -> None:
    after = publish(cat, CODE, 3)
    assert _statuses(after) == [(1, "retired"), (2, "retired"), (3, "published")]
    assert after.item(CODE).name == "测试许可（修订）"
    assert _statuses(cat) == [(1, "retired"), (2, "published"), (3, "draft")]  # untouched


def test_publish_a_first_version() -> None:
    cat = Catalogue.model_validate(catalogue_data(item_data(status="draft")))
    assert _statuses(publish(cat, CODE, 1)) == [(1, "published")]


@pytest.mark.parametrize(
    ("version", "reason"),
    [(2, "already published"), (1, "retired and cannot be published again"),
     (7, "has no version 7")],
)
def test_illegal_publish(cat: Catalogue, version: int, reason: str) -> None:
    with pytest.raises(VersioningError, match=reason):
        publish(cat, CODE, version)


def test_cannot_publish_an_older_draft_over_a_newer_version() -> None:
    cat = Catalogue.model_validate(catalogue_data(
        item_data(version=1, status="draft"), item_data(version=2, status="published")))
    with pytest.raises(VersioningError, match="over the newer published version 2"):
        publish(cat, CODE, 1)


def test_retire_a_published_version(cat: Catalogue) -> None:
    after = retire(cat, CODE, 2)
    assert _statuses(after) == [(1, "retired"), (2, "retired"), (3, "draft")]
    assert after.published() == []


@pytest.mark.parametrize(("version", "reason"), [(1, "already retired"), (3, "discard it")])
def test_illegal_retire(cat: Catalogue, version: int, reason: str) -> None:
    with pytest.raises(VersioningError, match=reason):
        retire(cat, CODE, version)


def test_new_draft_copies_the_latest_version() -> None:
    cat = Catalogue.model_validate(catalogue_data(item_data(version=4, name="第四版")))
    after = new_draft(cat, CODE)
    draft = after.item(CODE, 5)
    assert draft.status is ItemStatus.DRAFT and draft.name == "第四版"
    assert draft.model_dump(exclude={"version", "status"}) == cat.item(
        CODE, 4).model_dump(exclude={"version", "status"})
    assert after.item(CODE).version == 4  # the published version still answers by default


def test_new_draft_refused_while_a_draft_exists(cat: Catalogue) -> None:
    with pytest.raises(VersioningError, match="version 3 is already a draft"):
        new_draft(cat, CODE)


def test_new_draft_of_unknown_code(cat: Catalogue) -> None:
    with pytest.raises(VersioningError, match="no item with code 'NOPE-1'"):
        new_draft(cat, "NOPE-1")


def test_update_and_discard_draft(cat: Catalogue) -> None:
    edited = cat.item(CODE, 3).model_copy(update={"promised_limit_days": 5})
    after = update_draft(cat, edited)
    assert after.item(CODE, 3).promised_limit_days == 5
    assert _statuses(discard_draft(after, CODE, 3)) == [(1, "retired"), (2, "published")]
    with pytest.raises(VersioningError, match="only drafts change"):
        update_draft(cat, cat.item(CODE, 2))
    with pytest.raises(VersioningError, match="only drafts can be discarded"):
        discard_draft(cat, CODE, 2)


def test_sample_draft_can_be_published(sample: Catalogue) -> None:
    drafts = [i for i in sample.items if i.status is ItemStatus.DRAFT]
    for draft in drafts:
        after = publish(sample, draft.code, draft.version)
        assert after.item(draft.code).version == draft.version
        assert sum(1 for i in after.versions(draft.code)
                   if i.status is ItemStatus.PUBLISHED) == 1
