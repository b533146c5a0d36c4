"""Topology suite, part 1 (read-only checks): the case round trip, propagation, downward flows,
and what reaches citizens through nginx.

Runs on the session's province → city → county topology (see conftest.py `topology`).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import shlex
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import yaml

from site_fixtures import (
    Lab,
    assert_listeners_lived,
    format_matrix,
    local_answers,
    run_matrix,
    start_all_listeners,
    stop_all_listeners,
    verdict,
)
from sunlight.catalogue.journey import annual_report_application
from sunlight.control.stack.scenario import (
    apply_at_portal,
    portal_status,
    run_scenario,
    seen_upstream,
)
from sunlight.paths import repo_root
from sunlight.topology.flows import load_flows
from sunlight.topology.layout import Net
from sunlight.topology.matrix import Basis, Expect, control_endpoint, site_endpoints
from sunlight.workflow.identity import generate_credit_code
from topology_suite import CITY, COUNTY, PROVINCE, Topology, wait_until


def test_full_case_round_trip_across_zones_at_the_county(topology: Topology) -> None:
    lines: list[str] = []
    result = run_scenario(topology.access, COUNTY, say=lines.append)
    print("\n".join(lines))
    assert result.seen_at[CITY] == ["submit", "accept", "approve_step", "grant", "close"]
    assert result.seen_at[PROVINCE] == result.seen_at[CITY]  # in order, at both tiers
    for what, seconds in result.timings.items():
        topology.record(what, seconds)
    topology.scenarios.append(("case round trip across zones", "pass"))


def test_upward_propagation_county_city_province(topology: Topology) -> None:
    county = topology.site(COUNTY)
    for _ in range(5):
        started = time.monotonic()
        receipt, _secret = apply_at_portal(county, topology.rng)
        for code in (CITY, PROVINCE):
            site = topology.site(code)
            seen = wait_until(lambda site=site, r=receipt: seen_upstream(site, COUNTY, r), 60)
            assert seen and seen[0] == "submit", f"{receipt} not at {code}"
            topology.record(f"submit→{code}", time.monotonic() - started)
    topology.scenarios.append(("upward propagation county → city → province", "pass"))


def test_catalogue_baseline_reaches_the_county_and_adoption_goes_up(topology: Topology) -> None:
    title = f"基线 {uuid.uuid4().hex[:6]}"
    published = topology.site(PROVINCE).core_cli("exchange", "baseline", "publish",
                                                 "--title", title)
    assert published.exit_code == 0, published.stderr or published.stdout
    found = re.search(r" v(\d+) published", published.stdout)
    assert found, published.stdout
    version = int(found.group(1))
    county = topology.admin(COUNTY)
    got = wait_until(lambda: [b for b in county.get("/api/v1/baselines").json()
                              if b["issuer"] == PROVINCE and b["version"] == version], 60)
    assert got and got[0]["title"] == title and got[0]["items"] > 0
    adopted = topology.site(COUNTY).core_cli("exchange", "baseline", "adopt", PROVINCE,
                                             str(version), "--localize",
                                             "320703-SCJGJ-QT-001=本区承诺时限缩短为1个工作日")
    assert adopted.exit_code == 0, adopted.stderr or adopted.stdout
    province = topology.admin(PROVINCE)
    reported = wait_until(lambda: [a for b in province.get("/api/v1/baselines").json()
                                   if b["version"] == version for a in b["adoptions"]
                                   if a["site"] == COUNTY], 60)
    assert reported and reported[0]["decision"] == "localized"
    topology.scenarios.append(("catalogue baseline down, adoption up", "pass"))


def test_supervision_order_reaches_the_county_and_the_answer_the_province(
        topology: Topology) -> None:
    receipt, _ = apply_at_portal(topology.site(COUNTY), topology.rng)
    assert wait_until(lambda: seen_upstream(topology.site(PROVINCE), COUNTY, receipt), 60)
    province = topology.admin(PROVINCE)
    issued = province.post("/api/v1/supervision/orders", json={
        "target": COUNTY, "receipt": receipt, "text": "请说明该年报的审查进度（督办）"})
    assert issued.status_code == 201, issued.text
    order_id = issued.json()["id"]
    approver = topology.staff(COUNTY, "approver")
    arrived = wait_until(lambda: [o for o in approver.get("/api/v1/supervision/orders").json()
                                  if o["id"] == order_id], 60)
    assert arrived, "the order did not reach the county"
    answer = approver.post(f"/api/v1/supervision/orders/{order_id}/answer",
                           json={"text": "已受理，预计两个工作日内办结"})
    assert answer.status_code == 200, answer.text
    answered = wait_until(lambda: [o for o in province.get("/api/v1/supervision/orders").json()
                                   if o["id"] == order_id and o["answer"]], 60)
    assert answered and answered[0]["answer"] == "已受理，预计两个工作日内办结"
    topology.scenarios.append(("supervision order down, answer up", "pass"))


def test_the_portals_operations_endpoints_are_not_served_through_nginx(
        topology: Topology) -> None:
    site = topology.site(COUNTY)
    with httpx.Client(base_url=site.portal_url, verify=site.tls(), timeout=30) as portal:
        refused = {path: portal.get(path).status_code
                   for path in ("/metrics", "/docs", "/redoc", "/openapi.json",
                                "/docs/oauth2-redirect", "/%6Detrics")}
        assert set(refused.values()) == {404}, refused
        assert portal.get("/api/v1/catalogue").status_code == 200  # the rest still answers
    topology.scenarios.append(("the portal's /metrics, /docs, /openapi.json refused at nginx",
                               "pass"))


RATE_LIMITS = yaml.safe_load((repo_root() / "playbooks" / "group_vars" / "all.yml")
                            .read_text())["sunlight_rate_limits"]
# Sent from the nginx host itself (its ext address is no trusted proxy): many writes, each
# naming a different client in X-Forwarded-For; prints how many got each status.
UNTRUSTED_BURST = """
import collections, concurrent.futures, json, ssl, sys, urllib.error, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
tls = ssl.create_default_context()
tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
def post(i):
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Content-Type": "application/json", "X-Forwarded-For": "203.0.113.%d" % (i % 250 + 1)})
    try:
        return urllib.request.urlopen(request, context=tls, timeout=30).status
    except urllib.error.HTTPError as exc:
        return exc.code
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    print(json.dumps(collections.Counter(pool.map(post, range(n)))))
"""


def test_a_burst_of_writes_from_one_client_gets_429_and_others_go_on(
        topology: Topology) -> None:
    """Issue 15, point 4: past a client's write limit nginx answers 429 with Retry-After and
    a reason; another client (its own X-Forwarded-For through the trusted control node)
    still creates its draft; an untrusted sender's X-Forwarded-For is ignored, so naming a
    new client on each request gains nothing. Before: no limit, every request reached the
    portal (422 for these empty bodies), and nginx passed any X-Forwarded-For on."""
    site = topology.site(COUNTY)
    burst, retry = RATE_LIMITS["writes"]["burst"], RATE_LIMITS["retry_after_s"]
    n = 4 * burst
    with httpx.Client(base_url=site.portal_url, verify=site.tls(), timeout=30) as portal:
        noisy = {"X-Forwarded-For": "198.51.100.7"}
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _i: portal.post("/api/v1/applications", json={},
                                                           headers=noisy), range(n)))
        statuses = collections.Counter(a.status_code for a in answers)
        assert set(statuses) == {422, 429} and statuses[429] >= n - 2 * burst, statuses
        limited = next(a for a in answers if a.status_code == 429)
        assert limited.headers["Retry-After"] == str(retry)
        assert limited.headers["X-Content-Type-Options"] == "nosniff"
        assert limited.json()["error"] == "rate_limited" and "请求过于频繁" in \
            limited.json()["detail"] and limited.json()["request_id"]
        other = portal.post("/api/v1/applications", headers={"X-Forwarded-For": "198.51.100.8"},
                            json=annual_report_application(generate_credit_code(topology.rng)))
        assert other.status_code == 201, other.text
        assert other.json()["draft_id"].startswith("draft-")
    nginx = site.host_with("nginx")
    url = (f"https://{nginx['sunlight_addresses'][Net.EXT.value]}:"
           f"{load_flows().port('https')}/api/v1/applications")
    with site.ssh("nginx") as ssh:
        done = ssh.run(f"python3 -c {shlex.quote(UNTRUSTED_BURST)} {shlex.quote(url)} {n}",
                       timeout=120)
    assert done.exit_code == 0, done.stderr
    spoofed = {int(k): v for k, v in json.loads(done.stdout.splitlines()[-1]).items()}
    assert spoofed.get(429, 0) >= n - 2 * burst, spoofed
    topology.scenarios.append(("nginx limits writes per client (429 + Retry-After), "
                               "X-Forwarded-For only from trusted proxies", "pass"))


def test_only_the_note_for_the_applicant_reaches_the_tracking_page(topology: Topology) -> None:
    internal = "内部意见：申请人曾被投诉，从严审查（勿告知）"
    note = "请于五个工作日内补充经营场所证明。"
    site = topology.site(COUNTY)
    receipt, secret = apply_at_portal(site, topology.rng)
    clerk, approver = topology.staff(COUNTY, "clerk"), topology.staff(COUNTY, "approver")
    case = wait_until(lambda: (r := clerk.get("/api/v1/cases", params={"receipt": receipt}))
                      .status_code == 200 and r.json(), 60)
    assert case, f"{receipt} did not reach county core"

    def shown(status: str) -> Any:
        return wait_until(lambda: (s := portal_status(site, receipt, secret))["status"] == status
                          and s, 60)

    url = f"/api/v1/cases/{case['id']}/actions"
    moved = clerk.post(url, json={"action": "accept", "comment": internal})
    assert moved.status_code == 200, moved.text
    accepted = shown("in_review")
    assert accepted and accepted["status_comment"] == "", accepted
    moved = approver.post(url, json={"action": "suspend", "comment": internal,
                                     "applicant_note": note})
    assert moved.status_code == 200, moved.text
    suspended = shown("suspended")
    assert suspended and suspended["status_comment"] == note, suspended
    assert internal not in str(suspended)
    approver.post(url, json={"action": "resume", "comment": "恢复"}).raise_for_status()
    topology.scenarios.append(("an internal comment stays internal; the applicant's note shows",
                               "pass"))


def _published(container: Any, address: str) -> dict[int, str]:
    """The ports a host publishes on its engine's address, as its engine reports them."""
    bindings = container.attrs["HostConfig"].get("PortBindings") or {}
    return {int(b["HostPort"]): address for spec, bound in bindings.items()
            for b in bound or () if b.get("HostIp") == address and spec.endswith("/tcp")}


