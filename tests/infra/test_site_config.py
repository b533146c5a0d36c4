"""Site configuration: the GB/T 2260 parent rule, each field's validation, the stack files.

Bad config must fail before any resource is declared, with a message naming the field.
"""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
import pytest
import yaml
from sunlight_infra.config import PLAN_FIELD, PLAN_KEYS

from sunlight.control.realizer.capture import (
    PULUMI_PROJECT,
    CaptureMocks,
    capture_site,
    load_declare,
)
from sunlight.paths import repo_root
from sunlight.topology.config import SiteConfigError, parse_site_config
from sunlight.topology.division import Tier, expected_parent, tier_of

from .conftest import KEY, PLAN, RUN

STACKS = ("320000", "320700", "320703")


def raw(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": RUN.run_id, "division_code": "320703", "parent_code": "320700",
        "profile": "compact", "image": "sunlight/node:0123456789abcdef", "portal_port": "0",
        "control_public_key": KEY, "backbone_network": "gov-backbone",
        "address_plan": PLAN.sites["320703"].model_dump(mode="json"),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("code", "parent", "tier"), [
    ("320000", None, Tier.PROVINCE),
    ("320700", "320000", Tier.CITY),
    ("320703", "320700", Tier.COUNTY),
    ("429004", "420000", Tier.COUNTY),  # 仙桃市: province-administered (yy = 90)
    ("110105", "110000", Tier.COUNTY),  # 朝阳区: a municipality's district
    ("500101", "500000", Tier.COUNTY),  # 万州区 (Chongqing)
    ("310000", None, Tier.PROVINCE),
])
def test_valid_divisions_and_their_tier(code: str, parent: str | None, tier: Tier) -> None:
    config = parse_site_config(raw(division_code=code, parent_code=parent))
    assert config.tier is tier is tier_of(code)
    assert expected_parent(code) == parent == config.parent_code


@pytest.mark.parametrize(("code", "parent", "field", "says"), [
    ("320703", "320000", "parent_code", "a county's parent is its city (320700)"),
    ("320700", "320700", "parent_code", "a city's parent is its province (320000)"),
    ("320700", None, "parent_code", "its parent must be 320000"),
    ("320000", "110000", "parent_code", "a province: it has no parent"),
    ("429004", "429000", "parent_code", "province-administered county's (yy = 90)"),
    ("110105", "110100", "parent_code", "a municipality district's parent"),
    ("429000", "420000", "division_code", "not a site"),
    ("110100", "110000", "division_code", "not a site"),
    ("990000", None, "division_code", "not a GB/T 2260 province-level prefix"),
    ("320090", "320000", "division_code", "needs a city part"),
    ("32070", "320000", "division_code", "six-digit"),
])
def test_the_parent_rule_names_the_field(code: str, parent: str | None, field: str,
                                         says: str) -> None:
    with pytest.raises(SiteConfigError) as err:
        parse_site_config(raw(division_code=code, parent_code=parent))
    assert err.value.fields == [field]
    assert says in str(err.value)


BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("run_id", "Bad_Run", "run id"),
    ("profile", "huge", "'compact' or 'standard'"),
    ("image", "Sunlight Node", "image reference"),
    ("portal_port", "-1", "greater than or equal to 0"),
    ("portal_port", "70000", "less than or equal to 65535"),
    ("portal_port", "https", "valid integer"),
    ("control_public_key", "hunter2", "not an OpenSSH public key"),
    ("control_public_key", "ssh-ed25519 !!!notbase64", "does not decode"),
    ("control_public_key", KEY.replace("ssh-ed25519", "ssh-rsa"), "does not match its type"),
    ("backbone_network", "no spaces allowed", "Docker network name"),
]


@pytest.mark.parametrize(("field", "value", "says"), BAD_FIELDS,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_FIELDS)])
def test_each_bad_field_is_named(field: str, value: Any, says: str) -> None:
    with pytest.raises(SiteConfigError) as err:
        parse_site_config(raw(**{field: value}))
    assert err.value.fields == [field]
    assert says in str(err.value)


@pytest.mark.parametrize("field", ["run_id", "division_code", "profile", "image",
                                   "portal_port", "control_public_key", "backbone_network",
                                   "address_plan"])
def test_a_missing_field_is_named(field: str) -> None:
    data = raw()
    del data[field]
    with pytest.raises(SiteConfigError) as err:
        parse_site_config(data)
    assert field in err.value.fields


def test_unknown_keys_and_several_errors_are_all_reported() -> None:
    with pytest.raises(SiteConfigError) as err:
        parse_site_config(raw(profile="tiny", image="", portal_prot="1"))
    assert err.value.fields == ["profile", "image", "portal_prot"]


def _plan(**changes: Any) -> dict[str, Any]:
    return {**PLAN.sites["320703"].model_dump(mode="json"), **changes}


