"""Three tiers for the exchange tests: 320000 → 320700 → 320703, each with its own broker.

Each site has a RabbitMQ broker in a throwaway container from the node image (its packaged
rabbitmq-server 3.10, started directly with the shovel, management and prometheus plugins
and a generated administrator), on the site's own internal network, joined to one shared
**backbone** network — the government network between tiers; shovels cross only it. The
brokers get the definitions :func:`sunlight.runtime.exchange.topology.broker_definitions` returns
(imported through the management API, as the playbooks' ``rabbitmq`` role does), a core
user and per-child users with generated passwords. One PostgreSQL server holds one core
database per site; each core is a real ``sunlight serve core`` process with its own
Ed25519 key and its peers' public keys.

A WAN cut is modelled on the child's messaging host: nftables drops every packet to and
from the parent broker's backbone address. Both interfaces stay up and nobody sends a
reset — exactly what a cut line between two routers looks like — so the shovels notice
only by missed heartbeats, and TCP resumes or reconnects when the line is back.
(``network.disconnect`` would instead unplug the host's NIC: the child would get instant
"network unreachable" errors, which a WAN cut never gives.)
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import docker
import httpx
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from testcontainers.core.container import DockerContainer

from platform_site import (
    ANNUAL_REPORT,
    STAFF,
    Postgres,
    Role,
    free_port,
    shift_clock,
    start_postgres,
)
from sunlight.control.resources import Run, create_network
from sunlight.runtime.exchange.envelope import MAX_BODY_BYTES
from sunlight.runtime.exchange.signing import Keyring, generate_keypair, load_private_key
from sunlight.runtime.exchange.status import ExchangeStatus, parse
from sunlight.runtime.exchange.topology import (
    broker_definitions,
    child_permissions,
    core_permissions,
)
from sunlight.topology.division import expected_parent

VHOST = "sunlight"
PLUGINS = "rabbitmq_shovel rabbitmq_shovel_management rabbitmq_management rabbitmq_prometheus"
MQ_START = f"""set -e
cat > /etc/rabbitmq/rabbitmq.conf <<CONF
listeners.tcp.default = 5672
management.tcp.port = 15672
default_user = $MQ_ADMIN
default_pass = $MQ_PASSWORD
default_user_tags.administrator = true
log.console = true
log.console.level = warning
log.file = false
max_message_size = {MAX_BODY_BYTES}
CONF
rabbitmq-plugins enable --offline {PLUGINS} >/dev/null
exec su rabbitmq -s /bin/sh -c 'exec rabbitmq-server'
"""
CUT_TABLE = "sunlight_wan_cut"
# Test-speed link options: a cut is noticed after ~2 heartbeats (2 × 3 s), a reconnect
# attempt gives up after 5 s, and the next one starts 2 s later.
LINK_OPTIONS = {"heartbeat_s": 3, "connect_timeout_s": 5, "reconnect_delay_s": 2}


@dataclass
class Broker:
    """One site's RabbitMQ: its addresses and administrator (test harness only)."""

    site: str
    container: DockerContainer
    ip: str
    backbone_ip: str
    password: str
    admin: str = "admin"
    # Each child's shovel user on this broker: child code → password (set up by the chain).
    child_passwords: dict[str, str] = field(default_factory=dict)

    def amqp_url(self, user: str, password: str) -> str:
        return f"amqp://{user}:{quote(password, safe='')}@{self.ip}:5672/{VHOST}"

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, f"http://{self.ip}:15672/api{path}",
                                 auth=(self.admin, self.password), timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def add_user(self, name: str, password: str, permissions: dict[str, str]) -> None:
        self.api("PUT", f"/users/{name}", json={"password": password, "tags": ""})
        self.api("PUT", f"/permissions/{quote(VHOST, safe='')}/{name}", json=permissions)

    def queue(self, name: str) -> dict[str, Any]:
        body: dict[str, Any] = self.api("GET", f"/queues/{VHOST}/{name}").json()
        return body

    def publish(self, exchange: str, body: bytes, routing_key: str = "") -> bool:
        """Publish as if a shovel delivered ``body`` (the management API's publish)."""
        answer = self.api("POST", f"/exchanges/{VHOST}/{exchange}/publish", json={
            "properties": {"delivery_mode": 2}, "routing_key": routing_key,
            "payload": body.decode("utf-8"), "payload_encoding": "string"}).json()
        return bool(answer["routed"])

    def shovel_states(self) -> dict[str, str]:
        return {s["name"]: s.get("state", "?")
                for s in self.api("GET", f"/shovels/{VHOST}").json()}

    def _nft(self, *args: str) -> None:
        result = self.container.get_wrapped_container().exec_run(["nft", *args])
        assert result.exit_code == 0, result.output.decode()

    def cut(self, peer_ip: str) -> None:
        """Drop every packet to and from ``peer_ip``, silently (see the module docstring)."""
        self._nft("add", "table", "inet", CUT_TABLE)
        for chain, hook, match in (("in", "input", "saddr"), ("out", "output", "daddr")):
            self._nft("add", "chain", "inet", CUT_TABLE, chain,
                      f"{{ type filter hook {hook} priority 0 ; }}")
            self._nft("add", "rule", "inet", CUT_TABLE, chain, "ip", match, peer_ip, "drop")

    def heal(self) -> None:
        self._nft("delete", "table", "inet", CUT_TABLE)


