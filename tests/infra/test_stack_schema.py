"""Pulumi.yaml's ``config:`` block is the schema of every stack config key the program reads.

Which keys the program reads is observed, not listed: the readers run against a recording
config; an AST walk of infra/ checks they are the only places a ``pulumi.Config`` is made.
Each ``sunlight:`` key read is declared with a type and a description; the declared types
and defaults agree with SiteConfig's fields (a default only where SiteConfig has one); the
example stack files pass the schema as `pulumi up` applies it (every key without a default
present, integers parse, nothing undeclared); the ``docker:`` keys, which Pulumi lets no
project declare, are described in infra/README.md. The node image is the configured one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
import yaml
from sunlight_infra.config import PLAN_FIELD, read_site_config
from sunlight_infra.engine import ENGINE_KEYS, NAMESPACE, read_engine_config

from sunlight.control.realizer.capture import PULUMI_PROJECT
from sunlight.control.realizer.plan import CONTAINER_TYPE
from sunlight.paths import repo_root
from sunlight.topology.addressing import SiteAddressPlan
from sunlight.topology.config import SiteConfig

from .conftest import make_config
from .stacks import ProviderMocks, run_stack, stack_keys

INFRA = repo_root() / "infra"
STACKS = ("320000", "320700", "320703")
READERS = {"config.py", "engine.py"}  # the modules that make a pulumi.Config


def _schema() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((INFRA / "Pulumi.yaml").read_text())
    assert doc["name"] == PULUMI_PROJECT
    config: dict[str, dict[str, Any]] = doc["config"]
    return config


class RecordingConfig:
    """Answers like pulumi.Config from a mapping and records every key asked for."""

    def __init__(self, namespace: str, values: dict[str, Any]) -> None:
        self.namespace, self.values, self.asked = namespace, values, []

    def _ask(self, key: str) -> Any:
        self.asked.append(f"{self.namespace}:{key}")
        return self.values.get(key)

    def get(self, key: str) -> Any:
        return self._ask(key)

    get_object = get_secret = get


def _stack_file(code: str) -> dict[str, Any]:
    doc = yaml.safe_load((INFRA / f"Pulumi.{code}.yaml").read_text())
    values: dict[str, Any] = doc["config"]
    return values


def _sunlight_keys_read() -> list[str]:
    values = {k.split(":", 1)[1]: str(v) for k, v in _stack_file("320703").items()}
    recorder = RecordingConfig(PULUMI_PROJECT, values)
    read_site_config(cast(pulumi.Config, recorder))
    return recorder.asked


def test_every_key_the_program_reads_is_declared_with_type_and_description() -> None:
    schema = _schema()
    read = _sunlight_keys_read()
    assert len(read) == 13
    assert set(read) == set(schema)  # nothing read is undeclared, nothing declared is unread
    for key in read:
        assert schema[key]["type"] in ("string", "integer"), key
        assert len(schema[key]["description"]) > 20, key


def test_declared_types_and_defaults_agree_with_site_config() -> None:
    fields = {**SiteConfig.model_fields, **SiteAddressPlan.model_fields}
    checked = 0
    for key, entry in _schema().items():
        name = key.removeprefix(f"{PULUMI_PROJECT}:")
        field = fields[name]
        assert entry["type"] == ("integer" if field.annotation is int else "string"), key
        if field.is_required():
            assert "default" not in entry, f"{key}: SiteConfig requires it"
        else:
            assert entry["default"] == "" and field.default is None, key  # "" reads as unset
        checked += 1
    assert checked == 13 and PLAN_FIELD in SiteConfig.model_fields


@pytest.mark.parametrize("code", STACKS)
def test_example_stacks_pass_the_schema_as_pulumi_applies_it(code: str) -> None:
    schema, stack = _schema(), _stack_file(code)
    assert set(stack) <= set(schema), set(stack) - set(schema)
    for key, entry in schema.items():
        if "default" not in entry:
            assert key in stack, f"Pulumi.{code}.yaml lacks {key}"
        if key in stack and entry["type"] == "integer":
            int(stack[key])  # Pulumi accepts a string that parses as an integer
        elif key in stack:
            assert isinstance(stack[key], str), key


def _config_calls(path: Path) -> list[int]:
    """Lines where ``path`` makes a pulumi.Config (``Config(...)`` or ``pulumi.Config(...)``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and ((isinstance(node.func, ast.Attribute) and node.func.attr == "Config")
                 or (isinstance(node.func, ast.Name) and node.func.id == "Config"))]


def test_only_the_readers_make_a_pulumi_config() -> None:
    sources = [*INFRA.glob("*.py"), *(INFRA / "sunlight_infra").glob("*.py")]
    calls = {p.name: _config_calls(p) for p in sources}
    assert len(calls) >= 8
    assert {name for name, lines in calls.items() if lines} == READERS


def test_engine_keys_are_all_read_and_described_in_the_readme() -> None:
    recorder = RecordingConfig(NAMESPACE, {"host": "tcp://county-vm:2376",
                                           "certPath": "/etc/sunlight/engines/county"})
    assert read_engine_config(cast(pulumi.Config, recorder)) is not None
    assert sorted(recorder.asked) == sorted(f"docker:{k}" for k in ENGINE_KEYS)
    readme = (INFRA / "README.md").read_text()
    for key in recorder.asked:
        assert f"`{key}`" in readme, key


@pytest.mark.parametrize("image", ["sunlight/node:0123456789abcdef",
                                   "registry.example:5000/sunlight/node:fedcba9876543210"])
def test_the_node_image_is_the_configured_one(image: str) -> None:
    mocks = ProviderMocks()
    run_stack(stack_keys(make_config("320700", "320000", "standard", owner=None,
                                     image=image)), None, mocks)
    containers = [r for r in mocks.resources if r.type == CONTAINER_TYPE]
    assert len(containers) == 7
    assert {c.inputs["image"] for c in containers} == {image}
    assert "sunlight/node" not in "".join(
        p.read_text() for p in (INFRA / "sunlight_infra").glob("*.py"))
