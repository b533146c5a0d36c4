"""Topology suite, part 7 (transport, issue 15 point 7 and point 10's Prometheus items).

On the session's province → city → county topology: every backbone AMQP listener takes TLS
with a client certificate of the deployment CA and nothing else; the shovels run over it,
logged in by certificate; core and Prometheus answer HTTPS only, with certificates the
deployment CA verifies; the parent federates its child over TLS without honouring the
child's labels, and Prometheus's lifecycle API is off. That events still flow up and down
over these links is what test_topology_1_readonly.py proves.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import httpx
import pytest

from sunlight.control.deploy.secrets import server_name
from sunlight.control.stack.access import SiteAccess
from sunlight.topology.flows import load_flows
from topology_suite import CITY, COUNTY, PROVINCE, Topology, wait_until

FLOWS = load_flows()
AMQP, AMQPS, PROMETHEUS = FLOWS.port("amqp"), FLOWS.port("amqps"), FLOWS.port("prometheus")
TLS_DIR = "/etc/rabbitmq/tls"
PARENT = {COUNTY: CITY, CITY: PROVINCE}

# Run on a broker host (system python3, as root to read the broker's client key): what a
# backbone listener answers to an AMQP protocol header sent plain, over TLS without a client
# certificate, and over TLS with this host's shovel certificate; and whether anything
# listens for plain AMQP on the backbone address. Connection.Start (a method frame on
# channel 0: 01 0000...) is the broker accepting to talk AMQP.
PROBE = r"""
import json, socket, ssl, sys
host, tls_port, plain_port, ca, sni, cert, key = sys.argv[1:8]
HEADER = b"AMQP\x00\x00\x09\x01"

def answer(sock):
    sock.settimeout(10)
    try:
        sock.sendall(HEADER)
        return {"data": sock.recv(64).hex()}
    except (OSError, ssl.SSLError) as exc:
        return {"error": repr(exc)}

def connect(port, context=None):
    try:
        sock = socket.create_connection((host, int(port)), timeout=5)
    except OSError as exc:
        return {"error": repr(exc)}
    try:
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname=sni)
        return answer(sock)
    except (OSError, ssl.SSLError) as exc:
        return {"error": repr(exc)}
    finally:
        sock.close()

out = {"plain": connect(tls_port), "plain_port": connect(plain_port)}
context = ssl.create_default_context(cafile=ca)
out["tls_without_certificate"] = connect(tls_port, context)
if cert != "-":
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    out["tls_with_certificate"] = connect(tls_port, context)
print(json.dumps(out))
"""


def _amqp_started(result: dict[str, str]) -> bool:
    return result.get("data", "").startswith("010000")


def _mq(site: SiteAccess) -> dict[str, Any]:
    return site.host_with("mq")


def _sudo(site: SiteAccess, role: str, command: str, timeout: float = 60) -> str:
    with site.ssh(role) as ssh:
        done = ssh.run(f"sudo -n {command}", timeout=timeout)
    assert done.exit_code == 0, f"{command}: {done.stderr or done.stdout}"
    return done.stdout


def _parent_broker(topology: Topology, child: str) -> str:
    """Where the child's shovels dial its parent's broker, as the child's inventory says: the
    parent's backbone address — or, from the county on the second engine, the address the
    city's engine publishes its broker on (docs/engines.md)."""
    peers = _mq(topology.site(child))["sunlight_peers"]
    found = {p["address"] for role in peers.values() for p in role
             if p["relation"] == "parent" and p["service"] == "amqps"}
    assert len(found) == 1, peers
    address = str(found.pop())
    parent = _mq(topology.site(PARENT[child]))["sunlight_addresses"]["backbone"]
    engines = {s.config.division_code: s.config.engine for s in topology.up.sites}
    crossing = engines[child] != engines[PARENT[child]]
    assert (address != parent) == crossing, (child, address, parent, engines)
    return address


def _probe(site: SiteAccess, target: str, target_code: str, with_cert: bool) -> dict[str, Any]:
    args = [target, str(AMQPS), str(AMQP), f"{TLS_DIR}/ca.crt",
            server_name("rabbitmq", target_code),
            f"{TLS_DIR}/shovel.crt" if with_cert else "-", f"{TLS_DIR}/shovel.key"]
    out = _sudo(site, "mq", "python3 -c " + shlex.join([PROBE, *args]))
    return dict(json.loads(out.splitlines()[-1]))