def _topology_lab(topology: Topology) -> Lab:
    """Every host of every site as one lab; endpoint names are site-qualified. A probe
    between the engines dials a published listener as the peers do."""
    endpoints, addresses, keys, containers = [control_endpoint()], {}, {}, {}
    engine_of: dict[str, str] = {}
    published: dict[str, dict[int, str]] = {}
    for site in topology.up.sites:
        code, parent = site.config.division_code, site.config.parent_code
        for ep in site_endpoints(site.config.profile, code, parent):
            name = f"{code}-{ep.name}"
            endpoints.append(dataclasses.replace(ep, name=name))
            host = site.hosts[ep.name]
            addresses[name] = {Net(k): ip for k, ip in host.addresses.items()}
            keys[name], containers[name] = host.host_key, host.container
            engine_of[name] = site.config.engine or ""
            if site.config.engine_address is not None:
                published[name] = _published(host.container,
                                             str(site.config.engine_address))
    return Lab(topology.up.sites[0], load_flows(), endpoints, addresses, keys, containers, "",
               engine_of, published)


def test_the_county_runs_on_the_second_engine_publishing_only_what_crosses(
        topology: Topology) -> None:
    """Two engines, as two IT centres' machines (issue 16, point 4; docs/engines.md): the
    county's hosts run on the second engine and on it alone, and the only listeners
    published on the engines' address are the two backbone rows that cross between them —
    the city's broker (the county's shovel) and the county's Prometheus (the city's
    federation). The round trip and the segregation matrix of this module run across them."""
    from sunlight.control.resources import LABEL_RUN_ID

    flows = load_flows()
    of_run = {"label": f"{LABEL_RUN_ID}={topology.run.run_id}"}
    county = {h.container.name for h in topology.up.sites[2].hosts.values()}
    second = {c.name for c in topology.client_for(COUNTY).containers.list(filters=of_run)}
    local = {c.name for c in topology.client.containers.list(filters=of_run)}
    assert topology.client_for(COUNTY) is not topology.client
    assert second == county and not county & local, (second, local)
    published = {}
    for site in topology.up.sites:
        address = site.config.engine_address
        assert address is not None, f"{site.config.division_code} has no engine address"
        published[site.config.division_code] = {
            port for host in site.hosts.values()
            for port in _published(host.container, str(address))}
    assert published == {PROVINCE: set(), CITY: {flows.port("amqps")},
                         COUNTY: {flows.port("prometheus")}}, published


