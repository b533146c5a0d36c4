"""The control node's guard: no project host opens a connection to the Docker host itself.

The Docker host has an address on every bridge of a run (each network's gateway), and its
other addresses are reachable through those bridges too: without a rule, every container —
root inside it included — reaches whatever the host listens on. So the guard lives on the
host, outside every container, where nothing inside a host can lift it:

- one iptables chain per run in the filter table, ``SUNLIGHT-<run id>`` (:func:`chain_name`);
- jumped to from ``INPUT`` for each bridge interface of the run's networks (``-i br-…``),
  inserted first;
- the chain returns replies to connections the control node opened (conntrack
  ``ESTABLISHED,RELATED``: SSH on mgmt, core's API, the published front door...), returns
  the ports flows.yaml lets a host reach on the control node (:func:`control_ports`: none
  today) and drops everything else;
- every rule carries the comment ``sunlight run=<id> owner=<token>`` (``persistent`` for a
  run without owner), which is how :func:`remove`, :func:`sweep` and :func:`leftovers`
  find them.

:func:`install` is called by ``sunlight up`` once the run's networks exist (a re-run
converges: jumps to bridges that are gone are dropped, new bridges are added);
:func:`remove` by ``sunlight down``; :func:`sweep` by the resource sweep
(:func:`sunlight.control.resources.sweep`), which removes a run's own guard and that of
every ephemeral run whose owner process is dead, so a crashed test leaves nothing.

By hand: ``iptables -S | grep -i sunlight`` lists what is installed; ``iptables -D INPUT
<jump>`` for each jump, then ``iptables -F SUNLIGHT-<run>`` and ``iptables -X SUNLIGHT-<run>``
remove it (or ``sunlight hosts remove --run <run>``).

Example::

    >>> from sunlight.control.hostguard import chain_name
    >>> chain_name("demo")
    'SUNLIGHT-demo'
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sunlight.topology.flows import FlowMatrix, load_flows
from sunlight.topology.layout import CONTROL
from sunlight.topology.runs import LABEL_RUN_ID, Run, owner_alive

CHAIN_PREFIX = "SUNLIGHT-"
CHAIN_MAX = 28  # iptables' limit on a chain's name
COMMENT_PREFIX = "sunlight run="
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
IPTABLES = "iptables"

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


class HostGuardError(RuntimeError):
    """The guard could not be installed; the message says what to do."""


def chain_name(run_id: str) -> str:
    """``SUNLIGHT-<run id>``, or a shortened unique form for long run ids."""
    name = f"{CHAIN_PREFIX}{run_id}"
    if len(name) <= CHAIN_MAX:
        return name
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"{CHAIN_PREFIX}{run_id[:CHAIN_MAX - len(CHAIN_PREFIX) - 9]}-{digest}"


def comment(run: Run) -> str:
    owner = "persistent" if run.persistent else f"owner={run.owner}"
    return f"{COMMENT_PREFIX}{run.run_id} {owner}"


@dataclass(frozen=True)
class Tag:
    """What a rule's comment says: whose run, and its owner (None: persistent)."""

    run_id: str
    owner: str | None

    def reapable(self, run_id: str) -> bool:
        """Whether a sweep for ``run_id`` may remove it (as for Docker resources)."""
        if self.run_id == run_id:
            return True
        return self.owner is not None and not owner_alive(self.owner)


def parse_comment(text: str) -> Tag | None:
    if not text.startswith(COMMENT_PREFIX):
        return None
    run_id, _, rest = text.removeprefix(COMMENT_PREFIX).partition(" ")
    owner = rest.removeprefix("owner=") if rest.startswith("owner=") else None
    return Tag(run_id, owner)


@dataclass(frozen=True)
class Rule:
    """One line of ``iptables -S``: its chain, its spec (after ``-A <chain>``), its tag."""

    chain: str
    spec: tuple[str, ...]
    tag: Tag | None

    @property
    def target(self) -> str | None:
        args = list(self.spec)
        return args[args.index("-j") + 1] if "-j" in args else None

    @property
    def interface(self) -> str | None:
        args = list(self.spec)
        return args[args.index("-i") + 1] if "-i" in args else None


def parse_rules(text: str) -> tuple[list[str], list[Rule]]:
    """The chains (``-N``) and the rules (``-A``) of ``iptables -S`` output."""
    chains, rules = [], []
    for line in text.splitlines():
        args = shlex.split(line)
        if len(args) >= 2 and args[0] == "-N":
            chains.append(args[1])
        elif len(args) >= 2 and args[0] == "-A":
            spec = tuple(args[2:])
            tag = None
            if "--comment" in spec:
                tag = parse_comment(spec[spec.index("--comment") + 1])
            rules.append(Rule(args[1], spec, tag))
    return chains, rules


def control_ports(matrix: FlowMatrix) -> list[int]:
    """The ports flows.yaml lets a host open on the control node (none today)."""
    return sorted({f.port for f in matrix.allowed if f.destination == CONTROL})


def chain_rules(run: Run, ports: Sequence[int]) -> list[list[str]]:
    """The chain's rules, in order: replies return, flows.yaml's ports return, rest drops."""
    tag = ["-m", "comment", "--comment", comment(run)]
    rules = [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *tag, "-j", "RETURN"]]
    rules += [["-p", "tcp", "--dport", str(p), *tag, "-j", "RETURN"] for p in ports]
    rules.append([*tag, "-j", "DROP"])
    return rules


def jump(run: Run, bridge: str) -> list[str]:
    return ["-i", bridge, "-m", "comment", "--comment", comment(run), "-j", chain_name(run.run_id)]


