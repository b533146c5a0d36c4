"""flows.yaml: the rows that matter are there, and a malformed matrix is refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sunlight.paths import repo_root
from sunlight.topology.flows import Enforced, FlowsError, load_flows, parse_flows
from sunlight.topology.layout import CONTROL, NODE, ROLES, Net

MATRIX = load_flows()


@pytest.mark.parametrize(("src", "dst", "net", "port", "relation"), [
    (CONTROL, NODE, Net.MGMT, 22, "control"),
    (CONTROL, "core", Net.INT, 8003, "control"),
    ("gateway", "portal_db", Net.EXT, 5432, "same"),
    ("gateway", "core", Net.INT, 8003, "same"),
    ("portal", "portal_db", Net.EXT, 5432, "same"),
    ("core", "core_db", Net.INT, 5432, "same"),
    ("mq", "mq", Net.BACKBONE, 5671, "up"),
    ("mon", "mon", Net.BACKBONE, 9090, "down"),
    ("mon", NODE, Net.INT, 9100, "same"),
])
def test_the_notable_rows_are_allowed(src: str, dst: str, net: Net, port: int,
                                      relation: Any) -> None:
    assert MATRIX.allows(src, dst, net, port, relation)


@pytest.mark.parametrize(("src", "dst", "net", "port", "relation"), [
    ("mq", "mq", Net.BACKBONE, 5671, "down"),  # shovels run on the child
    ("mq", "mq", Net.BACKBONE, 5672, "up"),  # nothing plain on the backbone: TLS only
    ("mon", "mon", Net.BACKBONE, 9090, "up"),  # a child never scrapes its parent
    ("gateway", "core_db", Net.INT, 5432, "same"),
    ("portal", "core", Net.INT, 8003, "same"),
    ("core", "portal_db", Net.EXT, 5432, "same"),
    ("gateway", "portal_db", Net.EXT, 5432, "other"),  # never across sites on ext
    (CONTROL, "core_db", Net.INT, 5432, "control"),
])
def test_notable_denials(src: str, dst: str, net: Net, port: int, relation: Any) -> None:
    assert not MATRIX.allows(src, dst, net, port, relation)


def test_external_roles_are_denied_every_internal_port_by_the_network() -> None:
    external = {"nginx", "portal", "portal_db"}
    rows = [f for f in MATRIX.denied if f.source in external and f.network is Net.INT]
    internal = {"gateway", "core", "core_db", "mq", "mon"}
    expected = sum(len(MATRIX.ports[d]) for d in internal) * len(external)
    assert len(rows) == expected
    assert all(f.enforced_by is Enforced.NETWORK for f in rows)


def test_only_nginx_publishes_443_on_loopback() -> None:
    assert [(p.role, p.port, p.bind) for p in MATRIX.publish] == [("nginx", 443, "127.0.0.1")]


def test_every_role_has_ports_and_every_row_a_reason() -> None:
    assert set(MATRIX.ports) == ROLES | {NODE, CONTROL}
    assert all(MATRIX.ports[r] for r in ROLES | {NODE})
    assert len(MATRIX.allowed) >= 20 and len(MATRIX.denied) >= 100
    assert all(len(f.why) > 10 for f in MATRIX.flows)


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((repo_root() / "infra" / "flows.yaml").read_text())
    return doc


def _row(**row: Any) -> dict[str, Any]:
    return {"source": "portal", "destination": "portal_db", "network": "ext",
            "port": "postgres_exporter", "allow": True, "why": "a test row", **row}


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d["flows"].append(_row(source="ghost")), "unknown role 'ghost'"),
    (lambda d: d["flows"].append(_row(port="amqp")), "portal_db does not listen on amqp"),
    (lambda d: d["flows"].append(_row(port="ghost")), "unknown service 'ghost'"),
    (lambda d: d["flows"].append(_row(port=9187)), "valid string"),  # rows name services
    (lambda d: d["flows"].append(_row(enforced_by="network")), "a denied row needs"),
    (lambda d: d["flows"].append(_row(allow=False)), "a denied row needs"),
    (lambda d: d["flows"].append(_row(direction="up")), "only for backbone rows"),
    (lambda d: d["flows"].append(_row(destination="mq", network="backbone", port="amqp")),
     "needs a `direction`"),
    (lambda d: d["flows"].append(_row(port="postgresql")), "already stated"),
    (lambda d: d["flows"].append(_row(source="nginx", destination="core", network="int",
                                      port="core_api")), "already stated"),
    (lambda d: d["flows"].append(_row(destination="control", port="ssh")), "only a source"),
    (lambda d: d["publish"].append({"role": "portal", "port": "portal_api", "bind": "0.0.0.0"}),
     "publish"),
    (lambda d: d["publish"].append({"role": "portal", "port": "https", "bind": "127.0.0.1"}),
     "a role's own service"),
    (lambda d: d["services"].update(sshd=22), "port 22 is already ssh's"),
    (lambda d: d["services"].update({"Bad-Name": 1234}), "a service name"),
    (lambda d: d["services"].update({"any": 1234}), "not `any`"),
    (lambda d: d["services"].update(big=70000), "not a TCP port"),
    (lambda d: d["roles"]["mon"].append("ghost"), "unknown services ['ghost']"),
    (lambda d: d["roles"]["mon"].append("prometheus"), "services must be distinct"),
    (lambda d: d["roles"].pop("mon"), "roles must be exactly"),
    (lambda d: d.update(version=2), "version"),
])
def test_a_malformed_matrix_is_refused(change: Any, says: str) -> None:
    doc = copy.deepcopy(_doc())
    change(doc)
    with pytest.raises(FlowsError, match=None) as err:
        parse_flows(doc)
    assert says in str(err.value)


def test_an_allowed_row_meeting_a_directionless_denial_is_refused() -> None:
    doc = copy.deepcopy(_doc())
    doc["flows"].append({"source": "core", "destination": "mq", "network": "backbone",
                         "port": "amqp", "direction": "up", "allow": True, "why": "clash"})
    with pytest.raises(FlowsError, match="both allowed and denied"):
        parse_flows(doc)


def test_every_port_is_a_named_service_stated_once() -> None:
    assert len(set(MATRIX.services.values())) == len(MATRIX.services)
    for role, services in MATRIX.role_services.items():
        assert MATRIX.ports[role] == tuple(MATRIX.port(s) for s in services)
    assert MATRIX.port("core_api") == 8003 and MATRIX.service(5672) == "amqp"
    assert MATRIX.services_of(["core", NODE]) == ("ssh", "node_exporter", "core_api")
    with pytest.raises(FlowsError, match="no service 'ghost'"):
        MATRIX.port("ghost")
    with pytest.raises(FlowsError, match="no service on port 1"):
        MATRIX.service(1)