def test_every_backbone_amqp_listener_refuses_plaintext_and_anonymous_tls(
        topology: Topology) -> None:
    for code in (PROVINCE, CITY, COUNTY):
        site = topology.site(code)
        backbone = _mq(site)["sunlight_addresses"]["backbone"]
        listening = _sudo(site, "mq", "ss -Hltn").split()
        # Nothing plain on the backbone (nor on a wildcard address); TLS there.
        assert f"{backbone}:{AMQPS}" in listening, (code, listening)
        for address in (backbone, "0.0.0.0", "*", "[::]"):
            assert f"{address}:{AMQP}" not in listening, (code, address)
        # The host's own backbone listener, probed from the host itself.
        local = _probe(site, backbone, code, with_cert=False)
        assert not _amqp_started(local["plain"]), (code, local)
        assert not _amqp_started(local["plain_port"]), (code, local)
        assert not _amqp_started(local["tls_without_certificate"]), (code, local)
    for child, parent in PARENT.items():
        # Over the real backbone path, from the child's broker host (the firewall admits it).
        parent_address = _parent_broker(topology, child)
        seen = _probe(topology.site(child), parent_address, parent, with_cert=True)
        assert not _amqp_started(seen["plain"]), (child, seen)
        assert not _amqp_started(seen["tls_without_certificate"]), (child, seen)
        # ...and the child's own certificate, with the parent verified for its name, is let in.
        assert _amqp_started(seen["tls_with_certificate"]), (child, seen)


def test_shovels_run_over_tls_logged_in_by_certificate(topology: Topology) -> None:
    for child, parent in PARENT.items():
        site = topology.site(child)
        shovels = json.loads(_sudo(site, "mq", "rabbitmqctl -q shovel_status --formatter json"))
        ours = {s["name"]: s for s in shovels if s["name"].startswith("sunlight-")}
        assert set(ours) == {f"sunlight-up-to-{parent}", f"sunlight-down-from-{parent}"}
        assert all(s["state"] == "running" for s in ours.values()), ours
        params = json.loads(_sudo(site, "mq", "rabbitmqctl -q list_parameters -p sunlight "
                                              "--formatter json"))
        parent_backbone = _parent_broker(topology, child)
        for param in [p for p in params if p["component"] == "shovel"]:
            value = param["value"] if isinstance(param["value"], dict) else json.loads(
                param["value"])
            uri = value.get("dest-uri") if "up-to" in param["name"] else value.get("src-uri")
            assert uri.startswith(f"amqps://{parent_backbone}:{AMQPS}/"), uri
            assert "verify=verify_peer" in uri and "auth_mechanism=external" in uri
            assert f"server_name_indication={server_name('rabbitmq', parent)}" in uri
            assert "@" not in uri  # no user, no password
        # On the parent: the child's connections are TLS, EXTERNAL, with the child's
        # certificate verified (its subject is what the broker saw).
        connections = json.loads(_sudo(
            topology.site(parent), "mq", "rabbitmqctl -q list_connections user ssl "
            "auth_mechanism peer_cert_subject ssl_protocol --formatter json"))
        mine = [c for c in connections if c["user"] == f"child-{child}"]
        assert len(mine) >= 2, connections  # one per shovel
        for conn in mine:
            assert conn["ssl"] is True and conn["auth_mechanism"] == "EXTERNAL", conn
            assert f"CN=child-{child}" in conn["peer_cert_subject"], conn
            assert str(conn["ssl_protocol"]).startswith("tlsv1."), conn


def _prometheus(site: SiteAccess) -> str:
    return f"{site.host_with('mon')['sunlight_addresses']['int']}:{PROMETHEUS}"


