"""Several engines: the topology file's engines, each site's client, the routed backbones,
the published backbone listeners, and where peers on another engine dial them.

No engine is involved: the docker client factory is replaced at the boundary by
:class:`FakeEngine`, which answers the few calls the realizer makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network
from pathlib import Path
from typing import Any

import pytest

from sunlight.control.deploy.inventory import deployment_sites, dial_address
from sunlight.control.hostchanges import SECOND_SOCKET as LEDGER_SECOND_SOCKET
from sunlight.control.realizer import engines as realizer_engines
from sunlight.control.realizer.engines import (
    MASQUERADE_OPTION,
    Engines,
    backbone_publishes,
    check_publish_clashes,
    reserve_backbones,
)
from sunlight.control.realizer.plan import RealizerError
from sunlight.control.resources import Run
from sunlight.control.stack import up as stack_up
from sunlight.control.stack.topology import DEFAULT, TopologyError, TopologySpec, load_topology
from sunlight.topology.addressing import plan_in_block
from sunlight.topology.engines import SECOND_SOCKET, EngineSpec
from sunlight.topology.flows import load_flows

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINTHOAI4XTk76q7yxCS61Hdqdk0rTq80/z5e70fEeq34 t@ctl"
TWO_ENGINES = """
name: two
engines:
  b: {url: "unix:///run/sunlight/dockerd-b.sock", address: 192.0.2.20}
  local: {address: 192.0.2.10}
sites:
  - {code: "320000"}
  - {code: "320700", parent: "320000"}
  - {code: "320703", parent: "320700", engine: b}