@pytest.mark.parametrize(("plan", "says"), [
    (_plan(int_subnet=_plan()["ext_subnet"]), "overlaps"),
    (_plan(mgmt_subnet="8.8.8.0/24"), "not a private range"),
    (_plan(ext_subnet="10.9.0.0/29"), "prefix must be"),
    (_plan(backbone_slot=500), "does not fit"),
    (_plan(backbone_slot=-1), "greater than or equal to 0"),
    ({k: v for k, v in _plan().items() if k != "mgmt_subnet"}, "Field required"),
])
def test_address_plan_errors_name_the_nested_field(plan: dict[str, Any], says: str) -> None:
    with pytest.raises(SiteConfigError) as err:
        parse_site_config(raw(address_plan=plan))
    assert err.value.fields[0].startswith("address_plan")
    assert says in str(err.value)


def _stack_keys(code: str) -> dict[str, Any]:
    """The stack file's ``sunlight:*`` keys, as written (the plan's five keys flat)."""
    doc = yaml.safe_load((repo_root() / "infra" / f"Pulumi.{code}.yaml").read_text())
    return {k.removeprefix("sunlight:"): v for k, v in doc["config"].items()}


def _stack(code: str) -> dict[str, Any]:
    """The stack file as SiteConfig's fields (the plan's keys under ``address_plan``)."""
    keys = _stack_keys(code)
    plan = {k: keys.pop(k) for k in PLAN_KEYS}
    return {**keys, PLAN_FIELD: plan}


@pytest.mark.parametrize("code", STACKS)
def test_stack_files_are_valid_sites(code: str) -> None:
    config = parse_site_config(_stack(code))
    assert config.division_code == code
    assert config.owner is None and config.run().persistent
    capture = capture_site(config)
    assert len([r for r in capture.resources if r.custom]) >= 7


def test_stack_files_form_one_deployment() -> None:
    configs = [parse_site_config(_stack(code)) for code in STACKS]
    assert [c.tier for c in configs] == [Tier.PROVINCE, Tier.CITY, Tier.COUNTY]
    assert configs[1].parent_code == configs[0].division_code
    assert configs[2].parent_code == configs[1].division_code
    subnets = [s for c in configs for s in (c.address_plan.ext_subnet,
                                            c.address_plan.int_subnet,
                                            c.address_plan.mgmt_subnet)]
    assert len(set(subnets)) == 9 and not any(
        a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert len({c.address_plan.backbone_subnet for c in configs}) == 1
    assert len({c.address_plan.backbone_slot for c in configs}) == 3
    assert len({c.portal_port for c in configs}) == 3
    assert (repo_root() / "infra" / "Pulumi.yaml").is_file()


def _with_stack_config(values: dict[str, Any]) -> None:
    pulumi.runtime.set_all_config({
        f"{PULUMI_PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()})


def test_read_site_config_reads_the_stack_namespace() -> None:
    from sunlight_infra.config import read_site_config

    # The project (Pulumi.yaml's name) is the config namespace, as under `pulumi up`.
    pulumi.runtime.set_mocks(CaptureMocks(), project=PULUMI_PROJECT, stack="320703",
                             preview=False)
    _with_stack_config(_stack_keys("320703"))
    try:
        assert read_site_config() == parse_site_config(_stack("320703"))
    finally:
        pulumi.runtime.set_all_config({})


def test_bad_config_fails_before_any_resource_is_declared() -> None:
    declare = load_declare()
    from sunlight_infra.config import read_site_config

    mocks = CaptureMocks()
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack="320703", preview=False)
    _with_stack_config({**_stack_keys("320703"), "parent_code": "320000"})
    try:
        with pytest.raises(SiteConfigError) as err:
            pulumi.runtime.test(lambda: declare(read_site_config()))()
    finally:
        pulumi.runtime.set_all_config({})
    assert err.value.fields == ["parent_code"]
    assert mocks.resources == []


def test_the_entry_point_runs_a_stack_under_mocks() -> None:
    """infra/__main__.py itself: stack config in, every resource and output declared."""
    main = repo_root() / "infra" / "__main__.py"
    mocks = CaptureMocks()
    pulumi.runtime.set_mocks(mocks, project=PULUMI_PROJECT, stack="320703", preview=False)
    _with_stack_config(_stack_keys("320703"))

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")  # its globals are no Output

    try:
        pulumi.runtime.test(program)()
    finally:
        pulumi.runtime.set_all_config({})
    names = {r.inputs.get("name") for r in mocks.resources if r.custom}
    assert "sunlight-prod-320703-int" in names and "sunlight-prod-320703-mgmt-net" in names
    assert len(names) == 3 + 3 + 4  # networks, hosts, volumes of a compact site
