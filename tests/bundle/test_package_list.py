"""One source of truth: every package any role apt-installs is in the one package list that
the bundle downloads (read from the roles' YAML, not restated here)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from sunlight.control.bundle.create import collection_versions, collections_used
from sunlight.control.bundle.manifest import BundleError
from sunlight.control.images.base import BaseSpec
from sunlight.control.images.packages import read_package_list
from sunlight.paths import repo_root

from ..playbook_tasks import tasks_in

PLAYBOOKS = repo_root() / "playbooks"
APT = "ansible.builtin.apt"


def _role_apt_tasks() -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(task file, task, its apt arguments) of every role's apt installation."""
    for role in sorted(p for p in (PLAYBOOKS / "roles").iterdir() if p.is_dir()):
        for path in sorted((role / "tasks").glob("*.yml")):
            for task in tasks_in(yaml.safe_load(path.read_text())):
                args = task.get(APT)
                if isinstance(args, dict) and "name" in args:
                    yield path, task, args


def _role_apt_installs() -> dict[str, list[str]]:
    """Role -> the package names its apt tasks install, rendered with its defaults."""
    installs: dict[str, list[str]] = {}
    for path, _task, args in _role_apt_tasks():
        role = path.parent.parent
        defaults_file = role / "defaults" / "main.yml"
        defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.is_file() else {}
        name = args["name"]
        match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", str(name))
        assert match, f"{path}: apt installs {name!r}; name a *_packages list in defaults"
        values = defaults[match.group(1)]
        rendered = [jinja2.Template(str(v)).render(**defaults) for v in values]
        installs.setdefault(role.name, []).extend(rendered)
    return installs


def test_every_package_a_role_installs_is_in_the_bundles_list() -> None:
    listed = set(read_package_list())
    installs = _role_apt_installs()
    assert {"common", "postgresql", "rabbitmq", "nginx", "monitoring"} <= set(installs)
    for role, names in installs.items():
        assert set(names) <= listed, f"role {role}: {sorted(set(names) - listed)} not listed"
    assert "postgresql-15" in installs["postgresql"]  # the version was rendered


def test_a_bare_host_gets_every_listed_package_from_the_roles() -> None:
    """A machine Sunlight did not create starts from the bare base: the roles together
    install the rest of the list, so that it ends with the node image's software."""
    installed = set(BaseSpec().include).union(*_role_apt_installs().values())
    missing = sorted(set(read_package_list()) - installed)
    assert not missing, f"listed, but no role installs them on a bare host: {missing}"


def test_no_package_starts_its_service_on_installation() -> None:
    """Every role's apt installation runs with policy-rc.d 101: a package's maintainer
    script never starts a service with Debian's defaults before the role configures it."""
    for path, task, args in _role_apt_tasks():
        assert args.get("policy_rc_d") == 101, f"{path}: {task['name']}"


def test_no_playbook_installs_packages_outside_the_roles() -> None:
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for play in yaml.safe_load(path.read_text()) or []:
            assert all(APT not in t or "name" not in t[APT] for t in tasks_in(
                play.get("tasks", []) + play.get("pre_tasks", []))), path.name


def test_the_bare_hosts_base_and_the_apt_modules_binding_are_listed() -> None:
    listed = set(read_package_list())
    assert set(BaseSpec().include) <= listed
    assert "python3-apt" in listed  # the apt module installs it itself when missing


def test_the_collections_the_playbooks_use_are_found() -> None:
    used = collections_used(PLAYBOOKS)
    # Not file names (sunlight.conf.j2) nor Python modules named in comments
    # (sunlight.runtime.exchange): those would make `bundle create` look for collections.
    assert used == ["community.general", "community.postgresql", "community.rabbitmq",
                    "sunlight.deploy"]


def test_collection_versions_come_from_the_ansible_wheel_and_the_checkout(
        tmp_path: Path) -> None:
    wheel = tmp_path / "ansible-12.3.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("ansible_collections/community/general/MANIFEST.json",
                    json.dumps({"collection_info": {"version": "11.4.1"}}))
    versions = collection_versions(["community.general", "sunlight.deploy"], tmp_path, PLAYBOOKS)
    assert versions["community.general"] == "11.4.1"
    assert re.fullmatch(r"\d+\.\d+\.\d+", versions["sunlight.deploy"])
    with pytest.raises(BundleError, match=r"community\.rabbitmq"):
        collection_versions(["community.rabbitmq"], tmp_path, PLAYBOOKS)
