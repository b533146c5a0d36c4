"""One site's platform on real PostgreSQL: the three roles as real `sunlight serve` processes.

PostgreSQL runs in a throwaway container from the node image (its packaged postgresql-15,
started directly, not through systemd) with a generated superuser password; the portal
and core databases are owned by their owner roles (``portal_owner``, ``core_owner``: they run
the migrations, which grant the application roles ``portal``, ``gateway`` and ``core`` what
they may do), each with its own generated password. The
roles run on the control node on loopback ports, the way a developer runs them.
"""

from __future__ import annotations

import inspect
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from testcontainers.core.container import DockerContainer

# The sample journey is sunlight.catalogue.journey's; its names are re-exported for the tests.
from sunlight.catalogue.journey import ANNUAL_REPORT as ANNUAL_REPORT
from sunlight.catalogue.journey import ANNUAL_REPORT_MATERIAL as ANNUAL_REPORT_MATERIAL
from sunlight.catalogue.journey import ENTERPRISE, annual_report_application, annual_report_material
from sunlight.catalogue.journey import PDF as PDF
from sunlight.catalogue.journey import annual_report_form as annual_report_form
from sunlight.control.resources import Run

PG_BIN = "/usr/lib/postgresql/15/bin"
PG_START = (
    "set -e; pg_conftool 15 main set listen_addresses '*'; "
    "echo 'host all all 0.0.0.0/0 scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf; "
    f"su postgres -c \"PGPASSWORD= {PG_BIN}/pg_ctl -D /var/lib/postgresql/15/main -w start "
    "-o '-c config_file=/etc/postgresql/15/main/postgresql.conf'\"; "
    "su postgres -c \"psql -qc \\\"ALTER USER postgres PASSWORD '$PG_SUPER'\\\"\"; "
    "touch /tmp/pg-ready; sleep infinity"
)


@dataclass
class Postgres:
    container: DockerContainer
    host: str
    password: str

    def url(self, user: str, password: str, db: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{user}:{password}@{self.host}:5432/{db}"

    def admin(self, db: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.host, user="postgres", password=self.password,
                               dbname=db, autocommit=True)

    def create_database(self, name: str) -> str:
        """A database owned by a role of the same name; returns that role's password."""
        password = secrets.token_urlsafe(18)
        with self.admin() as conn:
            conn.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD \'{password}\'')
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        return password

    def create_site_databases(self) -> dict[str, str]:
        """The portal and core databases as the playbooks make them: owned by
        ``portal_owner``/``core_owner`` (they run the migrations, which grant the rest),
        and the application roles ``portal``, ``gateway`` and ``core``, owning nothing;
        returns every role's password by name."""
        passwords = {name: secrets.token_urlsafe(18) for name in
                     ("portal_owner", "core_owner", "portal", "gateway", "core")}
        with self.admin() as conn:
            for name, password in passwords.items():
                conn.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD \'{password}\'')
            for db in ("portal", "core"):
                conn.execute(f'CREATE DATABASE "{db}" OWNER "{db}_owner"')
                conn.execute(f'REVOKE CONNECT ON DATABASE "{db}" FROM PUBLIC')
        return passwords

    def restart(self) -> None:
        wrapped = self.container.get_wrapped_container()
        wrapped.exec_run(["su", "postgres", "-c",
                          f"{PG_BIN}/pg_ctl -D /var/lib/postgresql/15/main -w -m fast restart "
                          "-o '-c config_file=/etc/postgresql/15/main/postgresql.conf'"])


def start_postgres(image: str, run: Run) -> Postgres:
    password = secrets.token_urlsafe(18)
    container = (DockerContainer(image).with_command(["bash", "-c", PG_START])
                 .with_env("PG_SUPER", password)
                 .with_kwargs(labels=run.labels(role="postgres")))
    container.start()
    wrapped = container.get_wrapped_container()
    deadline = time.monotonic() + 60
    while wrapped.exec_run(["test", "-f", "/tmp/pg-ready"]).exit_code != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("postgres did not start:\n" + wrapped.logs().decode()[-2000:])
        time.sleep(0.3)
    wrapped.reload()
    host = wrapped.attrs["NetworkSettings"]["IPAddress"]
    return Postgres(container, host, password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Role:
    """One `sunlight serve ROLE` process."""

    name: str
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sunlight.cli", "serve", self.name, "--port",
                 str(self.port)], env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: a crash, not a clean stop."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Site:
    """A running site: its database, roles and staff credentials."""

    code: str
    pg: Postgres
    core_db_url: str
    portal_db_url: str
    roles: dict[str, Role]
    passwords: dict[str, str] = field(default_factory=dict)
    # The owner roles' URLs (the migrations' role: an insider with the tables' ownership)
    # and the gateway's own, by database role name.
    db_urls: dict[str, str] = field(default_factory=dict)

    @property
    def portal(self) -> str:
        return self.roles["portal"].url

    @property
    def core(self) -> str:
        return self.roles["core"].url

    def token(self, username: str) -> str:
        response = httpx.post(f"{self.core}/api/v1/auth/token",
                              json={"username": username, "password": self.passwords[username]})
        response.raise_for_status()
        return str(response.json()["access_token"])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.roles["core"].env}
        return subprocess.run([sys.executable, "-m", "sunlight.cli", *args], env=env,
                              capture_output=True, text=True, check=False, timeout=120)

    def shift_clock(self, seconds: float) -> None:
        """Core's clock runs ``seconds`` ahead (runtime/clock.py); 0 puts it back."""
        shift_clock(Path(self.roles["core"].env["SUNLIGHT_CLOCK_OFFSET_FILE"]), seconds)


