"""Prechecks: is every host of an inventory fit to be configured? Nothing is changed.

For each host, over SSH with its pinned key (:class:`sunlight.control.ssh.HostSSH`):

- ``ssh``: the SSH user logs in with the control key;
- ``os``: Debian 12 (``/etc/os-release``);
- ``sudo``: ``sudo -n`` works (Ansible becomes root);
- ``python``: ``python3`` is there, at least :data:`MIN_PYTHON`;
- ``disk``: every filesystem of :data:`DISK_PATHS` has :data:`MIN_FREE_GIB` free;
- ``clock``: the host's ``date +%s.%N`` against the control node's clock around the call
  (the best of :data:`CLOCK_SAMPLES`), within ``max_offset`` seconds beyond the
  measurement's own uncertainty — no time daemon runs in a container, so this is the
  offset itself, not a daemon's state;
- ``ports``: each port the host's roles listen on (the inventory's ``sunlight_listen``,
  from flows.yaml; sshd's own aside) is free, or held by the service that role itself runs
  (:data:`SERVICE_UNITS`: a converging re-run); on a host of a site the deployment has
  configured before, a holder whose owner cannot be read (root without ``CAP_SYS_PTRACE``,
  as in a container, cannot read other users' ``/proc/<pid>/fd``) is taken for the role's;
- ``reach``: one check per flows.yaml row that must be open from this host — each
  ``sunlight_peers`` destination on another host, a TCP connection from the host itself
  (:mod:`sunlight.control.byoh.probe`): ``open`` or ``closed`` (refused: nothing listens
  yet) passes, ``filtered`` (a time-out), ``unreachable`` or ``blocked`` fails — except a
  row from a new site's host to a host of a site configured before: that host's own
  firewall names its sources, and admits the new host only once this run has configured
  it (``add-node.yml`` opens the parent's), so the row is not checked (``not checked``);

and from the control node, one ``reach`` per control row of the hosts' firewalls (core's
API, Prometheus, the portal's front door...), the same way.

Gathering (:func:`gather`, SSH) and judging (:func:`evaluate`, pure, from recorded
outputs) are apart; a failure names the host, the check and the remedy.

Example::

    >>> report = run_prechecks(inventory, pins, control_key())  # doctest: +SKIP
    >>> report.ok, [c.name for c in report.failures]  # doctest: +SKIP
    (False, ['clock'])
"""

from __future__ import annotations

import base64
import fnmatch
import json
import shlex
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import paramiko

from sunlight.control.byoh import probe
from sunlight.control.deploy.inventory import SSH_SERVICE
from sunlight.control.ssh import CommandResult, ControlKey, HostSSH
from sunlight.topology.layout import CONTROL

MIN_PYTHON = (3, 11)  # Debian 12's
MIN_FREE_GIB = 4.0  # packages, the venv, databases and logs to start with
DISK_PATHS = ("/", "/var", "/opt")
MAX_CLOCK_OFFSET_S = 1.0
CLOCK_SAMPLES = 3
REACH_TIMEOUT_S = 3.0
DEBIAN_ID, DEBIAN_VERSION = "debian", "12"
# The systemd units that may already hold a service's port: the one the role installs
# (Debian's package or the playbooks' unit). Any other holder is a conflict.
SERVICE_UNITS: dict[str, tuple[str, ...]] = {
    "node_exporter": ("prometheus-node-exporter.service",),
    "https": ("nginx.service",),
    "http": ("nginx.service",),
    "portal_api": ("sunlight-portal*.service",),
    "gateway_api": ("sunlight-gateway*.service",),
    "core_api": ("sunlight-core*.service",),
    "postgresql": ("postgresql@*.service", "postgresql.service"),
    "postgres_exporter": ("prometheus-postgres-exporter.service",),
    "amqp": ("rabbitmq-server.service",),
    "amqps": ("rabbitmq-server.service",),
    "rabbitmq_management": ("rabbitmq-server.service",),
    "rabbitmq_prometheus": ("rabbitmq-server.service",),
    "prometheus": ("prometheus.service",),
    "alertmanager": ("prometheus-alertmanager.service",),
}
REACHABLE = frozenset({"open", "closed"})
Progress = Callable[[str], None]


