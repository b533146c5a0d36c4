"""Where events go: the next hop between tiers, and each site's broker as data.

Backbone connections are made by the child only (the firewall lets child mq reach parent
mq's TLS listener, ``amqps`` in flows.yaml, never the reverse), so the child's broker runs
both shovels (over TLS, logging in with the child's client certificate,
:func:`parent_link_uri`): upward, its local
``sunlight.up.out`` queue → the parent's ``sunlight.up.in`` exchange; downward, the queue
``sunlight.down.<child>`` on the parent → the child's ``sunlight.down.in`` exchange. Core
publishes to ``sunlight.up`` (routing key ``up``) and ``sunlight.down`` (routing key = the
child's code) and consumes ``sunlight.in.up`` (from children) and ``sunlight.in.down`` (from
the parent). A site that forwards (a city) re-publishes the received body unchanged through
its own outbox, so every queue on a link holds only what that site's core published.

Every queue of the exchange is bounded (policies of the definitions): at most
:data:`QUEUE_MAX_LENGTH` messages and :data:`QUEUE_MAX_BYTES` bytes, with overflow
``reject-publish``. A full queue refuses the publish instead of dropping anything it
accepted (``drop-head``, RabbitMQ's default, would silently delete the oldest events, which
have already left their sender's outbox): core's publisher, with confirms, is nacked and
keeps the event in its outbox (the database) to retry; a shovel (``ack-mode: on-confirm``)
is nacked by its destination and puts the message back in its source queue to retry. The
backlog thus stays one hop back, in view (``link_queued``, ``oldest_undelivered_seconds``).
The brokers' ``max_message_size`` is :data:`~.envelope.MAX_BODY_BYTES` (rabbitmq.conf). The
numbers are stated in ``playbooks/group_vars/all.yml`` (``sunlight_exchange_*``), which the
deployment passes to ``sunlight exchange definitions``; these defaults equal them (a unit
test keeps them equal).

:func:`broker_definitions` returns a RabbitMQ definitions document (what
``rabbitmqctl import_definitions`` and ``POST /api/definitions`` accept) without users,
passwords or permissions: the deployment creates those (:func:`core_permissions`,
:func:`child_permissions` say which) and passes ``parent_uri``: on a deployment an
``amqps://`` URI naming the child's certificate files (no secret in it), for test brokers
an ``amqp://`` one with the per-child user's password.

Example::

    >>> d = broker_definitions("320703", parent="320700",
    ...                        parent_uri="amqp://child-320703:S3cret@10.9.0.3:5672/sunlight")
    >>> [p["name"] for p in d["parameters"]]
    ['sunlight-down-from-320700', 'sunlight-up-to-320700']
    >>> broker_definitions("320000", children=["320700"])["parameters"]
    []
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sunlight.runtime.exchange.envelope import BROADCAST
from sunlight.topology.division import DivisionError, check_code, check_parent, expected_parent

EX_UP, EX_UP_IN, EX_DOWN, EX_DOWN_IN = "sunlight.up", "sunlight.up.in", "sunlight.down", \
    "sunlight.down.in"
Q_UP_OUT, Q_IN_UP, Q_IN_DOWN = "sunlight.up.out", "sunlight.in.up", "sunlight.in.down"
UP_KEY = "up"
DEFAULT_VHOST = "sunlight"
#: Messages a queue of the exchange holds at most (some days of a busy county's events while
#: its WAN link is cut); bytes it holds at most. Then it refuses publishes (reject-publish).
QUEUE_MAX_LENGTH = 250000
QUEUE_MAX_BYTES = 2147483648
OVERFLOW = "reject-publish"


def down_queue(child: str) -> str:
    """The queue on a parent that holds what waits for ``child``."""
    return f"sunlight.down.{child}"


def link_queue(site: str, neighbour: str) -> str:
    """The queue on ``site``'s broker that holds what waits to cross to ``neighbour``."""
    return Q_UP_OUT if expected_parent(site) == neighbour else down_queue(neighbour)


class Misrouted(ValueError):
    """An event arrived where its addressing says it has no business."""


def ancestors(code: str) -> list[str]:
    """Parent, grandparent, … of ``code`` by GB/T 2260."""
    found: list[str] = []
    parent = expected_parent(code)
    while parent is not None:
        found.append(parent)
        parent = expected_parent(parent)
    return found


def next_hop_down(site: str, destination: str) -> str:
    """The child of ``site`` on the way to ``destination`` (a descendant of ``site``)."""
    chain = [destination, *ancestors(destination)]
    if site not in chain[1:]:
        raise Misrouted(f"{destination} is not below {site}")
    return chain[chain.index(site) - 1]


@dataclass(frozen=True)
class Route:
    """What a site does with an event it accepted: apply it here, pass it to neighbours."""

    apply: bool
    forward: tuple[str, ...]