def test_segregation_every_flow_from_every_host(topology: Topology,
                                                report: Callable[[str, str], None]) -> None:
    lab = _topology_lab(topology)
    start_all_listeners(lab)
    try:
        before = local_answers(lab, topology.access.key, deadline_s=20)
        assert set(before.values()) == {"connected"}, {k: v for k, v in before.items()
                                                      if v != "connected"}
        hosts = [e.name for e in lab.endpoints if not e.control]
        seen = run_matrix(lab, topology.access.key, firewalled=hosts)
        after = local_answers(lab, topology.access.key, deadline_s=0)
    finally:
        stop_all_listeners(lab)  # later modules check what listens where
    counts = {r: sum(verdict(p, v) == r for p, v in seen.items())
              for r in ("ok", "MISMATCH", "pending")}
    text = "\n".join([f"{len(seen)} probes over {len(hosts)} hosts of 3 sites: "
                      f"{counts['ok']} ok, {counts['MISMATCH']} mismatches, "
                      f"{counts['pending']} pending", *format_matrix(seen)])
    report("segregation matrix of the topology (flows.yaml and its complement)", text)
    print("\n" + text)
    mismatches = [f"{p.label}: expected {p.expect}, saw {v}" for p, v in seen.items()
                  if verdict(p, v) == "MISMATCH"]
    assert not mismatches, "\n".join(mismatches[:30])
    assert counts["pending"] == 0  # every host has its firewall: every row is proved
    blocked = [p for p in seen if p.expect is Expect.BLOCKED]
    opened = [p for p in seen if p.expect is Expect.OPEN]
    assert len(blocked) > 100 and len(opened) > 20  # the denied complement was really tried
    firewall_rows = [p for p in blocked if p.basis is Basis.FIREWALL]
    assert len(firewall_rows) >= 60, len(firewall_rows)  # rows only nftables can deny
    assert_listeners_lived(lab, seen, before, after)  # a blocked target was really alive
    topology.scenarios.append((f"segregation: {len(seen)} probes, every row proved", "pass"))