"""


def _load(tmp_path: Path, text: str) -> TopologySpec:
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    return load_topology(path)


# --- the topology file -----------------------------------------------------------------------


def test_a_site_names_its_engine_and_the_others_stay_local(tmp_path: Path) -> None:
    spec = _load(tmp_path, TWO_ENGINES)
    assert [spec.engine_of(s.code) for s in spec.sites] == ["local", "local", "b"]
    assert spec.engine_names == ["local", "b"] and spec.several_engines
    assert spec.engine("b").address == IPv4Address("192.0.2.20")
    assert not DEFAULT.several_engines and DEFAULT.engine_names == ["local"]


def test_the_second_engine_is_built_in_one_line_away(tmp_path: Path) -> None:
    spec = _load(tmp_path, 'sites:\n  - {code: "320000"}\n'
                           '  - {code: "320700", parent: "320000", engine: second}\n')
    assert spec.engine("second").url == f"unix://{SECOND_SOCKET}"
    # stated twice (hostchanges uses the standard library only): the two must agree
    assert SECOND_SOCKET == LEDGER_SECOND_SOCKET


@pytest.mark.parametrize(("text", "where"), [
    ('sites:\n  - {code: "320000", engine: c}\n',
     r"site 320000: engine: engine 'c' is not under engines: \(known: local, second\)"),
    ('engines:\n  b: {url: "http://x:2375"}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b\.url: 'http://x:2375': an engine is unix:///path\.sock or tcp://host:port"),
    ('engines:\n  b: {url: "tcp://10.1.2.3:2376"}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b: a tcp:// engine needs tls: \{ca, cert, key\}"),
    ('engines:\n  b: {url: "tcp://10.1.2.3"}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b\.url: 'tcp://10\.1\.2\.3': a tcp engine is tcp://host:port"),
    ('engines:\n  b: {url: "unix://run/x.sock"}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b\.url: .*unix:///absolute/path\.sock"),
    ('engines:\n  b: {url: "unix:///x.sock", tls: {ca: a, cert: b, key: c}}\n'
     'sites:\n  - {code: "320000"}\n', r"engines\.b: tls is only for a tcp:// engine"),
    ('engines:\n  B_1: {url: "unix:///x.sock"}\nsites:\n  - {code: "320000"}\n',
     r"engines\.B_1: engine name 'B_1'"),
    ('engines:\n  b: {url: "unix:///x.sock", address: 300.1.1.1}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b\.address"),
    ('engines:\n  b: {url: "unix:///x.sock", port: 1}\nsites:\n  - {code: "320000"}\n',
     r"engines\.b\.port: Extra inputs are not permitted"),
])
def test_bad_engines_are_refused_naming_the_site_or_field(tmp_path: Path, text: str,
                                                          where: str) -> None:
    with pytest.raises(TopologyError, match=where):
        _load(tmp_path, text)


def test_a_tcp_engine_with_tls_is_accepted(tmp_path: Path) -> None:
    spec = _load(tmp_path, 'engines:\n  c: {url: "tcp://10.1.2.3:2376", address: 10.1.2.3,\n'
                           '      tls: {ca: /x/ca.pem, cert: /x/cert.pem, key: /x/key.pem}}\n'
                           'sites:\n  - {code: "320000", engine: c}\n')
    tls = spec.engine("c").tls
    assert tls is not None and tls.ca == Path("/x/ca.pem")


# --- addresses: one backbone per engine -------------------------------------------------------


def test_one_engine_plans_exactly_as_before() -> None:
    block = IPv4Network("10.201.0.0/16")
    codes = ["320000", "320700", "320703"]
    assert plan_in_block(block, codes) == plan_in_block(block, codes, {c: "local" for c in codes})
    assert plan_in_block(block, codes).backbones is None


def test_each_further_engine_has_its_own_backbone_at_the_blocks_end() -> None:
    block = IPv4Network("10.201.0.0/16")
    plan = plan_in_block(block, ["320000", "320700", "320703"],
                         {"320000": "local", "320700": "local", "320703": "b"})
    assert plan.backbones == {"local": IPv4Network("10.201.0.0/22"),
                              "b": IPv4Network("10.201.252.0/22")}
    county = plan.sites["320703"]
    assert county.backbone_subnet == IPv4Network("10.201.252.0/22")
    assert county.backbone_slot == 2  # its slot: addresses stay unique across engines
    assert plan.sites["320700"].backbone_subnet == IPv4Network("10.201.0.0/22")
    assert county.ext_subnet == plan_in_block(block, ["320000", "320700", "320703"]
                                              ).sites["320703"].ext_subnet


# --- clients: one per engine, the site's own -----------------------------------------------


@dataclass
class FakeNetwork:
    name: str
    subnet: str
    internal: bool
    options: dict[str, str]
    labels: dict[str, str]

    @property
    def attrs(self) -> dict[str, Any]:
        return {"IPAM": {"Config": [{"Subnet": self.subnet}]}, "Labels": self.labels}

    def remove(self) -> None:
        pass


@dataclass
class FakeNetworks:
    taken: list[str]
    made: list[FakeNetwork] = field(default_factory=list)

    def list(self, names: list[str] | None = None, **_: Any) -> list[Any]:
        if names is not None:
            return [n for n in self.made if n.name in names]
        return [FakeNetwork("other", s, False, {}, {}) for s in self.taken] + self.made

    def create(self, name: str, **kwargs: Any) -> FakeNetwork:
        subnet = kwargs["ipam"]["Config"][0]["Subnet"]
        mine = ip_network(subnet)
        if any(mine.overlaps(ip_network(n.attrs["IPAM"]["Config"][0]["Subnet"]))
               for n in self.list()):
            import docker.errors

            raise docker.errors.APIError("Pool overlaps with other one on this address space")
        net = FakeNetwork(name, subnet, kwargs["internal"], kwargs.get("options") or {},
                          kwargs["labels"])
        self.made.append(net)
        return net


@dataclass
class FakeEngine:
    """A docker client as far as the realizer's engine handling goes."""

    spec: EngineSpec
    taken: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.networks = FakeNetworks(self.taken)


def _factory(made: dict[str | None, FakeEngine], taken: dict[str | None, list[str]]) -> Any:
    def factory(spec: EngineSpec) -> FakeEngine:
        assert spec.url not in made, "one client per engine"
        made[spec.url] = FakeEngine(spec, taken.get(spec.url, []))
        return made[spec.url]
    return factory


def test_each_site_gets_its_own_engines_client(tmp_path: Path) -> None:
    spec = _load(tmp_path, TWO_ENGINES)
    made: dict[str | None, FakeEngine] = {}
    engines = Engines(spec, _factory(made, {}))
    assert engines.client_for("320703").spec.url == "unix:///run/sunlight/dockerd-b.sock"
    assert engines.client_for("320000") is engines.client_for("320700")
    assert engines.client_for("320000").spec.url is None
    assert engines.client_for("320703") is engines.client("b")
    assert len(made) == 2


