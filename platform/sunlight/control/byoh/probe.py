"""The prechecks' probe: runs ON a host (its own ``python3``, standard library only) and
prints what the prechecks judge, as one JSON document. The control node runs
:func:`reach` itself for flows.yaml's control rows.

Its source is sent as ``python3 -c SOURCE ARGS`` (nothing is copied to the host); ARGS is
base64 JSON: ``{"paths": [...], "targets": [[address, port], ...], "timeout": s}``.
It prints::

    {"python": "3.11.2",
     "disk": [{"path", "device", "free", "total"}],       # one per filesystem
     "listening": [{"port", "address", "program", "unit", "pid"}],
     "reach": [{"address", "port", "result", "errno", "detail"}]}

``result`` of a connection attempt (see docs/prechecks.md):

- ``open``: it connected, a service listens;
- ``closed``: refused (a TCP RST, or ICMP port unreachable): the path is open and nothing
  listens yet — reachable;
- ``filtered``: no answer before the time-out: something drops it — not reachable;
- ``unreachable``: no route, or an ICMP host/network/administratively-prohibited answer;
- ``blocked``: this host's own firewall refused to send it (EPERM/EACCES);
- ``error``: anything else (``detail`` says what).

Listening sockets come from ``/proc/net/tcp{,6}``; their owner (program, systemd unit)
from ``/proc/<pid>/fd`` and ``/proc/<pid>/cgroup``, readable only as root (the prechecks
run it with ``sudo -n`` when they can; otherwise the owner is ``null``).
"""

from __future__ import annotations

import base64
import concurrent.futures
import errno
import ipaddress
import json
import os
import platform
import socket
import sys
from typing import Any

LISTEN_STATE = "0A"


def reach(address: str, port: int, timeout: float) -> dict[str, Any]:
    """One TCP connection attempt to ``address:port``, classified (see the module doc)."""
    out: dict[str, Any] = {"address": address, "port": port, "errno": None, "detail": ""}
    try:
        with socket.create_connection((address, port), timeout=timeout):
            out["result"] = "open"
    except ConnectionRefusedError:
        out["result"] = "closed"
    except TimeoutError:
        out["result"] = "filtered"
        out["detail"] = f"no answer in {timeout:g} s"
    except OSError as exc:
        out["errno"] = exc.errno
        out["detail"] = os.strerror(exc.errno) if exc.errno else str(exc)
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
            out["result"] = "unreachable"
        elif exc.errno in (errno.EPERM, errno.EACCES):
            out["result"] = "blocked"
        else:
            out["result"] = "error"
    return out


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net/tcp{,6} print each 32-bit word in host (little-endian) byte order.
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listening() -> list[dict[str, Any]]:
    """Every listening TCP socket: port, address, and its owner when readable."""
    sockets: dict[str, tuple[int, str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == LISTEN_STATE:
                local, port = fields[1].split(":")
                sockets[fields[9]] = (int(port, 16), _address(local))
    owners = _owners(set(sockets))
    return [{"port": port, "address": address, **owners.get(inode, _NOBODY)}
            for inode, (port, address) in sorted(sockets.items(), key=lambda kv: kv[1])]


_NOBODY: dict[str, Any] = {"pid": None, "program": None, "unit": None}


def _owners(inodes: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            inode = link[len("socket:["):-1] if link.startswith("socket:[") else ""
            if inode in inodes and inode not in found:
                found[inode] = {"pid": int(pid), "program": _read(f"/proc/{pid}/comm"),
                                "unit": _unit(_read(f"/proc/{pid}/cgroup"))}
    return found


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _unit(cgroup: str) -> str | None:
    for line in cgroup.splitlines():
        for part in reversed(line.rsplit(":", 1)[-1].split("/")):
            if part.endswith((".service", ".socket", ".scope")):
                return part
    return None


def disk(paths: list[str]) -> list[dict[str, Any]]:
    """Free and total bytes of each distinct filesystem holding one of ``paths``."""
    out, seen = [], set()
    for path in paths:
        try:
            device = os.stat(path).st_dev
            usage = os.statvfs(path)
        except OSError:
            continue
        if device not in seen:
            seen.add(device)
            out.append({"path": path, "device": device, "free": usage.f_bavail * usage.f_frsize,
                        "total": usage.f_blocks * usage.f_frsize})
    return out


def main(argv: list[str]) -> int:
    args = json.loads(base64.b64decode(argv[1])) if len(argv) > 1 else {}
    timeout = float(args.get("timeout", 3.0))
    targets = [(str(a), int(p)) for a, p in args.get("targets", [])]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        reached = list(pool.map(lambda t: reach(t[0], t[1], timeout), targets))
    print(json.dumps({"python": platform.python_version(), "disk": disk(args.get("paths", ["/"])),
                      "listening": listening(), "reach": reached}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