def test_every_host_container_has_its_memory_and_pid_limits(topology: Topology) -> None:
    """Issue 15 point 10: each realized host has the memory limit (no swap) and pids limit
    the program declares for its roles (before: HostConfig.Memory and PidsLimit 0/None, no
    limit), and what it uses now is within them (the figures go to the suite's report)."""
    from sunlight_infra.host import host_memory_mib, host_pids

    figures = []
    for site in topology.up.sites:
        for host in site.hosts.values():
            host.container.reload()
            config = host.container.attrs["HostConfig"]
            memory = host_memory_mib(host.roles) * 2**20
            assert config["Memory"] == config["MemorySwap"] == memory, host.container.name
            assert config["PidsLimit"] == host_pids(host.roles), host.container.name
            stats = host.container.stats(stream=False)
            used = stats["memory_stats"].get("usage", 0)
            pids = stats.get("pids_stats", {}).get("current", 0)
            assert 0 < used < memory and 0 < pids < config["PidsLimit"], (
                host.container.name, used, pids)
            figures.append(f"{host.container.name.rsplit('-', 2)[-2]}-{host.name} "
                           f"{used / 2**20:.0f}/{memory / 2**20:.0f} MiB "
                           f"{pids}/{config['PidsLimit']} pids")
    topology.figures["host limits (used/limit)"] = "; ".join(figures)
    print("\n".join(figures))


def _unit(ssh: Any, unit: str, *props: str) -> dict[str, str]:
    shown = ssh.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
    assert shown.exit_code == 0, shown.stderr
    return dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)


def test_every_role_runs_under_a_systemd_watchdog(topology: Topology) -> None:
    """Issue 15 point 3: core, gateway and portal are Type=notify units with a watchdog,
    active (so READY=1 came), and their processes keep feeding it (before: Type=exec,
    WatchdogUSec=0)."""
    site = topology.site(COUNTY)
    roles = ("core", "gateway", "portal")
    with ExitStack() as stack:  # the three watched at once: one feeding interval, not three
        shells = {role: stack.enter_context(site.ssh(role)) for role in roles}
        first: dict[str, int] = {}
        for role, ssh in shells.items():
            props = _unit(ssh, f"sunlight-{role}", "Type", "WatchdogUSec", "ActiveState",
                          "SubState", "NotifyAccess", "WatchdogTimestampMonotonic")
            assert props["Type"] == "notify" and props["NotifyAccess"] == "main", props
            assert props["WatchdogUSec"] == "20s", props
            assert (props["ActiveState"], props["SubState"]) == ("active", "running"), props
            first[role] = int(props["WatchdogTimestampMonotonic"])

        def unfed() -> list[str]:
            return [role for role, ssh in shells.items() if int(_unit(
                ssh, f"sunlight-{role}", "WatchdogTimestampMonotonic")[
                    "WatchdogTimestampMonotonic"]) <= first[role]]

        fed = wait_until(lambda: not unfed(), 25)
        assert fed, f"watchdogs not fed within 25 s: {', '.join(unfed())}"


