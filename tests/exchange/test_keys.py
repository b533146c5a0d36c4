"""Key ids and key rotation: a site's former key verifies during its overlap, not after."""

from __future__ import annotations

import base64
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.deploy.secrets import (
    SiteSecretsSpec,
    ensure_secrets,
    rotate_signing_key,
    signing_key_paths,
    signing_retiring_path,
)
from sunlight.paths import repo_root
from sunlight.runtime.exchange.envelope import KEY_ID, canonical
from sunlight.runtime.exchange.inbound import Inbound, Rejected, accept
from sunlight.runtime.exchange.signing import (
    RETIRING_SUFFIX,
    Keyring,
    RetiredKey,
    RetiringKey,
    UnknownKey,
    generate_keypair,
    key_id,
    load_private_key,
    load_private_pem,
    load_public_pem,
    seal,
    verify_sealed,
    write_retiring,
)
from tests.exchange.conftest import case_envelope

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_every_body_names_its_key_id_and_the_named_key_verifies_it() -> None:
    old, new = generate_keypair(), generate_keypair()
    old_pub, new_pub = load_public_pem(old[1]), load_public_pem(new[1])
    ring = Keyring("320700", {"320703": new_pub},
                   {"320703": (RetiringKey(old_pub, NOW + timedelta(days=7)),)})
    for private, public in ((old[0], old_pub), (new[0], new_pub)):
        body = seal(case_envelope(), load_private_pem(private))
        assert json.loads(body)[KEY_ID] == key_id(public)
        assert len(key_id(public)) == 16
        assert verify_sealed(body, ring, NOW).kid == key_id(public)


def test_a_former_key_verifies_within_its_overlap_and_is_refused_after() -> None:
    old, new = generate_keypair(), generate_keypair()
    retires = NOW + timedelta(days=7)
    ring = Keyring("320700", {"320703": load_public_pem(new[1])},
                   {"320703": (RetiringKey(load_public_pem(old[1]), retires),)})
    in_flight = seal(case_envelope(), load_private_pem(old[0]))
    assert verify_sealed(in_flight, ring, retires - timedelta(seconds=1)).envelope["sequence"]
    with pytest.raises(RetiredKey, match=re.escape(f"retired at {retires.isoformat()}")):
        verify_sealed(in_flight, ring, retires)
    # at the receiving site: the same body, once the overlap is over, is a dead letter
    past = Keyring("320700", {"320703": load_public_pem(new[1])},
                   {"320703": (RetiringKey(load_public_pem(old[1]),
                                           datetime.now(UTC) - timedelta(seconds=1)),)})
    with pytest.raises(Rejected) as caught:
        accept(Inbound("320700", past, ("320703",)), in_flight, "up")
    assert caught.value.reason == "retired_key"
    assert f"key {key_id(load_public_pem(old[1]))} of source 320703 retired" in \
        caught.value.detail
    assert accept(Inbound("320700", past, ("320703",)),
                  seal(case_envelope(), load_private_pem(new[0])), "up").envelope


def test_an_unknown_key_id_is_refused_with_the_reason() -> None:
    mine, stranger = generate_keypair(), generate_keypair()
    ring = Keyring("320700", {"320703": load_public_pem(mine[1])})
    body = seal(case_envelope(), load_private_pem(stranger[0]))
    with pytest.raises(Rejected) as caught:
        accept(Inbound("320700", ring, ("320703",)), body, "up")
    assert caught.value.reason == "unknown_key"
    assert key_id(load_public_pem(stranger[1])) in caught.value.detail
    assert key_id(load_public_pem(mine[1])) in caught.value.detail  # what it holds
    doc = json.loads(body)
    doc[KEY_ID] = "not-a-key-id"
    with pytest.raises(Rejected) as caught:
        accept(Inbound("320700", ring, ("320703",)), json.dumps(doc).encode(), "up")
    assert caught.value.reason == "schema_violation"


def test_an_envelope_signed_before_key_ids_verifies_against_the_keys_valid_now() -> None:
    old, new = generate_keypair(), generate_keypair()
    doc = case_envelope().to_dict()
    body = canonical({**doc, "signature": base64.b64encode(
        load_private_pem(old[0]).sign(canonical(doc))).decode()})
    ring = Keyring("320700", {"320703": load_public_pem(new[1])},
                   {"320703": (RetiringKey(load_public_pem(old[1]), NOW + timedelta(days=1)),)})
    assert verify_sealed(body, ring, NOW).kid == key_id(load_public_pem(old[1]))
    with pytest.raises(Exception, match="does not match source 320703"):
        verify_sealed(body, ring, NOW + timedelta(days=2))


def _install_as_the_playbook_does(secrets: Path, code: str, peers: Path) -> None:
    """``roles/sunlight_core/tasks/keys.yml``: the kin's public key and its former keys."""
    shutil.copy(signing_key_paths(secrets, code)[1], peers / f"{code}.pem")
    retiring = signing_retiring_path(secrets, code)
    if retiring.exists():
        shutil.copy(retiring, peers / f"{code}{RETIRING_SUFFIX}")


