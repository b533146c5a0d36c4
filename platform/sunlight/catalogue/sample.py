"""The sample catalogue of 连云区 (site 320703, 连云港市, 江苏省), shipped as package data.

It is realistic enough to drive demos, the workflow engine and the load tests: every
category, eight departments, penalty items with discretion standards, and a few drafts
and a retired version to exercise versioning. The YAML is meant to be read and edited.

Example::

    >>> from sunlight.catalogue.sample import sample_catalogue, sample_yaml
    >>> cat = sample_catalogue()
    >>> len(cat.departments), cat.item("320703-SCJGJ-QT-001").name
    (8, '企业年度报告公示')
    >>> sample_yaml().startswith("# Sunlight power-item catalogue")
    True
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from sunlight.catalogue.io_yaml import load_yaml
from sunlight.catalogue.model import Catalogue

SAMPLE_RESOURCE = ("sample", "catalogue.yaml")


def sample_yaml() -> str:
    """The sample catalogue's YAML text, as shipped."""
    resource = files("sunlight.catalogue").joinpath(*SAMPLE_RESOURCE)
    return resource.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def sample_catalogue() -> Catalogue:
    """The sample catalogue, parsed and validated (cached: the models are immutable)."""
    return load_yaml(sample_yaml())