def test_status_works_from_the_inventory_alone(topology: Topology) -> None:
    """Issue 16 point 1: `sunlight status` reads the deployment's hosts.yml and pinned
    known_hosts, asks each host over SSH, and no engine; a host whose key differs from the
    pinned one is reported unreachable, and the pin is kept."""
    import shutil

    from typer.testing import CliRunner

    from sunlight.cli.main import app
    from sunlight.control.stack.access import DeploymentAccess
    from sunlight.control.stack.deployment import Deployment
    from sunlight.control.stack.status import host_rows

    name = topology.run.run_id
    started = time.monotonic()
    shown = CliRunner().invoke(app, ["status", "--name", name, "--json"])
    assert shown.exit_code == 0, shown.output
    hosts = json.loads(shown.stdout)["hosts"]
    assert {h["host"]: h["state"] for h in hosts} == {h["host"]: "active" for h in hosts}
    assert len({h["site"] for h in hosts}) == 3
    assert [h["core"]["readiness"] for h in hosts if h["core"]] == ["ready"] * 3
    county_portal = [h["portal"] for h in hosts if h["site"] == COUNTY and h["portal"]]
    assert county_portal == [f"{topology.site(COUNTY).portal_url}/"]
    topology.record("sunlight status (every host over SSH)", time.monotonic() - started)
    # `sunlight verify` runs once the growth county has joined (test_topology_4_growth.py).

    # The county gateway's pin replaced by another host's key: refused, never re-pinned.
    copy = Deployment(f"{name}-pins")
    try:
        shutil.copytree(topology.up.deployment.inventory_dir, copy.inventory_dir)
        gw = topology.site(COUNTY).host_with("gateway")["ansible_host"]
        core = topology.site(COUNTY).host_with("core")["ansible_host"]
        known = copy.inventory_dir / "known_hosts"
        lines = dict(line.split(" ", 1) for line in known.read_text().splitlines())
        lines[gw] = lines[core]
        known.write_text("".join(f"{a} {k}\n" for a, k in lines.items()))
        pinned = known.read_text()
        rows = {r.host: r.state for r in host_rows(DeploymentAccess(copy, topology.access.key))}
        assert rows[f"{COUNTY}-gw"].startswith("unreachable ("), rows
        assert rows[f"{COUNTY}-int"] == "active", rows
        assert known.read_text() == pinned
    finally:
        copy.forget()


def test_from_pulumi_pins_the_running_hosts_keys_and_writes_the_suites_inventory(
        topology: Topology, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 point 3 on real hosts: each site's program outputs, saved as `pulumi stack
    output --json --show-secrets` would, become through `sunlight inventory from-pulumi`
    (keys collected from the hosts' sshd over SSH, confirmed) the inventory `sunlight up`
    wrote for this topology, and the keys are the ones the realizer read through the engine."""
    from typer.testing import CliRunner

    from sunlight.cli import byoh as byoh_cli
    from sunlight.cli.main import app
    from sunlight.control.stack.deployment import Deployment

    monkeypatch.setattr(byoh_cli, "interactive", lambda: True)  # the operator answers
    files = []
    for site in topology.up.sites:
        outputs = dict(site.outputs)
        # After a real `pulumi up` this output holds the engine's answer: the port it chose.
        outputs["published"] = {host: [{**p, "host_port": site.portal_port} for p in ports]
                                for host, ports in site.outputs["published"].items()}
        path = tmp_path / f"{site.config.division_code}.json"
        path.write_text(json.dumps(outputs, indent=2, ensure_ascii=False))
        files.append(str(path))
    name = f"{topology.run.run_id[:28]}-pp"
    try:
        key = topology.access.key.path  # the suite's control key, as `up` was given it
        result = CliRunner().invoke(app, ["inventory", "from-pulumi", *files, "--deployment",
                                          name, "--control-key", str(key)],
                                    input="y\n" * 9)
        assert result.exit_code == 0, result.output
        ours, theirs = Deployment(name).inventory_dir, topology.up.deployment.inventory_dir
        assert (ours / "known_hosts").read_text() == (theirs / "known_hosts").read_text()
        assert len((ours / "known_hosts").read_text().splitlines()) == 9
        mine = yaml.safe_load((ours / "hosts.yml").read_text())
        suite = yaml.safe_load((theirs / "hosts.yml").read_text())
        assert mine["all"]["children"] == suite["all"]["children"]
        assert mine["all"]["vars"]["sunlight_deployment"] == name
        assert mine["all"]["vars"]["ansible_ssh_private_key_file"] == str(key.resolve())
    finally:
        Deployment(name).forget()