def route(site: str, children: Sequence[str], direction: Literal["up", "down"], source: str,
          destination: str | None) -> Route:
    """Decide apply/forward for an event that arrived travelling ``direction``.

    Upward events come from a descendant: undestined ones are applied at every ancestor
    and forwarded to the parent; a destined one is applied only at its destination.
    Downward events come from an ancestor: a broadcast is applied and passed to every child;
    a destined one is passed towards its destination.

    Example::

        >>> route("320700", ["320703"], "up", "320703", None)
        Route(apply=True, forward=('320000',))
        >>> route("320700", ["320703"], "down", "320000", "320703")
        Route(apply=False, forward=('320703',))
    """
    parent = expected_parent(site)
    if direction == "up":
        if site not in ancestors(source):
            raise Misrouted(f"an upward event from {source} reached {site}, not its ancestor")
        if destination is None:
            return Route(True, (parent,) if parent else ())
        if destination == site:
            return Route(True, ())
        if destination in ancestors(site):
            return Route(False, (str(parent),))
        raise Misrouted(f"upward event for {destination} cannot pass {site}")
    if source not in ancestors(site):
        raise Misrouted(f"a downward event from {source} reached {site}, not its descendant")
    if destination == BROADCAST:
        return Route(True, tuple(children))
    if destination == site:
        return Route(True, ())
    if destination is None:
        raise Misrouted("a downward event needs a destination")
    return Route(False, (next_hop_down(site, destination),))


def _exchange(name: str, kind: str, vhost: str) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "type": kind, "durable": True,
            "auto_delete": False, "internal": False, "arguments": {}}


def _queue(name: str, vhost: str) -> dict[str, Any]:
    # Classic durable queues: a single broker per site, where quorum queues add nothing.
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False,
            "arguments": {"x-queue-type": "classic"}}


def _binding(source: str, queue: str, key: str, vhost: str) -> dict[str, Any]:
    return {"source": source, "vhost": vhost, "destination": queue,
            "destination_type": "queue", "routing_key": key, "arguments": {}}


#: What an ``amqps://`` parent URI must say: the child authenticates with its client
#: certificate (EXTERNAL, no password in the URI) and verifies the parent's certificate.
TLS_QUERY_REQUIRED = ("cacertfile", "certfile", "keyfile", "server_name_indication")


def parent_link_uri(host: str, port: int, vhost: str, *, cacertfile: str, certfile: str,
                    keyfile: str, server_name: str) -> str:
    """The shovels' URI of the parent broker over TLS: the child's client certificate
    (EXTERNAL: the parent takes the user name from its CN), the parent's certificate
    verified against the deployment's CA and for ``server_name``.

    Example::

        >>> parent_link_uri("10.9.0.3", 1234, "sunlight", cacertfile="/t/ca.crt",
        ...                 certfile="/t/c.crt", keyfile="/t/c.key",
        ...                 server_name="rabbitmq.320700.sunlight")  # doctest: +ELLIPSIS
        'amqps://10.9.0.3:1234/sunlight?auth_mechanism=external&cacertfile=/t/ca.crt&...'
    """
    query = {"auth_mechanism": "external", "cacertfile": cacertfile, "certfile": certfile,
             "keyfile": keyfile, "verify": "verify_peer", "server_name_indication": server_name}
    return f"amqps://{host}:{port}/{quote(vhost, safe='')}?{urlencode(query, safe='/')}"


