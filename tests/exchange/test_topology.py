"""Broker definitions as data, next hops and routing decisions."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sunlight.runtime.exchange.topology import (
    Misrouted,
    Route,
    ancestors,
    broker_definitions,
    child_permissions,
    core_permissions,
    link_queue,
    next_hop_down,
    parent_link_uri,
    route,
)
from sunlight.topology.division import DivisionError

CITY_URI = "amqp://child-320703:Gen3rated-pw@10.20.0.3:5672/sunlight"
PROVINCE_URI = "amqp://child-320700:0ther-pw@10.20.0.2:5672/sunlight"


def _chain() -> dict[str, dict[str, Any]]:
    return {
        "320000": broker_definitions("320000", children=["320700"]),
        "320700": broker_definitions("320700", parent="320000", parent_uri=PROVINCE_URI,
                                     children=["320703"]),
        "320703": broker_definitions("320703", parent="320700", parent_uri=CITY_URI),
    }


def _shovels(defs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p["value"] for p in defs["parameters"] if p["component"] == "shovel"}


def test_shovels_run_only_at_children_and_connect_only_upwards() -> None:
    chain = _chain()
    assert _shovels(chain["320000"]) == {}
    for child, parent, uri in (("320700", "320000", PROVINCE_URI),
                               ("320703", "320700", CITY_URI)):
        shovels = _shovels(chain[child])
        assert set(shovels) == {f"sunlight-up-to-{parent}", f"sunlight-down-from-{parent}"}
        up, down = shovels[f"sunlight-up-to-{parent}"], shovels[f"sunlight-down-from-{parent}"]
        # Every remote URI is the parent's, as given; the local side is the child's own broker.
        assert up["dest-uri"].startswith(uri + "?") and down["src-uri"] == up["dest-uri"]
        assert up["src-uri"] == down["dest-uri"] == "amqp:///sunlight"
        assert (up["src-queue"], up["dest-exchange"]) == ("sunlight.up.out", "sunlight.up.in")
        assert down["src-queue"] == f"sunlight.down.{child}"
        assert down["dest-exchange"] == "sunlight.down.in"
        assert up["ack-mode"] == down["ack-mode"] == "on-confirm"


def test_the_uri_gets_heartbeat_and_connect_timeout_but_keeps_what_is_given() -> None:
    up = _shovels(_chain()["320703"])["sunlight-up-to-320700"]
    query = parse_qs(urlsplit(up["dest-uri"]).query)
    assert query == {"heartbeat": ["10"], "connection_timeout": ["10000"]}
    kept = broker_definitions("320703", parent="320700", parent_uri=CITY_URI + "?heartbeat=3")
    assert "heartbeat=3" in _shovels(kept)["sunlight-up-to-320700"]["dest-uri"]


def test_no_credentials_are_invented_and_no_users_are_defined() -> None:
    for site, defs in _chain().items():
        assert set(defs) == {"vhosts", "exchanges", "queues", "bindings", "policies",
                             "parameters"}, site
        text = json.dumps(defs)
        assert "password" not in text and "guest" not in text
        secrets = {"Gen3rated-pw", "0ther-pw"} & set(text.replace("@", ":").split(":"))
        assert secrets <= {"320700": {"0ther-pw"}, "320703": {"Gen3rated-pw"},
                           "320000": set()}[site]
    with pytest.raises(ValueError, match="credentials"):
        broker_definitions("320703", parent="320700", parent_uri="amqp://10.20.0.3/sunlight")
    with pytest.raises(ValueError, match="go together"):
        broker_definitions("320703", parent="320700")
    with pytest.raises(ValueError, match="amqp"):
        broker_definitions("320703", parent="320700", parent_uri="http://u:p@h/")


def test_the_parent_holds_one_queue_per_child_bound_by_its_code() -> None:
    defs = broker_definitions("320700", parent="320000", parent_uri=PROVINCE_URI,
                              children=["320703", "320706"])
    queues = {q["name"] for q in defs["queues"]}
    assert {"sunlight.down.320703", "sunlight.down.320706", "sunlight.up.out",
            "sunlight.in.up", "sunlight.in.down"} == queues
    assert all(q["durable"] and not q["auto_delete"] for q in defs["queues"])
    assert all(e["durable"] for e in defs["exchanges"])
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in defs["bindings"]}
    assert ("sunlight.down", "sunlight.down.320706", "320706") in bindings
    assert ("sunlight.up", "sunlight.up.out", "up") in bindings
    limits = {"max-length": 250000, "max-length-bytes": 2147483648, "overflow": "reject-publish"}
    assert [(p["name"], p["definition"]) for p in defs["policies"]] == [
        ("sunlight-link-backlog", {"queue-mode": "lazy", **limits}),
        ("sunlight-inbound", limits)]
    bounded = [q for q in queues if any(re.match(p["pattern"], q) for p in defs["policies"])]
    assert sorted(bounded) == sorted(queues)  # no queue of the exchange is unbounded
    assert "sunlight.up.out" not in {q["name"] for q in _chain()["320000"]["queues"]}


def test_kinship_is_checked() -> None:
    with pytest.raises(DivisionError):
        broker_definitions("320703", parent="320000", parent_uri=CITY_URI)
    with pytest.raises(DivisionError, match="not a child"):
        broker_definitions("320000", children=["320703"])


def test_next_hops_and_link_queues() -> None:
    assert ancestors("320703") == ["320700", "320000"]
    assert next_hop_down("320000", "320703") == "320700"
    assert next_hop_down("320700", "320703") == "320703"
    assert next_hop_down("420000", "429004") == "429004"  # province-administered county
    with pytest.raises(Misrouted):
        next_hop_down("320700", "320000")
    assert link_queue("320703", "320700") == "sunlight.up.out"
    assert link_queue("320700", "320703") == "sunlight.down.320703"


@pytest.mark.parametrize("site, direction, source, destination, expected", [
    ("320700", "up", "320703", None, Route(True, ("320000",))),
    ("320000", "up", "320703", None, Route(True, ())),
    ("320700", "up", "320703", "320000", Route(False, ("320000",))),
    ("320000", "up", "320703", "320000", Route(True, ())),
    ("320700", "down", "320000", "320703", Route(False, ("320703",))),
    ("320703", "down", "320000", "320703", Route(True, ())),
    ("320700", "down", "320000", "*", Route(True, ("320703",))),
])
def test_route(site: str, direction: Any, source: str, destination: str | None,
               expected: Route) -> None:
    assert route(site, ["320703"], direction, source, destination) == expected


@pytest.mark.parametrize("site, direction, source, destination", [
    ("320700", "up", "320000", None),        # upward, but from an ancestor
    ("320700", "up", "320803", None),        # upward, from another city's county
    ("320700", "down", "320703", "320703"),  # downward, but from a descendant
    ("320703", "down", "320000", "320706"),  # for a sibling
    ("320703", "up", "320703", None),        # from itself
])
def test_misrouted(site: str, direction: Any, source: str, destination: str | None) -> None:
    with pytest.raises(Misrouted):
        route(site, ["320703"], direction, source, destination)


def test_permissions_name_only_what_each_user_needs() -> None:
    child = child_permissions("320703")
    assert child["read"] == child["configure"] == r"^sunlight\.down\.320703$"
    assert child["write"] == r"^sunlight\.up\.in$"
    assert core_permissions()["configure"] == "^$"


TLS_URI = ("amqps://10.20.0.3:5671/sunlight?auth_mechanism=external&cacertfile=/ca.crt"
           "&certfile=/s.crt&keyfile=/s.key&verify=verify_peer"
           "&server_name_indication=rabbitmq.320700.sunlight")


def test_a_tls_parent_link_logs_in_by_certificate_and_verifies_the_parent() -> None:
    defs = broker_definitions("320703", parent="320700", parent_uri=TLS_URI)
    up = _shovels(defs)["sunlight-up-to-320700"]["dest-uri"]
    assert up.startswith("amqps://10.20.0.3:5671/sunlight?") and "@" not in up
    query = parse_qs(urlsplit(up).query)
    assert query["verify"] == ["verify_peer"] and query["auth_mechanism"] == ["external"]
    assert query["server_name_indication"] == ["rabbitmq.320700.sunlight"]
    assert query["heartbeat"] == ["10"] and "keyfile=/s.key&" in up  # paths as written
    assert _shovels(defs)["sunlight-down-from-320700"]["src-uri"] == up
    assert parent_link_uri("10.20.0.3", 5671, "sunlight", cacertfile="/ca.crt",
                           certfile="/s.crt", keyfile="/s.key",
                           server_name="rabbitmq.320700.sunlight") == TLS_URI
    for weakened, missing in ((TLS_URI.replace("verify=verify_peer", "verify=verify_none"),
                               "verify=verify_peer"),
                              (TLS_URI.replace("&cacertfile=/ca.crt", ""), "cacertfile"),
                              (TLS_URI.replace("auth_mechanism=external&", ""),
                               "auth_mechanism"),
                              (TLS_URI.replace("amqps://", "amqps://child-320703:pw@"),
                               "no password"),
                              (TLS_URI.replace("&server_name_indication=rabbitmq.320700.sunlight",
                                               ""), "server_name_indication")):
        with pytest.raises(ValueError, match=missing):
            broker_definitions("320703", parent="320700", parent_uri=weakened)
