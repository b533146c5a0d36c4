"""A submission's materials are capped in number and total size; what was accepted stays.

Issue 15, point 1: "one draft accepted 40 of 40 materials". Before the caps there was no
``check_quota`` and ``add_material`` took no limits (these tests fail with ImportError /
TypeError there), and a draft took any number of materials.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sunlight.runtime.errors import ApiError
from sunlight.runtime.materials import check_quota
from sunlight.runtime.portal.models import Application, Material
from sunlight.runtime.portal.service import add_material
from sunlight.runtime.settings import Settings

MIB = 2**20


def test_defaults_are_twenty_materials_and_fifty_mib() -> None:
    s = Settings(role="portal", site_code="320703", database_url="postgresql://x/y")
    assert (s.material_max_count, s.material_max_total_bytes) == (20, 50 * MIB)


def test_quota_allows_up_to_the_caps() -> None:
    check_quota(19, 40 * MIB, 10 * MIB, 20, 50 * MIB)  # the 20th, to exactly 50 MiB


def test_the_21st_material_is_422_naming_the_limit() -> None:
    with pytest.raises(ApiError) as info:
        check_quota(20, 1024, 10, 20, 50 * MIB)
    assert info.value.status == 422 and info.value.code == "too_many_materials"
    assert "at most 20 materials" in info.value.detail


def test_past_the_total_is_413_naming_the_limit() -> None:
    with pytest.raises(ApiError) as info:
        check_quota(3, 45 * MIB, 6 * MIB, 20, 50 * MIB)
    assert info.value.status == 413 and info.value.code == "materials_too_large"
    assert str(50 * MIB) in info.value.detail


class _Session:
    """The current submission already holds ``count`` materials of ``total`` bytes."""

    def __init__(self, count: int, total: int) -> None:
        self.usage, self.added = (count, total), list[Any]()

    def execute(self, _stmt: Any) -> Any:
        usage = self.usage

        class _Result:
            def one(self) -> tuple[int, int]:
                return usage
        return _Result()

    def add(self, obj: Any) -> None:
        self.added.append(obj)

    def flush(self) -> None:
        pass


def _draft() -> Application:
    return Application(id=uuid.uuid4(), receipt="320703-20261128-000001", status="draft",
                       submissions=0)


def test_add_material_refuses_the_41st_of_a_draft_and_adds_nothing() -> None:
    session = _Session(count=40, total=40 * 1024)
    with pytest.raises(ApiError) as info:
        add_material(session, _draft(), "x", "x.pdf", "application/pdf",  # type: ignore[arg-type]
                     b"%PDF-1.7", "0" * 64, max_count=20, max_total=50 * MIB)
    assert info.value.status == 422 and session.added == []


def test_add_material_within_the_caps_adds_it_to_the_current_batch() -> None:
    session = _Session(count=2, total=1024)
    material = add_material(session, _draft(), "营业执照", "a.pdf",  # type: ignore[arg-type]
                            "application/pdf", b"%PDF-1.7", "0" * 64, max_count=20,
                            max_total=50 * MIB)
    assert isinstance(material, Material) and session.added == [material]
    assert material.batch == 0 and material.size == len(b"%PDF-1.7")
