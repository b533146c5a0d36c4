"""``sunlight load``: headless Locust against a running deployment, with a verdict.

Writes targets (URLs, CA, staff credentials) for the locustfile, runs Locust locally or
distributed (a master and K workers on this machine), samples the load generator's CPU,
and leaves the HTML report, CSV files and the verdict in a reports folder. The verdict is
printed last; a breached gate makes the exit code non-zero.

Example::

    >>> outcome = run_load(LoadRequest(deployment="demo", profile="smoke"), print)  # doctest: +SKIP

Locust runs ``loadtests/locustfile.py`` with this interpreter's ``locust``, where
``sunlight`` is installed: the locustfile imports :mod:`sunlight.control.load` normally.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from sunlight.control.load.gates import gates_file
from sunlight.control.load.targets import Targets
from sunlight.control.stack.access import DeploymentAccess
from sunlight.control.stack.deployment import Deployment
from sunlight.control.stack.scenario import DEPARTMENT, STAFF
from sunlight.paths import repo_root

Say = Callable[[str], None]


@dataclass(frozen=True)
class LoadRequest:
    deployment: str = "demo"
    profile: str = "smoke"
    gates: Path | None = None  # default: loadtests/gates/<profile>.yaml, else ci.yaml
    duration_s: float | None = None  # squeeze the profile into this long
    rate_factor: float = 1.0
    workers: int = 0  # 0: one local process; K: a master and K workers
    county: str = "320703"
    reports: Path | None = None


@dataclass
class LoadOutcome:
    exit_code: int
    folder: Path
    verdict: dict[str, object] = field(default_factory=dict)
    cpu_percent: float = 0.0  # mean over the run, of one core (100 = one core busy)
    cpu_share: float = 0.0  # of the whole machine

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and self.verdict.get("passed") is True

    @property
    def failed(self) -> list[str]:
        failed = self.verdict.get("failed")
        return [str(f) for f in failed] if isinstance(failed, list) else \
            ["no verdict (see locust.log)"]

    @property
    def lines(self) -> list[str]:
        lines = self.verdict.get("lines")
        return [str(x) for x in lines] if isinstance(lines, list) else []


def _gates_for(request: LoadRequest) -> Path:
    return request.gates or gates_file(request.profile)


def write_targets(access: DeploymentAccess, county: str, path: Path) -> None:
    site = access.site(county)
    province_code = (access.ancestors(county) or [county])[-1]
    province = access.site(province_code)
    admin = (province.secrets / "sites" / province_code / "passwords" / "staff_admin")
    Targets(portal=site.portal_url, ca_file=site.ca_file, core=site.core_url,
            province_core=province.core_url, county=county,
            staff={u: site.staff(u, [u], DEPARTMENT) for u in STAFF},
            supervisor=("admin", admin.read_text().strip())).dump(path)


def _locust(folder: Path, request: LoadRequest,
            env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    locust = str(Path(sys.executable).with_name("locust"))
    base = [locust, "-f", str(repo_root() / "loadtests" / "locustfile.py"), "--headless",
            "--only-summary", "--loglevel", "INFO"]
    report = ["--html", str(folder / "report.html"), "--csv", str(folder / "stats")]
    log = (folder / "locust.log").open("ab")
    if not request.workers:
        return [subprocess.Popen([*base, *report], env=env, stdout=log, stderr=log)]
    port = str(_free_port())
    master = subprocess.Popen([*base, *report, "--master", "--master-bind-host", "127.0.0.1",
                               "--master-bind-port", port, "--expect-workers",
                               str(request.workers)], env=env, stdout=log, stderr=log)
    workers = [subprocess.Popen([*base, "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", port], env=env, stdout=log, stderr=log)
               for _ in range(request.workers)]
    return [master, *workers]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sample_cpu(procs: list[subprocess.Popen[bytes]], say: Say) -> float:
    """Wait for the run, sampling the generator's CPU each second; return the mean %."""
    handles = [psutil.Process(p.pid) for p in procs]
    for h in handles:
        h.cpu_percent(None)
    samples: list[float] = []
    started = time.monotonic()
    while procs[0].poll() is None:
        time.sleep(1.0)
        total = 0.0
        for h in handles:
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker that already ended
                total += h.cpu_percent(None)
        samples.append(total)
        if len(samples) % 15 == 0:
            say(f"{time.monotonic() - started:.0f} s: load generator at {total:.0f}% CPU")
    for p in procs[1:]:
        p.wait(30)
    return sum(samples) / len(samples) if samples else 0.0


def run_load(request: LoadRequest, say: Say,
             access: DeploymentAccess | None = None) -> LoadOutcome:
    folder = request.reports or (repo_root() / "reports" /
                                 f"load-{request.profile}-{time.strftime('%Y%m%d-%H%M%S')}")
    folder.mkdir(parents=True, exist_ok=True)
    access = access or DeploymentAccess(Deployment(request.deployment))
    write_targets(access, request.county, folder / "targets.json")
    env = {**os.environ, "SUNLIGHT_LOAD_TARGETS": str(folder / "targets.json"),
           "SUNLIGHT_LOAD_PROFILE": request.profile,
           "SUNLIGHT_LOAD_GATES": str(_gates_for(request)),
           "SUNLIGHT_LOAD_VERDICT_FILE": str(folder / "verdict.json"),
           "SUNLIGHT_LOAD_RATE_FACTOR": str(request.rate_factor)}
    if request.duration_s:
        env["SUNLIGHT_LOAD_DURATION_S"] = str(request.duration_s)
    say(f"profile {request.profile}, gates {_gates_for(request).name}, "
        f"{request.workers or 'no'} workers; reports in {folder}")
    procs = _locust(folder, request, env)
    cpu = _sample_cpu(procs, say)
    code = procs[0].returncode
    verdict = json.loads((folder / "verdict.json").read_text()) \
        if (folder / "verdict.json").is_file() else {}
    return LoadOutcome(code if verdict else (code or 2), folder, verdict, cpu,
                       cpu / (100 * (os.cpu_count() or 1)))