def test_realize_all_realizes_each_site_on_its_engine(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _load(tmp_path, TWO_ENGINES)
    made: dict[str | None, FakeEngine] = {}
    engines = Engines(spec, _factory(made, {}))
    run = Run(run_id="eng-0001", persistent=False, owner="boot:1:1")
    plan = plan_in_block(IPv4Network("10.201.0.0/16"), [s.code for s in spec.sites],
                         engines.site_engines())
    configs = stack_up.site_configs(spec, run, "sunlight/node:0123456789abcdef", KEY, plan,
                                    run.name("backbone"), engines)
    assert [(c.engine, str(c.engine_address)) for c in configs] == [
        ("local", "192.0.2.10"), ("local", "192.0.2.10"), ("b", "192.0.2.20")]
    seen: list[tuple[str, str | None, tuple[Any, ...]]] = []

    def realize(client: FakeEngine, _run: Run, planned: Any, **_: Any) -> str:
        published = tuple((h.spec.name, p.host_ip, p.host_port)
                          for h in planned.plan.hosts for p in h.spec.published
                          if p.host_ip != "127.0.0.1")
        seen.append((planned.config.division_code, client.spec.url, published))
        return planned.config.division_code

    monkeypatch.setattr(stack_up, "attach", lambda *_a, **_k: None)
    monkeypatch.setattr(stack_up, "unrealize", lambda *_a, **_k: None)
    monkeypatch.setattr(stack_up, "realize", realize)
    stack_up.realize_all(engines, run, configs, lambda _m: None)
    assert seen == [
        ("320000", None, ()),  # its child is on its own engine: nothing published
        ("320700", None, (("320700-int", "192.0.2.10", 5671),)),  # the county's shovel dials it
        ("320703", "unix:///run/sunlight/dockerd-b.sock",
         (("320703-int", "192.0.2.20", 9090),)),  # the city's Prometheus federates it
    ]


def test_one_engine_backbone_is_the_internal_shared_one(tmp_path: Path) -> None:
    made: dict[str | None, FakeEngine] = {}
    engines = Engines(DEFAULT, _factory(made, {None: ["10.200.0.0/16"]}))
    run = Run(run_id="eng-0002", persistent=False, owner="boot:1:1")
    plan = reserve_backbones(engines, run, ["320000", "320700", "320703"], "bb")
    (net,) = made[None].networks.made
    assert net.internal and net.subnet == "10.201.0.0/22" and not net.options
    assert plan.backbones is None


def test_several_engines_get_routed_backbones_in_a_block_free_on_all(tmp_path: Path) -> None:
    spec = _load(tmp_path, TWO_ENGINES)
    made: dict[str | None, FakeEngine] = {}
    b_url = "unix:///run/sunlight/dockerd-b.sock"
    engines = Engines(spec, _factory(made, {None: ["10.200.0.0/16"], b_url: ["10.201.4.0/24"]}))
    run = Run(run_id="eng-0003", persistent=False, owner="boot:1:1")
    plan = reserve_backbones(engines, run, [s.code for s in spec.sites], "bb")
    assert plan.block == IPv4Network("10.202.0.0/16")  # 10.201 is taken on engine b
    (local,), (second,) = made[None].networks.made, made[b_url].networks.made
    assert (local.subnet, second.subnet) == ("10.202.0.0/22", "10.202.252.0/22")
    for net in (local, second):
        assert not net.internal and net.options == {MASQUERADE_OPTION: "false"}
        assert net.labels["io.sunlight.zone"] == "backbone"


# --- what crosses engines ----------------------------------------------------------------------


def test_only_listeners_another_engine_reaches_are_published(tmp_path: Path) -> None:
    spec, matrix = _load(tmp_path, TWO_ENGINES), load_flows()
    assert backbone_publishes(matrix, spec, "320000") == {}
    assert backbone_publishes(matrix, spec, "320700") == {"mq": matrix.port("amqps")}
    assert backbone_publishes(matrix, spec, "320703") == {"mon": matrix.port("prometheus")}
    assert all(backbone_publishes(matrix, DEFAULT, s.code) == {} for s in DEFAULT.sites)


def test_two_sites_publishing_one_port_on_one_address_are_refused(tmp_path: Path) -> None:
    spec = _load(tmp_path, TWO_ENGINES.replace(
        '  - {code: "320703", parent: "320700", engine: b}',
        '  - {code: "320703", parent: "320700", engine: b}\n'
        '  - {code: "320900", parent: "320000", engine: b}'))
    matrix = load_flows()
    same = {"local": IPv4Address("192.0.2.10"), "b": IPv4Address("192.0.2.10")}
    with pytest.raises(RealizerError, match=r"site 320700: its mq would publish port 5671 on "
                                            r"192\.0\.2\.10, which site 320000 publishes"):
        check_publish_clashes(matrix, spec, same)
    check_publish_clashes(matrix, _load(tmp_path, TWO_ENGINES), same)


def test_peers_on_another_engine_dial_its_address() -> None:
    inventory: dict[str, Any] = {"all": {"children": {
        "site_320700": {"vars": {"sunlight_parent_code": None, "sunlight_engine": "local",
                                 "sunlight_engine_address": "192.0.2.10"},
                        "hosts": {"320700-int": {"sunlight_roles": ["mq"], "sunlight_addresses":
                                                 {"backbone": "10.202.0.8"}}}},
        "site_320703": {"vars": {"sunlight_parent_code": "320700", "sunlight_engine": "b",
                                 "sunlight_engine_address": "192.0.2.20"},
                        "hosts": {"320703-int": {"sunlight_roles": ["mq"], "sunlight_addresses":
                                                 {"backbone": "10.202.252.12"}}}},
    }}}
    sites = deployment_sites(inventory)
    assert sites["320703"]["engine"] == "b"
    assert dial_address(sites, "320703", "320700", "backbone", "10.202.0.8") == "192.0.2.10"
    assert dial_address(sites, "320700", "320703", "backbone", "10.202.252.12") == "192.0.2.20"
    assert dial_address(sites, "320700", "320700", "int", "10.202.5.12") == "10.202.5.12"
    one = {code: {k: v for k, v in s.items() if k not in ("engine", "engine_address")}
           for code, s in sites.items()}
    assert dial_address(one, "320703", "320700", "backbone", "10.202.0.8") == "10.202.0.8"


def test_a_dead_engine_is_named(tmp_path: Path) -> None:
    import docker.errors

    def factory(_spec: EngineSpec) -> Any:
        raise docker.errors.DockerException("Error while fetching server API version")

    engines = Engines(_load(tmp_path, TWO_ENGINES), factory)
    with pytest.raises(RealizerError, match=r"engine b: does not answer .*engine second up"):
        engines.client("b")


def test_machine_address_is_an_ipv4_address_or_a_clear_error() -> None:
    try:
        address = realizer_engines.machine_address()
    except RealizerError as exc:
        assert "give each engine an `address`" in str(exc)
    else:
        assert isinstance(address, IPv4Address)


def test_the_route_probe_is_a_unicast_address_on_any_machine() -> None:
    """192.0.2.255 was refused (EACCES) on a machine on 192.0.2.0/24, where it is the
    broadcast address: the probe's address is never a network's first or last."""
    address = IPv4Address(realizer_engines.ROUTE_PROBE[0])
    assert address.packed[-1] not in (0, 255)
    assert address in ip_network("198.51.100.0/24")  # TEST-NET-2: never routed anywhere


def test_moving_a_site_to_another_engine_is_one_call() -> None:
    moved = DEFAULT.on_engine("320703", "second")
    assert [moved.engine_of(s.code) for s in moved.sites] == ["local", "local", "second"]
    assert moved.name == DEFAULT.name and DEFAULT.engine_of("320703") == "local"
    with pytest.raises(ValueError, match="engine 'c' is not under engines"):
        DEFAULT.on_engine("320703", "c")


def test_the_front_door_is_the_loopback_port_not_a_backbone_listener() -> None:
    from sunlight.control.realizer.apply import _published_port

    class Container:
        def __init__(self) -> None:
            self.attrs = {"NetworkSettings": {"Ports": {
                "5671/tcp": [{"HostIp": "192.0.2.10", "HostPort": "5671"}],
                "443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32770"}]}}}

    assert _published_port(Container()) == 32770


