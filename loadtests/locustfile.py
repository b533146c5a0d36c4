"""Case load at one county, seen from the province: applicants, staff, supervisors, probes.

Run by ``sunlight load`` (headless, reports in a folder, verdict last); by hand:

    SUNLIGHT_LOAD_TARGETS=targets.json SUNLIGHT_LOAD_PROFILE=smoke \\
    SUNLIGHT_LOAD_GATES=loadtests/gates/ci.yaml locust -f loadtests/locustfile.py --headless

Request names group what the gates measure: ``submit/*`` (create, upload, send),
``read/*`` (catalogue, guide, status), ``staff/*``, ``supervise/*``, ``probe/*`` (the
probe's own submissions, not counted as offered load) and ``propagation/county→province``
(a probe case's time from submission at the county portal to its appearance in the
province's view of the county).

Each portal user presents its own address in ``X-Forwarded-For`` (nginx believes it from the
control node, a trusted proxy, and limits requests per client address). A draft is named by
its draft id until it is submitted; the receipt number comes with the submission.

Profiles, gates, targets and test data live in :mod:`sunlight.control.load`, imported like
any installed package (run Locust from the virtual environment where ``sunlight`` is).
"""

from __future__ import annotations

import itertools
import os
import time
from collections import deque
from typing import Any

from locust import HttpUser, User, constant_throughput, events, task

from sunlight.catalogue.journey import annual_report_material
from sunlight.control.load.data import Applications, client_address
from sunlight.control.load.shapes import PROFILES, Profile
from sunlight.control.load.targets import Targets
from sunlight.control.load.verdict import ProfileShape, install_gates

TARGETS = Targets.load()
PROFILE: Profile = PROFILES[os.environ.get("SUNLIGHT_LOAD_PROFILE", "smoke")].scaled(
    duration_s=float(os.environ["SUNLIGHT_LOAD_DURATION_S"])
    if os.environ.get("SUNLIGHT_LOAD_DURATION_S") else None,
    rate_factor=float(os.environ.get("SUNLIGHT_LOAD_RATE_FACTOR", "1")))
RECEIPTS: deque[tuple[str, str]] = deque(maxlen=500)  # (receipt, secret) for status reads
_seeds = itertools.count(1)
# Workers of a distributed run count seeds from 1 each: their users' addresses differ by
# this process's block of 1000 (Locust runs a few processes, their pids seldom collide).
_ADDRESS_BLOCK = 1000 * (os.getpid() % 4000)