def _start_broker(image: str, run: Run, site: str, network: str) -> DockerContainer:
    password = secrets.token_urlsafe(18)
    container = (DockerContainer(image).with_command(["bash", "-c", MQ_START])
                 .with_env("MQ_ADMIN", "admin").with_env("MQ_PASSWORD", password)
                 .with_kwargs(labels=run.labels(role="mq", site=site), network=network,
                              cap_add=["NET_ADMIN"], hostname=f"mq-{site}"))
    container.start()
    return container


def _ip(container: DockerContainer, network: str) -> str:
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    return str(wrapped.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


def _wait_broker(broker: Broker, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            broker.api("GET", "/overview")
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    logs = broker.container.get_wrapped_container().logs().decode()[-3000:]
    raise RuntimeError(f"broker of {broker.site} did not start:\n{logs}")


GAP_ALERT_S = 3  # the chain's gap alert (short, so that a test can wait it out)


@dataclass
class Tier:
    """One running site of the chain."""

    code: str
    broker: Broker
    core: Role
    db_url: str
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.core.url

    def token(self, username: str) -> str:
        response = httpx.post(f"{self.url}/api/v1/auth/token", json={
            "username": username, "password": self.passwords[username]})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def staff(self, username: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token(username)}"})

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url.replace("+psycopg", "")) as conn:
            return list(conn.execute(query, params).fetchall())

    def cli(self, *args: str, module: str = "sunlight.cli") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", module, *args], env=self.core.env,
                              capture_output=True, text=True, check=False, timeout=120)

    def exchange_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``sunlight exchange ARGS`` with this core's environment."""
        return self.cli("exchange", *args)

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return load_private_key(Path(self.core.env["SUNLIGHT_SIGNING_KEY_FILE"]))

    def keyring(self) -> Keyring:
        return Keyring.load(self.code, Path(self.core.env["SUNLIGHT_PEER_KEYS_DIR"]))

    def shift_clock(self, seconds: float) -> None:
        """This core's clock runs ``seconds`` ahead (runtime/clock.py); 0 puts it back."""
        shift_clock(Path(self.core.env["SUNLIGHT_CLOCK_OFFSET_FILE"]), seconds)

    def status(self) -> ExchangeStatus:
        return parse(httpx.get(f"{self.url}/metrics", timeout=10).text)

    def submit(self, receipt: str, credit_code: str = "91320703MA1W2X3Y4Z") -> str:
        """A new application, as the gateway delivers it; returns the case id."""
        token = self.core.env["SUNLIGHT_EXCHANGE_TOKEN"]
        delivered = httpx.post(f"{self.url}/api/v1/exchange/records", timeout=30,
                               headers={"Authorization": f"Bearer {token}"}, json={
            "record_id": str(uuid.uuid4()), "record_type": "application.submitted",
            "payload": {"receipt": receipt, "item_code": ANNUAL_REPORT, "item_version": 1,
                        "applicant": {"kind": "enterprise", "id_number": credit_code,
                                      "name": "连云港海州湾贸易有限公司"},
                        "form": {}, "submitted_at": datetime.now(UTC).isoformat(), "batch": 0,
                        "materials": []}})
        assert delivered.status_code == 200, delivered.text
        return str(self.sql("SELECT id FROM cases WHERE receipt = %s", receipt)[0][0])


def act(client: httpx.Client, case_id: str, action: str, comment: str = "") -> None:
    response = client.post(f"/api/v1/cases/{case_id}/actions",
                           json={"action": action, "comment": comment})
    assert response.status_code == 200, response.text


def _keys(root: Path, codes: list[str]) -> dict[str, tuple[Path, Path]]:
    """Each site's private key file and peer directory (everyone else's public key)."""
    pairs = {code: generate_keypair() for code in codes}
    out = {}
    for code in codes:
        peers = root / code / "peers"
        peers.mkdir(parents=True)
        for other, (_, public) in pairs.items():
            if other != code:
                (peers / f"{other}.pem").write_bytes(public)
        key = root / code / f"{code}.key"
        key.write_bytes(pairs[code][0])
        key.chmod(0o600)
        out[code] = (key, peers)
    return out