def test_down_removes_the_deployment_on_every_engine_and_updates_the_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sunlight.control import enginetable, hostguard
    from sunlight.control.resources import SweepReport
    from sunlight.control.stack.deployment import Deployment

    spec = _load(tmp_path, TWO_ENGINES.replace("name: two", "name: two-down"))
    Deployment("two-down").save_topology(spec)
    made: dict[str | None, FakeEngine] = {}
    local = FakeEngine(EngineSpec())
    events: list[str] = []

    def unrealize(client: FakeEngine, run: Run, site: str | None = None) -> SweepReport:
        events.append(f"unrealize {client.spec.url} {run.run_id}")
        return SweepReport(containers=[f"c-{client.spec.url}"])

    monkeypatch.setattr(stack_up, "unrealize", unrealize)
    monkeypatch.setattr(hostguard, "remove", lambda _run_id: [])
    monkeypatch.setattr(enginetable, "sync",
                        lambda client: events.append(f"table {client.spec.url}"))
    removed = stack_up.down("two-down", lambda _m: None, client=local,  # type: ignore[arg-type]
                            factory=_factory(made, {}))
    b = "unix:///run/sunlight/dockerd-b.sock"
    assert events == ["unrealize None two-down", f"unrealize {b} two-down", f"table {b}"]
    assert removed == 2
    assert Deployment("two-down").topology() is None


