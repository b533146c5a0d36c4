"""The power-item library (行政权力事项库): departments, items, flows, discretion standards.

Pure Python, no database: :mod:`.model` (the pydantic models), :mod:`.discretion`
(penalty ranges), :mod:`.versioning` (draft → published → retired), :mod:`.io_yaml` and
:mod:`.io_excel` (import/export), :mod:`.sample` (the 连云区 sample catalogue),
:mod:`.flowchart` (an item's flow drawn as SVG), :mod:`.form_fields` (an item's form as
labelled fields, and its errors in Chinese).

Example::

    >>> from sunlight.catalogue import Category, sample_catalogue
    >>> cat = sample_catalogue()
    >>> sorted({i.category for i in cat.published()}) == sorted(Category)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sunlight.catalogue.discretion import (
        AmountError,
        DiscretionError,
        describe_band,
        discretion_band,
        discretion_range,
        parse_amount,
        within_discretion,
    )
    from sunlight.catalogue.errors import CatalogueImportError
    from sunlight.catalogue.flow import FlowError, FlowStep, validate_flow
    from sunlight.catalogue.io_excel import dump_excel, load_excel
    from sunlight.catalogue.io_yaml import dump_yaml, load_yaml
    from sunlight.catalogue.model import (
        ENFORCEMENT_CATEGORIES,
        BlankForm,
        Catalogue,
        Category,
        Department,
        DiscretionBand,
        DiscretionStandard,
        Fee,
        ItemStatus,
        Material,
        PowerItem,
    )
    from sunlight.catalogue.sample import sample_catalogue
    from sunlight.catalogue.versioning import (
        VersioningError,
        discard_draft,
        new_draft,
        publish,
        retire,
        update_draft,
    )

# Loaded on first use: ``sunlight.catalogue.flow`` is imported by the workflow engine on
# hosts and must not drag in jsonschema, PyYAML and openpyxl with it.
_HOMES: dict[str, str] = {
    "DiscretionError": "discretion", "discretion_range": "discretion",
    "within_discretion": "discretion", "AmountError": "discretion",
    "describe_band": "discretion", "discretion_band": "discretion",
    "parse_amount": "discretion", "CatalogueImportError": "errors",
    "FlowError": "flow", "FlowStep": "flow", "validate_flow": "flow",
    "dump_excel": "io_excel", "load_excel": "io_excel",
    "dump_yaml": "io_yaml", "load_yaml": "io_yaml",
    "BlankForm": "model", "Catalogue": "model", "Category": "model", "Department": "model",
    "DiscretionBand": "model", "DiscretionStandard": "model", "Fee": "model",
    "ItemStatus": "model", "Material": "model", "PowerItem": "model",
    "ENFORCEMENT_CATEGORIES": "model",
    "sample_catalogue": "sample",
    "VersioningError": "versioning", "discard_draft": "versioning", "new_draft": "versioning",
    "publish": "versioning", "retire": "versioning", "update_draft": "versioning",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ENFORCEMENT_CATEGORIES",
    "AmountError",
    "BlankForm",
    "Catalogue",
    "CatalogueImportError",
    "Category",
    "Department",
    "DiscretionBand",
    "DiscretionError",
    "DiscretionStandard",
    "Fee",
    "FlowError",
    "FlowStep",
    "ItemStatus",
    "Material",
    "PowerItem",
    "VersioningError",
    "describe_band",
    "discard_draft",
    "discretion_band",
    "discretion_range",
    "dump_excel",
    "dump_yaml",
    "load_excel",
    "load_yaml",
    "new_draft",
    "parse_amount",
    "publish",
    "retire",
    "sample_catalogue",
    "update_draft",
    "validate_flow",
    "within_discretion",
]
