"""Topology suite, part 8 (keys): the county rotates its signing key; an event it signed with
the former key, still in flight, and one signed with the new key both apply at the city.

Before the rotation, an event of the county (a statistics snapshot) is signed here with the
county's current key (read from the deployment's secrets) — as the county's publisher would
have signed it. ``rotate_signing_key`` (what ``sunlight keys rotate`` runs) then makes a new
key and keeps the former one retiring in a day; the playbooks' key tasks (``--tags keys``),
limited to the county's and the city's core hosts, install the new private key at the county
and both public keys at the city and restart both cores. The old-key body is then put in the
county's outbox as a body in flight (the publisher sends stored bodies unchanged); the
county's own next snapshot is signed with the new key. Both arrive at the city's inbox, and
the city has no dead letter for either.
"""

from __future__ import annotations

import base64
import json
import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ansible_runner import run_playbook
from platform_site import wait_for
from sunlight.control.deploy.secrets import rotate_signing_key, signing_key_paths
from sunlight.control.stack.access import CORE_ENV, SiteAccess
from sunlight.runtime.exchange.envelope import Envelope
from sunlight.runtime.exchange.schemas import STATS
from sunlight.runtime.exchange.signing import key_id, load_private_key, seal
from topology_suite import CITY, COUNTY, Topology

PYTHON = "/opt/sunlight/venv/bin/python"


def _core_python(site: SiteAccess, code: str) -> str:
    """Run ``code`` with core's python and settings on the site's core host (as core)."""
    command = shlex.join(["sudo", "-n", "systemd-run", "--quiet", "--pipe", "--wait",
                          "--collect", "-p", f"EnvironmentFile={CORE_ENV}", "-p",
                          "User=sunlight", PYTHON, "-c", code])
    with site.ssh("core") as ssh:
        done = ssh.run(command, timeout=120)
    assert done.exit_code == 0, f"{site.code}: {done.stderr or done.stdout}"
    return str(done.stdout)


_DB = ("import os, json, base64\nfrom sqlalchemy import create_engine, text\n"
       "e = create_engine(os.environ['SUNLIGHT_DATABASE_URL'])\n")


def _queue(county: SiteAccess, event_id: str, *, body: bytes | None = None,
           envelope: dict[str, object] | None = None) -> None:
    """Queue for the county's parent either ``body`` (signed already: sent unchanged, as a
    body in flight) or ``envelope`` (signed by the county's core when it publishes it)."""
    data = base64.b64encode(body).decode() if body is not None else None
    _core_python(county, _DB + (
        f"body = base64.b64decode({data!r}) if {data!r} else None\n"
        f"envelope = {json.dumps(envelope)!r} if {envelope is not None!r} else None\n"
        "with e.begin() as c:\n"
        "    c.execute(text('INSERT INTO exchange_outbox (event_id, link, type, envelope, body,"
        " created_at, attempts) VALUES (:id, :link, :type, CAST(:envelope AS jsonb), :body,"
        " now(), 0)'),"
        f" {{'id': {event_id!r}, 'link': {CITY!r}, 'type': {STATS!r},"
        " 'envelope': envelope, 'body': body})\n"))


def _arrived(city: SiteAccess, event_ids: list[str]) -> dict[str, list[Any]]:
    """Which of ``event_ids`` the city's inbox holds, and the city's dead letters for them."""
    out = _core_python(city, _DB + (
        f"ids = {event_ids!r}\n"
        "with e.begin() as c:\n"
        "    inbox = [str(r[0]) for r in c.execute(text('SELECT event_id FROM "
        "exchange_event_inbox WHERE event_id::text = ANY(:ids)'), {'ids': ids})]\n"
        "    dead = [list(r) for r in c.execute(text('SELECT claimed_id, reason, detail FROM "
        "exchange_dead_letters WHERE claimed_id = ANY(:ids)'), {'ids': ids})]\n"
        "print(json.dumps({'inbox': inbox, 'dead': dead}))\n"))
    found: dict[str, list[Any]] = json.loads(out.strip().splitlines()[-1])
    return found


def _snapshot() -> Envelope:
    return Envelope.new(COUNTY, STATS, {"as_of": datetime.now(UTC).isoformat(),
                                        "overdue_open": 0, "counts": []})


def test_a_rotated_key_and_the_former_one_in_flight_both_apply_at_the_city(
        topology: Topology, tmp_path_factory: pytest.TempPathFactory) -> None:
    dep = topology.up.deployment
    county, city = topology.site(COUNTY), topology.site(CITY)
    old_key = load_private_key(signing_key_paths(dep.secrets_dir, COUNTY)[0])
    in_flight = _snapshot()
    old_body = seal(in_flight, old_key)

    done = rotate_signing_key(dep.secrets_dir, COUNTY, timedelta(days=1))
    assert done.old_kid == key_id(old_key.public_key()) != done.new_kid
    cores = [name for site in (county, city) for name, hv in site.hosts.items()
             if "core" in hv["sunlight_roles"]]
    run = run_playbook("site.yml", dep.hosts_file, tmp_path_factory.mktemp("keys"),
                       ("--tags", "keys", "--limit", ",".join(cores)))
    assert run.returncode == 0, run.tail
    signing = _core_python(county, (
        "import os\nfrom pathlib import Path\n"
        "from sunlight.runtime.exchange.signing import key_id, load_private_key\n"
        "print(key_id(load_private_key(Path(os.environ['SUNLIGHT_SIGNING_KEY_FILE']))"
        ".public_key()))\n"))
    assert signing.strip().splitlines()[-1] == done.new_kid  # the county signs with it now

    _queue(county, in_flight.id, body=old_body)  # signed before the rotation, still in flight
    fresh = _snapshot()
    _queue(county, fresh.id, envelope=fresh.to_dict())  # signed by the county's core on publish
    ids = [in_flight.id, fresh.id]

    def both_or_refused() -> dict[str, list[Any]] | None:
        found = _arrived(city, ids)
        return found if set(found["inbox"]) == set(ids) or found["dead"] else None

    seen = wait_for(both_or_refused, timeout=90, interval=2,
                    what="both county snapshots (former key, new key) in the city's inbox")
    assert seen["dead"] == [], seen
    assert set(seen["inbox"]) == set(ids)