def test_rotation_keeps_the_former_key_valid_at_kin_for_the_overlap(tmp_path: Path) -> None:
    secrets, peers = tmp_path / "secrets", tmp_path / "peers"
    peers.mkdir()
    ensure_secrets(secrets, [SiteSecretsSpec("320700"), SiteSecretsSpec("320703")])
    _install_as_the_playbook_does(secrets, "320703", peers)
    city = Keyring.load("320700", peers)
    old_key = load_private_key(signing_key_paths(secrets, "320703")[0])
    in_flight = seal(case_envelope(), old_key)  # signed before the rotation

    done = rotate_signing_key(secrets, "320703", timedelta(days=7), now=NOW)
    assert done.old_kid == key_id(old_key.public_key()) != done.new_kid
    assert done.retires_at == NOW + timedelta(days=7)
    new_key = load_private_key(signing_key_paths(secrets, "320703")[0])
    assert key_id(new_key.public_key()) == done.new_kid
    assert ensure_secrets(secrets, [SiteSecretsSpec("320703")]) == []  # nothing more to make
    after = seal(case_envelope(seq=3), new_key)
    with pytest.raises(UnknownKey):  # the kin does not hold the new key before configuration
        verify_sealed(after, Keyring("320700", dict(city.keys)), NOW)

    _install_as_the_playbook_does(secrets, "320703", peers)  # read again: no restart
    assert verify_sealed(after, city, NOW).kid == done.new_kid
    assert verify_sealed(in_flight, city, NOW + timedelta(days=6)).kid == done.old_kid
    with pytest.raises(RetiredKey):
        verify_sealed(in_flight, city, NOW + timedelta(days=7))

    # a second rotation keeps the first former key until its own time, drops retired ones
    second = rotate_signing_key(secrets, "320703", timedelta(days=3), now=NOW + timedelta(days=1))
    assert {kid for kid, _ in second.retiring} == {done.new_kid, done.old_kid}
    third = rotate_signing_key(secrets, "320703", timedelta(days=3), now=NOW + timedelta(days=8))
    assert done.old_kid not in {kid for kid, _ in third.retiring}
    with pytest.raises(ValueError, match="overlap must be positive"):
        rotate_signing_key(secrets, "320703", timedelta(0))


def test_keys_rotate_and_list_commands(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, [SiteSecretsSpec("320703")])
    runner = CliRunner()
    before = runner.invoke(app, ["keys", "list", "--site", "320703", "--secrets",
                                 str(tmp_path), "--json"])
    assert before.exit_code == 0, before.output
    old_kid = json.loads(before.stdout)["keys"][0]["keyid"]
    done = runner.invoke(app, ["keys", "rotate", "--site", "320703", "--overlap-days", "3",
                               "--secrets", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert f"former key {old_kid} retiring until" in " ".join(done.stdout.split())
    listed = json.loads(runner.invoke(app, ["keys", "list", "--site", "320703", "--secrets",
                                            str(tmp_path), "--json"]).stdout)["keys"]
    assert [k["state"] for k in listed] == ["current", "retiring"]
    assert listed[1]["keyid"] == old_kid
    retires = datetime.fromisoformat(listed[1]["retires_at"])
    assert timedelta(days=3) - timedelta(minutes=5) < retires - datetime.now(UTC) <= \
        timedelta(days=3)
    bad = runner.invoke(app, ["keys", "rotate", "--site", "32070", "--secrets", str(tmp_path)])
    assert bad.exit_code == 2 and "--site" in bad.stderr
    missing = runner.invoke(app, ["keys", "rotate", "--site", "320706", "--secrets",
                                  str(tmp_path)])
    assert missing.exit_code == 3 and "no signing key" in missing.stderr


def test_the_playbook_installs_the_former_keys_where_the_keyring_reads_them() -> None:
    tasks = yaml.safe_load((repo_root() / "playbooks/roles/sunlight_core/tasks/keys.yml")
                           .read_text())
    copies = {t["ansible.builtin.copy"]["src"]: t["ansible.builtin.copy"]["dest"]
              for t in tasks if "ansible.builtin.copy" in t}
    retiring = str(signing_retiring_path(Path("{{ sunlight_secrets_dir }}"), "{{ item }}"))
    assert copies[retiring] == "{{ sunlight_core_keys_dir }}/peers/{{ item }}" + RETIRING_SUFFIX


def test_retiring_files_are_checked(tmp_path: Path) -> None:
    _, public = generate_keypair()
    entry = RetiringKey(load_public_pem(public), NOW)
    (tmp_path / f"320703{RETIRING_SUFFIX}").write_bytes(write_retiring((entry,)))
    assert Keyring.load("320700", tmp_path).retiring["320703"] == (entry,)
    doc = json.loads(write_retiring((entry,)))
    doc["keys"][0]["keyid"] = "0" * 16
    (tmp_path / f"320703{RETIRING_SUFFIX}").write_text(json.dumps(doc))
    with pytest.raises(Exception, match="is not its key's"):
        Keyring.load("320700", tmp_path)


def test_a_public_key_left_behind_by_an_interrupted_rotation_is_made_again(
        tmp_path: Path) -> None:
    ensure_secrets(tmp_path, [SiteSecretsSpec("320703")])
    private_path, public_path = signing_key_paths(tmp_path, "320703")
    stale = public_path.read_bytes()
    rotate_signing_key(tmp_path, "320703", timedelta(days=1))
    public_path.write_bytes(stale)  # as if the rotation stopped before writing the public key
    assert ensure_secrets(tmp_path, [SiteSecretsSpec("320703")]) == [
        "sites/320703/signing/ed25519.pub"]
    assert key_id(load_public_pem(public_path.read_bytes())) == \
        key_id(load_private_key(private_path).public_key())