def test_missing_tls_material_is_named_before_dialling(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not dialled")
    spec = EngineSpec.model_validate({"url": "tcp://192.0.2.30:2376", "tls": {
        "ca": str(ca), "cert": str(tmp_path / "cert.pem"), "key": str(tmp_path / "key.pem")}})
    with pytest.raises(RealizerError, match=r"tcp://192\.0\.2\.30:2376: tls\.cert .*cert\.pem "
                                            "is not a readable file"):
        realizer_engines.connect(spec)


def test_an_engine_socket_nobody_serves_is_named(tmp_path: Path) -> None:
    spec = _load(tmp_path, f'engines:\n  b: {{url: "unix://{tmp_path}/none.sock"}}\n'
                           'sites:\n  - {code: "320000", engine: b}\n')
    with pytest.raises(RealizerError, match="engine b: does not answer"):
        Engines(spec).client("b")


def test_the_inventory_sends_the_shovel_and_the_federation_across_engines(
        tmp_path: Path) -> None:
    from sunlight.control.deploy.inventory import deployment_inventory
    from sunlight.topology import inventory as topo_inventory
    from sunlight.topology.layout import hostname, hosts_of

    spec = _load(tmp_path, TWO_ENGINES)
    run = Run(run_id="eng-0004", persistent=False, owner="boot:1:1")
    engines = Engines(spec, _factory({}, {}))
    plan = plan_in_block(IPv4Network("10.202.0.0/16"), [s.code for s in spec.sites],
                         engines.site_engines())
    configs = stack_up.site_configs(spec, run, "sunlight/node:0123456789abcdef", KEY, plan,
                                    run.name("backbone"), engines)
    sites = [topo_inventory.build_inventory(c, {h.name: hostname(c.division_code, h)
                                                for h in hosts_of(c.profile)})
             for c in configs]
    inv = deployment_inventory(sites, deployment="eng", control_key=tmp_path / "k",
                               known_hosts=tmp_path / "kh", secrets_dir=tmp_path / "s")
    hosts = {name: hv for group, body in inv["all"]["children"].items()
             if group.startswith("site_") for name, hv in body["hosts"].items()}
    county, city, province = hosts["320703-int"], hosts["320700-int"], hosts["320000-int"]
    amqps, prometheus = load_flows().port("amqps"), load_flows().port("prometheus")

    def peer(host: dict[str, Any], role: str, relation: str, port: int) -> dict[str, Any]:
        return next(p for p in host["sunlight_peers"][role]
                    if p["relation"] == relation and p["port"] == port)

    # the county's shovel dials the city's broker where engine `local` publishes it
    assert peer(county, "mq", "parent", amqps)["address"] == "192.0.2.10"
    # the city's Prometheus federates the county's where engine `b` publishes it
    assert peer(city, "mon", "child", prometheus)["address"] == "192.0.2.20"
    # on one engine, nothing changes: the city dials the province at its backbone address
    assert peer(city, "mq", "parent", amqps)["address"] == \
        province["sunlight_addresses"]["backbone"]
    # firewalls keep accepting the peer's own backbone address (DNAT keeps the source)
    county_bb = county["sunlight_addresses"]["backbone"]
    assert county_bb.startswith("10.202.25")  # engine b's own backbone /22
    rule = next(r for r in city["sunlight_firewall"]
                if r["port"] == amqps and r["network"] == "backbone")
    assert county_bb in rule["saddrs"]
    # and the listener still binds the host's own backbone address
    assert city["sunlight_listen"]["amqps"]["addresses"] == \
        [city["sunlight_addresses"]["backbone"]]
