"""The roles' apt source, rendered by Ansible itself (local: no host touched): the same
SUNLIGHT_APT_MIRROR setting as the image build, or the bundle's repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sunlight.control.images.mirror import DEFAULT_APT_MIRROR, MIRROR_ENV, sources_line
from sunlight.paths import repo_root

PLAYBOOKS = repo_root() / "playbooks"


def _render(tmp: Path, env: dict[str, str]) -> dict[str, str]:
    playbook = [{
        "name": "Render the apt source (local)", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(PLAYBOOKS / "group_vars" / "all.yml")],
        "tasks": [{"name": "Render", "ansible.builtin.set_fact": {
            "_r_source": "{{ sunlight_apt_source }}",
            "_r_bundle": "{{ sunlight_apt_bundle }}",
            "_r_file": "{{ lookup('ansible.builtin.template', '"
                       f"{PLAYBOOKS}/roles/common/templates/sources.list.j2') }}}}"}}]}]
    path = tmp / "render.yml"
    path.write_text(yaml.safe_dump(playbook, sort_keys=False, width=1000))
    base = {k: v for k, v in os.environ.items()
            if k not in (MIRROR_ENV, "SUNLIGHT_APT_BUNDLE")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c",
         "local", str(path)],
        env={**base, **env, "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
             "ANSIBLE_HOME": str(tmp / "home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "t"),
             "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    task = json.loads(done.stdout)["plays"][0]["tasks"][0]
    facts = task["hosts"]["localhost"]["ansible_facts"]
    return {k.removeprefix("_r_"): v for k, v in facts.items()}


@pytest.mark.parametrize(("env", "source"), [
    ({}, sources_line(DEFAULT_APT_MIRROR)),
    ({MIRROR_ENV: "http://10.0.0.5/debian/"}, "deb http://10.0.0.5/debian bookworm main"),
    ({MIRROR_ENV: "http://10.0.0.5/debian", "SUNLIGHT_APT_BUNDLE": "/srv/b/apt/sunlight-apt.tar"},
     "deb [trusted=yes] file:/var/lib/sunlight-apt ./"),
], ids=["default", "mirror", "bundle"])
def test_the_roles_source_follows_the_one_setting(tmp_path: Path, env: dict[str, str],
                                                  source: str) -> None:
    rendered = _render(tmp_path, env)
    assert rendered["source"] == source
    # /etc/apt/sources.list holds that line alone; by default exactly what debootstrap
    # wrote into the node image, so its hosts see no change (and need no apt update).
    assert rendered["file"] == source + "\n"
    assert rendered["bundle"] == env.get("SUNLIGHT_APT_BUNDLE", "")

