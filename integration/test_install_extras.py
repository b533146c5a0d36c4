"""Each install extra installs alone and imports what it promises.

The extras follow the package's folders (pyproject.toml): a host installs only ``server``,
an operator's Pulumi project only ``infra``, and so on. Each is installed into a fresh
virtual environment with ``uv pip install``: Sunlight's wheel built from this checkout, its
dependencies constrained to the pinned lock (from uv's cache, which ``make venv`` filled), so
a missing dependency shows as an ImportError here rather than on a host. Needs no Docker
engine; lives here because it builds, downloads and installs.
"""

from __future__ import annotations

import subprocess
import sys
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sunlight.paths import repo_root

PROMISES: dict[str, tuple[str, ...]] = {
    # The base install: the command and the pure domain.
    "": ("sunlight.cli.main", "sunlight.topology.matrix", "sunlight.topology.config"),
    "domain": ("sunlight.workflow.deadlines", "sunlight.workflow.identity",
               "sunlight.catalogue.io_excel", "sunlight.catalogue.forms",
               "sunlight.supervision.evaluate", "sunlight.enforcement.flow"),
    "server": ("sunlight.runtime.portal.app", "sunlight.runtime.core.app",
               "sunlight.runtime.gateway.app", "sunlight.runtime.migrations",
               "sunlight.catalogue.io_excel", "sunlight.workflow.deadlines",
               "sunlight.cli.main"),
    "infra": ("sunlight_infra.program", "sunlight.topology.inventory"),
    "deploy": ("ansible", "sunlight.control.deploy.firewall", "sunlight.control.deploy.inventory",
               "sunlight.control.deploy.secrets", "sunlight.control.images.packages"),
    "control": ("sunlight.control.engine", "sunlight.control.doctor", "sunlight.control.ssh",
                "sunlight.control.images.build", "sunlight.control.realizer.apply",
                "sunlight.control.stack.up", "sunlight.control.stack.scenario",
                "sunlight.control.standalone"),
    "load": ("locust", "sunlight.control.load"),
}
# Modules an extra must NOT pull in (what the extra is kept free of).
KEPT_OUT: dict[str, tuple[str, ...]] = {
    "": ("docker", "fastapi", "sqlalchemy", "pulumi"),
    "domain": ("docker", "fastapi", "sqlalchemy", "pulumi"),
    "server": ("docker", "paramiko", "pulumi", "ansible", "locust"),
    "infra": ("docker", "fastapi", "sqlalchemy"),
}

# uv, from the development environment (the `test` extra pins it).
UV = str(Path(sys.executable).with_name("uv"))

PROBE = """
import importlib, importlib.util, sys
failed = []
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
present = [m for m in sys.argv[1].split(",") if m and importlib.util.find_spec(m) is not None]
print("\\n".join(failed + [f"installed but must not be: {m}" for m in present]))
"""


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("wheelhouse")
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel",
                           "-q", "--no-deps", "-w", str(house), str(repo_root())],
                          capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return house


def _install_and_probe(extra: str, house: Path, where: Path) -> tuple[str, float, str]:
    started = time.monotonic()
    env_dir = where / (extra or "base")
    venv.EnvBuilder(clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # By its file, never by name: PyPI has another project called sunlight.
    (wheel,) = house.glob("sunlight-*.whl")
    requirement = f"sunlight{f'[{extra}]' if extra else ''} @ {wheel.as_uri()}"
    done = subprocess.run([UV, "pip", "install", "-q", "--python", str(python),
                           "--constraint", str(repo_root() / "requirements" / "control.lock"),
                           requirement],
                          capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        return extra, time.monotonic() - started, f"uv pip install failed:\n{done.stderr[-2000:]}"
    probe = subprocess.run([str(python), "-c", PROBE, ",".join(KEPT_OUT.get(extra, ())),
                            *PROMISES[extra]], capture_output=True, text=True, check=False,
                           timeout=300, cwd=where)
    problems = (probe.stdout.strip() + ("\n" + probe.stderr[-2000:] if probe.returncode else ""))
    return extra, time.monotonic() - started, problems.strip()


def test_each_extra_installs_alone_and_imports_what_it_promises(
        wheelhouse: Path, tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda e: _install_and_probe(e, wheelhouse, tmp_path), PROMISES))
    lines = [f"{extra or '(base)':<8} {seconds:5.1f} s  {'ok' if not problems else 'FAILED'}"
             for extra, seconds, problems in results]
    print("\n" + "\n".join(lines))
    failures = {extra or "(base)": problems for extra, _s, problems in results if problems}
    assert not failures, "\n\n".join(f"[{e}]\n{p}" for e, p in failures.items())