def _configure_brokers(brokers: dict[str, Broker], codes: list[str]) -> dict[str, str]:
    """Users and definitions, parents first; returns each site's core password."""
    core_passwords, child_passwords = {}, {}
    for code in codes:  # parents first: a child's shovels log in to its parent's broker
        broker, parent = brokers[code], expected_parent(code)
        children = [c for c in codes if expected_parent(c) == code]
        uri = None
        if parent in brokers:
            uri = (f"amqp://child-{code}:{child_passwords[code]}@"
                   f"{brokers[parent].backbone_ip}:5672/{VHOST}")
        broker.api("POST", "/definitions", json=broker_definitions(
            code, parent=parent if uri else None, parent_uri=uri, children=children,
            vhost=VHOST, **LINK_OPTIONS))
        broker.api("PUT", f"/permissions/{VHOST}/admin",
                   json={"configure": ".*", "write": ".*", "read": ".*"})
        core_passwords[code] = secrets.token_urlsafe(18)
        broker.add_user(f"core-{code}", core_passwords[code], core_permissions())
        for child in children:
            child_passwords[child] = secrets.token_urlsafe(18)
            broker.add_user(f"child-{child}", child_passwords[child], child_permissions(child))
            broker.child_passwords[child] = child_passwords[child]
    return core_passwords


def _prepare_db(pg: Postgres, code: str, env: dict[str, str], logs: Path) -> tuple[str,
                                                                                   dict[str, str]]:
    name = f"core_{code}"
    url = pg.url(name, pg.create_database(name), name)
    env = {**env, "SUNLIGHT_DATABASE_URL": url}

    def cli(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "sunlight.cli", *args], env=env,
                              capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr + done.stdout

    cli("migrate", "core")
    cli("catalogue", "import", "--sample")
    passwords = {}
    for username, (roles, dept) in STAFF.items():
        pw_file = logs / f"{code}-{username}.pw"
        args = ["accounts", "add", username, "--password-file", str(pw_file)]
        args += [a for r in roles for a in ("--role", r)]
        cli(*args, *(["--department", dept] if dept else []))
        passwords[username] = pw_file.read_text().strip()
    return url, passwords


def _core_env(code: str, broker: Broker, core_password: str, keys: tuple[Path, Path],
              extra: dict[str, str]) -> dict[str, str]:
    parent = expected_parent(code)
    return {**os.environ, "SUNLIGHT_SITE_CODE": code, "SUNLIGHT_LOG_LEVEL": "INFO",
            "SUNLIGHT_TOKEN_SECRET": secrets.token_urlsafe(32),
            "SUNLIGHT_EXCHANGE_TOKEN": secrets.token_urlsafe(24),
            "SUNLIGHT_AMQP_URL": f"amqp://core-{code}:{core_password}@{broker.ip}:5672/"
                                 f"{VHOST}?heartbeat=10",
            "SUNLIGHT_SIGNING_KEY_FILE": str(keys[0]), "SUNLIGHT_PEER_KEYS_DIR": str(keys[1]),
            "SUNLIGHT_PARENT_SITE": parent or "", "SUNLIGHT_EXCHANGE_POLL_S": "0.1",
            "SUNLIGHT_CLOCK_OFFSET_FILE": str(keys[0].parent.parent / f"clock-offset-{code}"),
            "SUNLIGHT_OVERDUE_INTERVAL_S": "60", **extra}


def start_tiers(image: str, run: Run, logs: Path, codes: tuple[str, ...] = (
        "320000", "320700", "320703"), env: dict[str, str] | None = None) -> Iterator[
            dict[str, Tier]]:
    """Start the chain (parents first in ``codes``); yield the tiers by code; clean up."""
    client = docker.from_env()
    # Names of the chain's own: the session's topology (and the realized site) take
    # "backbone" and "int-<site>" of the same run.
    backbone = create_network(client, run, "chain-backbone", internal=True, zone="backbone")
    nets = {c: create_network(client, run, f"chain-int-{c}", internal=True, site=c)
            for c in codes}
    containers: list[DockerContainer] = []
    cores: list[Role] = []
    try:
        with ThreadPoolExecutor(len(codes) + 1) as pool:
            pg_future = pool.submit(start_postgres, image, run)
            started = dict(zip(codes, pool.map(
                lambda c: _start_broker(image, run, c, nets[c].name), codes), strict=True))
            containers += started.values()
            pg = pg_future.result()
        containers.append(pg.container)
        brokers = {}
        for code, container in started.items():
            backbone.connect(container.get_wrapped_container().id)
            brokers[code] = Broker(code, container, _ip(container, nets[code].name),
                                   _ip(container, backbone.name),
                                   str(container.env["MQ_PASSWORD"]))
        for broker in brokers.values():
            _wait_broker(broker)
        core_passwords = _configure_brokers(brokers, list(codes))
        keys = _keys(logs / "keys", list(codes))
        tiers = {}
        for code in codes:
            base = _core_env(code, brokers[code], core_passwords[code], keys[code], env or {})
            url, passwords = _prepare_db(pg, code, base, logs)
            core = Role("core", {**base, "SUNLIGHT_DATABASE_URL": url}, free_port(),
                        logs / f"core-{code}.log")
            tiers[code] = Tier(code, brokers[code], core, url, passwords)
        for tier in tiers.values():
            tier.core.start(wait=False)
            cores.append(tier.core)
        for tier in tiers.values():
            tier.core.wait_ready()
        yield tiers
    finally:
        for core in cores:
            core.stop()
        for container in containers:
            container.stop()
        for network in (backbone, *nets.values()):
            network.remove()