def bridges(client: Any, run_id: str) -> list[str]:
    """The host interface of every bridge network carrying ``run_id``."""
    out = []
    for network in client.networks.list(filters={"label": f"{LABEL_RUN_ID}={run_id}"}):
        options = network.attrs.get("Options") or {}
        out.append(options.get(BRIDGE_NAME_OPTION) or f"br-{network.id[:12]}")
    return sorted(set(out))


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IPTABLES, "-w", *args], capture_output=True, text=True, check=False)


def available() -> bool:
    """Whether this process may read and change the host's rules (root, iptables present)."""
    return os.geteuid() == 0 and shutil.which(IPTABLES) is not None


def _checked(runner: Runner, args: list[str]) -> str:
    done = runner(args)
    if done.returncode != 0:
        raise HostGuardError(f"iptables {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _listing(runner: Runner) -> tuple[list[str], list[Rule]]:
    return parse_rules(_checked(runner, ["-S"]))


def sync(run: Run, interfaces: Iterable[str], ports: Sequence[int], runner: Runner = _run,
         ) -> None:
    """Make the host's rules exactly the run's guard for ``interfaces`` (idempotent)."""
    name = chain_name(run.run_id)
    chains, rules = _listing(runner)
    if name not in chains:
        _checked(runner, ["-N", name])
    _checked(runner, ["-F", name])
    for spec in chain_rules(run, ports):
        _checked(runner, ["-A", name, *spec])
    wanted = set(interfaces)
    for rule in rules:
        if rule.chain == "INPUT" and rule.target == name:
            if rule.interface in wanted and rule.spec == tuple(jump(run, rule.interface)):
                wanted.discard(rule.interface)
            else:
                _checked(runner, ["-D", "INPUT", *rule.spec])
    for bridge in sorted(wanted, reverse=True):  # each goes first: sorted in the end
        _checked(runner, ["-I", "INPUT", "1", *jump(run, bridge)])


def install(client: Any, run: Run, matrix: FlowMatrix | None = None,
            runner: Runner | None = None) -> list[str]:
    """Guard the control node from every bridge of ``run``; return the interfaces guarded."""
    if runner is None:
        if not available():
            raise HostGuardError(
                "the control node's guard needs root and iptables on the Docker host (it "
                "installs iptables rules so that no host can reach the control node): run "
                "`sunlight up` as root")
        runner = _run
    found = bridges(client, run.run_id)
    try:
        sync(run, found, control_ports(matrix or load_flows()), runner)
    except HostGuardError:
        remove(run.run_id, runner)  # never half a guard: none, and the error says why
        raise
    return found


def _remove_chains(names: Iterable[str], rules: Sequence[Rule], runner: Runner) -> None:
    """Delete the chains and every jump to them. A concurrent sweep may have removed some
    already: failures count only if something is still there afterwards."""
    doomed = set(names)
    if not doomed:
        return
    for rule in rules:
        if rule.chain == "INPUT" and rule.target in doomed:
            runner(["-D", "INPUT", *rule.spec])
    for name in sorted(doomed):
        runner(["-F", name])
        runner(["-X", name])
    chains, rules = _listing(runner)
    left = sorted(doomed & set(chains)) + [f"-A INPUT {shlex.join(r.spec)}" for r in rules
                                           if r.chain == "INPUT" and r.target in doomed]
    if left:
        raise HostGuardError(f"could not remove {', '.join(left)} from the host's iptables")


def _tags(chains: Sequence[str], rules: Sequence[Rule]) -> dict[str, Tag]:
    """Each of our chains and the tag its rules carry."""
    out: dict[str, Tag] = {}
    for rule in rules:
        if rule.chain in chains and rule.chain.startswith(CHAIN_PREFIX) and rule.tag:
            out.setdefault(rule.chain, rule.tag)
    return out


def _host_runner() -> Runner | None:
    """The host's iptables, when this process may use it (else nothing to read or remove)."""
    return _run if available() else None


def remove(run_id: str, runner: Runner | None = None) -> list[str]:
    """Remove the run's guard (its jumps and chain); return the chains removed."""
    runner = runner or _host_runner()
    if runner is None:
        return []
    chains, rules = _listing(runner)
    name = chain_name(run_id)
    found = [name] if name in chains else []
    _remove_chains(found, rules, runner)
    return found


def sweep(run_id: str, runner: Runner | None = None) -> list[str]:
    """Remove the guard of ``run_id`` and of every ephemeral run whose owner is dead."""
    runner = runner or _host_runner()
    if runner is None:
        return []
    chains, rules = _listing(runner)
    doomed = [c for c, tag in _tags(chains, rules).items() if tag.reapable(run_id)]
    if chain_name(run_id) in chains and chain_name(run_id) not in doomed:
        doomed.append(chain_name(run_id))  # emptied by a crash between -N and -A
    _remove_chains(doomed, rules, runner)
    return sorted(doomed)


def leftovers(run_id: str, runner: Runner | None = None) -> list[str]:
    """Every rule or chain of the host still carrying ``run_id`` (empty after teardown)."""
    runner = runner or _host_runner()
    if runner is None:
        return []
    chains, rules = _listing(runner)
    name = chain_name(run_id)
    out = [f"iptables chain {name}"] if name in chains else []
    out += [f"iptables rule -A {r.chain} {shlex.join(r.spec)}" for r in rules
            if r.chain != name and (r.target == name or (r.tag and r.tag.run_id == run_id))]
    return out