def shift_clock(offset_file: Path, seconds: float) -> None:
    """Write a core's clock offset file (atomically: core never reads half a number)."""
    if not seconds:
        offset_file.unlink(missing_ok=True)
        return
    tmp = offset_file.with_suffix(".tmp")
    tmp.write_text(f"{seconds}\n")
    tmp.replace(offset_file)


STAFF = {  # username: (roles, department)
    "clerk": (["clerk"], "320703-SCJGJ"),
    "reviewer": (["reviewer"], "320703-SCJGJ"),
    "approver": (["approver"], "320703-SCJGJ"),
    "admin": (["admin"], None),
}


def start_site(image: str, run: Run, logs: Path, code: str = "320703") -> Iterator[Site]:
    pg = start_postgres(image, run)
    try:
        db_passwords = pg.create_site_databases()
        db_urls = {role: pg.url(role, password, role.split("_")[0] if role != "gateway"
                                else "portal") for role, password in db_passwords.items()}
        urls = {db: db_urls[db] for db in ("portal", "core")}
        exchange_token, token_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        base = {**os.environ, "SUNLIGHT_SITE_CODE": code, "SUNLIGHT_LOG_LEVEL": "INFO",
                "SUNLIGHT_CLOCK_OFFSET_FILE": str(logs / "clock-offset"),
                "SUNLIGHT_EXCHANGE_TOKEN": exchange_token, "SUNLIGHT_GATEWAY_POLL_S": "0.2",
                "SUNLIGHT_OVERDUE_INTERVAL_S": "2"}
        core_port = free_port()
        roles = {
            "core": Role("core", {**base, "SUNLIGHT_DATABASE_URL": urls["core"],
                                  "SUNLIGHT_TOKEN_SECRET": token_secret}, core_port,
                         logs / "core.log"),
            "portal": Role("portal", {**base, "SUNLIGHT_DATABASE_URL": urls["portal"]},
                           free_port(), logs / "portal.log"),
            "gateway": Role("gateway", {**base, "SUNLIGHT_PORTAL_DATABASE_URL": db_urls["gateway"],
                                        "SUNLIGHT_CORE_URL": f"http://127.0.0.1:{core_port}"},
                            free_port(), logs / "gateway.log"),
        }
        site = Site(code, pg, urls["core"], urls["portal"], roles, db_urls=db_urls)
        for db in ("portal", "core"):  # as the owner, as the playbooks' migrate step does
            done = subprocess.run([sys.executable, "-m", "sunlight.cli", "migrate", db],
                                  env={**base, "SUNLIGHT_DATABASE_URL": db_urls[f"{db}_owner"]},
                                  capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
        imported = site.cli("catalogue", "import", "--sample")
        assert imported.returncode == 0, imported.stderr + imported.stdout
        for username, (staff_roles, dept) in STAFF.items():
            pw_file = logs / f"{username}.pw"
            args = ["accounts", "add", username, "--password-file", str(pw_file)]
            args += [a for r in staff_roles for a in ("--role", r)]
            if dept:
                args += ["--department", dept]
            made = site.cli(*args)
            assert made.returncode == 0, made.stderr + made.stdout
            site.passwords[username] = pw_file.read_text().strip()
        for role in roles.values():
            role.start()
        # The catalogue reaches the portal through the gateway, asynchronously.
        wait_for(lambda: httpx.get(f"{site.portal}/api/v1/catalogue/{ANNUAL_REPORT}",
                                   timeout=5).status_code == 200,
                 what=f"the sample catalogue ({ANNUAL_REPORT}) to reach the portal")
        yield site
    finally:
        for role in locals().get("roles", {}).values():
            role.stop()
        pg.container.stop()


def apply_annual_report(portal: str, credit_code: str, name: str = ENTERPRISE,
                        client: httpx.Client | None = None) -> tuple[str, str]:
    """Create, attach the required material, submit; returns (receipt, secret)."""
    http = client or httpx.Client(timeout=30)
    created = http.post(f"{portal}/api/v1/applications",
                        json=annual_report_application(credit_code, name))
    assert created.status_code == 201, created.text
    draft, secret = created.json()["draft_id"], created.json()["secret"]
    headers = {"X-Tracking-Secret": secret}
    uploaded = http.post(f"{portal}/api/v1/applications/{draft}/materials", headers=headers,
                         **annual_report_material())
    assert uploaded.status_code == 201, uploaded.text
    submitted = http.post(f"{portal}/api/v1/applications/{draft}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return submitted.json()["receipt"], secret


def _describe(predicate: Any) -> str:
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return repr(predicate)


def poll(predicate: Any, timeout: float, interval: float) -> Any:
    """Call ``predicate()`` every ``interval`` s until it is truthy or ``timeout`` s have
    passed; the last value it returned (None if it never ran). The one poll loop of the
    harness: :func:`wait_for` fails on a falsy result, ``topology_suite.wait_until`` returns
    None."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            break
        time.sleep(interval)
    return value


def wait_for(predicate: Any, timeout: float = 60.0, interval: float = 0.2,
             what: str | None = None) -> Any:
    """Poll until ``predicate()`` is truthy; return its value, or fail naming what was awaited
    (``what``, or the predicate's source) and the last value seen."""
    value = poll(predicate, timeout, interval)
    if value:
        return value
    raise AssertionError(f"waited {timeout:.0f} s for {what or _describe(predicate)}; "
                         f"last value {value!r}")
