"""Topology suite, part 8 (issue 15 point 9): the county's audit chain is anchored up the tiers.

The county core signs its chain's head (``sunlight audit anchor`` on its host; core also does
it at start and every hour) and sends it up as ``sunlight.audit.anchor``, outside the
per-case sequence; the city and the province keep it (their ``audit_anchors``, read on their
core database hosts). The county then verifies its chain against the anchors as the city
kept them (``sunlight audit anchors --source 320703`` at the city, ``sunlight audit verify
--anchors`` at the county), signatures checked with the county's key.

On the code before: no ``audit anchor`` command, no event type, no ``audit_anchors`` table.
"""

from __future__ import annotations

import base64

from test_topology_6_enforcement import core_sql
from topology_suite import CITY, COUNTY, PROVINCE, Topology, wait_until


def test_the_countys_signed_audit_head_reaches_the_city_and_the_province(
        topology: Topology) -> None:
    county = topology.site(COUNTY)
    done = county.core_cli("audit", "anchor")
    assert done.exit_code == 0, done.stderr + done.stdout
    own = core_sql(county, f"SELECT seq, hash, signature FROM audit_anchors WHERE "
                           f"source = '{COUNTY}' ORDER BY seq DESC LIMIT 1")
    assert own, "the county kept no anchor of its own chain"
    seq, digest, signature = own[0]
    query = (f"SELECT hash, signature FROM audit_anchors WHERE source = '{COUNTY}' "
             f"AND seq = {int(seq)}")
    for code in (CITY, PROVINCE):
        kept = wait_until(lambda code=code: core_sql(topology.site(code), query), timeout=60)
        assert kept == [[digest, signature]], f"{code} kept {kept!r}"
    exported = topology.site(CITY).core_cli("audit", "anchors", "--source", COUNTY)
    assert exported.exit_code == 0 and f'"seq": {int(seq)}' in exported.stdout, exported.stderr
    encoded = base64.b64encode(exported.stdout.encode()).decode()
    with county.ssh("core") as ssh:
        put = ssh.run(f"echo {encoded} | base64 -d > /tmp/city-anchors.json && "
                      "chmod 0644 /tmp/city-anchors.json")
    assert put.exit_code == 0, put.stderr
    verified = county.core_cli("audit", "verify", "--anchors", "/tmp/city-anchors.json")
    assert verified.exit_code == 0, verified.stderr + verified.stdout
    assert "audit chain intact" in verified.stdout and "signed anchors" in verified.stdout
