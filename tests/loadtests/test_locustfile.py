"""The locustfile imports the package like any installed one: no path edits, any cwd."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from sunlight.catalogue.journey import ANNUAL_REPORT
from sunlight.catalogue.sample import sample_catalogue
from sunlight.control.load.data import Applications

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"


def test_locustfile_loads_outside_the_checkout(tmp_path: Path) -> None:
    """What Locust does with ``-f``: run the file by path (here from ``/``, in a fresh
    interpreter, since importing Locust monkey-patches the process with gevent)."""
    # Locust is never imported here (gevent patches the process); the venv has the load extra.
    assert importlib.util.find_spec("locust") is not None, "install the load extra (make venv)"
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({
        "portal": "https://127.0.0.1:1", "ca_file": str(tmp_path / "ca.crt"),
        "core": "http://127.0.0.1:2", "province_core": "http://127.0.0.1:3",
        "county": "320703", "staff": {u: "pw" for u in ("clerk", "reviewer", "approver")},
        "supervisor": ["admin", "pw"]}))
    code = ("import runpy, sys; ns = runpy.run_path(sys.argv[1]); "
            "print(sorted(n for n in ('Applicant', 'Browser', 'Clerk', 'Prober', 'Shape', "
            "'Supervisor') if n in ns)); print(ns['PROFILE'].name)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SUNLIGHT_LOAD_TARGETS=str(targets), SUNLIGHT_LOAD_PROFILE="inspection-season",
               SUNLIGHT_LOAD_GATES=str(ROOT / "loadtests" / "gates" / "ci.yaml"))
    out = subprocess.run([sys.executable, "-c", code, str(LOCUSTFILE)], cwd="/", env=env,
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == [
        "['Applicant', 'Browser', 'Clerk', 'Prober', 'Shape', 'Supervisor']",
        "inspection-season"]


def test_no_path_edits_in_the_load_tests() -> None:
    sources = [LOCUSTFILE, *(ROOT / "platform" / "sunlight" / "control" / "load").glob("*.py"),
               ROOT / "platform" / "sunlight" / "cli" / "load.py"]
    assert [p.name for p in sources if "sys.path" in p.read_text(encoding="utf-8")] == []


def test_applications_walk_the_sample_journey_with_valid_forms() -> None:
    data = Applications(seed=3)
    bodies = [data.annual_report() for _ in range(20)]
    assert {b["item_code"] for b in bodies} == {ANNUAL_REPORT}
    assert len({b["applicant"]["id_number"] for b in bodies}) == 20
    validator = Draft202012Validator(sample_catalogue().item(ANNUAL_REPORT).form_schema,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for b in bodies for e in validator.iter_errors(b["form"])] == []
    replay = Applications(seed=3)
    assert [replay.annual_report() for _ in range(20)] == bodies  # reproducible by seed


def test_each_simulated_user_presents_its_own_client_address() -> None:
    """nginx limits requests per client address (issue 15, point 4) and believes
    X-Forwarded-For from the control node: each portal user sends its own, so the load is many
    clients (before, every user was the control node's one address)."""
    from sunlight.control.load.data import CLIENT_NETWORK, client_address

    addresses = {client_address(seed) for seed in range(1, 5001)}
    assert len(addresses) == 5000
    assert all(ipaddress.IPv4Address(a) in CLIENT_NETWORK for a in addresses)
    source = LOCUSTFILE.read_text(encoding="utf-8")
    assert 'self.client.headers["X-Forwarded-For"] = client_address(' in source