class _Portal(HttpUser):
    abstract = True
    host = TARGETS.portal

    def on_start(self) -> None:
        self.client.verify = TARGETS.ca_file
        seed = next(_seeds)
        self.data = Applications(seed=seed)
        # One client address per simulated user, as a trusted front proxy would pass it.
        self.client.headers["X-Forwarded-For"] = client_address(_ADDRESS_BLOCK + seed)

    def submit(self, group: str = "submit") -> tuple[str, str] | None:
        """Create, upload, send; requests are named ``<group>/create|upload|send``."""
        with self.client.post("/api/v1/applications", json=self.data.annual_report(),
                              name=f"{group}/create", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            draft, secret = r.json()["draft_id"], r.json()["secret"]
        headers = {"X-Tracking-Secret": secret}
        with self.client.post(f"/api/v1/applications/{draft}/materials", headers=headers,
                              **annual_report_material(), name=f"{group}/upload",
                              catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
        with self.client.post(f"/api/v1/applications/{draft}/submit", headers=headers,
                              name=f"{group}/send", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return None
            receipt = str(r.json()["receipt"])
        RECEIPTS.append((receipt, secret))
        return receipt, secret


class Applicant(_Portal):
    """Files an annual report with its material, then checks its status once."""

    wait_time = constant_throughput(1 / PROFILE.submit_pace_s)

    @task
    def apply(self) -> None:
        filed = self.submit()
        if filed:
            self.client.get(f"/api/v1/applications/{filed[0]}", name="read/status",
                            headers={"X-Tracking-Secret": filed[1]})


class Browser(_Portal):
    """Browses the catalogue and guides (办事指南) and tracks cases: ~20× the writes."""

    wait_time = constant_throughput(1 / PROFILE.read_pace_s)

    @task(5)
    def catalogue(self) -> None:
        self.client.get("/api/v1/catalogue", params={"limit": 50}, name="read/catalogue")

    @task(3)
    def guide(self) -> None:
        self.client.get(f"/api/v1/catalogue/{self.data.item_code()}", name="read/guide")

    @task(2)
    def status(self) -> None:
        if RECEIPTS:
            receipt, secret = RECEIPTS[0]
            RECEIPTS.rotate(1)
            self.client.get(f"/api/v1/applications/{receipt}", name="read/status",
                            headers={"X-Tracking-Secret": secret})


def _token(client: Any, username: str, password: str) -> str:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password},
                    name="staff/sign-in")
    r.raise_for_status()
    return str(r.json()["access_token"])


class Clerk(HttpUser):
    """County staff work the queue: accept, review, grant and close (内网办理)."""

    host = TARGETS.core
    fixed_count = 3
    wait_time = constant_throughput(1.0)
    roles = itertools.cycle(["clerk", "reviewer", "approver"])

    def on_start(self) -> None:
        self.client.verify = TARGETS.ca_file  # core serves HTTPS from the deployment CA
        self.role = next(self.roles)
        token = _token(self.client, self.role, TARGETS.staff[self.role])
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task
    def work(self) -> None:
        r = self.client.get("/api/v1/queue", params={"limit": 20}, name="staff/queue")
        if r.status_code != 200 or not r.json():
            return
        case = r.json()[0]
        action = next((a for a in ("accept", "approve_step", "grant", "close")
                       if a in case["actions"]), None)
        if action:
            self.client.post(f"/api/v1/cases/{case['id']}/actions", json={"action": action},
                             name="staff/act")


class Supervisor(HttpUser):
    """The province watches its subordinates (上级监督下级)."""

    host = TARGETS.province_core
    fixed_count = 1
    wait_time = constant_throughput(0.5)

    def on_start(self) -> None:
        self.client.verify = TARGETS.ca_file
        token = _token(self.client, *TARGETS.supervisor)
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task
    def overview(self) -> None:
        self.client.get("/api/v1/subordinates", name="supervise/subordinates")
        self.client.get(f"/api/v1/subordinates/{TARGETS.county}/cases", params={"limit": 20},
                        name="supervise/cases")


class Prober(_Portal):
    """Submits a probe case and times its arrival in the province's view of the county."""

    fixed_count = 1
    wait_time = constant_throughput(0.2)

    def on_start(self) -> None:
        super().on_start()
        import httpx

        self.province = httpx.Client(base_url=TARGETS.province_core, timeout=10,
                                     verify=TARGETS.ca_file)
        token = self.province.post("/api/v1/auth/token", json=dict(zip(
            ("username", "password"), TARGETS.supervisor, strict=True))).json()["access_token"]
        self.province.headers["Authorization"] = f"Bearer {token}"

    @task
    def probe(self) -> None:
        started = time.perf_counter()
        filed = self.submit("probe")  # not counted as offered load
        if not filed:
            return
        deadline = started + 60
        while time.perf_counter() < deadline:
            r = self.province.get(f"/api/v1/subordinates/{TARGETS.county}/cases",
                                  params={"receipt": filed[0]})
            if r.status_code == 200 and r.json():
                events.request.fire(request_type="PROBE", name="propagation/county→province",
                                    response_time=(time.perf_counter() - started) * 1000,
                                    response_length=0, exception=None, context={})
                return
            time.sleep(0.1)
        events.request.fire(request_type="PROBE", name="propagation/county→province",
                            response_time=60_000, response_length=0,
                            exception=TimeoutError("not at the province within 60 s"),
                            context={})


# Paced classes share the users in the profile's proportion (constant within a profile).
Applicant.weight = max(1, PROFILE.peak().applicants)
Browser.weight = max(1, PROFILE.peak().browsers)
install_gates(events, PROFILE)


class Shape(ProfileShape):
    profile = PROFILE
    fixed_users = Clerk.fixed_count + Supervisor.fixed_count + Prober.fixed_count


__all__ = ["Applicant", "Browser", "Clerk", "Prober", "Shape", "Supervisor", "User"]