def _with_link_options(uri: str, heartbeat_s: int, connect_timeout_s: int) -> str:
    """Add heartbeat and connect timeout unless set: a cut WAN link sends no RST, so only
    heartbeats notice it, and a reconnect must not wait forever on a dropped SYN.

    An ``amqps://`` URI must authenticate by certificate and verify the peer
    (:func:`parent_link_uri`); a plain ``amqp://`` one (test brokers) carries credentials.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError("parent_uri must be an amqp:// or amqps:// URI")
    query = dict(parse_qsl(parts.query))
    if parts.scheme == "amqps":
        missing = [k for k in TLS_QUERY_REQUIRED if not query.get(k)]
        if query.get("verify") != "verify_peer":
            missing.append("verify=verify_peer")
        if query.get("auth_mechanism") != "external" or parts.password is not None:
            missing.append("auth_mechanism=external (and no password)")
        if missing:
            raise ValueError("an amqps:// parent_uri must verify the parent and log in with "
                             "the child's certificate; missing: " + ", ".join(missing))
    elif not parts.username or parts.password is None:
        raise ValueError("parent_uri must carry the credentials of this child's user on the "
                         "parent broker (amqp://USER:PASSWORD@HOST:5672/VHOST), or be an "
                         "amqps:// URI with the child's certificate")
    query.setdefault("heartbeat", str(heartbeat_s))
    query.setdefault("connection_timeout", str(connect_timeout_s * 1000))
    # File paths stay as they are ('/' unescaped), as RabbitMQ's URI examples write them.
    return urlunsplit(parts._replace(query=urlencode(query, safe="/")))


def _shovels(site: str, parent: str, uri: str, vhost: str, reconnect_delay_s: int,
             prefetch: int) -> list[dict[str, Any]]:
    local = "amqp:///" + quote(vhost, safe="")
    common = {"src-protocol": "amqp091", "dest-protocol": "amqp091", "ack-mode": "on-confirm",
              "src-delete-after": "never", "reconnect-delay": reconnect_delay_s,
              "src-prefetch-count": prefetch}
    down = {**common, "src-uri": uri, "src-queue": down_queue(site), "dest-uri": local,
            "dest-exchange": EX_DOWN_IN}
    up = {**common, "src-uri": local, "src-queue": Q_UP_OUT, "dest-uri": uri,
          "dest-exchange": EX_UP_IN}
    return [{"vhost": vhost, "component": "shovel", "name": f"sunlight-down-from-{parent}",
             "value": down},
            {"vhost": vhost, "component": "shovel", "name": f"sunlight-up-to-{parent}",
             "value": up}]


def broker_definitions(site: str, *, parent: str | None = None, parent_uri: str | None = None,
                       children: Iterable[str] = (), vhost: str = DEFAULT_VHOST,
                       reconnect_delay_s: int = 5, heartbeat_s: int = 10,
                       connect_timeout_s: int = 10, prefetch: int = 500,
                       max_length: int = QUEUE_MAX_LENGTH,
                       max_bytes: int = QUEUE_MAX_BYTES) -> dict[str, Any]:
    """The definitions document for ``site``'s broker (see the module docstring)."""
    check_code(site)
    if parent:
        check_parent(site, parent)
    if bool(parent) != bool(parent_uri):
        raise ValueError("parent and parent_uri go together: the child's broker runs the "
                         "shovels, with the URI (and credentials) the deployment gives it")
    kids = sorted(set(children))
    for child in kids:
        if expected_parent(child) != site:
            raise DivisionError(f"{child} is not a child of {site} "
                                f"(its parent is {expected_parent(child)})")
    exchanges = [_exchange(EX_UP, "direct", vhost), _exchange(EX_UP_IN, "fanout", vhost),
                 _exchange(EX_DOWN, "direct", vhost), _exchange(EX_DOWN_IN, "fanout", vhost)]
    queues = [_queue(Q_IN_UP, vhost), _queue(Q_IN_DOWN, vhost)]
    bindings = [_binding(EX_UP_IN, Q_IN_UP, "", vhost), _binding(EX_DOWN_IN, Q_IN_DOWN, "", vhost)]
    parameters: list[dict[str, Any]] = []
    if parent and parent_uri:
        queues.append(_queue(Q_UP_OUT, vhost))
        bindings.append(_binding(EX_UP, Q_UP_OUT, UP_KEY, vhost))
        uri = _with_link_options(parent_uri, heartbeat_s, connect_timeout_s)
        parameters = _shovels(site, parent, uri, vhost, reconnect_delay_s, prefetch)
    for child in kids:
        queues.append(_queue(down_queue(child), vhost))
        bindings.append(_binding(EX_DOWN, down_queue(child), child, vhost))
    if max_length < 1 or max_bytes < 1:
        raise ValueError("a queue's limits must be positive")
    # Every queue is bounded; a full one refuses publishes (see the module docstring). One
    # policy applies to a queue, so each carries the limits.
    limits = {"max-length": max_length, "max-length-bytes": max_bytes, "overflow": OVERFLOW}
    # A link queue may hold a long backlog while the WAN link is cut: keep it on disk.
    policies = [{"vhost": vhost, "name": "sunlight-link-backlog", "apply-to": "queues",
                 "pattern": r"^sunlight\.(up\.out|down\.[0-9]{6})$", "priority": 0,
                 "definition": {"queue-mode": "lazy", **limits}},
                {"vhost": vhost, "name": "sunlight-inbound", "apply-to": "queues",
                 "pattern": r"^sunlight\.in\.(up|down)$", "priority": 0,
                 "definition": dict(limits)}]
    return {"vhosts": [{"name": vhost}], "exchanges": exchanges, "queues": queues,
            "bindings": bindings, "policies": policies, "parameters": parameters}


def core_permissions() -> dict[str, str]:
    """What core's own user needs on its broker: publish, consume, passively declare."""
    return {"configure": "^$", "write": r"^sunlight\.(up|down)$",
            "read": r"^sunlight\.(in\.up|in\.down|up\.out|down\.[0-9]{6})$"}


def child_permissions(child: str) -> dict[str, str]:
    """What a child's user needs on its parent's broker for the child's two shovels."""
    own = "^" + down_queue(child).replace(".", r"\.") + "$"
    return {"configure": own, "write": r"^sunlight\.up\.in$", "read": own}
