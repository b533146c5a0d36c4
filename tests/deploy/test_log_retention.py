"""Logs are kept at least six months (issue 15, point 11): journald on disk with
MaxRetentionSec ≥ 183 days, and the logs of nginx, PostgreSQL and RabbitMQ rotated daily and
kept as many days — the common role's templates rendered with its defaults, and verify.yml
checking the effective settings on every host."""

from __future__ import annotations

import re
from typing import Any

import jinja2
import yaml

from sunlight.paths import repo_root

PLAYBOOKS = repo_root() / "playbooks"
ROLE = PLAYBOOKS / "roles" / "common"
SIX_MONTHS_DAYS = 183


def _defaults() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    return found


def _render(name: str, **extra: Any) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(name).render(ansible_managed="managed", **_defaults(), **extra)


def test_the_journal_is_kept_on_disk_six_months() -> None:
    assert _defaults()["common_log_retention_days"] >= SIX_MONTHS_DAYS
    conf = _render("journald-retention.conf.j2")
    settings = dict(line.split("=", 1) for line in conf.splitlines() if "=" in line)
    assert settings["Storage"] == "persistent"
    days = re.fullmatch(r"(\d+)d", settings["MaxRetentionSec"])
    assert days and int(days.group(1)) >= SIX_MONTHS_DAYS
    assert settings["SystemMaxUse"] and settings["SystemKeepFree"]


def test_nginx_postgresql_and_rabbitmq_logs_are_rotated_daily_and_kept_six_months() -> None:
    rotated = {item["name"]: _render("logrotate.j2", item=item)
               for item in _defaults()["common_logrotate"]}
    assert set(rotated) == {"nginx", "postgresql-common", "rabbitmq-server"}  # the packages'
    for name, conf in rotated.items():
        assert re.search(r"^\s*daily$", conf, re.MULTILINE), name
        kept = re.search(r"^\s*rotate (\d+)$", conf, re.MULTILINE)
        assert kept and int(kept.group(1)) >= SIX_MONTHS_DAYS, name
        assert not re.search(r"^\s*(weekly|monthly|maxage)\b", conf, re.MULTILINE), name
    assert "invoke-rc.d nginx rotate" in rotated["nginx"]


def test_the_role_applies_them_and_verify_checks_them() -> None:
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    assert any(t.get("ansible.builtin.import_tasks") == "logs.yml" for t in main)
    verify = yaml.safe_load((PLAYBOOKS / "verify.yml").read_text())
    every_host = next(play for play in verify if play["hosts"] == "all")
    names = [t["name"] for t in every_host["tasks"]]
    assert "The journal is on disk and kept at least 183 days" in names
    assert "The logs of nginx, PostgreSQL and RabbitMQ are rotated daily and kept at least " \
        "183 days" in names
