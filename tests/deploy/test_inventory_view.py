"""The inventory as the commands after provisioning read it (docs/inventory.md): what the
realizer records for them, what any other producer must write, and refusals naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from sunlight.control.deploy.inventory import (
    PUBLIC_URL,
    write_inventory,
    write_inventory_files,
)
from sunlight.control.deploy.inventory_view import InventoryError, read_inventory
from sunlight.paths import repo_root

from .conftest import HOST_KEY, RUN

DOC = repo_root() / "docs" / "inventory.md"


def _realized(inv: dict[str, Any], portal_port: int | None) -> SimpleNamespace:
    """A realized site as the realizer hands it to the writer (the engine is not needed)."""
    hosts = {name: SimpleNamespace(mgmt_ip=hv["ansible_host"], host_key=HOST_KEY)
             for body in inv["all"]["children"].values() if "vars" in body
             for name, hv in body["hosts"].items()}
    return SimpleNamespace(config=SimpleNamespace(run_id=RUN.run_id), hosts=hosts,
                           inventory=inv, portal_port=portal_port)


def test_the_realizer_records_each_published_portal_as_its_nginx_hosts_public_url(
        tmp_path: Path, county: dict[str, Any], city: dict[str, Any]) -> None:
    files = write_inventory(tmp_path / "inv", [_realized(city, None), _realized(county, 40443)],
                            control_key=tmp_path / "key", secrets_dir=tmp_path / "secrets")
    inv = read_inventory(files.hosts.parent)
    urls = {h.name: h.public_url for h in inv.hosts() if h.public_url}
    assert urls == {"320703-ext": "https://127.0.0.1:40443"}  # the city publishes none
    assert inv.site("320703").with_role("nginx").public_url == "https://127.0.0.1:40443"


def test_what_the_commands_need_of_each_host_is_read_from_the_files(
        tmp_path: Path, county: dict[str, Any], city: dict[str, Any]) -> None:
    files = write_inventory(tmp_path / "inv", [_realized(city, None), _realized(county, 1)],
                            control_key=tmp_path / "key", secrets_dir=tmp_path / "secrets")
    inv = read_inventory(files.hosts.parent)
    assert (inv.deployment, inv.secrets_dir) == (RUN.run_id, tmp_path / "secrets")
    core = inv.site("320703").with_role("core")
    assert (core.name, core.address, core.user, core.port, core.zone) == (
        "320703-int", "10.200.12.12", "admin", 22, "internal")
    assert core.roles == ("core", "core_db", "mq", "mon")
    assert core.addresses["int"] == "10.200.11.12"
    assert inv.host_key(core) == " ".join(HOST_KEY.split()[:2])
    assert inv.ancestors("320703") == ["320700"]  # the province is not in this inventory
    assert [h.name for h in inv.hosts()][:2] == ["320700-core", "320700-db"]


def test_a_public_url_is_refused_for_a_host_without_nginx_or_unknown_or_not_https(
        tmp_path: Path, county: dict[str, Any]) -> None:
    keys = {hv["ansible_host"]: HOST_KEY
            for hv in county["all"]["children"]["site_320703"]["hosts"].values()}

    def write(urls: dict[str, str]) -> None:
        write_inventory_files(tmp_path / "inv", [county], keys, control_key=tmp_path / "k",
                              deployment="dt-0001", secrets_dir=tmp_path / "s", public_urls=urls)

    with pytest.raises(ValueError, match="320703-int: only a host with role nginx"):
        write({"320703-int": "https://10.0.0.1"})
    with pytest.raises(ValueError, match="320703-nope: no such host"):
        write({"320703-nope": "https://10.0.0.1"})
    with pytest.raises(ValueError, match="320703-ext: 'http://x' must start with https://"):
        write({"320703-ext": "http://x"})
    write({"320703-ext": "https://portal.example.gov.cn/"})
    assert read_inventory(tmp_path / "inv").site("320703").with_role("nginx").public_url == (
        "https://portal.example.gov.cn")


def _write_doc_example(out: Path) -> None:
    """The example of docs/inventory.md, written as a producer other than the realizer would."""
    blocks = re.findall(r"```(yaml|text)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    out.mkdir()
    (out / "hosts.yml").write_text(next(b for kind, b in blocks if kind == "yaml"))
    (out / "known_hosts").write_text(next(b for kind, b in blocks if kind == "text"))


def test_the_documented_example_is_an_inventory_the_commands_accept(tmp_path: Path) -> None:
    _write_doc_example(tmp_path / "inv")
    inv = read_inventory(tmp_path / "inv")
    site = inv.site("320703")
    assert site.parent is None and inv.ancestors("320703") == []
    assert site.with_role("nginx").public_url == "https://portal.lianyun.example.gov.cn"
    assert site.with_role("core").addresses["int"] == "203.0.113.12"
    assert all(inv.host_key(h).startswith("ssh-ed25519 ") for h in inv.hosts())


@pytest.mark.parametrize(("field", "message"), [
    ("ansible_host", "host 320703-gw: no ansible_host"),
    ("ansible_user", "host 320703-gw: no ansible_user"),
    ("sunlight_roles", "host 320703-gw: no sunlight_roles"),
    ("sunlight_zone", "host 320703-gw: no sunlight_zone"),
    ("sunlight_addresses", "host 320703-gw: no sunlight_addresses"),
])
def test_a_host_without_a_field_the_commands_need_is_refused_naming_both(
        tmp_path: Path, field: str, message: str) -> None:
    _write_doc_example(tmp_path / "inv")
    path = tmp_path / "inv" / "hosts.yml"
    data = yaml.safe_load(path.read_text())
    del data["all"]["children"]["site_320703"]["hosts"]["320703-gw"][field]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match=message):
        read_inventory(tmp_path / "inv")


def test_a_bad_public_url_or_port_or_a_missing_file_or_key_is_refused(tmp_path: Path) -> None:
    _write_doc_example(tmp_path / "inv")
    path = tmp_path / "inv" / "hosts.yml"
    good = path.read_text()
    data = yaml.safe_load(good)
    data["all"]["children"]["site_320703"]["hosts"]["320703-ext"][PUBLIC_URL] = "http://x"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match="320703-ext: sunlight_public_url must be an https"):
        read_inventory(tmp_path / "inv")
    data = yaml.safe_load(good)
    data["all"]["children"]["site_320703"]["hosts"]["320703-gw"]["ansible_port"] = "22"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InventoryError, match="320703-gw: ansible_port must be a number"):
        read_inventory(tmp_path / "inv")
    path.write_text(good)
    known = tmp_path / "inv" / "known_hosts"
    lines = known.read_text().splitlines()
    known.write_text("\n".join(lines[:2]) + "\n")  # 320703-int's key is missing
    inv = read_inventory(tmp_path / "inv")
    with pytest.raises(InventoryError,
                       match=r"host 320703-int: no pinned host key for 192\.0\.2\.12"):
        inv.host_key(inv.site("320703").with_role("core"))
    known.unlink()
    with pytest.raises(InventoryError, match="no known_hosts beside"):
        read_inventory(tmp_path / "inv")
    with pytest.raises(InventoryError, match="no inventory at"):
        read_inventory(tmp_path / "elsewhere")


def test_a_host_off_port_22_is_looked_up_as_openssh_names_it(tmp_path: Path) -> None:
    _write_doc_example(tmp_path / "inv")
    path = tmp_path / "inv" / "hosts.yml"
    data = yaml.safe_load(path.read_text())
    data["all"]["children"]["site_320703"]["hosts"]["320703-gw"]["ansible_port"] = 2222
    path.write_text(yaml.safe_dump(data))
    inv = read_inventory(tmp_path / "inv")
    gw = inv.site("320703").with_role("gateway")
    with pytest.raises(InventoryError, match=r"no pinned host key for \[192.0.2.11\]:2222"):
        inv.host_key(gw)
    known = tmp_path / "inv" / "known_hosts"
    known.write_text(known.read_text().replace("192.0.2.11 ", "[192.0.2.11]:2222 "))
    assert read_inventory(tmp_path / "inv").host_key(gw).startswith("ssh-ed25519 ")