class Status(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "not checked"


@dataclass(frozen=True)
class Check:
    """One precheck of one host (``control`` for the control node's own rows)."""

    host: str
    name: str
    status: Status
    detail: str
    remedy: str = ""


@dataclass(frozen=True)
class Reach:
    """A row that must be open: ``service`` of ``destination`` at ``address:port``."""

    service: str
    destination: str
    address: str
    port: int
    network: str
    admitted_by_this_run: bool = False  # new host -> a configured host's firewall

    @property
    def label(self) -> str:
        return f"reach {self.service} {self.destination}"


@dataclass(frozen=True)
class HostPlan:
    """What to check on one host, from the inventory."""

    name: str
    site: str
    address: str
    user: str
    port: int
    listen: tuple[tuple[str, int], ...]  # (service, port) the host's roles bind
    reach: tuple[Reach, ...]
    configured: bool = False  # its site was configured by an earlier run


@dataclass
class HostFacts:
    """What one host answered (recorded, so :func:`evaluate` needs no host).

    ``errors``: step -> message for the steps that failed (``ssh``, ``sudo``, ``probe``).
    ``clock``: (control before, host, control after) samples, seconds since the epoch.
    """

    os_release: str | None = None
    sudo: bool | None = None
    clock: list[tuple[float, float, float]] = field(default_factory=list)
    probe: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    min_free_gib: float = MIN_FREE_GIB
    max_clock_offset_s: float = MAX_CLOCK_OFFSET_S


DEFAULT_LIMITS = Limits()


@dataclass
class Report:
    checks: list[Check]

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def ok(self) -> bool:
        return not self.failures

    def document(self) -> dict[str, Any]:
        """What ``prechecks --json`` prints."""
        return {"ok": self.ok, "checks": [{**asdict(c), "status": c.status.value}
                                          for c in self.checks]}


def _site_groups(inventory: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for group, body in inventory["all"]["children"].items():
        if group.startswith("site_"):
            yield group.removeprefix("site_"), body


def plan_hosts(inventory: Mapping[str, Any],
               configured_sites: Collection[str] = ()) -> list[HostPlan]:
    """Each managed host's checks: its listen ports, and every peer on another host.
    ``configured_sites``: the sites an earlier run configured (the deployment's inventory)."""
    plans = []
    site_of = {name: code for code, body in _site_groups(inventory) for name in body["hosts"]}
    for code, body in _site_groups(inventory):
        new = code not in configured_sites
        for name, hv in body["hosts"].items():
            # sshd holds its port by definition: the prechecks log in through it.
            listen = tuple((service, int(s["port"])) for service, s in hv["sunlight_listen"].items()
                           if s["addresses"] and service != SSH_SERVICE)
            rows: dict[tuple[str, int], Reach] = {}
            for peers in hv["sunlight_peers"].values():
                for p in peers:
                    if p["host"] != name:  # roles on the same host talk over loopback
                        rows.setdefault((p["address"], int(p["port"])), Reach(
                            p["service"], p["host"], p["address"], int(p["port"]),
                            p["network"], new and site_of.get(p["host"]) in configured_sites))
            plans.append(HostPlan(name, code, hv["ansible_host"], hv.get("ansible_user", "admin"),
                                  int(hv["ansible_port"]), listen,
                                  tuple(sorted(rows.values(), key=_reach_key)), not new))
    return plans


def control_rows(inventory: Mapping[str, Any]) -> list[Reach]:
    """The rows the control node must reach (besides SSH, which the login itself proves)."""
    rows: dict[tuple[str, int], Reach] = {}
    for _code, body in _site_groups(inventory):
        for name, hv in body["hosts"].items():
            for rule in hv["sunlight_firewall"]:
                if rule["service"] == "ssh":
                    continue
                if any(s["name"] == CONTROL for s in _sources(hv, rule)):
                    rows.setdefault((rule["daddr"], int(rule["port"])), Reach(
                        rule["service"], name, rule["daddr"], int(rule["port"]),
                        rule["network"]))
    return sorted(rows.values(), key=_reach_key)


def _sources(hv: Mapping[str, Any], rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The named sources of a firewall rule (``sunlight_clients`` lists them by service)."""
    clients = hv.get("sunlight_clients", {}).get(rule["service"], [])
    return [c for c in clients if c["address"] in rule["saddrs"]]


def _reach_key(r: Reach) -> tuple[str, int, str]:
    return (r.destination, r.port, r.address)


# --- gathering (SSH) -------------------------------------------------------------------------


def probe_command(plan: HostPlan, sudo: bool, timeout: float = REACH_TIMEOUT_S) -> str:
    """``[sudo -n] python3 -c <probe source> <base64 JSON args>``."""
    args = {"paths": list(DISK_PATHS), "timeout": timeout,
            "targets": [[r.address, r.port] for r in plan.reach]}
    encoded = base64.b64encode(json.dumps(args).encode()).decode()
    source = Path(probe.__file__).read_text(encoding="utf-8")
    words = ["sudo", "-n"] if sudo else []
    return shlex.join([*words, "python3", "-c", source, encoded])


Runner = Callable[[str, float], CommandResult]


def gather_with(run: Runner, plan: HostPlan, clock: Callable[[], float] = time.time) -> HostFacts:
    """Run the checks' commands through ``run`` (one logged-in session) and record the answers."""
    facts = HostFacts()
    osr = run("cat /etc/os-release", 30)
    facts.os_release = osr.stdout if osr.exit_code == 0 else None
    for _ in range(CLOCK_SAMPLES):
        before = clock()
        answer = run("date +%s.%N", 30)
        after = clock()
        try:
            facts.clock.append((before, float(answer.stdout.strip()), after))
        except ValueError:
            facts.errors["clock"] = f"`date +%s.%N` printed {answer.stdout!r}"
            break
    sudo = run("sudo -n true", 30)
    facts.sudo = sudo.exit_code == 0
    if not facts.sudo:
        facts.errors["sudo"] = sudo.stderr or f"exit {sudo.exit_code}"
    has_python = run("command -v python3", 30)
    if has_python.exit_code != 0:
        facts.errors["python"] = "python3 not found on PATH"
        return facts
    result = run(probe_command(plan, facts.sudo), 120)
    try:
        facts.probe = json.loads(result.stdout.splitlines()[-1]) if result.exit_code == 0 \
            else None
    except (ValueError, IndexError):
        facts.probe = None
    if facts.probe is None:
        facts.errors["probe"] = (result.stderr or result.stdout)[-400:] or \
            f"exit {result.exit_code}"
    return facts


def gather(plan: HostPlan, key: ControlKey, host_key: str | None) -> HostFacts:
    """Log in to ``plan``'s host with its pinned key and record the answers."""
    if host_key is None:
        return HostFacts(errors={"ssh": "no pinned host key"})
    try:
        with HostSSH(plan.address, key, host_key, user=plan.user, port=plan.port) as ssh:
            return gather_with(lambda command, timeout: ssh.run(command, timeout), plan)
    except paramiko.BadHostKeyException as exc:
        return HostFacts(errors={"ssh": f"the host presents another key than the pinned one "
                                        f"({exc}): refused"})
    except paramiko.AuthenticationException as exc:
        return HostFacts(errors={"ssh": f"login as {plan.user} refused ({exc})"})
    except (paramiko.SSHException, OSError) as exc:
        return HostFacts(errors={"ssh": f"no SSH session to {plan.address}:{plan.port} ({exc})"})


# --- judging (pure) --------------------------------------------------------------------------


def os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` as a mapping (quotes removed)."""
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def clock_offset(samples: Sequence[tuple[float, float, float]]) -> tuple[float, float]:
    """(offset, uncertainty): host minus control at the sample with the shortest round trip;
    the host read its clock somewhere between ``before`` and ``after``."""
    before, host, after = min(samples, key=lambda s: s[2] - s[0])
    return host - (before + after) / 2, (after - before) / 2


def evaluate(plan: HostPlan, facts: HostFacts, limits: Limits = DEFAULT_LIMITS,
             key_file: str = "the control key's .pub") -> list[Check]:
    """Judge one host's recorded answers: one :class:`Check` per check (and per row)."""
    h = plan.name
    if "ssh" in facts.errors:
        return [Check(h, "ssh", Status.FAIL, facts.errors["ssh"], _ssh_remedy(plan, facts,
                                                                             key_file)),
                *(_skipped(plan, "no SSH session"))]
    checks = [Check(h, "ssh", Status.OK, f"{plan.user}@{plan.address}:{plan.port}, pinned key")]
    checks.append(_os(h, facts))
    checks.append(Check(h, "sudo", Status.OK, "sudo -n works") if facts.sudo else
                  Check(h, "sudo", Status.FAIL, facts.errors.get("sudo", "sudo -n failed"),
                        f"give {plan.user} passwordless sudo (Ansible becomes root): "
                        f"`echo '{plan.user} ALL=(ALL) NOPASSWD: ALL' > "
                        f"/etc/sudoers.d/sunlight` as root, mode 0440"))
    checks.append(_clock(h, facts, limits))
    if "python" in facts.errors:
        return [*checks, Check(h, "python", Status.FAIL, facts.errors["python"],
                               "install Debian's python3 (`apt-get install python3`)"),
                *_skipped(plan, "needs python3", only=("disk", "ports", "reach"))]
    if facts.probe is None:
        return [*checks, Check(h, "python", Status.FAIL,
                               f"the probe did not run: {facts.errors.get('probe', '?')}",
                               "run `python3 -c 'print(1)'` on the host and fix what it says"),
                *_skipped(plan, "the probe did not run", only=("disk", "ports", "reach"))]
    checks.append(_python(h, facts.probe))
    checks.append(_disk(h, facts.probe, limits))
    checks.append(_ports(plan, facts.probe, facts.sudo is True))
    checks += _reach(plan.name, plan.reach, facts.probe.get("reach", []))
    return checks


def _skipped(plan: HostPlan, why: str,
             only: Sequence[str] = ("os", "sudo", "clock", "python", "disk", "ports", "reach"),
             ) -> list[Check]:
    names = [n for n in only if n != "reach"]
    out = [Check(plan.name, n, Status.SKIP, why) for n in names]
    if "reach" in only:
        out += [Check(plan.name, r.label, Status.SKIP, why) for r in plan.reach]
    return out


def _ssh_remedy(plan: HostPlan, facts: HostFacts, key_file: str) -> str:
    message = facts.errors["ssh"]
    if "pinned" in message and "no pinned" in message:
        return "pin its host key first: `sunlight up --hosts FILE` asks, or give --known-hosts"
    if "another key" in message:
        return ("check the host's fingerprint on its console; if it was reinstalled, remove its "
                "line from the deployment's known_hosts yourself")
    if "refused" in message:
        return (f"add {key_file} to ~{plan.user}/.ssh/authorized_keys on the host")
    return f"start sshd on the host and let the control node reach {plan.address}:{plan.port}"


def _os(host: str, facts: HostFacts) -> Check:
    if facts.os_release is None:
        return Check(host, "os", Status.FAIL, "no /etc/os-release",
                     "install Debian 12 (bookworm): the roles support it only")
    release = os_release(facts.os_release)
    found = release.get("PRETTY_NAME") or f"{release.get('ID')} {release.get('VERSION_ID')}"
    if release.get("ID") == DEBIAN_ID and release.get("VERSION_ID") == DEBIAN_VERSION:
        return Check(host, "os", Status.OK, found)
    return Check(host, "os", Status.FAIL, found,
                 "install Debian 12 (bookworm): the roles support it only")


def _clock(host: str, facts: HostFacts, limits: Limits) -> Check:
    if not facts.clock:
        return Check(host, "clock", Status.FAIL, facts.errors.get("clock", "no clock reading"),
                     "make `date +%s.%N` work on the host (GNU coreutils)")
    offset, uncertainty = clock_offset(facts.clock)
    detail = f"offset {offset:+.3f} s (±{uncertainty:.3f} s) from the control node"
    if abs(offset) - uncertainty > limits.max_clock_offset_s:
        return Check(host, "clock", Status.FAIL,
                     f"{detail}; more than {limits.max_clock_offset_s:g} s",
                     "synchronise the host's clock and the control node's with one time source "
                     "(chrony or systemd-timesyncd against the centre's NTP server)")
    return Check(host, "clock", Status.OK, detail)


def _python(host: str, found: Mapping[str, Any]) -> Check:
    version = str(found.get("python", "?"))
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        parts = (0, 0)
    wanted = ".".join(map(str, MIN_PYTHON))
    if parts >= MIN_PYTHON:
        return Check(host, "python", Status.OK, f"Python {version}")
    return Check(host, "python", Status.FAIL, f"Python {version}, below {wanted}",
                 f"install Debian 12's python3 ({wanted})")


def _disk(host: str, found: Mapping[str, Any], limits: Limits) -> Check:
    disks = found.get("disk") or []
    if not disks:
        return Check(host, "disk", Status.FAIL, "no filesystem could be read",
                     f"check that {', '.join(DISK_PATHS)} exist")
    low = [d for d in disks if d["free"] / 2**30 < limits.min_free_gib]
    detail = ", ".join(f"{d['path']} {d['free'] / 2**30:.1f} GiB free" for d in disks)
    if low:
        return Check(host, "disk", Status.FAIL, detail,
                     f"free or add space: at least {limits.min_free_gib:g} GiB on "
                     f"{', '.join(d['path'] for d in low)}")
    return Check(host, "disk", Status.OK, detail)


def held_by_role(service: str, unit: str | None) -> bool:
    """Whether ``unit`` is the one the role serving ``service`` runs (a re-run)."""
    return unit is not None and any(fnmatch.fnmatch(unit, pattern)
                                    for pattern in SERVICE_UNITS.get(service, ()))


def _ports(plan: HostPlan, found: Mapping[str, Any], as_root: bool) -> Check:
    held: dict[int, list[Mapping[str, Any]]] = {}
    for sock in found.get("listening", []):
        held.setdefault(int(sock["port"]), []).append(sock)
    conflicts = []
    for service, port in plan.listen:
        for sock in held.get(port, []):
            if plan.configured and as_root and not sock.get("pid"):
                continue  # a configured host's own service, its owner unreadable here
            if not held_by_role(service, sock.get("unit")):
                who = (f"{sock.get('program')} (pid {sock.get('pid')}, {sock.get('unit')})"
                       if sock.get("pid") else "an unknown process")
                conflicts.append(f"{port} ({service}) is held by {who} on {sock['address']}")
    if conflicts:
        hint = "" if as_root else " (run as root to see who: passwordless sudo)"
        return Check(plan.name, "ports", Status.FAIL, "; ".join(sorted(set(conflicts))) + hint,
                     "stop and disable what holds the port (`systemctl disable --now UNIT`) or "
                     "move it to another port: the roles need it")
    ports = ", ".join(f"{p}" for _, p in plan.listen)
    return Check(plan.name, "ports", Status.OK, f"free or the role's own: {ports}")


def _reach(host: str, rows: Sequence[Reach], results: Sequence[Mapping[str, Any]]) -> list[Check]:
    by_target = {(r["address"], int(r["port"])): r for r in results}
    out = []
    for row in rows:
        got = by_target.get((row.address, row.port))
        where = f"{row.address}:{row.port} on {row.network}"
        if row.admitted_by_this_run:
            out.append(Check(host, row.label, Status.SKIP, f"{where}: its firewall admits "
                             f"{host} once this run has configured it"))
        elif got is None:
            out.append(Check(host, row.label, Status.SKIP, f"{where}: not probed"))
        elif got["result"] in REACHABLE:
            state = "listening" if got["result"] == "open" else "reachable, nothing listens yet"
            out.append(Check(host, row.label, Status.OK, f"{where}: {state}"))
        else:
            detail = f"{where}: {got['result']}" + (f" ({got['detail']})" if got["detail"] else "")
            out.append(Check(host, row.label, Status.FAIL, detail, _reach_remedy(host, row,
                                                                                 got["result"])))
    return out


def _reach_remedy(host: str, row: Reach, result: str) -> str:
    source = "the control node" if host == CONTROL else host
    if result == "blocked":
        return f"{source}'s own firewall refuses it: allow TCP to {row.address}:{row.port}"
    if result == "unreachable":
        return (f"route {source} to {row.address} on {row.network}, or lift the firewall that "
                f"answers 'prohibited'")
    return (f"open TCP {row.port} from {source} to {row.address} in the firewalls between "
            f"them (flows.yaml allows {row.service} there)")


def evaluate_control(rows: Sequence[Reach], results: Sequence[Mapping[str, Any]]) -> list[Check]:
    """The control node's own rows (its results come from :func:`probe.reach`)."""
    return _reach(CONTROL, rows, results)


# --- the whole run ---------------------------------------------------------------------------


def run_prechecks(inventory: Mapping[str, Any], pins: Mapping[str, str], key: ControlKey,
                  limits: Limits = DEFAULT_LIMITS, progress: Progress | None = None,
                  gatherer: Callable[[HostPlan], HostFacts] | None = None,
                  reacher: Callable[[str, int, float], dict[str, Any]] | None = None,
                  configured_sites: Collection[str] = ()) -> Report:
    """Check every host of ``inventory`` (pinned keys: ``pins``, address -> key line);
    ``configured_sites``: those an earlier run configured (see the module doc).

    ``gatherer`` and ``reacher`` replace SSH and the control node's connection attempts
    (default: :func:`gather`, :func:`probe.reach`)."""
    plans = plan_hosts(inventory, configured_sites)
    reach = reacher or probe.reach

    def one(plan: HostPlan) -> HostFacts:
        if progress:
            progress(f"prechecks: {plan.name} ({plan.address})")
        if gatherer is not None:
            return gatherer(plan)
        return gather(plan, key, pins.get(plan.address))

    with ThreadPoolExecutor(max_workers=8) as pool:
        facts = list(pool.map(one, plans))
    key_file = str(key.path.with_suffix(".pub"))
    checks = [c for plan, f in zip(plans, facts, strict=True)
              for c in evaluate(plan, f, limits, key_file)]
    rows = control_rows(inventory)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda r: reach(r.address, r.port, REACH_TIMEOUT_S), rows))
    return Report(checks + evaluate_control(rows, results))