def _query(site: SiteAccess, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(f"https://{_prometheus(site)}/api/v1/query", params={"query": expr},
                         verify=site.tls(), timeout=10)
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def test_core_and_prometheus_answer_https_only_with_verified_certificates(
        topology: Topology) -> None:
    site = topology.site(COUNTY)
    assert site.core_url.startswith("https://")
    assert httpx.get(f"{site.core_url}/readyz", verify=site.tls(), timeout=10).status_code == 200
    with pytest.raises(httpx.HTTPError):  # a plain request gets no answer from core
        httpx.get(site.core_url.replace("https://", "http://") + "/readyz", timeout=10)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{site.core_url}/readyz", timeout=10)  # the system's CAs do not know it
    env = _sudo(site, "gateway", "cat /etc/sunlight/gateway.env")
    assert f"SUNLIGHT_CORE_URL=https://{site.host_with('core')['sunlight_addresses']['int']}" \
        in env and "SUNLIGHT_TLS_CA_FILE=" in env
    city = topology.site(CITY)
    plain = httpx.get(f"http://{_prometheus(city)}/api/v1/targets", timeout=10)
    assert plain.status_code == 400 and "data" not in plain.text  # HTTPS only
    targets = httpx.get(f"https://{_prometheus(city)}/api/v1/targets", verify=city.tls(),
                        timeout=10).json()["data"]["activeTargets"]
    federated = [t for t in targets if t["scrapePool"] == f"federate-{COUNTY}"]
    # The city dials the county's Prometheus where the county's engine publishes it.
    dialled = {p["address"] for role in city.host_with("mon")["sunlight_peers"].values()
               for p in role if p["site"] == COUNTY and p["service"] == "prometheus"}
    assert dialled == {str(topology.up.sites[2].config.engine_address)}, dialled
    assert [t["scrapeUrl"].split("/federate")[0] for t in federated] == [
        f"https://{dialled.pop()}:{PROMETHEUS}"]
    assert federated[0]["health"] == "up", federated
    assert [t["health"] for t in targets if t["labels"]["job"] == "core"] == ["up"]
    # The lifecycle API is off: nobody on the network reloads or stops Prometheus.
    reload = httpx.post(f"https://{_prometheus(city)}/-/reload", verify=city.tls(), timeout=10)
    assert reload.status_code == 403, reload.text
    # Each host publishes how long its certificates have left.
    days = _query(city, 'sunlight:certificate_expiry_days{certificate=~"rabbitmq-.*|shovel"}')
    assert {r["metric"]["certificate"] for r in days} >= {"shovel"}
    assert all(800 < float(r["value"][1]) <= 825 for r in days), days


CLAIM_RULES = "/etc/prometheus/rules/zz-transport-claim.yml"
CLAIM = """groups:
  - name: transport-claim
    rules:
      - record: sunlight_transport_claim
        expr: vector(1)
        labels: {site: "320000", job: "claim"}
"""


def test_a_child_cannot_speak_for_another_site_through_federation(topology: Topology) -> None:
    county = topology.site(COUNTY)
    # The series carries a job: the parent federates {job=~".+"} (monitoring_federate_match).
    _sudo(county, "mon", f"sh -c {shlex.quote(f'cat > {CLAIM_RULES} <<EOF{chr(10)}{CLAIM}EOF')}")
    try:
        _sudo(county, "mon", "systemctl reload prometheus")  # SIGHUP: no lifecycle API
        # The county's Prometheus serves a series that claims to be the province's...
        assert wait_until(lambda: _query(county, "sunlight_transport_claim"), 60)
        city, province = topology.site(CITY), topology.site(PROVINCE)
        # ...the city takes it as the county's (the site it assigns), never the province's,
        seen = wait_until(lambda: _query(city, "sunlight_transport_claim"), 60)
        assert seen and [r["metric"]["site"] for r in seen] == [COUNTY], seen
        assert "exported_site" not in seen[0]["metric"]
        # ...and the province, federating the city, still has it as the county's: a child
        # speaks for the sites below it, never for another one.
        above = wait_until(lambda: _query(province, "sunlight_transport_claim"), 60)
        assert above and [r["metric"]["site"] for r in above] == [COUNTY], above
        assert _query(province, 'up{job="node", site="' + COUNTY + '"}')
    finally:
        _sudo(county, "mon", f"rm -f {CLAIM_RULES}")
        _sudo(county, "mon", "systemctl reload prometheus")
